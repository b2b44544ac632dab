package llamacpp

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/llamagate/llamagate/engine"
)

// triggerWord returns the unconstrained greedy continuation of the story
// prompt and a word of it (not its first) to trigger a lazy grammar on.
func triggerWord(t *testing.T, m *Model) (string, string) {
	t.Helper()
	text, _ := generate(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: 24})
	words := strings.Fields(text)
	for _, w := range words[1:] {
		if regexp.MustCompile(`^[a-z]{3,}$`).MatchString(w) {
			return text, w
		}
	}
	t.Fatalf("no plain word in %q", text)
	return "", ""
}

func TestLazyGrammar(t *testing.T) {
	m := load(t, Options{})
	free, word := triggerWord(t, m)
	at := strings.Index(free, word)
	trigger := `[\s\S]*?(` + word + `)[\s\S]*`

	// Before its trigger the grammar allows anything: the text is the
	// unconstrained one up to the word; from the word on it is the grammar's.
	g := &engine.Grammar{GBNF: `root ::= "` + word + ` the end."`, Lazy: true, Triggers: []string{trigger}}
	text, final := generate(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: 48, Grammar: g})
	if want := free[:at] + word + " the end."; text != want || final.Finish != engine.FinishStop {
		t.Fatalf("lazy grammar: %q (finish %s), want %q then the end of generation (unconstrained: %q)", text, final.Finish, want, free)
	}

	// A trigger that never matches leaves the output as it is.
	g = &engine.Grammar{GBNF: `root ::= "x"`, Lazy: true, Triggers: []string{`[\s\S]*?(QQQ)[\s\S]*`}}
	if text, _ := generate(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: 24, Grammar: g}); text != free {
		t.Fatalf("untriggered lazy grammar changed the output: %q, want %q", text, free)
	}

	// A grammar that refuses its own trigger's text: every token that would
	// complete the trigger is refused instead of aborting in llama.cpp.
	g = &engine.Grammar{GBNF: `root ::= "zzz"`, Lazy: true, Triggers: []string{trigger}}
	s, err := m.Generate(context.Background(), engine.Request{Prompt: storyPrompt, MaxTokens: 24, Grammar: g})
	if err != nil {
		t.Fatal(err)
	}
	texts, final := collect(t, s)
	if text := strings.Join(texts, ""); final.Err == nil && strings.Contains(text, word) {
		t.Fatalf("the trigger word was generated although the grammar refuses it: %q", text)
	} else if final.Err != nil && !errors.Is(final.Err, errNoPossibleToken) {
		t.Fatalf("generation failed: %v", final.Err)
	}
	// The model still serves requests.
	if text, _ := generate(t, m, engine.Request{Prompt: storyPrompt, MaxTokens: 24}); text != free {
		t.Fatalf("after a refused trigger: %q, want %q", text, free)
	}
}

func TestGrammarForced(t *testing.T) {
	m := load(t, Options{})
	g := &engine.Grammar{GBNF: `root ::= "<call>" [a-z ]{1,12} "</call>"`}
	for _, temp := range []float32{0, 1} {
		s, err := m.Generate(context.Background(), engine.Request{Prompt: storyPrompt, MaxTokens: 48, Grammar: g, N: 2,
			Sampling: engine.Sampling{Temperature: temp, Seed: 5, SeedSet: true}})
		if err != nil {
			t.Fatal(err)
		}
		texts, finals := collectChoices(t, s, 2)
		for i, text := range texts {
			if finals[i].Finish != engine.FinishStop || !regexp.MustCompile(`^<call>[a-z ]{1,12}</call>$`).MatchString(text) {
				t.Fatalf("temperature %v, choice %d: %q (finish %s)", temp, i, text, finals[i].Finish)
			}
		}
	}
}

func TestGrammarErrors(t *testing.T) {
	m := load(t, Options{})
	for _, tc := range []struct {
		name  string
		req   engine.Request
		param string
	}{
		{"bad GBNF", engine.Request{Grammar: &engine.Grammar{GBNF: `root ::= (`}}, "tools"},
		{"no root", engine.Request{Grammar: &engine.Grammar{GBNF: `start ::= "a"`}}, "tools"},
		{"empty", engine.Request{Grammar: &engine.Grammar{}}, "tools"},
		{"bad trigger pattern", engine.Request{Grammar: &engine.Grammar{GBNF: `root ::= "a"`, Lazy: true, Triggers: []string{`([`}}}, "tools"},
		{"with a JSON schema", engine.Request{Grammar: &engine.Grammar{GBNF: `root ::= "a"`}, JSONSchema: []byte(`{}`)}, "tools"},
		{"with ignore_eos", engine.Request{Grammar: &engine.Grammar{GBNF: `root ::= "a"`, Lazy: true}, IgnoreEOS: true}, "ignore_eos"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Prompt = storyPrompt
			_, err := m.Generate(context.Background(), tc.req)
			var ire *engine.InvalidRequestError
			if !errors.As(err, &ire) || ire.Param != tc.param {
				t.Fatalf("error %v, want an InvalidRequestError for %s", err, tc.param)
			}
		})
	}
	// The schema converter behind tool-call grammars is response_format's.
	gbnf, err := m.SchemaToGrammar([]byte(`{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}`))
	if err != nil || !strings.Contains(gbnf, "root ::=") {
		t.Fatalf("SchemaToGrammar: %q, %v", gbnf, err)
	}
	if _, err := m.SchemaToGrammar([]byte(`{"type":"wizard"}`)); err == nil {
		t.Fatal("SchemaToGrammar accepted an unknown type")
	}
}
