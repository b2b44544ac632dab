// Package testmodels finds the test models that live outside the project
// (../shared/models) for tests of the engine and end-to-end tests.
package testmodels

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// SharedDir returns the shared folder beside the project: $LLAMAGATE_SHARED,
// or ../shared relative to the module root.
func SharedDir() string {
	if d := os.Getenv("LLAMAGATE_SHARED"); d != "" {
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	return filepath.Join(root, "..", "shared")
}

// Path returns the path of a file under the shared folder. When it is
// missing the test fails under CI (CI set to anything but "", "0" or
// "false": CI=true and CI=1 both count) and is skipped elsewhere.
func Path(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(SharedDir(), rel)
	if _, err := os.Stat(p); err != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
			t.Fatalf("test data %s is missing (%v): CI needs ../shared beside the project", p, err)
		}
		t.Skipf("test data %s is missing: %v", p, err)
	}
	return p
}

// Stories260K is the tiny trained Llama model used by engine and end-to-end
// tests.
func Stories260K(t testing.TB) string { return Path(t, "models/stories260K.gguf") }
