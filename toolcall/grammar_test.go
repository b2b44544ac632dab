package toolcall

import (
	"regexp"
	"strings"
	"testing"
)

// fakeConverter stands in for llama.cpp's json-schema-to-grammar: same
// shape (start rule root, shared helper names), fixed content.
func fakeConverter(schema []byte) (string, error) {
	return `root ::= "{" space (string ":" space value ("," space string ":" space value)*)? "}" space
space ::= | " " | "\n" [ \t]{0,20}
string ::= "\"" char* "\"" space
char ::= [^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})
value ::= string | [0-9]{1,15} | "true" | "false" | root # nested: value refers to root
`, nil
}

var refRE = regexp.MustCompile(`[A-Za-z0-9_-]+`)

// checkGrammar checks that rule names are unique, root exists and every
// referenced rule is defined.
func checkGrammar(t *testing.T, g string) {
	t.Helper()
	defined := map[string]int{}
	for _, m := range ruleDef.FindAllStringSubmatch(g, -1) {
		defined[m[1]]++
	}
	for name, n := range defined {
		if n > 1 {
			t.Errorf("rule %s defined %d times", name, n)
		}
	}
	if defined["root"] != 1 {
		t.Errorf("no root rule in\n%s", g)
	}
	for _, line := range strings.Split(g, "\n") {
		_, body, ok := strings.Cut(line, "::=")
		if !ok {
			continue
		}
		gbnfWords(body, func(s, e int) {
			w := body[s:e]
			if defined[w] == 0 && !regexp.MustCompile(`^[0-9]+$`).MatchString(w) {
				t.Errorf("rule %s used, not defined, in %q", w, line)
			}
		})
	}
}

func TestGrammars(t *testing.T) {
	modes := []Choice{
		{Mode: ChoiceRequired, Parallel: true},
		{Mode: ChoiceRequired},
		{Mode: ChoiceNamed, Name: "search"},
		{Mode: ChoiceAuto, Parallel: true},
	}
	all := append([]*Format{Generic}, formats...)
	for _, f := range all {
		for _, c := range modes {
			for _, open := range []bool{false, true} {
				opts := Options{Tools: append(weatherTools, Tool{Name: "noargs"}), Choice: c, ThinkingOpen: open}
				g, err := f.Grammar(opts, fakeConverter)
				if err != nil {
					t.Errorf("%s %+v: %v", f.Name, c, err)
					continue
				}
				if g == nil {
					if c.Mode != ChoiceAuto {
						t.Errorf("%s %+v: no grammar for a forced call", f.Name, c)
					}
					continue
				}
				checkGrammar(t, g.GBNF)
				if g.Lazy != (c.Mode == ChoiceAuto) || g.Lazy != (len(g.Triggers) > 0) {
					t.Errorf("%s %+v: lazy %v with triggers %q", f.Name, c, g.Lazy, g.Triggers)
				}
				for _, p := range g.Triggers {
					if _, err := regexp.Compile(p); err != nil {
						t.Errorf("%s: trigger %q: %v", f.Name, p, err)
					}
				}
				if c.Mode == ChoiceNamed && strings.Contains(g.GBNF, "get_weather") {
					t.Errorf("%s: named choice allows other tools:\n%s", f.Name, g.GBNF)
				}
			}
		}
		if _, err := f.Grammar(Options{Tools: weatherTools, Choice: Choice{Mode: ChoiceNamed, Name: "nope"}}, fakeConverter); err == nil {
			t.Errorf("%s: a named tool that is not offered must be an error", f.Name)
		}
	}
}

// A lazy trigger must fire on the family's marker and give the grammar
// the text from the marker on.
func TestLazyTriggerFires(t *testing.T) {
	re := regexp.MustCompile("^(?:" + lazyTrigger("<tool_call>") + ")$")
	m := re.FindStringSubmatchIndex("Let me check.\n<tool_call>\n{")
	if m == nil || m[2] != len("Let me check.\n") {
		t.Fatalf("trigger did not capture the marker: %v", m)
	}
	if re.MatchString("Let me check <tool_") {
		t.Fatal("trigger fired before the whole marker")
	}
}

func TestPrefixRules(t *testing.T) {
	g := "root ::= space \"root space \\\" [x]\" [a-z\\]root] x{1,2} # root comment\nspace ::= \" \"?\nx ::= space\n"
	got := PrefixRules(g, "p-")
	want := "p-root ::= p-space \"root space \\\" [x]\" [a-z\\]root] p-x{1,2} # root comment\np-space ::= \" \"?\np-x ::= p-space\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestGBNFLiteral(t *testing.T) {
	if got := GBNFLiteral("a\"b\\c\nd\x01é"); got != `"a\"b\\c\nd\x01é"` {
		t.Fatalf("got %s", got)
	}
}
