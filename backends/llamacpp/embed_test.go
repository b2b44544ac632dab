package llamacpp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/llamagate/llamagate/engine"
)

var _ engine.Embedder = (*Model)(nil)

func embedTexts(t *testing.T, m *Model, texts ...string) [][]float32 {
	t.Helper()
	inputs := make([][]int, len(texts))
	for i, s := range texts {
		toks, err := m.Tokenize(s, true)
		if err != nil {
			t.Fatal(err)
		}
		inputs[i] = toks
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	out, err := m.Embed(ctx, inputs)
	if err != nil {
		t.Fatalf("embed: %v", err)
	}
	if len(out) != len(texts) {
		t.Fatalf("%d vectors for %d inputs", len(out), len(texts))
	}
	return out
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func norm(v []float32) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestEmbedVectors(t *testing.T) {
	m := load(t, Options{CtxSize: 256})
	dims := m.EmbeddingSize()
	if dims <= 0 {
		t.Fatalf("embedding size %d", dims)
	}
	texts := []string{storyPrompt, "The cat sat on the mat.", "A", "Lily and Ben went to the park to play with the ball."}
	single := make([][]float32, len(texts))
	for i, s := range texts {
		single[i] = embedTexts(t, m, s)[0]
		if len(single[i]) != dims {
			t.Fatalf("vector of %d floats, want %d", len(single[i]), dims)
		}
		if n := norm(single[i]); math.Abs(n-1) > 1e-5 {
			t.Fatalf("%q: norm %g, want 1", s, n)
		}
	}
	if d := maxDiff(single[0], embedTexts(t, m, texts[0])[0]); d != 0 {
		t.Fatalf("the same input gave different vectors (max diff %g)", d)
	}
	for i := range texts {
		for j := i + 1; j < len(texts); j++ {
			if d := maxDiff(single[i], single[j]); d < 1e-3 {
				t.Fatalf("%q and %q have (nearly) the same vector (max diff %g)", texts[i], texts[j], d)
			}
		}
	}
	batch := embedTexts(t, m, texts...)
	for i := range texts {
		if d := maxDiff(batch[i], single[i]); d > 1e-5 {
			t.Fatalf("%q: batched vector differs from the single one by %g", texts[i], d)
		}
	}
	// More inputs than one batch holds (sequences and tokens): they are
	// split across batches and come back in order.
	var many []string
	for i := range maxEmbedSeqs + 9 {
		many = append(many, texts[i%len(texts)]+fmt.Sprint(" ", i%3))
	}
	got := embedTexts(t, m, many...)
	for i := range many[:6] {
		want := embedTexts(t, m, many[i])[0]
		if d := maxDiff(got[i], want); d > 1e-5 {
			t.Fatalf("input %d of a large request differs from its single vector by %g", i, d)
		}
	}
	if d := maxDiff(got[0], got[3*len(texts)]); d > 1e-5 {
		t.Fatalf("equal inputs in different batches differ by %g", d)
	}
	waitIdle(t, m)
}

// Embeddings and generation share the loop: each keeps its results while
// the other runs.
func TestEmbedWhileGenerating(t *testing.T) {
	m := load(t, Options{CtxSize: 256})
	want := embedTexts(t, m, storyPrompt)[0]
	text, _ := generate(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: 32})
	var wg sync.WaitGroup
	wg.Add(1)
	var gen string
	go func() {
		defer wg.Done()
		s, err := m.Generate(context.Background(), engine.Request{Prompt: storyPrompt, MaxTokens: 32})
		if err != nil {
			t.Error(err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		for {
			ev, err := s.Next(ctx)
			if err != nil || ev.Err != nil {
				t.Errorf("generation: %v %v", err, ev.Err)
				return
			}
			if ev.Done {
				return
			}
			gen += ev.Text
		}
	}()
	for range 5 {
		if d := maxDiff(embedTexts(t, m, storyPrompt)[0], want); d != 0 {
			t.Fatalf("vector changed while generating (max diff %g)", d)
		}
	}
	wg.Wait()
	if gen != text {
		t.Fatalf("generation changed by embeddings:\n%q\n%q", gen, text)
	}
	waitIdle(t, m)
}

func TestEmbedRefuses(t *testing.T) {
	m := load(t, Options{CtxSize: 64})
	ctx := context.Background()
	long := make([]int, m.EmbeddingContext()+1)
	for i := range long {
		long[i] = 1
	}
	var ire *engine.InvalidRequestError
	var cle *engine.ContextLengthError
	for _, tc := range []struct {
		name   string
		inputs [][]int
		check  func(error) bool
	}{
		{"no inputs", nil, func(err error) bool { return errors.As(err, &ire) && ire.Param == "input" }},
		{"empty input", [][]int{{1}, {}}, func(err error) bool { return errors.As(err, &ire) && ire.Param == "input" }},
		{"token outside the vocabulary", [][]int{{1, m.Info().VocabSize}}, func(err error) bool { return errors.As(err, &ire) && ire.Param == "input" }},
		{"negative token", [][]int{{-1}}, func(err error) bool { return errors.As(err, &ire) }},
		{"too long", [][]int{{1}, long}, func(err error) bool { return errors.As(err, &cle) && cle.PromptTokens == len(long) }},
	} {
		if _, err := m.Embed(ctx, tc.inputs); !tc.check(err) {
			t.Errorf("%s: error %v", tc.name, err)
		}
	}
	// The longest allowed input works.
	if _, err := m.Embed(ctx, [][]int{long[1:]}); err != nil {
		t.Fatalf("input of exactly the context: %v", err)
	}
}

// blockLoop loads a model whose loop stops after each generation step until
// released, and starts a generation so that the loop is held there. queued
// receives a value each time Embed has queued a request.
func blockLoop(t *testing.T, opts Options) (m *Model, queued <-chan struct{}, release func()) {
	t.Helper()
	stepped := make(chan struct{}, 1)
	hold := make(chan struct{})
	opts.onStep = func() {
		select {
		case stepped <- struct{}{}:
		default:
		}
		<-hold
	}
	q := make(chan struct{}, 16)
	opts.onEmbedQueued = func() { q <- struct{}{} }
	m = load(t, opts)
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release)
	if _, err := m.Generate(context.Background(), engine.Request{Prompt: storyPrompt, MaxTokens: 4}); err != nil {
		t.Fatal(err)
	}
	<-stepped
	return m, q, release
}

func embedQueued(m *Model) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.embedQ)
}

