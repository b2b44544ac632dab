package llamacpp

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/ggufgen"
	"github.com/llamagate/llamagate/internal/testmodels"
)

// These tests load models written by ggufgen (random weights) into
// llama.cpp: the writer's files must load in every tensor type, report their
// metadata, tokenize with the synthetic vocabulary, and stream the arbitrary
// bytes that random weights produce without splitting a UTF-8 character.

// writeModel writes a ggufgen model into the test's temporary folder.
func writeModel(t *testing.T, opts ggufgen.Options) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.gguf")
	if err := ggufgen.WriteFile(path, opts); err != nil {
		t.Fatalf("write model: %v", err)
	}
	return path
}

// tinyShape is smaller than ShapeDemo (one layer, head dim 64) with a
// trained context that differs from every default.
var tinyShape = ggufgen.Shape{NEmbd: 64, NLayer: 1, NHead: 1, NHeadKV: 1, NFF: 128, NCtx: 384, NVocab: 1000}

func TestGGUFGenRoundTrip(t *testing.T) {
	// Random weights may sample </s>; IgnoreEOS makes greedy decoding run
	// to max_tokens. (Without it, seed 1 and this prompt also reach 16
	// tokens for every type; F32, F16 and Q8_0 even agree on them.)
	const seed, maxTokens = 1, 16
	for _, typ := range []ggufgen.TensorType{ggufgen.F32, ggufgen.F16, ggufgen.Q8_0, ggufgen.Q4_0} {
		t.Run(typ.String(), func(t *testing.T) {
			path := writeModel(t, ggufgen.Options{Shape: ggufgen.ShapeDemo, Type: typ, Seed: seed})
			// One thread (as in the other generating tests here): with
			// two, ggml's pool spins at every barrier and these runs take
			// seconds instead of milliseconds when the machine's two
			// cores are busy with other work.
			m := load(t, Options{Path: path, Threads: 1, CtxSize: 128, Parallel: 1})
			req := engine.Request{Prompt: storyPrompt, MaxTokens: maxTokens, IgnoreEOS: true}
			text, final := generate(t, m, req)
			if final.Finish != engine.FinishLength || final.Usage.CompletionTokens != maxTokens {
				t.Fatalf("finish %q after %d tokens (%q), want length after %d", final.Finish, final.Usage.CompletionTokens, text, maxTokens)
			}
			prompt, err := m.Tokenize(storyPrompt, true)
			if err != nil {
				t.Fatal(err)
			}
			if final.Usage.PromptTokens != len(prompt) {
				t.Fatalf("prompt tokens %d, tokenizer says %d", final.Usage.PromptTokens, len(prompt))
			}
			if again, _ := generate(t, m, req); again != text {
				t.Fatalf("greedy output not deterministic:\n%q\n%q", text, again)
			}
		})
	}
}

func TestGGUFGenInfo(t *testing.T) {
	const tmpl = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}"
	tests := []struct {
		name string
		opts ggufgen.Options
	}{
		{"synthetic vocab no template", ggufgen.Options{Shape: tinyShape, Type: ggufgen.Q8_0, Seed: 7}},
		{"synthetic vocab with template", ggufgen.Options{Shape: tinyShape, Type: ggufgen.F16, Seed: 7, ChatTemplate: tmpl}},
		{"demo shape", ggufgen.Options{Shape: ggufgen.ShapeDemo, Type: ggufgen.Q4_0, Seed: 7, ChatTemplate: tmpl}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := load(t, Options{Path: writeModel(t, tt.opts), Parallel: 1})
			info := m.Info()
			wantVocab := len(ggufgen.SyntheticVocab(tt.opts.Shape.NVocab).Tokens)
			if info.VocabSize != wantVocab || info.VocabSize != tt.opts.Shape.NVocab {
				t.Errorf("vocab size %d, want %d", info.VocabSize, wantVocab)
			}
			if info.CtxTrain != tt.opts.Shape.NCtx {
				t.Errorf("ctx train %d, want %d", info.CtxTrain, tt.opts.Shape.NCtx)
			}
			// The default context is the trained one (below MaxCtxSize).
			if info.CtxSize != tt.opts.Shape.NCtx {
				t.Errorf("default ctx size %d, want the trained %d", info.CtxSize, tt.opts.Shape.NCtx)
			}
			if info.ChatTemplate != tt.opts.ChatTemplate {
				t.Errorf("chat template %q, want %q", info.ChatTemplate, tt.opts.ChatTemplate)
			}
			if info.BOS != "<s>" || info.EOS != "</s>" || info.Parallel != 1 {
				t.Errorf("info %+v", info)
			}
		})
	}
}

