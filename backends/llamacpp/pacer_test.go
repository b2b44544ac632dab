package llamacpp

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/llamagate/llamagate/engine"
)

func TestPrefillPacer(t *testing.T) {
	var p prefillPacer
	if got := p.budget(512); got != pacerStartChunk {
		t.Fatalf("unmeasured budget %d", got)
	}
	// Decode steps of 40ms; a prompt token costs 2ms on top: a chunk may
	// cost 0.8 × 40ms = 32ms, i.e. 16 tokens.
	for range 20 {
		p.observe(3, 0, 40*time.Millisecond)
		p.observe(3, 10, 60*time.Millisecond)
	}
	if got := p.budget(512); got != 16 {
		t.Fatalf("budget %d, want 16", got)
	}
	if got := p.budget(8); got != 8 {
		t.Fatalf("budget above the batch limit: %d", got)
	}
	// Prompt tokens far more expensive than a decode step: still progress.
	for range 50 {
		p.observe(0, 4, 4*time.Second)
	}
	if got := p.budget(512); got != pacerMinChunk {
		t.Fatalf("budget %d, want the minimum %d", got, pacerMinChunk)
	}
}

func TestPrefillPacerWholeShortPrompts(t *testing.T) {
	var p prefillPacer
	if got := p.whole(512); got != 0 {
		t.Fatalf("unmeasured: %d tokens may go whole, want 0", got)
	}
	// Decode steps of 40ms; a prompt-only step of 64 tokens takes 320ms
	// (5ms a token): 8 decode steps' worth is 64 tokens.
	for range 20 {
		p.observe(3, 0, 40*time.Millisecond)
		p.observe(0, 64, 320*time.Millisecond)
	}
	if got := p.whole(512); got != 64 {
		t.Fatalf("whole %d, want 64", got)
	}
	if got := p.whole(32); got != 32 {
		t.Fatalf("whole above the batch limit: %d", got)
	}
	// Small prompt-only steps do not measure the marginal rate.
	before := p.promptToken
	p.observe(0, 2, time.Second)
	if p.promptToken != before {
		t.Fatal("a 2-token step changed the prompt rate")
	}
}

func TestGatherWindow(t *testing.T) {
	for _, tc := range []struct {
		perToken float64
		n        int
		want     time.Duration
	}{
		{0, 300, 0},                           // nothing measured yet
		{10e-6, 70, 0},                        // a tiny model: 0.7 ms of prompt, no wait
		{4.8e-3, 30, 2880 * time.Microsecond}, // 2% of 144 ms
		{4.8e-3, 70, gatherMax},               // 2% of 336 ms is over the cap
	} {
		if got := gatherWindow(tc.perToken, tc.n); (got - tc.want).Abs() > time.Microsecond {
			t.Errorf("gatherWindow(%v, %d) = %v, want %v", tc.perToken, tc.n, got, tc.want)
		}
	}
}

// Requests that arrive while the loop gathers after an idle spell start in
// one step: two 4-token requests take 4 steps (both prompts and their first
// tokens, then 3 decode steps), not 5 or more.
func TestRequestsSentTogetherStartTogether(t *testing.T) {
	gathering, sent := make(chan struct{}), make(chan struct{})
	var once sync.Once
	m := load(t, Options{NoPrefixCache: true, onGather: func() {
		once.Do(func() {
			close(gathering)
			select {
			case <-sent:
			case <-time.After(waitTimeout):
			}
		})
	}})
	ctx := context.Background()
	before := m.Stats().Steps
	a, err := m.Generate(ctx, engine.Request{Prompt: storyPrompt, MaxTokens: 4})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathering:
	case <-time.After(waitTimeout):
		t.Fatal("the loop woke for a request without gathering")
	}
	b, err := m.Generate(ctx, engine.Request{Prompt: "The little dog", MaxTokens: 4})
	if err != nil {
		t.Fatal(err)
	}
	close(sent)
	collect(t, a)
	collect(t, b)
	if steps := m.Stats().Steps - before; steps != 4 {
		t.Fatalf("two requests sent together took %d steps, want 4 (both prompts in the first)", steps)
	}
}
