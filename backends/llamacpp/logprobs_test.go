package llamacpp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/llamagate/llamagate/engine"
)

// generateLogprobs runs one choice and returns its text, the logprob
// entries in order and the final event.
func generateLogprobs(t *testing.T, m *Model, req engine.Request) (string, []engine.TokenLogprob, engine.Event) {
	t.Helper()
	s, err := m.Generate(context.Background(), req)
	if err != nil {
		t.Fatalf("generate: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var text strings.Builder
	var lps []engine.TokenLogprob
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if ev.Err != nil {
			t.Fatalf("generation failed: %v", ev.Err)
		}
		if ev.Done {
			if _, err := s.Next(ctx); err != io.EOF {
				t.Fatalf("after the final event Next returned %v", err)
			}
			return text.String(), lps, ev
		}
		text.WriteString(ev.Text)
		lps = append(lps, ev.Logprobs...)
	}
}

func TestLogprobsOfGreedyTokens(t *testing.T) {
	m := load(t, Options{})
	plain, _ := generate(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: 32})
	text, lps, final := generateLogprobs(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: 32, Logprobs: true, TopLogprobs: 5})
	if text != plain {
		t.Fatalf("asking for logprobs changed the text:\n%q\n%q", text, plain)
	}
	if len(lps) != final.Usage.CompletionTokens {
		t.Fatalf("%d logprob entries for %d tokens", len(lps), final.Usage.CompletionTokens)
	}
	var joined strings.Builder
	for i, lp := range lps {
		joined.WriteString(lp.Token)
		if len(lp.Top) != 5 {
			t.Fatalf("token %d has %d alternatives, want 5", i, len(lp.Top))
		}
		// Greedy takes the most likely token of the model's distribution.
		if lp.Logprob != lp.Top[0].Logprob || lp.Logprob > 0 {
			t.Fatalf("token %d %q: logprob %v, most likely %+v", i, lp.Token, lp.Logprob, lp.Top[0])
		}
		var mass float64
		for j, alt := range lp.Top {
			if j > 0 && alt.Logprob > lp.Top[j-1].Logprob {
				t.Fatalf("token %d: alternatives not in order: %+v", i, lp.Top)
			}
			mass += math.Exp(float64(alt.Logprob))
		}
		if mass > 1.0001 || mass <= 0 {
			t.Fatalf("token %d: the top 5 hold probability %v", i, mass)
		}
	}
	if joined.String() != text {
		t.Fatalf("tokens %q do not spell the text %q", joined.String(), text)
	}
}

func TestLogprobsFollowLogitBias(t *testing.T) {
	m := load(t, Options{})
	_, lps, _ := generateLogprobs(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: 4, Logprobs: true, TopLogprobs: 1})
	// Push a token that greedy did not pick to near certainty.
	toks, err := m.Tokenize("zebra", false)
	if err != nil || len(toks) == 0 {
		t.Fatalf("tokenize: %v %v", toks, err)
	}
	req := engine.Request{Prompt: storyPrompt, MaxTokens: 4, Logprobs: true, TopLogprobs: 1, Sampling: engine.Sampling{LogitBias: map[int]float32{toks[0]: 100}}}
	_, biased, _ := generateLogprobs(t, m, req)
	if biased[0].Token == lps[0].Token || biased[0].Logprob < -0.001 || biased[0].Top[0].Token != biased[0].Token {
		t.Fatalf("with bias +100 on token %d the first token is %+v (unbiased: %+v)", toks[0], biased[0], lps[0])
	}
}

func TestLogprobsStopAtStopString(t *testing.T) {
	m := load(t, Options{})
	full, _ := generate(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: 48})
	words := strings.Fields(full)
	stop := words[4] + " " + words[5]
	text, lps, final := generateLogprobs(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: 48, Stop: []string{stop}, Logprobs: true})
	if final.Finish != engine.FinishStop || text != full[:strings.Index(full, stop)] {
		t.Fatalf("stop %q: text %q finish %s", stop, text, final.Finish)
	}
	var joined strings.Builder
	for _, lp := range lps {
		joined.WriteString(lp.Token)
	}
	// Tokens cover the text; only a token that straddles the cut reaches
	// into the stop string, and none lies wholly inside it.
	j := joined.String()
	if !strings.HasPrefix(j, text) || len(j)-len(lps[len(lps)-1].Token) >= len(text) {
		t.Fatalf("tokens %q for text %q (stop %q)", j, text, stop)
	}
	if len(lps) >= final.Usage.CompletionTokens {
		t.Fatalf("%d entries for %d tokens: the stop string's tokens were reported", len(lps), final.Usage.CompletionTokens)
	}
}

func TestJSONSchemaConstrainsOutput(t *testing.T) {
	m := load(t, Options{Parallel: 2})
	for _, tc := range []struct {
		schema string
		check  func(v any) bool
	}{
		{`{"type":"boolean"}`, func(v any) bool { _, ok := v.(bool); return ok }},
		{`{"enum":["cat","dog"]}`, func(v any) bool { return v == "cat" || v == "dog" }},
		{`{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"],"additionalProperties":false}`, func(v any) bool {
			o, ok := v.(map[string]any)
			_, isBool := o["ok"].(bool)
			return ok && len(o) == 1 && isBool
		}},
	} {
		for _, temp := range []float32{0, 1} {
			req := engine.Request{Prompt: storyPrompt, MaxTokens: 64, N: 2, JSONSchema: []byte(tc.schema),
				Sampling: engine.Sampling{Temperature: temp, Seed: 3, SeedSet: true}}
			s, err := m.Generate(context.Background(), req)
			if err != nil {
				t.Fatalf("%s: %v", tc.schema, err)
			}
			texts, finals := collectChoices(t, s, 2)
			for i, text := range texts {
				var v any
				if finals[i].Finish != engine.FinishStop || json.Unmarshal([]byte(text), &v) != nil || !tc.check(v) {
					t.Fatalf("schema %s, temperature %v, choice %d: %q (finish %s)", tc.schema, temp, i, text, finals[i].Finish)
				}
			}
		}
	}
	// Without the grammar the model writes a story, not JSON.
	text, _ := generate(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: 16})
	if json.Valid([]byte(text)) {
		t.Fatalf("unconstrained output is JSON already (%q): the test proves nothing", text)
	}
}

func TestJSONSchemaErrors(t *testing.T) {
	m := load(t, Options{})
	for _, tc := range []struct {
		name, schema, param string
		ignoreEOS           bool
	}{
		{"not JSON", `{"type":`, "response_format", false},
		{"unknown type", `{"type":"wizard"}`, "response_format", false},
		{"dangling ref", `{"$ref":"#/definitions/nope"}`, "response_format", false},
		{"ignore_eos", `{"type":"boolean"}`, "ignore_eos", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Generate(context.Background(), engine.Request{Prompt: storyPrompt, JSONSchema: []byte(tc.schema), IgnoreEOS: tc.ignoreEOS})
			var ire *engine.InvalidRequestError
			if !errors.As(err, &ire) || ire.Param != tc.param {
				t.Fatalf("error %v, want an InvalidRequestError for %s", err, tc.param)
			}
		})
	}
}

func TestTopK(t *testing.T) {
	x := []float32{1, 5, 3, 5, -1, 4, 0}
	for k, want := range map[int][]int{1: {1}, 3: {1, 3, 5}, 7: {1, 3, 5, 2, 0, 6, 4}} {
		got := topK(x, k, nil)
		if len(got) != len(want) {
			t.Fatalf("k=%d: %v, want %v", k, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("k=%d: %v, want %v", k, got, want)
			}
		}
	}
}