func TestGGUFGenTokenizer(t *testing.T) {
	m := load(t, Options{Path: writeModel(t, ggufgen.Options{Shape: ggufgen.ShapeDemo, Type: ggufgen.Q8_0, Seed: 3}), Parallel: 1, CtxSize: 64})
	n := m.Info().VocabSize
	check := func(t *testing.T, text string) []int {
		t.Helper()
		toks, err := m.Tokenize(text, false)
		if err != nil {
			t.Fatalf("tokenize %q: %v", text, err)
		}
		if (len(toks) == 0) != (text == "") {
			t.Fatalf("tokenize %q: %v", text, toks)
		}
		for _, tok := range toks {
			if tok < 0 || tok >= n {
				t.Fatalf("tokenize %q: token %d outside the vocabulary of %d", text, tok, n)
			}
		}
		withBOS, err := m.Tokenize(text, true)
		if err != nil || len(withBOS) != len(toks)+1 || withBOS[0] != 1 || !slices.Equal(withBOS[1:], toks) {
			t.Fatalf("tokenize %q with special tokens: %v (%v), want BOS then %v", text, withBOS, err, toks)
		}
		return toks
	}
	roundTrip := func(t *testing.T, text, want string) {
		t.Helper()
		toks := check(t, text)
		got, err := m.Detokenize(toks)
		if err != nil || got != want {
			t.Fatalf("Detokenize(Tokenize(%q)) = %q (%v), want %q; tokens %v", text, got, err, want, toks)
		}
	}

	// Valid UTF-8 comes back unchanged: SentencePiece's leading "▁" (added
	// by llama.cpp's add_space_prefix) is stripped again by detokenize.
	for _, text := range []string{
		"", "a", "hello world", "héllo 🙂\n\t", " leading space", "  two", "trailing ", "   ",
		"日本語 text", "tabs\tand\nnew\r\nlines", "a\x00b", "emoji 🙂🙃👍🏽 and € £ ¥",
		"CamelCase and_snake-case 123 4567", "\u0800\U0010ffff\ud7ff\u00a0",
	} {
		t.Run(text, func(t *testing.T) { roundTrip(t, text, text) })
	}
	// Invalid UTF-8 tokenizes through the byte tokens and mostly comes
	// back unchanged.
	for _, text := range []string{"\xff", "\xff\xfe", "\xc3(", "abc\xe2\x82", "\x80\x80x", "\xed\xa0\x80", "\xc0\xaf", "x\xf0\x9f\x99"} {
		t.Run("invalid "+text, func(t *testing.T) { roundTrip(t, text, text) })
	}
	// Except before a space: llama.cpp's SPM tokenizer first escapes
	// spaces to "▁" (E2 96 81), then cuts the text into symbols by the
	// length its lead byte announces, so a truncated character swallows
	// the first byte of the "▁" that follows. The "▁" then tokenizes as
	// three byte tokens, which detokenize as the raw bytes of "▁", not as
	// a space.
	t.Run("invalid before a space", func(t *testing.T) {
		roundTrip(t, "\xf0\x9f\x99 x", "\xf0\x9f\x99\u2581x")
		roundTrip(t, "\xc3 x", "\xc3\u2581x")
	})
	// Special-token text is parsed as the special token, and llama.cpp
	// puts SentencePiece's space prefix before the text after it, so the
	// round trip gains a space after each special token.
	t.Run("special tokens", func(t *testing.T) {
		toks := check(t, "a<s>b</s>c")
		if !slices.Contains(toks, 1) || !slices.Contains(toks, 2) {
			t.Fatalf("special-token text not parsed as BOS/EOS: %v", toks)
		}
		roundTrip(t, "a<s>b</s>c", "a<s> b</s> c")
	})
	// The same token ids come back for the same text, and common words are
	// single tokens of the synthetic vocabulary.
	t.Run("words", func(t *testing.T) {
		toks := check(t, "the world")
		if len(toks) != 2 {
			t.Fatalf("\"the world\" = %v, want two tokens (▁the, ▁world)", toks)
		}
	})
}

