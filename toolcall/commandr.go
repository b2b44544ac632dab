package toolcall

// Cohere's Command models in two generations:
//
// Command R7B (12-2024) marks everything with special tokens:
//
//	<|START_THINKING|>plan<|END_THINKING|><|START_ACTION|>[
//	    {"tool_call_id": "0", "tool_name": "NAME", "parameters": {...}}
//	]<|END_ACTION|>
//
// and a text answer as <|START_RESPONSE|>...<|END_RESPONSE|>. The
// thinking block is the plan before the calls: reasoning.
//
// Command R+ (tool_use template) writes a plain-text action list:
//
//	Action: ```json
//	[{"tool_name": "NAME", "parameters": {...}}]
//	```
//
// Its "directly-answer" pseudo-tool (which the template tells the model to
// call when no tool is needed) is not a call the client offered, so it is
// dropped unless a tool of that name was.
//
// The model's tool_call_id ("0", "1", ...) restarts every turn, so calls
// get fresh ids instead.

import (
	"strings"
)

const (
	r7bThinkOpen   = "<|START_THINKING|>"
	r7bThinkClose  = "<|END_THINKING|>"
	r7bActionOpen  = "<|START_ACTION|>"
	r7bActionClose = "<|END_ACTION|>"
	r7bRespOpen    = "<|START_RESPONSE|>"
	r7bRespClose   = "<|END_RESPONSE|>"
)

// r7bTextMarks are the markers met in content: the response tags are
// dropped, the others switch state.
var r7bTextMarks = []string{r7bThinkOpen, r7bActionOpen, r7bRespOpen, r7bRespClose, r7bThinkClose}

// cohereList reads the JSON list of call objects of either generation.
// R7B's calls stream their parameters as the object arrives; R+'s are
// read whole (noStream) so a directly-answer pseudo-call can be dropped
// before any of it is emitted.
type cohereList struct {
	st       int // 0: before '[', 1: before an element, ',' or ']', 2: in an element, 3: done
	cur      *callObject
	noStream bool
	opts     *Options
	// nameKeys/argKeys name the object's fields (nil: Cohere's tool_name
	// and parameters).
	nameKeys, argKeys []string
	before            int // calls made before the current element
}

// feed consumes s up to the end of the list and returns how many bytes it
// took.
func (l *cohereList) feed(o *out, s string) int {
	i := 0
	for i < len(s) && o.err == nil {
		switch l.st {
		case 0, 1:
			c := s[i]
			switch {
			case strings.IndexByte(spaces, c) >= 0:
				i++
			case l.st == 0 && c == '[':
				l.st = 1
				i++
			case l.st == 1 && c == ',':
				i++
			case l.st == 1 && c == ']':
				l.st = 3
				return i + 1
			case l.st == 1 && c == '{':
				nk, ak := l.nameKeys, l.argKeys
				if nk == nil {
					nk, ak = []string{"tool_name"}, []string{"parameters"}
				}
				l.cur = newCallObject(nk, ak)
				l.cur.noStream = l.noStream
				l.before = len(o.calls)
				l.st = 2
			default:
				o.fail(errMarkup)
				return i
			}
		case 2:
			i += l.cur.feed(o, s[i:])
			if l.cur.done {
				l.st = 1
				if l.noStream {
					l.dropDirect(o)
				}
			}
		case 3:
			return i
		}
	}
	return i
}

func (l *cohereList) done() bool { return l.st == 3 }

// dropDirect removes a directly-answer call the element just made. The
// element was read whole, so its deltas are all still pending in o.
func (l *cohereList) dropDirect(o *out) {
	if len(o.calls) <= l.before {
		return
	}
	idx := len(o.calls) - 1
	if o.calls[idx].Name != "directly-answer" || toolByName(*l.opts, "directly-answer") != nil {
		return
	}
	o.calls = o.calls[:idx]
	kept := o.deltas[:0]
	for _, d := range o.deltas {
		if (d.Kind == DeltaCallStart || d.Kind == DeltaCallArgs) && d.Index == idx {
			continue
		}
		kept = append(kept, d)
	}
	o.deltas = kept
}

const (
	r7bText = iota
	r7bThink
	r7bAction
	r7bActionTail
)

type r7bScan struct {
	opts *Options
	st   int
	pend string
	list *cohereList
}

func (r *r7bScan) feed(o *out, s string) {
	r.pend += s
	for o.err == nil {
		switch r.st {
		case r7bText:
			safe, rest, which := cutMarkers(r.pend, r7bTextMarks...)
			o.text(safe)
			r.pend = rest
			if which < 0 {
				return
			}
			m := r7bTextMarks[which]
			r.pend = rest[len(m):]
			switch m {
			case r7bThinkOpen:
				r.st = r7bThink
			case r7bActionOpen:
				if callsOn(*r.opts) {
					r.list = &cohereList{opts: r.opts}
					r.st = r7bAction
				}
			}
		case r7bThink:
			safe, rest, which := cutMarkers(r.pend, r7bThinkClose)
			if r.opts.Reasoning {
				o.think(safe)
			} else {
				o.text(safe)
			}
			r.pend = rest
			if which < 0 {
				return
			}
			r.pend = rest[len(r7bThinkClose):]
			r.st = r7bText
		case r7bAction:
			n := r.list.feed(o, r.pend)
			r.pend = r.pend[n:]
			if !r.list.done() {
				return
			}
			r.st = r7bActionTail
		case r7bActionTail:
			w, rest, wait := expectMarker(r.pend, r7bActionClose)
			if wait {
				return
			}
			if w < 0 {
				o.fail(errMarkup)
				return
			}
			r.pend = rest
			r.st = r7bText
		}
	}
}

