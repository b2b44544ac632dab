package llamacpp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/internal/testmodels"
)

const storyPrompt = "Once upon a time"

// waitTimeout bounds every wait in these tests so a bug fails instead of
// hanging; nothing waits for it to pass.
const waitTimeout = 60 * time.Second

func load(t *testing.T, opts Options) *Model {
	t.Helper()
	if opts.Path == "" {
		opts.Path = testmodels.Stories260K(t)
	}
	if opts.Threads == 0 {
		opts.Threads = 2
	}
	m, err := Load(context.Background(), opts)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// collect reads a stream to its final event.
func collect(t *testing.T, s engine.Stream) ([]string, engine.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var texts []string
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if ev.Done || ev.Err != nil {
			if _, err := s.Next(ctx); err != io.EOF {
				t.Fatalf("after the final event Next returned %v, want io.EOF", err)
			}
			return texts, ev
		}
		texts = append(texts, ev.Text)
	}
}

func generate(t *testing.T, m *Model, req engine.Request) (string, engine.Event) {
	t.Helper()
	s, err := m.Generate(context.Background(), req)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	texts, final := collect(t, s)
	if final.Err != nil {
		t.Fatalf("generation failed: %v", final.Err)
	}
	return strings.Join(texts, ""), final
}

func waitIdle(t *testing.T, m *Model) {
	t.Helper()
	select {
	case <-m.Idle():
	case <-time.After(waitTimeout):
		t.Fatalf("engine did not become idle: %+v", m.Stats())
	}
}

func TestGreedyIsDeterministic(t *testing.T) {
	m := load(t, Options{})
	req := engine.Request{Prompt: storyPrompt, MaxTokens: 48}
	a, fa := generate(t, m, req)
	b, fb := generate(t, m, req)
	if a == "" || a != b {
		t.Fatalf("greedy outputs differ or are empty:\n%q\n%q", a, b)
	}
	if fa.Usage.CompletionTokens != fb.Usage.CompletionTokens {
		t.Fatalf("usage differs: %+v vs %+v", fa.Usage, fb.Usage)
	}
	// A fresh load gives the same text too.
	m2 := load(t, Options{})
	c, _ := generate(t, m2, req)
	if c != a {
		t.Fatalf("greedy output differs across loads:\n%q\n%q", a, c)
	}
}

func TestSeededSamplingIsReproducible(t *testing.T) {
	m := load(t, Options{NoPrefixCache: true})
	req := engine.Request{Prompt: storyPrompt, MaxTokens: 48, Sampling: engine.Sampling{Temperature: 0.8, Seed: 42, SeedSet: true, TopP: 0.95}}
	a, _ := generate(t, m, req)
	b, _ := generate(t, m, req)
	if a == "" || a != b {
		t.Fatalf("same seed gave different outputs:\n%q\n%q", a, b)
	}
	outs := map[string]bool{}
	for seed := range uint32(5) {
		req.Sampling.Seed = seed
		o, _ := generate(t, m, req)
		outs[o] = true
	}
	if len(outs) < 2 {
		t.Fatalf("five seeds at temperature 0.8 all gave the same text: sampling ignores the seed")
	}
}

func TestMaxTokensIsExact(t *testing.T) {
	m := load(t, Options{})
	for _, n := range []int{1, 7, 20} {
		_, final := generate(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: n})
		if final.Finish != engine.FinishLength || final.Usage.CompletionTokens != n {
			t.Fatalf("max_tokens %d: finish %q, completion tokens %d", n, final.Finish, final.Usage.CompletionTokens)
		}
		want, _ := m.Tokenize(storyPrompt, true)
		if final.Usage.PromptTokens != len(want) {
			t.Fatalf("prompt tokens %d, tokenizer says %d", final.Usage.PromptTokens, len(want))
		}
	}
}

