package toolcall

// Thinking templates outside the big families whose call syntax is a JSON
// list between two tags:
//
//	NVIDIA Nemotron Nano v2: <think>...</think> (the prompt opens it), then
//	<TOOLCALL>[{"name": ..., "arguments": {...}}]</TOOLCALL>
//	Apriel 1.5/1.6 Thinker: reasoning from the start up to
//	"[BEGIN FINAL RESPONSE]", the answer up to "[END FINAL RESPONSE]",
//	calls as <tool_calls>[{"name": ..., "arguments": {...}}]</tool_calls>

import (
	"strings"
)

// listTagScan reads OPEN [call objects] CLOSE with content around it;
// drop lists end-of-answer markers removed from content.
type listTagScan struct {
	open, close string
	drop        []string
	noCalls     bool // no tools offered: only the drop markers apply
	opts        *Options

	st   int // 0 text, 1 list, 2 close tag
	pend string
	list *cohereList
}

func (l *listTagScan) feed(o *out, s string) {
	l.pend += s
	marks := append([]string{l.open}, l.drop...)
	if l.noCalls {
		marks[0] = l.drop[0] // the open tag is then plain text
	}
	for o.err == nil {
		switch l.st {
		case 0:
			safe, rest, which := cutMarkers(l.pend, marks...)
			o.text(safe)
			l.pend = rest
			if which < 0 {
				return
			}
			l.pend = rest[len(marks[which]):]
			if which == 0 && !l.noCalls {
				l.list = &cohereList{opts: l.opts, nameKeys: []string{"name"}, argKeys: []string{"arguments"}}
				l.st = 1
			}
		case 1:
			n := l.list.feed(o, l.pend)
			l.pend = l.pend[n:]
			if !l.list.done() {
				return
			}
			l.st = 2
		case 2:
			w, rest, wait := expectMarker(l.pend, l.close)
			if wait {
				return
			}
			if w < 0 {
				o.fail(errMarkup)
				return
			}
			l.pend = rest
			l.st = 0
		}
	}
}

func (l *listTagScan) finish(o *out) {
	switch l.st {
	case 0:
		o.text(l.pend)
	case 2:
		// The close tag missing at the very end: the list is whole.
	default:
		o.fail(errUnterminated)
	}
	l.pend = ""
}

// listTagGrammar constrains OPEN [objects] CLOSE, after the family's
// reasoning block when constrained from the first token.
func listTagGrammar(open, close, thinkOpen, thinkClose string) func(Options, SchemaConverter) (*Grammar, error) {
	return func(opts Options, conv SchemaConverter) (*Grammar, error) {
		g, list, err := arrayGrammar(opts, conv, open, "arguments")
		if err != nil {
			return nil, err
		}
		g.rule("tc-calls", list+" tc-ws "+GBNFLiteral(close))
		if opts.Choice.Mode == ChoiceAuto {
			g.rule("root", "tc-calls")
			return &Grammar{GBNF: g.String(), Lazy: true, Triggers: []string{lazyTrigger(open)}}, nil
		}
		// A block without an open tag (Apriel's) is open from the start.
		opened := opts.ThinkingOpen || thinkOpen == ""
		g.rule("root", g.thinkPrefix(thinkClose, opened)+"tc-ws tc-calls")
		return &Grammar{GBNF: g.String()}, nil
	}
}

const (
	aprielFinal    = "[BEGIN FINAL RESPONSE]"
	aprielFinalEnd = "[END FINAL RESPONSE]"
)

func init() {
	Register(&Format{
		Name:     "nemotron-v2",
		Priority: 100,
		Detect:   func(tmpl string) bool { return strings.Contains(tmpl, "<TOOLCALL>") },
		NewParser: func(opts Options) Parser {
			p := newParser(opts, newThinkSplit("<think>", "</think>"), nil)
			if callsOn(opts) {
				p.calls = &listTagScan{open: "<TOOLCALL>", close: "</TOOLCALL>", opts: &p.opts}
			}
			return p
		},
		Grammar:       listTagGrammar("<TOOLCALL>", "</TOOLCALL>", "<think>", "</think>"),
		ReasoningOpen: endsOpenThink,
	})
	Register(&Format{
		Name:     "apriel",
		Priority: 100,
		Detect:   func(tmpl string) bool { return strings.Contains(tmpl, aprielFinal) },
		NewParser: func(opts Options) Parser {
			// The reasoning has no open tag: it is open from the first
			// byte, whatever the prompt ends with.
			think := newThinkSplit("", aprielFinal)
			p := newParser(opts, think, nil)
			think.state = thinkIn
			p.calls = &listTagScan{open: "<tool_calls>", close: "</tool_calls>", drop: []string{aprielFinalEnd}, noCalls: !callsOn(opts), opts: &p.opts}
			return p
		},
		Grammar:       listTagGrammar("<tool_calls>", "</tool_calls>", "", aprielFinal),
		ReasoningOpen: func(string) bool { return true },
	})
}
