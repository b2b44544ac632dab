package toolcall

// gpt-oss speaks OpenAI's harmony format: the answer is a sequence of
// messages, each a header and a body,
//
//	<|channel|>analysis<|message|>...<|end|>
//	<|start|>assistant<|channel|>commentary to=functions.NAME <|constrain|>json<|message|>{args}<|call|>
//	<|start|>assistant<|channel|>final<|message|>...<|return|>
//
// (the prompt ends with "<|start|>assistant", so the first header has no
// <|start|>). The analysis channel is reasoning, final is content,
// commentary without a recipient is a preamble shown to the user
// (content), and a header naming "to=functions.NAME" (before or after the
// channel) makes the body a call's arguments. Reasoning comes from the
// channels, not from tags, so this format has no thinkSplit.

import (
	"strings"
)

const (
	hStart     = "<|start|>"
	hChannel   = "<|channel|>"
	hMessage   = "<|message|>"
	hEnd       = "<|end|>"
	hCall      = "<|call|>"
	hReturn    = "<|return|>"
	hConstrain = "<|constrain|>"
)

var hBodyEnds = []string{hEnd, hCall, hReturn, hStart}

const (
	hHeader  = iota // up to <|message|>
	hBody           // a text body (reasoning or content)
	hArgs           // a call's arguments
	hArgTail        // after the arguments: the message's end
	hBetween        // after a message: the next <|start|>
	hPlain          // no harmony markup at all: everything is content
)

type harmonyScan struct {
	opts    *Options
	st      int
	pend    string
	first   bool // still in the answer's first header
	think   bool // the current body is reasoning
	args    *argsJSON
	anyCall bool
}

func (h *harmonyScan) feed(o *out, s string) {
	h.pend += s
	for o.err == nil {
		switch h.st {
		case hHeader:
			if h.first && !h.looksHarmony() {
				h.st = hPlain
				continue
			}
			pos := strings.Index(h.pend, hMessage)
			if pos < 0 {
				if len(h.pend) > maxHeader {
					o.fail(errMarkup)
				}
				return
			}
			h.first = false
			head := h.pend[:pos]
			h.pend = h.pend[pos+len(hMessage):]
			h.open(o, head)
		case hBody:
			safe, rest, which := cutMarkers(h.pend, hBodyEnds...)
			if h.think {
				o.think(safe)
			} else {
				o.text(safe)
			}
			h.pend = rest
			if which < 0 {
				return
			}
			h.pend = rest[len(hBodyEnds[which]):]
			h.st = hBetween
			if hBodyEnds[which] == hStart {
				h.st = hHeader
			}
		case hArgs:
			n, done := h.args.feed(o, h.pend)
			h.pend = h.pend[n:]
			if !done {
				return
			}
			h.st = hArgTail
		case hArgTail:
			w, rest, wait := expectMarker(h.pend, hBodyEnds...)
			if wait {
				return
			}
			if w < 0 {
				o.fail(errMarkup)
				return
			}
			o.endCall()
			h.pend = rest
			h.st = hBetween
			if hBodyEnds[w] == hStart {
				h.st = hHeader
			}
		case hBetween:
			w, rest, wait := expectMarker(h.pend, hStart)
			if wait {
				return
			}
			if w < 0 {
				// Text after a message with no header: keep it as content
				// rather than lose it.
				h.think = false
				h.st = hBody
				continue
			}
			h.pend = rest
			h.st = hHeader
		case hPlain:
			o.text(h.pend)
			h.pend = ""
			return
		}
	}
}

// looksHarmony reports whether the answer's first header can still be
// harmony markup: the prompt left off at "<|start|>assistant", so the
// answer goes on with a channel or a recipient.
func (h *harmonyScan) looksHarmony() bool {
	t := strings.TrimLeft(h.pend, " ")
	for _, m := range []string{hChannel, "to=", hStart} {
		if strings.HasPrefix(t, m) || strings.HasPrefix(m, t) {
			return true
		}
	}
	return false
}