func (r *r7bScan) finish(o *out) {
	switch r.st {
	case r7bText:
		o.text(r.pend)
	case r7bThink:
		if r.opts.Reasoning {
			o.think(r.pend)
		} else {
			o.text(r.pend)
		}
	case r7bActionTail:
		// <|END_ACTION|> missing at the very end: the list is whole.
	default:
		o.fail(errUnterminated)
	}
	r.pend = ""
}

func newR7BParser(opts Options) Parser {
	p := newParser(opts, nil, nil)
	p.calls = &r7bScan{opts: &p.opts}
	return p
}

func r7bGrammar(opts Options, conv SchemaConverter) (*Grammar, error) {
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
		alts = append(alts, `"{" tc-ws "\"tool_call_id\"" tc-ws ":" tc-ws "\"" [0-9]{1,3} "\"" tc-ws "," tc-ws `+
			GBNFLiteral(`"tool_name"`)+` tc-ws ":" tc-ws `+GBNFLiteral(jsonString(t.Name))+` tc-ws "," tc-ws `+
			GBNFLiteral(`"parameters"`)+` tc-ws ":" tc-ws `+args+` tc-ws "}"`)
	}
	g.rule("tc-call", strings.Join(alts, " | "))
	list := `"[" tc-ws tc-call`
	if opts.Choice.Parallel {
		list += ` (tc-ws "," tc-ws tc-call)*`
	}
	list += ` tc-ws "]"`
	g.rule("tc-action", GBNFLiteral(r7bActionOpen)+" "+list+" "+GBNFLiteral(r7bActionClose))
	if opts.Choice.Mode == ChoiceAuto {
		g.rule("root", "tc-action")
		return &Grammar{GBNF: g.String(), Lazy: true, Triggers: []string{lazyTrigger(r7bActionOpen)}}, nil
	}
	// The plan comes first when thinking is on (the prompt closes the
	// block itself when it is off).
	g.rule("tc-plan", GBNFLiteral(r7bThinkOpen)+" "+notContaining(r7bThinkClose)+" "+GBNFLiteral(r7bThinkClose))
	g.rule("root", "tc-plan? tc-ws tc-action")
	return &Grammar{GBNF: g.String()}, nil
}

// Command R+.

const (
	crpText = iota
	crpFence
	crpList
	crpClose
)

const crpAction = "Action:"

type crpScan struct {
	opts *Options
	st   int
	pend string
	list *cohereList
}

func (c *crpScan) feed(o *out, s string) {
	c.pend += s
	for o.err == nil {
		switch c.st {
		case crpText:
			safe, rest, which := cutMarkers(c.pend, crpAction)
			o.text(safe)
			c.pend = rest
			if which < 0 {
				return
			}
			c.st = crpFence
		case crpFence:
			// "Action:" starts calls only when a ```json list follows;
			// otherwise it was just a word in the text.
			after := c.pend[len(crpAction):]
			w, rest, wait := expectMarker(after, "```json", "[")
			if wait {
				return
			}
			if w < 0 {
				o.text(crpAction)
				c.pend = after
				c.st = crpText
				continue
			}
			if w == 1 {
				rest = "[" + rest
			}
			c.pend = rest
			c.list = &cohereList{opts: c.opts, noStream: true}
			c.st = crpList
		case crpList:
			n := c.list.feed(o, c.pend)
			c.pend = c.pend[n:]
			if !c.list.done() {
				return
			}
			c.st = crpClose
		case crpClose:
			w, rest, wait := expectMarker(c.pend, "```")
			if wait {
				return
			}
			if w < 0 { // no closing fence: what follows is text
				c.st = crpText
				continue
			}
			c.pend = rest
			c.st = crpText
		}
	}
}

func (c *crpScan) finish(o *out) {
	switch c.st {
	case crpText:
		o.text(c.pend)
	case crpFence:
		o.text(c.pend) // "Action:" and whatever could still have been a fence
	case crpClose:
	default:
		o.fail(errUnterminated)
	}
	c.pend = ""
}

func newCRPParser(opts Options) Parser {
	p := newParser(opts, nil, nil)
	if callsOn(opts) {
		p.calls = &crpScan{opts: &p.opts}
	}
	return p
}

func crpGrammar(opts Options, conv SchemaConverter) (*Grammar, error) {
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
		alts = append(alts, jsonCallObject("tool_name", t.Name, "parameters", args))
	}
	g.rule("tc-call", strings.Join(alts, " | "))
	list := `"[" tc-ws tc-call`
	if opts.Choice.Parallel {
		list += ` (tc-ws "," tc-ws tc-call)*`
	}
	list += ` tc-ws "]"`
	g.rule("root", `"Action:" tc-ws "`+"```"+`json" tc-ws `+list+` tc-ws "`+"```"+`"`)
	gr := &Grammar{GBNF: g.String()}
	if opts.Choice.Mode == ChoiceAuto {
		gr.Lazy = true
		gr.Triggers = []string{"[\\s\\S]*?(Action:\\s*```json)[\\s\\S]*"}
	}
	return gr, nil
}

func init() {
	Register(&Format{
		Name:      "command-r7b",
		Priority:  100,
		Detect:    func(tmpl string) bool { return strings.Contains(tmpl, r7bActionOpen) },
		NewParser: newR7BParser,
		Grammar:   r7bGrammar,
	})
	Register(&Format{
		Name:     "command-r-plus",
		Priority: 90,
		Detect: func(tmpl string) bool {
			return strings.Contains(tmpl, "<|CHATBOT_TOKEN|>") && strings.Contains(tmpl, "Action:") && strings.Contains(tmpl, "tool_name")
		},
		NewParser: newCRPParser,
		Grammar:   crpGrammar,
	})
}