func TestStopStringCutsOutput(t *testing.T) {
	m := load(t, Options{})
	full, _ := generate(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: 64})
	// Pick a stop string from the middle of the greedy text: a word and
	// the space after it, which spans several tokens.
	words := strings.Fields(full)
	if len(words) < 8 {
		t.Fatalf("greedy text too short to pick a stop string: %q", full)
	}
	stop := words[5] + " " + words[6]
	at := strings.Index(full, stop)
	text, final := generate(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: 64, Stop: []string{"never-produced", stop}})
	if text != full[:at] {
		t.Fatalf("stop %q: got %q, want %q", stop, text, full[:at])
	}
	if final.Finish != engine.FinishStop {
		t.Fatalf("finish %q, want stop", final.Finish)
	}
}

func TestPromptTooLong(t *testing.T) {
	m := load(t, Options{CtxSize: 32})
	_, err := m.Generate(context.Background(), engine.Request{Prompt: strings.Repeat("Once upon a time there was a dog. ", 10)})
	var cle *engine.ContextLengthError
	if !errors.As(err, &cle) || cle.CtxSize != 32 {
		t.Fatalf("got %v, want a ContextLengthError for 32 tokens", err)
	}
}

func TestContextWindowEndsWithLength(t *testing.T) {
	m := load(t, Options{CtxSize: 32})
	_, final := generate(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: 1000})
	if final.Finish != engine.FinishLength || final.Usage.PromptTokens+final.Usage.CompletionTokens > 33 {
		t.Fatalf("finish %q usage %+v: want length within the 32-token window", final.Finish, final.Usage)
	}
}

func TestInvalidPromptTokens(t *testing.T) {
	m := load(t, Options{})
	_, err := m.Generate(context.Background(), engine.Request{PromptTokens: []int{1, 99999}})
	var ire *engine.InvalidRequestError
	if !errors.As(err, &ire) {
		t.Fatalf("got %v, want InvalidRequestError", err)
	}
}

func TestCancelDuringPrefillFreesSequence(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A small batch makes the prompt take many steps; the hook cancels
	// the request after the first one.
	var once sync.Once
	opts := Options{BatchSize: 8, CtxSize: 1024}
	opts.onStep = func() { once.Do(cancel) }
	m := load(t, opts)
	prompt := strings.Repeat("The little dog ran to the park and played. ", 20)
	s, err := m.Generate(ctx, engine.Request{Prompt: prompt, MaxTokens: 10})
	if err != nil {
		t.Fatal(err)
	}
	_, final := collect(t, s)
	if !errors.Is(final.Err, context.Canceled) {
		t.Fatalf("final event %+v, want context.Canceled", final)
	}
	st := m.Stats()
	if st.Active != 0 || st.ActiveTokens != 0 || st.CachedTokens != 0 || st.Cancelled != 1 {
		t.Fatalf("sequence not freed: %+v", st)
	}
	if st.Generated != 0 || st.Steps > 2 {
		t.Fatalf("generation went on after cancellation: %+v", st)
	}
	// The model still works.
	if text, _ := generate(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: 5}); text == "" {
		t.Fatal("no output after a cancelled request")
	}
}