// splitsRune reports whether offset at falls strictly inside a valid
// multi-byte character of text. A boundary inside bytes that can never be
// valid UTF-8 splits nothing.
func splitsRune(text string, at int) bool {
	for i := 0; i < len(text) && i < at; {
		r, n := utf8.DecodeRuneInString(text[i:])
		if (r != utf8.RuneError || n > 1) && at < i+n {
			return true
		}
		i += n
	}
	return false
}

// endsIncomplete reports whether s, on its own, ends with the valid start of
// a multi-byte character.
func endsIncomplete(s string) bool {
	for k := 1; k <= 3 && k <= len(s); k++ {
		if !utf8.FullRuneInString(s[len(s)-k:]) {
			return true
		}
	}
	return false
}

// asToken converts v to the token type of like (a llama_token), which test
// files cannot name.
func asToken[T ~int32](like T, v int) T { return T(v) }

// tokenPiece renders a token the way the batch loop does.
func tokenPiece(m *Model, tok int) string {
	m.freeMu.RLock()
	defer m.freeMu.RUnlock()
	return string(piece(m.vocab, asToken(sequence{}.next, tok), make([]byte, 64)))
}

// recordedGeneration runs req alone on a fresh model and records, besides
// the stream's events, the tokens the loop sampled. The loop keeps the
// sampled token in sequence.next until its next step; a step hook reads it
// there on the loop goroutine. The token that ends the generation is never
// stored, so tokens has one token fewer than the completion.
//
// To know which sequence to watch, a first request holds the only slot
// while the loop is blocked in the hook, so the watched request is still in
// the wait queue when the test looks it up.
func recordedGeneration(t *testing.T, path string, req engine.Request) (events []string, final engine.Event, tokens []int, m *Model) {
	t.Helper()
	var (
		mu      sync.Mutex
		watched *sequence
		seen    int
	)
	blocked, gate := make(chan struct{}), make(chan struct{})
	var blockOnce, openOnce sync.Once
	open := func() { openOnce.Do(func() { close(gate) }) }
	defer open()
	// One thread: ggml's two-thread pool spins at every barrier and slows
	// down a hundredfold when the two cores are shared with other work.
	opts := Options{Path: path, Threads: 1, Parallel: 1, CtxSize: 512, NoPrefixCache: true}
	opts.onStep = func() {
		blockOnce.Do(func() { close(blocked); <-gate })
		mu.Lock()
		defer mu.Unlock()
		// Only while the sequence runs: after its final token the
		// slot is released and next is stale.
		if watched != nil && watched.slot != nil && watched.slot.seq == watched && watched.generated > seen {
			seen = watched.generated
			tokens = append(tokens, int(watched.next))
		}
	}
	m = load(t, opts)
	first, err := m.Generate(context.Background(), engine.Request{PromptTokens: []int{1}, MaxTokens: 1})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-blocked:
	case <-time.After(waitTimeout):
		t.Fatal("the first request never stepped")
	}
	s, err := m.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	if len(m.waiting) != 1 {
		m.mu.Unlock()
		t.Fatalf("%d sequences waiting, want the watched one", len(m.waiting))
	}
	mu.Lock()
	watched = m.waiting[0]
	mu.Unlock()
	m.mu.Unlock()
	open()
	if _, f := collect(t, first); f.Err != nil {
		t.Fatal(f.Err)
	}
	events, final = collect(t, s)
	if final.Err != nil {
		t.Fatalf("generation failed: %v", final.Err)
	}
	mu.Lock()
	defer mu.Unlock()
	return events, final, slices.Clone(tokens), m
}

