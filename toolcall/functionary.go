package toolcall

import "strings"

// Functionary v3.1 writes <function=NAME>{...}</function>, and code for
// its python tool after <|python_tag|>. Functionary v3.2's generation
// prompt ends with ">>>": the model names a recipient on the first line,
// "all" for text to the user or a function followed by its JSON
// arguments, then ">>>" and the next recipient.

const (
	fnOpen     = "<function="
	fnClose    = "</function>"
	v32Sep     = ">>>"
	fnPythonFn = "python"
)

func init() {
	Register(&Format{
		Name:     "functionary-v3.1",
		Priority: 40,
		Detect: func(t string) bool {
			return strings.Contains(t, fnOpen) && strings.Contains(t, pythonTag)
		},
		NewParser: func(opts Options) Parser { return newParser(opts, nil, &fnCalls{}) },
		Grammar:   functionaryGrammar(fnOpen, ">", fnClose, true),
	})
	Register(&Format{
		Name:      "functionary-v3.2",
		Priority:  40,
		Detect:    func(t string) bool { return strings.Contains(t, ">>>all") || strings.Contains(t, "'>>>' + tool_call") },
		NewParser: func(opts Options) Parser { return newParser(opts, nil, &v32Calls{}) },
		Grammar:   functionaryGrammar("", "\n", "", false),
	})
}

// fnCalls reads Functionary v3.1.
type fnCalls struct {
	state int
	pend  string
	args  *argsObject
	code  bool
}

const (
	fnText = iota
	fnName
	fnArgs
	fnEnd
	fnCode
)

func (f *fnCalls) feed(o *out, s string) {
	f.pend += s
	for o.err == nil {
		switch f.state {
		case fnText:
			safe, rest, which := cutMarkers(f.pend, fnOpen, pythonTag)
			o.text(safe)
			f.pend = rest
			if which < 0 {
				return
			}
			if which == 1 {
				// Everything after the tag is code for the python tool.
				f.pend, f.state = rest[len(pythonTag):], fnCode
				o.start(fnPythonFn, "")
				o.arg(`{"code": "`)
				continue
			}
			f.pend, f.state = rest[len(fnOpen):], fnName
		case fnName:
			i := strings.IndexByte(f.pend, '>')
			if i < 0 {
				return
			}
			o.start(strings.TrimSpace(f.pend[:i]), "")
			f.pend, f.state, f.args = f.pend[i+1:], fnArgs, &argsObject{}
		case fnArgs:
			n := f.args.feed(o, f.pend)
			f.pend = f.pend[n:]
			if !f.args.done() {
				return
			}
			if !o.argsValid() {
				o.fail(errJSON)
				return
			}
			f.state = fnEnd
		case fnEnd:
			m, rest := expect(f.pend, fnClose)
			if m == 0 {
				return
			}
			o.endCall()
			f.state = fnText
			if m > 0 {
				f.pend = rest
			}
		case fnCode:
			// Escape whole characters only: a piece may end inside one.
			k := len(f.pend) - partialRune(f.pend)
			if k > 0 {
				q := jsonString(f.pend[:k])
				o.arg(q[1 : len(q)-1])
			}
			f.pend = f.pend[k:]
			return
		}
	}
}

func (f *fnCalls) finish(o *out) {
	switch f.state {
	case fnText:
		o.text(f.pend)
	case fnEnd:
		o.endCall()
	case fnCode:
		q := jsonString(f.pend)
		o.arg(q[1:len(q)-1] + `"}`)
		o.endCall()
	default:
		o.fail(errUnterminated)
	}
	f.pend = ""
}

// v32Calls reads Functionary v3.2: recipient line, then text or JSON.
type v32Calls struct {
	state int
	pend  string
	args  *argsObject
}

const (
	v32Recipient = iota // up to the newline
	v32Text             // to the user, up to the next >>>
	v32Args
	v32After // after arguments: >>> or the end
)

func (v *v32Calls) feed(o *out, s string) {
	v.pend += s
	for o.err == nil {
		switch v.state {
		case v32Recipient:
			i := strings.IndexByte(v.pend, '\n')
			if i < 0 {
				if len(v.pend) > 256 { // no recipient line: bounded
					o.fail(errNotCall)
				}
				return
			}
			name := strings.TrimSpace(v.pend[:i])
			v.pend = v.pend[i+1:]
			if name == "all" {
				v.state = v32Text
				continue
			}
			o.start(name, "")
			v.state, v.args = v32Args, &argsObject{}
		case v32Text:
			safe, rest, which := cutMarkers(v.pend, v32Sep)
			o.text(safe)
			v.pend = rest
			if which < 0 {
				return
			}
			v.pend, v.state = rest[len(v32Sep):], v32Recipient
		case v32Args:
			n := v.args.feed(o, v.pend)
			v.pend = v.pend[n:]
			if !v.args.done() {
				return
			}
			if !o.argsValid() {
				o.fail(errJSON)
				return
			}
			o.endCall()
			v.state = v32After
		case v32After:
			m, rest := expect(v.pend, v32Sep)
			switch {
			case m == 0:
				return
			case m > 0:
				v.pend, v.state = rest, v32Recipient
			default:
				v.state = v32Text // text after a call without a recipient
			}
		}
	}
}

func (v *v32Calls) finish(o *out) {
	switch v.state {
	case v32Recipient:
		// An answer with no recipient line is plain text.
		if strings.TrimSpace(v.pend) != "" {
			o.text(v.pend)
		}
	case v32Text:
		o.text(v.pend)
	case v32Args:
		o.fail(errUnterminated)
	}
	v.pend = ""
}

// functionaryGrammar writes PREFIX NAME MID {args} SUFFIX per call (v3.1:
// <function=NAME>{...}</function>; v3.2: NAME\n{...} after the prompt's
// >>>, later calls after ">>>").
func functionaryGrammar(prefix, mid, suffix string, lazy bool) func(Options, SchemaConverter) (*Grammar, error) {
	return func(opts Options, conv SchemaConverter) (*Grammar, error) {
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
			alt := GBNFLiteral(prefix+t.Name+mid) + " " + args
			if suffix != "" {
				alt += " " + GBNFLiteral(suffix)
			}
			alts = append(alts, alt)
		}
		g.rule("tc-call", strings.Join(alts, " | "))
		g.b.WriteString(wsRule + "\n")
		sep := "tc-ws"
		if prefix == "" {
			sep = `tc-ws ">>>"`
		}
		root := "tc-call"
		if opts.Choice.Parallel {
			root = "tc-call (" + sep + " tc-call)*"
		}
		g.rule("root", root)
		if opts.Choice.Mode == ChoiceAuto {
			if !lazy {
				// v3.2 names the recipient on the first line; there is no
				// marker to wait for, so auto is left unconstrained.
				return nil, nil
			}
			return &Grammar{GBNF: g.String(), Lazy: true, Triggers: []string{lazyTrigger(prefix)}}, nil
		}
		return &Grammar{GBNF: g.String()}, nil
	}
}
