package toolcall

// Grammar, detection and fuzz tests for the special-token families
// (harmony, DeepSeek, Command R, Kimi, GLM and the reasoning-only ones).

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/llamagate/llamagate/internal/testmodels"
)

var bFormats = []string{"harmony", "deepseek-r1", "deepseek-v3.1", "command-r7b", "command-r-plus", "kimi-k2", "glm", "nemotron-v2", "apriel"}

// bFakeConv stands in for llama.cpp's converter: a grammar with a root and
// the helper rule names every real conversion uses, so that merging two
// tools' grammars would clash without prefixes.
func bFakeConv(schema []byte) (string, error) {
	return "root ::= \"{\" space (string \":\" space value)? \"}\" space\n" +
		"value ::= string | [0-9]+\n" +
		"string ::= \"\\\"\" char* \"\\\"\" space\n" +
		"char ::= [^\"\\\\]\n" +
		"space ::= \" \"?\n", nil
}

// checkGBNF checks a grammar's structure: root defined, no rule defined
// twice, every referenced rule defined.
func checkGBNF(t *testing.T, g string) {
	t.Helper()
	defined := map[string]bool{}
	for _, m := range ruleDef.FindAllStringSubmatch(g, -1) {
		if defined[m[1]] {
			t.Fatalf("rule %q defined twice in\n%s", m[1], g)
		}
		defined[m[1]] = true
	}
	if !defined["root"] {
		t.Fatalf("no root rule in\n%s", g)
	}
	for _, line := range strings.Split(g, "\n") {
		_, body, ok := strings.Cut(line, "::=")
		if !ok {
			continue
		}
		gbnfWords(body, func(s, e int) {
			w := body[s:e]
			if strings.Trim(w, "0123456789") == "" { // a repetition count
				return
			}
			if !defined[w] {
				t.Fatalf("rule %q referenced but not defined in\n%s", w, g)
			}
		})
	}
}

func TestBGrammars(t *testing.T) {
	modes := []Choice{
		{Mode: ChoiceRequired, Parallel: true},
		{Mode: ChoiceRequired},
		{Mode: ChoiceNamed, Name: "search"},
		{Mode: ChoiceAuto, Parallel: true},
	}
	for _, name := range bFormats {
		f := Lookup(name)
		if f == nil {
			t.Fatalf("format %q not registered", name)
		}
		for _, c := range modes {
			for _, open := range []bool{false, true} {
				opts := Options{Tools: weatherTools, Choice: c, ThinkingOpen: open}
				g, err := f.Grammar(opts, bFakeConv)
				if err != nil {
					t.Fatalf("%s %+v: %v", name, c, err)
				}
				if g == nil {
					t.Fatalf("%s %+v: no grammar", name, c)
				}
				checkGBNF(t, g.GBNF)
				if g.Lazy != (c.Mode == ChoiceAuto) || g.Lazy && len(g.Triggers) == 0 {
					t.Fatalf("%s %+v: lazy %v triggers %q", name, c, g.Lazy, g.Triggers)
				}
				for _, tr := range g.Triggers {
					if _, err := regexp.Compile(tr); err != nil {
						t.Fatalf("%s: trigger %q: %v", name, tr, err)
					}
				}
				if c.Mode == ChoiceNamed && strings.Contains(g.GBNF, "get_weather") {
					t.Fatalf("%s: named choice allows another tool:\n%s", name, g.GBNF)
				}
			}
		}
		if _, err := f.Grammar(Options{Tools: weatherTools, Choice: Choice{Mode: ChoiceNamed, Name: "nope"}}, bFakeConv); err == nil {
			t.Fatalf("%s: a named tool not offered must fail", name)
		}
	}
}