func TestCancelDuringDecodeFreesSequence(t *testing.T) {
	m := load(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := m.Generate(ctx, engine.Request{Prompt: storyPrompt, MaxTokens: 2000, Sampling: engine.Sampling{Temperature: 1, Seed: 1, SeedSet: true}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, final := collect(t, s)
	if !errors.Is(final.Err, context.Canceled) {
		t.Fatalf("final event %+v, want context.Canceled", final)
	}
	st := m.Stats()
	if st.Active != 0 || st.ActiveTokens != 0 || st.CachedTokens != 0 || st.Generated >= 2000 {
		t.Fatalf("sequence not freed promptly: %+v", st)
	}
}

func TestCancelWhileQueuedLeavesQueueAtOnce(t *testing.T) {
	release := make(chan struct{})
	stepped := make(chan struct{}, 1)
	opts := Options{Parallel: 1, QueueSize: 1}
	opts.onStep = func() {
		select {
		case stepped <- struct{}{}:
		default:
		}
		<-release
	}
	m := load(t, opts)
	var releaseOnce sync.Once
	open := func() { releaseOnce.Do(func() { close(release) }) }
	defer open()
	first, err := m.Generate(context.Background(), engine.Request{Prompt: storyPrompt, MaxTokens: 3})
	if err != nil {
		t.Fatal(err)
	}
	<-stepped // the first request holds the only slot
	ctx, cancel := context.WithCancel(context.Background())
	queued, err := m.Generate(ctx, engine.Request{Prompt: storyPrompt, MaxTokens: 3})
	if err != nil {
		t.Fatal(err)
	}
	// The slot and the one queue place are taken: the next is refused.
	if _, err := m.Generate(context.Background(), engine.Request{Prompt: storyPrompt, MaxTokens: 3}); !errors.Is(err, engine.ErrOverloaded) {
		t.Fatalf("third request: %v, want ErrOverloaded", err)
	}
	// The loop is blocked in its step hook, so only the queue itself can
	// end the cancelled waiter.
	cancel()
	_, final := collect(t, queued)
	if !errors.Is(final.Err, context.Canceled) {
		t.Fatalf("queued request ended with %+v, want context.Canceled", final)
	}
	if st := m.Stats(); st.Waiting != 0 {
		t.Fatalf("cancelled request still queued: %+v", st)
	}
	open()
	if _, final := collect(t, first); final.Err != nil {
		t.Fatalf("first request: %v", final.Err)
	}
}

// TestConcurrentGreedyMatchesAlone checks the default (split) KV layout.
// A unified pool is not batch-invariant: how many cells a step attends over
// depends on the other sequences, and a near tie between two tokens can
// flip (seen in CI), so kv_unified makes no such promise.
func TestConcurrentGreedyMatchesAlone(t *testing.T) {
	concurrentGreedyMatchesAlone(t, false)
}

func concurrentGreedyMatchesAlone(t *testing.T, unified bool) {
	m := load(t, Options{Parallel: 4, NoPrefixCache: true, KVUnified: unified})
	prompts := []string{"Once upon a time", "The cat", "Lily and Tom", "One day, a bird", "The sun was", "A little girl named", "Tim had a", "In the park"}
	alone := make([]string, len(prompts))
	for i, p := range prompts {
		alone[i], _ = generate(t, m, engine.Request{Prompt: p, MaxTokens: 40})
	}
	together := make([]string, len(prompts))
	var wg sync.WaitGroup
	for i, p := range prompts {
		wg.Go(func() {
			s, err := m.Generate(context.Background(), engine.Request{Prompt: p, MaxTokens: 40})
			if err != nil {
				t.Error(err)
				return
			}
			texts, final := collect(t, s)
			if final.Err != nil {
				t.Error(final.Err)
			}
			together[i] = strings.Join(texts, "")
		})
	}
	wg.Wait()
	for i := range prompts {
		if alone[i] != together[i] {
			t.Errorf("prompt %q: alone %q, batched %q", prompts[i], alone[i], together[i])
		}
	}
}

func TestPrefixCacheReusesKV(t *testing.T) {
	m := load(t, Options{Parallel: 2})
	req := engine.Request{Prompt: storyPrompt + " there was a little dog named Max.", MaxTokens: 20}
	a, fa := generate(t, m, req)
	if fa.Usage.CachedTokens != 0 {
		t.Fatalf("first request reported %d cached tokens", fa.Usage.CachedTokens)
	}
	b, fb := generate(t, m, req)
	if b != a {
		t.Fatalf("prefix-cached output differs:\n%q\n%q", a, b)
	}
	if fb.Usage.CachedTokens != fb.Usage.PromptTokens-1 {
		t.Fatalf("second request cached %d of %d prompt tokens", fb.Usage.CachedTokens, fb.Usage.PromptTokens)
	}
}

func rssBytes(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm")
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func TestLoadUnloadDoesNotLeak(t *testing.T) {
	path := testmodels.Stories260K(t)
	cycle := func() {
		m, err := Load(context.Background(), Options{Path: path, Threads: 1, Parallel: 4, CtxSize: 2048})
		if err != nil {
			t.Fatal(err)
		}
		generate(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: 4})
		m.Close()
	}
	settle := func() int64 {
		runtime.GC()
		debug.FreeOSMemory()
		return rssBytes(t)
	}
	for range 5 {
		cycle()
	}
	before := settle()
	for range 100 {
		cycle()
	}
	after := settle()
	// Each load allocates (and clears) a 4 × 2048-token KV cache of ~10 MiB
	// plus compute buffers, so leaking a context or model per cycle would add
	// over 1 GiB. The bound leaves room for the race detector's own growth
	// and for allocator noise (measured without -race: ~1-2 MiB per 250
	// cycles; with -race in the full suite: up to ~21 MiB).
	const bound = 48 << 20
	if after-before > bound {
		t.Fatalf("RSS grew by %d KiB over 100 load/unload cycles (bound %d KiB)", (after-before)>>10, bound>>10)
	}
	t.Logf("RSS before %d KiB, after %d KiB", before>>10, after>>10)
}

func TestCloseEndsOpenStreams(t *testing.T) {
	stepped := make(chan struct{}, 1)
	release := make(chan struct{})
	onStep := func() {
		select {
		case stepped <- struct{}{}:
		default:
		}
		<-release
	}
	m, err := Load(context.Background(), Options{Path: testmodels.Stories260K(t), Threads: 2, onStep: onStep})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Generate(context.Background(), engine.Request{Prompt: storyPrompt, MaxTokens: 100})
	if err != nil {
		t.Fatal(err)
	}
	<-stepped // the sequence is running
	done := make(chan struct{})
	go func() { m.Close(); close(done) }()
	close(release)
	<-done
	_, final := collect(t, s)
	if !errors.Is(final.Err, engine.ErrClosed) {
		t.Fatalf("stream of a closed model ended with %+v, want ErrClosed", final)
	}
	if _, err := m.Tokenize("x", true); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("tokenize after close: %v", err)
	}
	if _, err := m.Generate(context.Background(), engine.Request{Prompt: "x"}); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("generate after close: %v", err)
	}
}

func TestTokenizeRoundTrip(t *testing.T) {
	m := load(t, Options{})
	toks, err := m.Tokenize("Hello, wörld! 🙂", false)
	if err != nil || len(toks) == 0 {
		t.Fatalf("tokenize: %v %v", toks, err)
	}
	text, err := m.Detokenize(toks)
	if err != nil || text != "Hello, wörld! 🙂" {
		t.Fatalf("detokenize: %q %v", text, err)
	}
	info := m.Info()
	if info.CtxTrain != 2048 || info.VocabSize != 512 || info.BOS != "<s>" || info.EOS != "</s>" {
		t.Fatalf("info %+v", info)
	}
}

// collectChoices reads a multi-choice stream to its end.
func collectChoices(t *testing.T, s engine.Stream, n int) ([]string, []engine.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	texts := make([]string, n)
	finals := make([]engine.Event, n)
	for {
		ev, err := s.Next(ctx)
		if err == io.EOF {
			return texts, finals
		}
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if ev.Err != nil {
			t.Fatalf("choice %d failed: %v", ev.Index, ev.Err)
		}
		if ev.Done {
			finals[ev.Index] = ev
			continue
		}
		texts[ev.Index] += ev.Text
	}
}

func TestNChoicesShareOnePrefill(t *testing.T) {
	m := load(t, Options{Parallel: 4, NoPrefixCache: true})
	req := engine.Request{Prompt: storyPrompt + " there was a big red ball", MaxTokens: 24}
	alone, _ := generate(t, m, req)
	before := m.Stats().PromptTokens

	req.N = 4
	s, err := m.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	texts, finals := collectChoices(t, s, 4)
	prompt, _ := m.Tokenize(req.Prompt, true)
	if got := m.Stats().PromptTokens - before; got != int64(len(prompt)) {
		t.Fatalf("n=4 evaluated %d prompt tokens, want %d (one prefill)", got, len(prompt))
	}
	for i := range 4 {
		if texts[i] != alone || finals[i].Usage.CompletionTokens != 24 || finals[i].Finish != engine.FinishLength {
			t.Fatalf("greedy choice %d = %q (%+v), alone %q", i, texts[i], finals[i], alone)
		}
	}

	// Sampled choices of one request differ, and the same seed repeats them.
	req.Sampling = engine.Sampling{Temperature: 1, Seed: 9, SeedSet: true}
	req.N = 3
	s, _ = m.Generate(context.Background(), req)
	a, _ := collectChoices(t, s, 3)
	s, _ = m.Generate(context.Background(), req)
	b, _ := collectChoices(t, s, 3)
	if a[0] == a[1] && a[1] == a[2] {
		t.Fatalf("three sampled choices are identical: %q", a[0])
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("choice %d not reproducible with the same seed: %q vs %q", i, a[i], b[i])
		}
	}
	if _, err := m.Generate(context.Background(), engine.Request{Prompt: "x", N: 5}); err == nil {
		t.Fatal("n above parallel was accepted")
	}
}

