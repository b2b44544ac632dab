package toolcall

import "strings"

// arrayCalls reads families that write a marker and then a JSON list of
// call objects: Mistral Nemo's [TOOL_CALLS][...], Granite's
// <|tool_call|>[...], firefunction's functools[...]. Text outside the list
// is content.
type arrayCalls struct {
	marker string
	newObj func() *callObject
	// afterMarker, when set, reads what follows the marker when it is not
	// a list (Mistral's NAME[ARGS]{...} form). It returns bytes taken and
	// whether it is done with this call.
	afterMarker callBody
	newAfter    func() callBody

	state int
	pend  string
	obj   *callObject
}

const (
	arText  = iota
	arStart // after the marker: '[' (or another form) follows
	arList  // between list items
	arObj   // inside an item
	arOther // inside the afterMarker form
)

func (a *arrayCalls) feed(o *out, s string) {
	a.pend += s
	for o.err == nil {
		switch a.state {
		case arText:
			safe, rest, which := cutMarkers(a.pend, a.marker)
			o.text(safe)
			a.pend = rest
			if which < 0 {
				return
			}
			a.pend, a.state = rest[len(a.marker):], arStart
		case arStart:
			tr := strings.TrimLeft(a.pend, spaces)
			switch {
			case tr == "":
				return
			case tr[0] == '[':
				a.pend, a.state = tr[1:], arList
			case a.newAfter != nil:
				a.afterMarker, a.state = a.newAfter(), arOther
			default:
				o.fail(errNotCall)
				return
			}
		case arList:
			tr := strings.TrimLeft(a.pend, spaces+",")
			switch {
			case tr == "":
				a.pend = ""
				return
			case tr[0] == ']':
				a.pend, a.state = tr[1:], arText
			case tr[0] == '{':
				a.pend, a.obj, a.state = tr, a.newObj(), arObj
			default:
				o.fail(errNotCall)
				return
			}
		case arObj:
			n := a.obj.feed(o, a.pend)
			a.pend = a.pend[n:]
			if !a.obj.done {
				return
			}
			o.endCall()
			a.state = arList
		case arOther:
			n := a.afterMarker.feed(o, a.pend)
			a.pend = a.pend[n:]
			if !a.afterMarker.finished() {
				return
			}
			o.endCall()
			a.state = arText
		}
	}
}

func (a *arrayCalls) finish(o *out) {
	switch a.state {
	case arText:
		o.text(a.pend)
	case arList:
		// A list cut before its ']' keeps the whole calls it has: models
		// often stop right after the last object.
	default:
		o.fail(errUnterminated)
	}
	a.pend = ""
}

// arrayGrammar returns rules for MARKER [obj, obj...] with objects in the
// {"name": ..., "arguments": ...} form.
func arrayGrammar(opts Options, conv SchemaConverter, marker, argKey string) (*grammarBuilder, string, error) {
	tools, err := offered(opts)
	if err != nil {
		return nil, "", err
	}
	g := &grammarBuilder{conv: conv}
	var alts []string
	for _, t := range tools {
		args, err := g.args(t)
		if err != nil {
			return nil, "", err
		}
		alts = append(alts, jsonCallObject("name", t.Name, argKey, args))
	}
	g.rule("tc-obj", strings.Join(alts, " | "))
	g.b.WriteString(wsRule + "\n")
	items := "tc-obj"
	if opts.Choice.Parallel {
		items = `tc-obj (tc-ws "," tc-ws tc-obj)*`
	}
	return g, GBNFLiteral(marker) + ` tc-ws "[" tc-ws ` + items + ` tc-ws "]"`, nil
}
