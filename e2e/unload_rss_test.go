package e2e

import (
	"context"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/llamagate/llamagate/backends/llamacpp"
	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/internal/testmodels"
	"github.com/llamagate/llamagate/models"
)

// rssBytes reads the process's resident set size.
func rssBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// TestUnloadFreesMemory loads and unloads a model 50 times through the
// model cache. Each load allocates a KV cache of 8192 cells and compute
// buffers (about 15 MiB); a leak of either would grow RSS by hundreds of
// MiB, so growth must stay under 32 MiB.
func TestUnloadFreesMemory(t *testing.T) {
	const bound = 32 << 20
	cycles := 50
	if v, _ := strconv.Atoi(os.Getenv("RSS_CYCLES")); v > 0 {
		cycles = v
	}
	spec := models.Spec{ID: "s", Path: testmodels.Stories260K(t), Threads: 1, Parallel: 4, CtxSize: 2048, TTL: -1}
	loader := func(ctx context.Context, s models.Spec, _ func(float64)) (engine.Engine, error) {
		return llamacpp.Load(ctx, llamacpp.Options{Path: s.Path, Threads: s.Threads, Parallel: s.Parallel, CtxSize: s.CtxSize, Logger: quietLogger()})
	}
	mgr := models.NewManager([]models.Spec{spec}, models.Options{Loader: loader, Logger: quietLogger()})
	defer mgr.Close()
	ctx := context.Background()
	cycle := func() {
		l, err := mgr.Acquire(ctx, "s")
		if err != nil {
			t.Fatal(err)
		}
		st, err := l.Engine().Generate(ctx, engine.Request{Prompt: "Once upon a time", MaxTokens: 8})
		if err != nil {
			t.Fatal(err)
		}
		for {
			ev, err := st.Next(ctx)
			if err != nil || ev.Err != nil {
				t.Fatal(err, ev.Err)
			}
			if ev.Done {
				break
			}
		}
		l.Release()
		if err := mgr.Unload(ctx, "s", false); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 { // let allocator arenas and caches reach their steady size
		cycle()
	}
	debug.FreeOSMemory()
	before := rssBytes(t)
	for range cycles {
		cycle()
	}
	debug.FreeOSMemory()
	after := rssBytes(t)
	t.Logf("RSS before %d MiB, after %d load/unload cycles %d MiB (growth %+d KiB)", before>>20, cycles, after>>20, (after-before)>>10)
	if after-before > bound {
		t.Fatalf("RSS grew by %d MiB over %d cycles (bound %d MiB)", (after-before)>>20, cycles, bound>>20)
	}
	if n := mgr.Evictions()["admin"]; n != cycles+5 {
		t.Fatalf("%d unloads, want %d", n, cycles+5)
	}
}