// open reads a header (role, channel, recipient, content type) and starts
// its body.
func (h *harmonyScan) open(o *out, head string) {
	channel := ""
	if i := strings.Index(head, hChannel); i >= 0 {
		channel = harmonyWord(head[i+len(hChannel):])
	}
	recipient := ""
	if i := strings.Index(head, "to="); i >= 0 {
		recipient = harmonyWord(head[i+len("to="):])
	}
	if recipient != "" && recipient != "assistant" && callsOn(*h.opts) {
		name := strings.TrimPrefix(recipient, "functions.")
		if name == "" {
			o.fail(errMarkup)
			return
		}
		o.start(name, "")
		h.anyCall = true
		h.args = &argsJSON{}
		h.st = hArgs
		return
	}
	h.think = channel == "analysis" && h.opts.Reasoning
	h.st = hBody
}

// harmonyWord returns the text up to the next space or special token.
func harmonyWord(s string) string {
	if i := strings.IndexAny(s, " \t\n<"); i >= 0 {
		s = s[:i]
	}
	return s
}

func (h *harmonyScan) finish(o *out) {
	switch h.st {
	case hBody, hPlain:
		if h.think {
			o.think(h.pend)
		} else {
			o.text(h.pend)
		}
	case hHeader:
		if h.first {
			o.text(h.pend) // output too short to be harmony: plain text
		} else if strings.Contains(h.pend, "to=") {
			o.fail(errUnterminated) // a call's header cut short
		}
	case hArgTail:
		// <|call|> is an end-of-generation token, so the text usually
		// stops right after the arguments: the call stands unless the
		// output was cut short (the common parser checks that).
	case hArgs:
		o.fail(errUnterminated)
	}
	h.pend = ""
}

func newHarmonyParser(opts Options) Parser {
	p := newParser(opts, nil, nil)
	p.calls = &harmonyScan{opts: &p.opts, first: true}
	return p
}

// harmonyGrammar constrains the call message. gpt-oss makes one call per
// turn (<|call|> ends generation), so parallel calls do not apply, and
// the grammar ends with the arguments: <|call|> is an end-of-generation
// token, which llama.cpp allows only once the grammar is complete.
func harmonyGrammar(opts Options, conv SchemaConverter) (*Grammar, error) {
	tools, err := offered(opts)
	if err != nil {
		return nil, err
	}
	g := &grammarBuilder{conv: conv}
	g.b.WriteString(wsRule + "\n")
	// Either header order, with or without the json content type.
	g.rule("tc-tail", `("<|channel|>commentary")? (" " "<|constrain|>"? "json")? "<|message|>"`)
	var alts []string
	for _, t := range tools {
		args, err := g.args(t)
		if err != nil {
			return nil, err
		}
		alts = append(alts, GBNFLiteral(t.Name)+" tc-tail "+args)
	}
	g.rule("tc-call", `"to=functions." (`+strings.Join(alts, " | ")+")")
	if opts.Choice.Mode == ChoiceAuto {
		g.rule("root", "tc-call")
		return &Grammar{GBNF: g.String(), Lazy: true, Triggers: []string{`[\s\S]*?(to=functions\.)[\s\S]*`}}, nil
	}
	// Constrained from the first token: optional analysis first, then the
	// call message in the channel-first form the model is trained on.
	g.rule("tc-analysis", `"<|channel|>analysis<|message|>" `+notContaining(hEnd)+` "<|end|><|start|>assistant"`)
	g.rule("root", `tc-analysis? "<|channel|>commentary " tc-call`)
	return &Grammar{GBNF: g.String()}, nil
}

func init() {
	Register(&Format{
		Name:     "harmony",
		Priority: 100,
		Detect: func(tmpl string) bool {
			return strings.Contains(tmpl, hChannel) && strings.Contains(tmpl, hMessage)
		},
		NewParser: newHarmonyParser,
		Grammar:   harmonyGrammar,
	})
}
