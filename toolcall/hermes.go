package toolcall

import "strings"

// Hermes 2 Pro / Hermes 3 / Qwen 2.5 / Qwen 3 / QwQ (and templates that
// copy them: MiMo-VL, Reka, Bielik) write each call as
//
//	<tool_call>
//	{"name": "f", "arguments": {...}}
//	</tool_call>
//
// several in a row for parallel calls; Qwen 3 and QwQ reason in <think>
// first.

const (
	hermesOpen  = "<tool_call>"
	hermesClose = "</tool_call>"
	thinkOpen   = "<think>"
	thinkClose  = "</think>"
)

func init() {
	Register(&Format{
		Name:     "hermes",
		Priority: 10, // after formats whose templates also mention <tool_call>
		Detect: func(t string) bool {
			// <tool_calls> (plural) is Apriel's list syntax; <function= is the
			// XML form (qwen3coder), and GLM adds <arg_key>.
			return strings.Contains(t, hermesOpen) && !strings.Contains(t, "<tool_calls>") &&
				!strings.Contains(t, "<function=") && !strings.Contains(t, "<arg_key>")
		},
		NewParser:     newHermesParser,
		Grammar:       hermesGrammar,
		ReasoningOpen: thinkOpened,
	})
}

// thinkOpened reports a prompt that ends inside a <think> block (QwQ,
// Reka and others open it in the generation prompt).
func thinkOpened(prompt string) bool {
	return strings.HasSuffix(strings.TrimRight(prompt, spaces), thinkOpen)
}

func newHermesParser(opts Options) Parser {
	return newParser(opts, newThinkSplit(thinkOpen, thinkClose), hermesCalls())
}

func hermesCalls() *taggedCalls {
	return &taggedCalls{
		open: hermesOpen, close: hermesClose, closeOptional: true,
		newBody: func() callBody { return newCallObject([]string{"name"}, []string{"arguments", "parameters"}) },
	}
}

// hermesGrammar constrains calls to <tool_call> blocks holding one of the
// offered tools. Forced calls may still reason first; with auto the
// grammar applies from the first <tool_call>.
func hermesGrammar(opts Options, conv SchemaConverter) (*Grammar, error) {
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
		alts = append(alts, jsonCallObject("name", t.Name, "arguments", args))
	}
	g.rule("tc-obj", strings.Join(alts, " | "))
	g.rule("tc-call", GBNFLiteral(hermesOpen)+" tc-ws tc-obj tc-ws "+GBNFLiteral(hermesClose))
	g.b.WriteString(wsRule + "\n")
	calls := repeatCalls("tc-call", opts.Choice.Parallel)
	if opts.Choice.Mode == ChoiceAuto {
		g.rule("root", calls)
		return &Grammar{GBNF: g.String(), Lazy: true, Triggers: []string{lazyTrigger(hermesOpen)}}, nil
	}
	think := g.thinkPrefix(thinkClose, opts.ThinkingOpen)
	g.rule("root", think+"tc-ws "+calls)
	return &Grammar{GBNF: g.String()}, nil
}