// TestBTriggers checks that each auto grammar's trigger fires on the
// family's own call and not on plain text.
func TestBTriggers(t *testing.T) {
	calls := map[string]string{
		"harmony":        "<|channel|>analysis<|message|>x<|end|><|start|>assistant<|channel|>commentary to=functions.search <|constrain|>json<|message|>{}",
		"deepseek-r1":    "ok " + dsR1One,
		"deepseek-v3.1":  "ok " + dsV3One,
		"command-r7b":    "<|START_THINKING|>p<|END_THINKING|><|START_ACTION|>[",
		"command-r-plus": "I will.\nAction:\n```json\n[",
		"kimi-k2":        "x<|tool_calls_section_begin|><|tool_call_begin|>",
		"glm":            "\n<think></think>\n<tool_call>search\n",
		"nemotron-v2":    "ok</think><TOOLCALL>[",
		"apriel":         "ok[BEGIN FINAL RESPONSE]<tool_calls>[",
	}
	for _, name := range bFormats {
		g, err := Lookup(name).Grammar(Options{Tools: weatherTools, Choice: Choice{Mode: ChoiceAuto}}, bFakeConv)
		if err != nil {
			t.Fatal(err)
		}
		fired := false
		for _, tr := range g.Triggers {
			re := regexp.MustCompile("^(?:" + tr + ")$")
			if re.MatchString("Hello, plain text with Action: and <think> in it.") {
				t.Fatalf("%s: trigger %q fires on plain text", name, tr)
			}
			fired = fired || re.MatchString(calls[name])
		}
		if !fired {
			t.Fatalf("%s: no trigger fires on %q", name, calls[name])
		}
	}
}

// templatesDir is the shared real-template data (never copied here).
func templatesDir(t *testing.T) string {
	t.Helper()
	return testmodels.Path(t, "chat-templates")
}

func TestBDetect(t *testing.T) {
	dir := templatesDir(t)
	want := map[string]string{
		"openai-gpt-oss-120b":                           "harmony",
		"deepseek-ai-DeepSeek-R1-Distill-Llama-8B":      "deepseek-r1",
		"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B":      "deepseek-r1",
		"llama-cpp-deepseek-r1":                         "deepseek-r1",
		"deepseek-ai-DeepSeek-V3.1":                     "deepseek-v3.1",
		"CohereForAI-c4ai-command-r7b-12-2024-tool_use": "command-r7b",
		"CohereForAI-c4ai-command-r-plus-tool_use":      "command-r-plus",
		"moonshotai-Kimi-K2":                            "kimi-k2",
		"Kimi-K2-Instruct":                              "kimi-k2",
		"GLM-4.6":                                       "glm",
		"NousResearch-Hermes-3-Llama-3.1-8B-tool_use":   "hermes",
		"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use": "hermes",
	}
	for tmpl, fname := range want {
		b, err := os.ReadFile(filepath.Join(dir, "templates", tmpl+".jinja"))
		if err != nil {
			t.Fatal(err)
		}
		if got := Detect(string(b)).Name; got != fname {
			t.Errorf("%s: detected %q, want %q", tmpl, got, fname)
		}
	}
}

