package toolcall

import (
	"strings"
)

// Mistral writes calls after [TOOL_CALLS]: Mistral Nemo as a JSON list
// with 9-character ids ([TOOL_CALLS][{"name": ..., "arguments": {...},
// "id": "abcdefghi"}]), Devstral and Ministral 3 as NAME[ARGS]{...}, one
// [TOOL_CALLS] per call. Ministral 3 Reasoning thinks in [THINK]...[/THINK].

const (
	mistralCalls = "[TOOL_CALLS]"
	mistralArgs  = "[ARGS]"
)

func init() {
	Register(&Format{
		Name:          "mistral",
		Priority:      21,
		Detect:        func(t string) bool { return strings.Contains(t, mistralCalls) && strings.Contains(t, mistralArgs) },
		NewParser:     newMistralParser,
		Grammar:       mistralGrammar,
		ReasoningOpen: mistralThinkOpened,
	})
	// Nemo's template writes the JSON list (its vocabulary has no [ARGS]),
	// so its grammar forces the list; the parser reads both forms.
	Register(&Format{
		Name:          "mistral-nemo",
		Priority:      20,
		Detect:        func(t string) bool { return strings.Contains(t, mistralCalls) },
		NewParser:     newMistralParser,
		Grammar:       mistralListGrammar,
		ReasoningOpen: mistralThinkOpened,
	})
}

func mistralThinkOpened(p string) bool {
	return strings.HasSuffix(strings.TrimRight(p, spaces), "[THINK]")
}

func newMistralParser(opts Options) Parser {
	newID := mistralID(opts)
	a := &arrayCalls{
		marker: mistralCalls,
		newObj: func() *callObject {
			c := newCallObject([]string{"name"}, []string{"arguments"})
			// The id follows the arguments; keeping the model's id means
			// reading each object whole.
			c.idKey, c.noStream, c.newID = "id", true, newID
			return c
		},
		newAfter: func() callBody { return &nameArgs{sep: mistralArgs, newID: newID} },
	}
	return newParser(opts, newThinkSplit("[THINK]", "[/THINK]"), a)
}

// mistralID returns the id maker: the request's, or Mistral's own form
// (9 letters and digits), which its templates check on later turns.
func mistralID(opts Options) func() string {
	if opts.NewID != nil {
		return opts.NewID
	}
	return func() string { return randomAlnum(9) }
}

// nameArgs reads NAME SEP {arguments} (Devstral's get_weather[ARGS]{...}).
type nameArgs struct {
	sep   string
	newID func() string
	name  strings.Builder
	args  *argsObject
}

func (n *nameArgs) feed(o *out, s string) int {
	if n.args != nil {
		return n.feedArgs(o, s)
	}
	// The separator may arrive split across pieces: look for it in all
	// the name text so far.
	old := n.name.Len()
	n.name.WriteString(s)
	full := n.name.String()
	j := strings.Index(full, n.sep)
	if j < 0 {
		if n.name.Len() > 256 { // not a function name: bounded
			o.fail(errNotCall)
		}
		return len(s)
	}
	taken := j + len(n.sep) - old
	n.name.Reset()
	n.name.WriteString(full[:j])
	n.begin(o)
	return taken + n.feedArgs(o, s[taken:])
}

func (n *nameArgs) begin(o *out) {
	name := strings.TrimSpace(n.name.String())
	if name == "" || strings.ContainsAny(name, " \n{[") {
		o.fail(errNotCall)
		return
	}
	o.start(name, n.newID())
	n.args = &argsObject{}
}

func (n *nameArgs) feedArgs(o *out, s string) int {
	if n.args == nil || o.err != nil {
		return len(s)
	}
	k := n.args.feed(o, s)
	if n.args.done() && !o.argsValid() {
		o.fail(errJSON)
	}
	return k
}

func (n *nameArgs) finished() bool { return n.args != nil && n.args.done() }

// mistralGrammar forces Devstral's and Ministral's NAME[ARGS]{...} form.
func mistralGrammar(opts Options, conv SchemaConverter) (*Grammar, error) {
	tools, err := offered(opts)
	if err != nil {
		return nil, err
	}
	g := &grammarBuilder{conv: conv}
	var alts []string
	for _, t := range tools {
		args, err := g.args(t)
		if err != nil {
			return nil, err
		}
		alts = append(alts, GBNFLiteral(t.Name+mistralArgs)+" "+args)
	}
	g.rule("tc-call", GBNFLiteral(mistralCalls)+" ("+strings.Join(alts, " | ")+")")
	g.b.WriteString(wsRule + "\n")
	calls := repeatCalls("tc-call", opts.Choice.Parallel)
	if opts.Choice.Mode == ChoiceAuto {
		g.rule("root", calls)
		return &Grammar{GBNF: g.String(), Lazy: true, Triggers: []string{lazyTrigger(mistralCalls)}}, nil
	}
	g.rule("root", g.thinkPrefix("[/THINK]", opts.ThinkingOpen)+"tc-ws "+calls)
	return &Grammar{GBNF: g.String()}, nil
}

// mistralListGrammar forces Nemo's [TOOL_CALLS][{...}] list.
func mistralListGrammar(opts Options, conv SchemaConverter) (*Grammar, error) {
	g, list, err := arrayGrammar(opts, conv, mistralCalls, "arguments")
	if err != nil {
		return nil, err
	}
	g.rule("root", list)
	if opts.Choice.Mode == ChoiceAuto {
		return &Grammar{GBNF: g.String(), Lazy: true, Triggers: []string{lazyTrigger(mistralCalls)}}, nil
	}
	return &Grammar{GBNF: g.String()}, nil
}