// TestGGUFGenStreamUTF8 samples a random-weight model whose vocabulary is
// mostly byte tokens, so the pieces are arbitrary bytes: split characters,
// stray continuation bytes, lead bytes without their ends. Every text event
// but the last must end on a character boundary of the whole output, and
// the events must be exactly what a TextFilter makes of the sampled tokens'
// pieces: nothing lost (Flush included), nothing reordered.
func TestGGUFGenStreamUTF8(t *testing.T) {
	// MinSyntheticVocab: 256 of the 354 tokens are byte tokens.
	shape := ggufgen.ShapeDemo
	shape.NVocab = ggufgen.MinSyntheticVocab
	path := writeModel(t, ggufgen.Options{Shape: shape, Type: ggufgen.Q8_0, Seed: 11})

	// At temperature 1 the near-uniform logits of random weights would
	// sample </s> about once in 354 tokens; IgnoreEOS keeps every run to
	// its max_tokens. Seeded sampling repeats itself, so a run of want+1
	// tokens records the tokens of every shorter run (the loop never
	// keeps a generation's last token).
	const want = 200
	req := engine.Request{Prompt: storyPrompt, MaxTokens: want + 1, IgnoreEOS: true, Sampling: engine.Sampling{Temperature: 1, Seed: 1, SeedSet: true}}
	_, final, tokens, m := recordedGeneration(t, path, req)
	if final.Finish != engine.FinishLength || final.Usage.CompletionTokens != want+1 || len(tokens) != want {
		t.Fatalf("finish %q after %d tokens, %d recorded; want length after %d", final.Finish, final.Usage.CompletionTokens, len(tokens), want+1)
	}
	pieces := make([]string, want)
	for i, tok := range tokens {
		pieces[i] = tokenPiece(m, tok)
	}

	// checkRun generates k tokens and compares the events with the
	// reference: pieces[:k] through a TextFilter, then its Flush.
	checkRun := func(k int) (events []string, flushed string) {
		t.Helper()
		req := req
		req.MaxTokens = k
		events, final, got, _ := recordedGeneration(t, path, req)
		if final.Finish != engine.FinishLength || final.Usage.CompletionTokens != k {
			t.Fatalf("run of %d: finish %q after %d tokens", k, final.Finish, final.Usage.CompletionTokens)
		}
		if !slices.Equal(got, tokens[:k-1]) {
			t.Fatalf("run of %d: sampled %v, the longer run sampled %v: seeded sampling does not repeat", k, got, tokens[:k-1])
		}
		ref := engine.NewTextFilter(nil)
		var wantEvents []string
		for _, p := range pieces[:k] {
			if o, _ := ref.Push(p); o != "" {
				wantEvents = append(wantEvents, o)
			}
		}
		if flushed = ref.Flush(); flushed != "" {
			wantEvents = append(wantEvents, flushed)
		}
		if !slices.Equal(events, wantEvents) {
			t.Fatalf("run of %d: events\n%q\nwant\n%q", k, events, wantEvents)
		}
		out := strings.Join(events, "")
		at := 0
		for i, ev := range events {
			at += len(ev)
			if i < len(events)-1 && splitsRune(out, at) {
				t.Fatalf("run of %d: event %d %q ends inside a character of %q", k, i, ev, out)
			}
		}
		return events, flushed
	}
	checkRun(want)

	// How much the pieces exercise: pieces that end inside a character
	// (the filter must hold them back), and valid characters split
	// between tokens.
	all := strings.Join(pieces, "")
	holds, splits, lastHold, at := 0, 0, 0, 0
	for i, p := range pieces[:want-1] {
		at += len(p)
		if endsIncomplete(all[:at]) {
			holds, lastHold = holds+1, i+1
		}
		if splitsRune(all, at) {
			splits++
		}
	}
	t.Logf("%d tokens: %d pieces ended inside a character, %d valid characters were split between tokens", want, holds, splits)
	if holds < 5 {
		t.Fatalf("only %d pieces ended inside a character: the test no longer exercises the UTF-8 hold-back", holds)
	}
	// A generation that ends while the filter holds an incomplete
	// character must still deliver those bytes (from Flush).
	if _, flushed := checkRun(lastHold); flushed == "" {
		t.Fatalf("run of %d ends on a complete character; want one that ends inside one", lastHold)
	}
}

