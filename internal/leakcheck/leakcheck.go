// Package leakcheck ends a test binary with a goroutine leak check
// (go.uber.org/goleak) for packages whose tests run HTTP servers and
// clients.
package leakcheck

import (
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// Main runs the tests, then fails the binary when a test left goroutines
// behind. Idle client connections are closed first, and the test client's
// own connection loops, which may still be winding down after a server
// closed its side, are not counted: they are not the gateway's.
func Main(m *testing.M) {
	code := m.Run()
	http.DefaultClient.CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(
			goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}