func TestCancellingOneSequenceLeavesOthersIntact(t *testing.T) {
	m := load(t, Options{Parallel: 4, NoPrefixCache: true})
	prompts := []string{"The cat", "Lily and Tom", "One day, a bird"}
	alone := make([]string, len(prompts))
	for i, p := range prompts {
		alone[i], _ = generate(t, m, engine.Request{Prompt: p, MaxTokens: 40})
	}
	ctx, cancel := context.WithCancel(context.Background())
	victim, err := m.Generate(ctx, engine.Request{Prompt: storyPrompt, MaxTokens: 1000, IgnoreEOS: true})
	if err != nil {
		t.Fatal(err)
	}
	streams := make([]engine.Stream, len(prompts))
	for i, p := range prompts {
		if streams[i], err = m.Generate(context.Background(), engine.Request{Prompt: p, MaxTokens: 40}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := victim.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	cancel() // mid-decode, while the others are running in the same batches
	for i, s := range streams {
		texts, final := collect(t, s)
		if final.Err != nil || strings.Join(texts, "") != alone[i] {
			t.Fatalf("prompt %q: got %q (%v), alone %q", prompts[i], strings.Join(texts, ""), final.Err, alone[i])
		}
	}
	if _, final := collect(t, victim); !errors.Is(final.Err, context.Canceled) {
		t.Fatalf("victim ended with %+v", final)
	}
}

func TestKVFullEndsOneSequenceWithLength(t *testing.T) {
	// A unified pool of 4 × 64 cells that any sequence may fill: four
	// sequences asking for 200 tokens each cannot all fit.
	m := load(t, Options{Parallel: 4, CtxSize: 64, KVUnified: true, KVOvercommit: true, NoPrefixCache: true})
	if m.Info().CtxSize != 256 {
		t.Fatalf("a unified pool should let one sequence use all 256 cells, got %d", m.Info().CtxSize)
	}
	var streams []engine.Stream
	for i := range 4 {
		s, err := m.Generate(context.Background(), engine.Request{Prompt: fmt.Sprintf("Story %d: Once upon a time", i), MaxTokens: 200, IgnoreEOS: true})
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, s)
	}
	most := 0
	for _, s := range streams {
		_, final := collect(t, s)
		if final.Err != nil || final.Finish != engine.FinishLength {
			t.Fatalf("final %+v, want length", final)
		}
		most = max(most, final.Usage.CompletionTokens)
	}
	st := m.Stats()
	if st.KVFull == 0 {
		t.Fatalf("the pool never filled: %+v", st)
	}
	// Once the longest sequence gave its cells back, the others went on
	// past an equal share of the pool.
	if most <= 64 {
		t.Fatalf("no sequence got past an equal share of the pool (most %d tokens)", most)
	}
}

func TestMeasureCeilingRuns(t *testing.T) {
	r, err := MeasureCeiling(CeilingOptions{Path: testmodels.Stories260K(t), Threads: 2, Batch: 2, Prompt: 16, Generate: 8})
	if err != nil {
		t.Fatal(err)
	}
	if r.DecodeTokensPerSec <= 0 || r.PrefillTokensPerSec <= 0 || r.DecodeStep <= 0 {
		t.Fatalf("result %+v", r)
	}
}

// TestConcurrentPromptsShareTheirPrefix sends four prompts with a long
// common prefix at once: the prefix is evaluated once and copied, and each
// output is exactly what its prompt produces alone.
func TestConcurrentPromptsShareTheirPrefix(t *testing.T) {
	prefix := strings.Repeat(storyPrompt+" there was a little girl named Lily. She liked to play outside in the sun. ", 4)
	suffixes := []string{"One day", "Her dog", "The sky was", "Lily saw a big"}
	alone := make([]string, len(suffixes))
	{
		m := load(t, Options{Parallel: 4, Threads: 1, NoPrefixCache: true})
		for i, sfx := range suffixes {
			alone[i], _ = generate(t, m, engine.Request{Prompt: prefix + sfx, MaxTokens: 24})
		}
	}
	m := load(t, Options{Parallel: 4, Threads: 1})
	before := m.Stats()
	streams := make([]engine.Stream, len(suffixes))
	for i, sfx := range suffixes {
		s, err := m.Generate(context.Background(), engine.Request{Prompt: prefix + sfx, MaxTokens: 24})
		if err != nil {
			t.Fatal(err)
		}
		streams[i] = s
	}
	promptTokens, cached := 0, 0
	for i, s := range streams {
		texts, final := collect(t, s)
		if final.Err != nil {
			t.Fatal(final.Err)
		}
		if got := strings.Join(texts, ""); got != alone[i] {
			t.Errorf("prompt %d with a shared prefix:\n%q\nalone:\n%q", i, got, alone[i])
		}
		promptTokens += final.Usage.PromptTokens
		cached += final.Usage.CachedTokens
	}
	after := m.Stats()
	evaluated := after.PromptTokens - before.PromptTokens
	t.Logf("prompt tokens %d, reported cached %d, evaluated %d, prefix copies %d", promptTokens, cached, evaluated, after.SharedPrefix-before.SharedPrefix)
	// Three of the four prompts take the common prefix (about 100 tokens)
	// from the first instead of evaluating it.
	if after.SharedPrefix-before.SharedPrefix < 3 || int(evaluated) > promptTokens-cached || cached < 3*64 {
		t.Fatalf("prefix not shared: %d copies, %d of %d prompt tokens evaluated, %d cached", after.SharedPrefix-before.SharedPrefix, evaluated, promptTokens, cached)
	}
}

// TestPromptContinuingARunningSequence sends, while one sequence is still
// generating, a prompt made of its prompt and the text it generated so
// far (a client continuing a conversation): the new prompt takes the
// common prefix from the running sequence mid-generation, and both
// requests finish with the output they have alone. (sharePrefixes runs
// before the step adds sampled tokens to the slots' lists, so a token
// without KV cells is never shared; this test cannot time that window
// exactly and covers the general path.)
func TestPromptContinuingARunningSequence(t *testing.T) {
	base := strings.Repeat(storyPrompt+" there was a little girl named Lily. ", 2)
	m := load(t, Options{Parallel: 2, Threads: 1})
	ctx := context.Background()
	first, err := m.Generate(ctx, engine.Request{Prompt: base, MaxTokens: 120})
	if err != nil {
		t.Fatal(err)
	}
	var sofar strings.Builder
	for range 60 {
		ev, err := first.Next(ctx)
		if err != nil || ev.Err != nil || ev.Done {
			t.Fatalf("first stream ended early: %v %v %+v", err, ev.Err, ev)
		}
		sofar.WriteString(ev.Text)
	}
	follow := base + sofar.String() + " Then"
	second, err := m.Generate(ctx, engine.Request{Prompt: follow, MaxTokens: 16})
	if err != nil {
		t.Fatal(err)
	}
	texts, final := collect(t, second)
	if final.Err != nil {
		t.Fatalf("the continuing prompt failed: %v", final.Err)
	}
	if _, fin := collect(t, first); fin.Err != nil {
		t.Fatalf("the running sequence failed: %v", fin.Err)
	}
	alone := load(t, Options{Parallel: 2, Threads: 1, NoPrefixCache: true})
	want, _ := generate(t, alone, engine.Request{Prompt: follow, MaxTokens: 16})
	if got := strings.Join(texts, ""); got != want {
		t.Fatalf("continuing prompt:\n%q\nalone:\n%q", got, want)
	}
	t.Logf("cached %d of %d prompt tokens", final.Usage.CachedTokens, final.Usage.PromptTokens)
}
