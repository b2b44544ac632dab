package llamacpp

import (
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// The weights load on a thread below the process's priority, so a load
// does not take the cores from models that are generating. The progress
// callback runs on the loading thread; it reads that thread's nice value.
func TestLoadRunsBelowProcessPriority(t *testing.T) {
	raw, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	processNice := 20 - raw
	var mu sync.Mutex
	var seen []int
	load(t, Options{Progress: func(float32) {
		r, err := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
		if err != nil {
			return
		}
		mu.Lock()
		seen = append(seen, 20-r)
		mu.Unlock()
	}})
	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 {
		t.Fatal("the progress callback never ran")
	}
	want := min(processNice+loadNice, 19)
	for _, n := range seen {
		if n != want {
			t.Fatalf("loading thread nice %d, want %d (process %d + %d)", n, want, processNice, loadNice)
		}
	}
}