// A cancelled request leaves the queue at once, without the loop.
func TestEmbedCancelLeavesNoWork(t *testing.T) {
	m, queued, release := blockLoop(t, Options{})
	toks, _ := m.Tokenize(storyPrompt, true)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := m.Embed(ctx, [][]int{toks})
		errc <- err
	}()
	<-queued
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled embed returned %v", err)
	}
	if n := embedQueued(m); n != 0 {
		t.Fatalf("%d embedding requests left in the queue", n)
	}
	release()
	waitIdle(t, m)
	// A context that ended before the call: whether the cancel watch or
	// the loop ends it, nothing stays behind.
	if _, err := m.Embed(ctx, [][]int{toks}); !errors.Is(err, context.Canceled) {
		t.Fatalf("embed with an ended context returned %v", err)
	}
	waitIdle(t, m)
	if n := embedQueued(m); n != 0 {
		t.Fatalf("%d embedding requests left in the queue", n)
	}
}

func TestEmbedQueueBound(t *testing.T) {
	m, queued, release := blockLoop(t, Options{Parallel: 1, QueueSize: 2})
	toks, _ := m.Tokenize(storyPrompt, true)
	errc := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := m.Embed(context.Background(), [][]int{toks})
			errc <- err
		}()
		<-queued
	}
	if _, err := m.Embed(context.Background(), [][]int{toks}); !errors.Is(err, engine.ErrOverloaded) {
		t.Fatalf("embed over the queue bound returned %v, want ErrOverloaded", err)
	}
	release()
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatalf("queued embed: %v", err)
		}
	}
	waitIdle(t, m)
}

func TestEmbedCloseEndsWaiting(t *testing.T) {
	m, queued, release := blockLoop(t, Options{})
	toks, _ := m.Tokenize(storyPrompt, true)
	errc := make(chan error, 1)
	go func() {
		_, err := m.Embed(context.Background(), [][]int{toks})
		errc <- err
	}()
	<-queued
	done := make(chan struct{})
	go func() { m.Close(); close(done) }()
	<-m.quit // the loop sees the close before the queued request
	release()
	<-done
	if err := <-errc; !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("embed of a closed model returned %v, want ErrClosed", err)
	}
	if _, err := m.Embed(context.Background(), [][]int{toks}); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("embed after close returned %v, want ErrClosed", err)
	}
}