// TestGGUFGenLlamaSPMVocab writes a tiny model with the real 32,000-token
// Llama SentencePiece vocabulary copied from a vocab-only GGUF file.
func TestGGUFGenLlamaSPMVocab(t *testing.T) {
	voc, err := ggufgen.VocabFromGGUF(testmodels.Path(t, "models/vocab/ggml-vocab-llama-spm.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	shape := ggufgen.Shape{NEmbd: 64, NLayer: 1, NHead: 1, NHeadKV: 1, NFF: 128, NCtx: 256}
	path := writeModel(t, ggufgen.Options{Shape: shape, Type: ggufgen.Q8_0, Seed: 1, Vocab: voc})
	m := load(t, Options{Path: path, Threads: 1, Parallel: 1, CtxSize: 64})
	info := m.Info()
	if info.VocabSize != 32000 || info.CtxTrain != 256 || info.BOS != "<s>" || info.EOS != "</s>" {
		t.Fatalf("info %+v", info)
	}
	// The real tokenizer, as in llama.cpp's tokenizer tests.
	for text, want := range map[string][]int{
		"Hello world":  {1, 15043, 3186},
		" Hello world": {1, 29871, 15043, 3186},
	} {
		if got, err := m.Tokenize(text, true); err != nil || !slices.Equal(got, want) {
			t.Errorf("tokenize %q = %v (%v), want %v", text, got, err, want)
		}
	}
	const maxTokens = 8
	text, final := generate(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: maxTokens, IgnoreEOS: true})
	if final.Finish != engine.FinishLength || final.Usage.CompletionTokens != maxTokens {
		t.Fatalf("finish %q after %d tokens (%q)", final.Finish, final.Usage.CompletionTokens, text)
	}
	if _, err := m.Generate(context.Background(), engine.Request{PromptTokens: []int{32000}}); !errors.As(err, new(*engine.InvalidRequestError)) {
		t.Fatalf("token 32000: %v, want InvalidRequestError", err)
	}
}

// TestMultiByteStopString stops a random-weight model's output on a
// multi-byte character that it produces: the output ends right before the
// character, and no event splits one.
func TestMultiByteStopString(t *testing.T) {
	shape := ggufgen.ShapeDemo
	shape.NVocab = ggufgen.MinSyntheticVocab // mostly byte tokens: characters arrive in pieces
	m := load(t, Options{Path: writeModel(t, ggufgen.Options{Shape: shape, Type: ggufgen.Q8_0, Seed: 11}), Threads: 1, Parallel: 1, CtxSize: 512})
	req := engine.Request{Prompt: "héllo wörld", MaxTokens: 300, IgnoreEOS: true, Sampling: engine.Sampling{Temperature: 1, Seed: 5, SeedSet: true}}
	full, _ := generate(t, m, req)
	// The first complete multi-byte character of the output becomes the stop.
	stop, at := "", -1
	for i, r := range full {
		if r != utf8.RuneError && utf8.RuneLen(r) > 1 {
			stop, at = string(r), i
			break
		}
	}
	if at < 0 {
		t.Fatalf("the random model produced no multi-byte character in 300 tokens: %q", full)
	}
	req.Stop = []string{stop}
	s, err := m.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	texts, final := collect(t, s)
	if got := strings.Join(texts, ""); got != full[:at] || final.Finish != engine.FinishStop {
		t.Fatalf("stop %q: got %q (%s), want %q", stop, got, final.Finish, full[:at])
	}
	for i, tx := range texts {
		if strings.Contains(tx, stop) {
			t.Fatalf("event %d contains the stop string", i)
		}
	}
}