// TestBRenderedCalls parses the assistant tool call each template renders
// in the shared "tools" case: the syntax a model trained on it writes.
func TestBRenderedCalls(t *testing.T) {
	dir := templatesDir(t)
	cases := []struct{ tmpl, format, from, to string }{
		{"openai-gpt-oss-120b", "harmony", "<|start|>assistant", "<|start|>functions"},
		{"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", "deepseek-r1", "<｜Assistant｜>", "<｜end▁of▁sentence｜>"},
		{"deepseek-ai-DeepSeek-V3.1", "deepseek-v3.1", "<｜Assistant｜>", "<｜end▁of▁sentence｜>"},
		{"CohereForAI-c4ai-command-r7b-12-2024-tool_use", "command-r7b", "<|CHATBOT_TOKEN|>", "<|END_OF_TURN_TOKEN|>"},
		{"moonshotai-Kimi-K2", "kimi-k2", "<|im_assistant|>assistant<|im_middle|>", "<|im_end|>"},
		{"GLM-4.6", "glm", "<|assistant|>", "<|observation|>"},
	}
	for _, c := range cases {
		b, err := os.ReadFile(filepath.Join(dir, "expected", c.tmpl+".tools.txt"))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		// The first assistant turn after the user's question holds the call.
		q := strings.LastIndex(s, "What's the weather in Paris?")
		start := strings.Index(s[q:], c.from)
		if start < 0 {
			t.Fatalf("%s: no %q after the question", c.tmpl, c.from)
		}
		turn := s[q+start+len(c.from):]
		if end := strings.Index(turn, c.to); end >= 0 {
			turn = turn[:end]
		}
		p := Lookup(c.format).NewParser(Options{Tools: weatherTools, Choice: Choice{Parallel: true}, Reasoning: true})
		p.Feed(turn)
		_, res, ok := p.Finish(false)
		if !ok || len(res.Calls) != 1 || res.Calls[0].Name != "get_weather" || strings.ReplaceAll(res.Calls[0].Arguments, " ", "") != `{"city":"Paris"}` || res.Content != "" {
			t.Errorf("%s: %q parsed to %+v ok=%v", c.tmpl, turn, res, ok)
		}
	}
}

func TestBReasoningOpen(t *testing.T) {
	for _, c := range []struct {
		format, prompt string
		open           bool
	}{
		{"deepseek-r1", "<｜User｜>hi<｜Assistant｜><think>\n", true},
		{"deepseek-v3.1", "<｜User｜>hi<｜Assistant｜><think></think>", false},
		{"deepseek-v3.1", "<｜User｜>hi<｜Assistant｜><think>", true},
		{"glm", "<|user|>\nhi<|assistant|>", false},
	} {
		f := Lookup(c.format)
		if got := f.ReasoningOpen != nil && f.ReasoningOpen(c.prompt); got != c.open {
			t.Errorf("%s %q: open %v, want %v", c.format, c.prompt, got, c.open)
		}
	}
}

// FuzzBFamilies feeds arbitrary text, split in two, to every special-token
// family: no panic, deltas consistent with the result, the same result as
// the whole text, and valid JSON arguments on success.
func FuzzBFamilies(f *testing.F) {
	for _, s := range samples {
		f.Add(s.out, uint(len(s.out)/2))
	}
	f.Fuzz(func(t *testing.T, text string, cut uint) {
		if len(text) > 4096 {
			return // long inputs only slow the fuzzer down
		}
		k := int(cut % uint(len(text)+1))
		for _, name := range bFormats {
			for _, reason := range []bool{false, true} {
				opts := Options{Tools: weatherTools, Choice: Choice{Parallel: true}, Reasoning: reason}
				n := 0
				opts.NewID = func() string { n++; return "id" + string(rune('a'+n)) }
				whole := Lookup(name).NewParser(opts)
				whole.Feed(text)
				_, wres, wok := whole.Finish(false)
				n = 0
				p := Lookup(name).NewParser(opts)
				ds := append(p.Feed(text[:k]), p.Feed(text[k:])...)
				rest, res, ok := p.Finish(false)
				if ok != wok || !sameResult(res, wres, true) {
					t.Fatalf("%s: split at %d differs: %#v %v vs %#v %v", name, k, res, ok, wres, wok)
				}
				if !ok {
					if res.Content != text {
						t.Fatalf("%s: failed parse must give the raw text", name)
					}
					continue
				}
				checkDeltas(t, name, true, append(ds, rest...), res) // random text may hold markers as content
				for _, c := range res.Calls {
					if !strings.HasPrefix(c.Arguments, "{") || !jsonValid(c.Arguments) {
						t.Fatalf("%s: arguments %q not a JSON object", name, c.Arguments)
					}
				}
			}
		}
	})
}

func jsonValid(s string) bool { return json.Valid([]byte(s)) }
