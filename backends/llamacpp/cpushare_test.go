package llamacpp

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/llamagate/llamagate/engine"
)

func TestCPUShareSplitsBetweenBusyModels(t *testing.T) {
	s := NewCPUShare(8)
	s.join()
	if got := s.threads(8); got != 8 {
		t.Fatalf("one busy model: %d threads, want 8", got)
	}
	if got := s.threads(4); got != 4 {
		t.Fatalf("a model configured for 4 keeps 4, got %d", got)
	}
	s.join()
	if got := s.threads(8); got != 4 {
		t.Fatalf("two busy models: %d threads each, want 4", got)
	}
	s.join()
	s.join()
	s.join()
	s.join()
	s.join()
	s.join()
	s.join() // 9 busy
	if got := s.threads(8); got != 1 {
		t.Fatalf("more busy models than threads: %d, want 1", got)
	}
	for range 8 {
		s.leave()
	}
	if got := s.threads(8); got != 8 {
		t.Fatalf("back to one busy model: %d, want 8", got)
	}
	var none *CPUShare
	if got := none.threads(3); got != 3 {
		t.Fatalf("no share: %d, want 3", got)
	}
}

// TestLoopAppliesCPUShare checks that the decode loop, not only the share's
// arithmetic, splits the budget: while two models are busy at once each
// decodes with its part, and once the other has gone the model gets all
// of it again.
func TestLoopAppliesCPUShare(t *testing.T) {
	share := NewCPUShare(2)
	aJoined, bStepped := make(chan struct{}), make(chan struct{})
	var aOnce, bOnce sync.Once
	var mu sync.Mutex
	var aLast, bFirst int
	a := load(t, Options{Threads: 2, CPUShare: share, onThreads: func(n, _ int) {
		mu.Lock()
		aLast = n
		mu.Unlock()
		aOnce.Do(func() {
			// Model a is busy (it joined before this hook): hold its
			// first step until model b has decided its threads.
			close(aJoined)
			select {
			case <-bStepped:
			case <-time.After(waitTimeout):
			}
		})
	}})
	b := load(t, Options{Threads: 2, CPUShare: share, onThreads: func(n, _ int) {
		bOnce.Do(func() {
			mu.Lock()
			bFirst = n
			mu.Unlock()
			close(bStepped)
		})
	}})
	req := engine.Request{Prompt: storyPrompt, MaxTokens: 16}
	sa, err := a.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-aJoined:
	case <-time.After(waitTimeout):
		t.Fatal("model a never reached a decode step")
	}
	mu.Lock()
	if aLast != 2 {
		t.Errorf("model a busy alone decodes with %d threads, want 2", aLast)
	}
	mu.Unlock()
	generate(t, b, req)
	collect(t, sa)
	mu.Lock()
	if bFirst != 1 {
		t.Errorf("model b decoded with %d threads while model a was busy, want 1 (the share's half)", bFirst)
	}
	mu.Unlock()
	// Closing b returns its part synchronously (an idle model leaves the
	// share too, but on its own time, after its Idle channel has closed).
	b.Close()
	generate(t, a, req)
	mu.Lock()
	defer mu.Unlock()
	if aLast != 2 {
		t.Errorf("model a busy alone again decodes with %d threads, want 2", aLast)
	}
}

// With a persistent thread pool the model decodes the same greedy text as
// without one, and a step can still use fewer threads than the pool has
// (the CPU share), which ggml's pool allows per graph.
func TestThreadPoolDecodesAndShares(t *testing.T) {
	req := engine.Request{Prompt: storyPrompt, MaxTokens: 32}
	plain, _ := generate(t, load(t, Options{}), req)
	share := NewCPUShare(2)
	share.join() // another model is busy: this one gets one thread
	var mu sync.Mutex
	var used []int
	pooled := load(t, Options{ThreadPool: true, CPUShare: share, onThreads: func(n, _ int) {
		mu.Lock()
		used = append(used, n)
		mu.Unlock()
	}})
	got, _ := generate(t, pooled, req)
	if got != plain {
		t.Fatalf("greedy text with a thread pool differs:\n%q\n%q", got, plain)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(used) == 0 || used[0] != 1 {
		t.Fatalf("steps used %v threads with the share halved, want 1", used)
	}
	share.leave()
}
