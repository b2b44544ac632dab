package toolcall

// Kimi K2 writes calls as
//
//	<|tool_calls_section_begin|><|tool_call_begin|>functions.NAME:IDX<|tool_call_argument_begin|>{args}<|tool_call_end|>...<|tool_calls_section_end|>
//
// The id (functions.NAME:IDX) is the one the template renders back in the
// tool result ("## Return of functions.NAME:IDX"), so it is kept as the
// call id, as Kimi's own API does. Kimi-K2 Thinking puts reasoning in a
// leading <think> block.

import (
	"strings"
)

const (
	kimiSectionBegin = "<|tool_calls_section_begin|>"
	kimiSectionEnd   = "<|tool_calls_section_end|>"
	kimiCallBegin    = "<|tool_call_begin|>"
	kimiArgBegin     = "<|tool_call_argument_begin|>"
	kimiCallEnd      = "<|tool_call_end|>"
)

// The singular section spelling appears in some Kimi outputs and
// llama.cpp's parser; accept it as well.
var (
	kimiOpeners = []string{kimiSectionBegin, "<|tool_call_section_begin|>"}
	kimiInside  = []string{kimiCallBegin, kimiSectionEnd, "<|tool_call_section_end|>"}
)

const (
	kimiText = iota
	kimiSection
	kimiHeader
	kimiArgs
	kimiTail
)

type kimiScan struct {
	st   int
	pend string
	args *argsJSON
}

func (k *kimiScan) feed(o *out, s string) {
	k.pend += s
	for o.err == nil {
		switch k.st {
		case kimiText:
			safe, rest, which := cutMarkers(k.pend, kimiOpeners...)
			o.text(safe)
			k.pend = rest
			if which < 0 {
				return
			}
			k.pend = rest[len(kimiOpeners[which]):]
			k.st = kimiSection
		case kimiSection:
			w, rest, wait := expectMarker(k.pend, kimiInside...)
			if wait {
				return
			}
			if w < 0 {
				o.fail(errMarkup)
				return
			}
			k.pend = rest
			if w == 0 {
				k.st = kimiHeader
			} else {
				k.st = kimiText
			}
		case kimiHeader:
			pos := strings.Index(k.pend, kimiArgBegin)
			if pos < 0 {
				if len(k.pend) > maxHeader {
					o.fail(errMarkup)
				}
				return
			}
			id := strings.TrimSpace(k.pend[:pos])
			name := kimiName(id)
			if name == "" {
				o.fail(errMarkup)
				return
			}
			if name == id { // no functions.NAME:IDX form: make an id
				id = ""
			}
			o.start(name, id)
			k.args = &argsJSON{}
			k.pend = k.pend[pos+len(kimiArgBegin):]
			k.st = kimiArgs
		case kimiArgs:
			n, done := k.args.feed(o, k.pend)
			k.pend = k.pend[n:]
			if !done {
				return
			}
			k.st = kimiTail
		case kimiTail:
			w, rest, wait := expectMarker(k.pend, kimiCallEnd)
			if wait {
				return
			}
			if w < 0 {
				o.fail(errMarkup)
				return
			}
			o.endCall()
			k.pend = rest
			k.st = kimiSection
		}
	}
}

// kimiName takes the function name out of an id "functions.NAME:IDX".
func kimiName(id string) string {
	name := strings.TrimPrefix(id, "functions.")
	if i := strings.LastIndexByte(name, ':'); i >= 0 && strings.Trim(name[i+1:], "0123456789") == "" {
		name = name[:i]
	}
	return name
}

func (k *kimiScan) finish(o *out) {
	switch k.st {
	case kimiText:
		o.text(k.pend)
	case kimiSection, kimiTail:
		// Closing markers may be missing at the end of the output.
	default:
		o.fail(errUnterminated)
	}
	k.pend = ""
}

func newKimiParser(opts Options) Parser {
	return newParser(opts, newThinkSplit("<think>", "</think>"), &kimiScan{})
}

func kimiGrammar(opts Options, conv SchemaConverter) (*Grammar, error) {
	tools, err := offered(opts)
	if err != nil {
		return nil, err
	}
	g := &grammarBuilder{conv: conv}
	g.b.WriteString(wsRule + "\n")
	var alts []string
	for _, t := range tools {
		args, err := g.args(t)
		if err != nil {
			return nil, err
		}
		alts = append(alts, GBNFLiteral(kimiCallBegin+"functions."+t.Name+":")+" [0-9]{1,3} "+GBNFLiteral(kimiArgBegin)+" "+args+" "+GBNFLiteral(kimiCallEnd))
	}
	g.rule("tc-call", strings.Join(alts, " | "))
	g.rule("tc-calls", GBNFLiteral(kimiSectionBegin)+" "+repeatCalls("tc-call", opts.Choice.Parallel)+" "+GBNFLiteral(kimiSectionEnd))
	if opts.Choice.Mode == ChoiceAuto {
		g.rule("root", "tc-calls")
		return &Grammar{GBNF: g.String(), Lazy: true, Triggers: []string{lazyTrigger(kimiSectionBegin)}}, nil
	}
	g.rule("root", g.thinkPrefix("</think>", opts.ThinkingOpen)+"tc-ws tc-calls")
	return &Grammar{GBNF: g.String()}, nil
}

func init() {
	Register(&Format{
		Name:          "kimi-k2",
		Priority:      100,
		Detect:        func(tmpl string) bool { return strings.Contains(tmpl, kimiSectionBegin) },
		NewParser:     newKimiParser,
		Grammar:       kimiGrammar,
		ReasoningOpen: endsOpenThink,
	})
}
