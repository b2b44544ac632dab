package amx

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childEnv makes this test binary act as a probe child with a scripted
// fate instead of running the tests.
const childEnv = "LLAMAGATE_AMX_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "ok":
		os.Exit(0)
	case "sigill":
		// What a hypervisor that advertises tiles it cannot run does to
		// the first tile load.
		syscall.Kill(os.Getpid(), syscall.SIGILL)
		select {}
	case "hang":
		select {}
	}
	os.Exit(4)
}

func testExe(t *testing.T) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// TestProbeSurvivesItsChild checks that every way the probe child can fail
// leaves AMX off with a reason, and that the gateway's process lives on.
func TestProbeSurvivesItsChild(t *testing.T) {
	exe := testExe(t)
	for _, tc := range []struct {
		child   string
		timeout time.Duration
		enabled bool
		reason  string
	}{
		{"ok", time.Minute, true, "loaded a tile"},
		{"sigill", time.Minute, false, "illegal instruction"},
		{"hang", 500 * time.Millisecond, false, "no answer within 500ms"},
	} {
		st := runProbe(context.Background(), exe, []string{childEnv + "=" + tc.child}, tc.timeout)
		if st.Enabled != tc.enabled || !strings.Contains(st.Reason, tc.reason) {
			t.Errorf("child %s: %+v, want enabled %v and a reason with %q", tc.child, st, tc.enabled, tc.reason)
		}
	}
}

// TestProbeChildRunsTheRealProbe starts the real probe (the package's own
// init answers probeEnv). Without the kernels, or on a machine whose OS
// refuses the tile permission, it must say so instead of enabling.
func TestProbeChildRunsTheRealProbe(t *testing.T) {
	st := runProbe(context.Background(), testExe(t), []string{probeEnv + "=1"}, time.Minute)
	if compiled && st.Enabled {
		return // an AMX machine: the tile loaded
	}
	if st.Enabled {
		t.Fatalf("the probe enabled AMX in a build without the kernels: %+v", st)
	}
	if !strings.Contains(st.Reason, "not compiled in") && !strings.Contains(st.Reason, "refused") {
		t.Fatalf("the probe failed without saying why: %+v", st)
	}
}
