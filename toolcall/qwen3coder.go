package toolcall

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Qwen3-Coder (and Step 3.5 Flash, which copies it) write calls as XML with
// one element per parameter and the values as bare text:
//
//	<tool_call>
//	<function=get_weather>
//	<parameter=city>
//	Paris
//	</parameter>
//	</function>
//	</tool_call>
//
// A value is a string unless the tool's schema types the parameter
// otherwise; the arguments object is built from the parameters in order
// and streamed one parameter at a time.

const (
	qcFunc     = "<function="
	qcFuncEnd  = "</function>"
	qcParam    = "<parameter="
	qcParamEnd = "</parameter>"
)

func init() {
	Register(&Format{
		Name:     "qwen3coder",
		Priority: 30,
		Detect: func(t string) bool {
			return strings.Contains(t, qcFunc) && strings.Contains(t, qcParam)
		},
		NewParser: func(opts Options) Parser {
			return newParser(opts, newThinkSplit(thinkOpen, thinkClose), &xmlCalls{tools: opts.Tools})
		},
		Grammar:       qwen3coderGrammar,
		ReasoningOpen: thinkOpened,
	})
}

type xmlCalls struct {
	tools []Tool
	state int
	pend  string
	name  string
	key   string
	n     int // parameters written in the current call
}

const (
	xText     = iota
	xCallOpen // after <tool_call>: <function= follows
	xName     // the function name, up to '>'
	xParams   // <parameter= or </function>
	xKey      // the parameter name, up to '>'
	xValue    // the value, up to </parameter>
	xClose    // </tool_call>
)

// expect matches a literal after optional whitespace: 1 matched (rest
// returned), 0 needs more text, -1 something else comes.
func expect(buf, lit string) (int, string) {
	tr := strings.TrimLeft(buf, spaces)
	switch {
	case strings.HasPrefix(tr, lit):
		return 1, tr[len(lit):]
	case strings.HasPrefix(lit, tr):
		return 0, buf
	}
	return -1, buf
}

func (x *xmlCalls) feed(o *out, s string) {
	x.pend += s
	for o.err == nil {
		switch x.state {
		case xText:
			safe, rest, which := cutMarkers(x.pend, hermesOpen)
			o.text(safe)
			x.pend = rest
			if which < 0 {
				return
			}
			x.pend, x.state = rest[len(hermesOpen):], xCallOpen
		case xCallOpen:
			if !x.lit(o, qcFunc, xName) {
				return
			}
		case xName, xKey:
			i := strings.IndexByte(x.pend, '>')
			if i < 0 {
				return
			}
			word := strings.TrimSpace(x.pend[:i])
			x.pend = x.pend[i+1:]
			if x.state == xName {
				x.name, x.n, x.state = word, 0, xParams
				o.start(word, "")
			} else {
				x.key, x.state = word, xValue
			}
		case xParams:
			if m, rest := expect(x.pend, qcParam); m != 0 {
				if m > 0 {
					x.pend, x.state = rest, xKey
					continue
				}
				if !x.lit(o, qcFuncEnd, xClose) {
					return
				}
				if x.n == 0 {
					o.arg("{")
				}
				o.arg("}")
				continue
			}
			return
		case xValue:
			// A value ends at its close tag; a model that forgets it is
			// taken at the next parameter or the end of the function.
			i, which := findFirst(x.pend, qcParamEnd, qcParam, qcFuncEnd)
			if i < 0 {
				return
			}
			x.value(o, x.pend[:i])
			x.pend, x.state = x.pend[i:], xParams
			if which == 0 {
				x.pend = x.pend[len(qcParamEnd):]
			}
		case xClose:
			m, rest := expect(x.pend, hermesOpen[:1]+"/"+hermesOpen[1:])
			if m == 0 {
				return
			}
			o.endCall()
			x.state = xText
			if m > 0 {
				x.pend = rest
			}
		}
	}
}

// lit consumes an expected literal and moves to next; it fails the parse
// when something else comes and reports whether it matched.
func (x *xmlCalls) lit(o *out, lit string, next int) bool {
	m, rest := expect(x.pend, lit)
	if m < 0 {
		o.fail(errNotCall)
	}
	if m <= 0 {
		return false
	}
	x.pend, x.state = rest, next
	return true
}

// value emits one parameter as the next member of the arguments object.
func (x *xmlCalls) value(o *out, raw string) {
	raw = strings.TrimPrefix(raw, "\n")
	raw = strings.TrimSuffix(raw, "\n")
	sep := ", "
	if x.n == 0 {
		sep = "{"
	}
	x.n++
	o.arg(sep + jsonString(x.key) + ": " + typedValue(x.tools, x.name, x.key, raw))
}

// typedValue returns a parameter's JSON: the text itself when the schema
// types it as anything but a string and it parses as JSON, else the text
// as a JSON string.
func typedValue(tools []Tool, tool, key, raw string) string {
	t := strings.TrimSpace(raw)
	if paramTyped(tools, tool, key) && json.Valid([]byte(t)) {
		return t
	}
	return jsonString(raw)
}

// paramTyped reports whether a tool's schema gives the parameter a type
// other than string.
func paramTyped(tools []Tool, tool, key string) bool {
	for _, t := range tools {
		if t.Name != tool {
			continue
		}
		p := paramSchemas(t)[key]
		var s struct {
			Type any `json:"type"`
		}
		if json.Unmarshal(p, &s) != nil {
			return false
		}
		switch ty := s.Type.(type) {
		case string:
			return ty != "string"
		case []any:
			for _, v := range ty {
				if v == "string" {
					return false
				}
			}
			return len(ty) > 0
		}
	}
	return false
}

// paramSchemas returns a tool's properties.
func paramSchemas(t Tool) map[string]json.RawMessage {
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	_ = json.Unmarshal(t.Parameters, &s) // no properties: any parameter is a string
	return s.Properties
}

func (x *xmlCalls) finish(o *out) {
	switch x.state {
	case xText:
		o.text(x.pend)
	case xClose: // the model stopped before </tool_call>: the call is whole
		o.endCall()
	default:
		o.fail(errUnterminated)
	}
	x.pend = ""
}

// qwen3coderGrammar writes the XML form: per tool, its parameters in the
// order the schema lists them (the required ones present, the others
// optional: GBNF cannot say "any order, each once" without blowing up, and
// models write parameters in schema order), string values as raw text held
// to their schema (rawStringValue) up to </parameter>, typed ones in the
// JSON grammar of their schema.
func qwen3coderGrammar(opts Options, conv SchemaConverter) (*Grammar, error) {
	tools, err := offered(opts)
	if err != nil {
		return nil, err
	}
	g := &grammarBuilder{conv: conv}
	g.rule("tc-text", notContaining(qcParamEnd))
	var alts []string
	for _, t := range tools {
		list, err := toolParams(t)
		if err != nil {
			return nil, fmt.Errorf("toolcall: tool %q: parameters: %w", t.Name, err)
		}
		var params []string
		for _, k := range list.order {
			val := rawStringValue(list.props[k], "tc-text")
			if paramTyped(tools, t.Name, k) {
				if val, err = g.args(Tool{Name: t.Name + "." + k, Parameters: list.props[k]}); err != nil {
					return nil, err
				}
			}
			p := GBNFLiteral(qcParam+k+">\n") + " " + val + " " + GBNFLiteral("\n"+qcParamEnd+"\n")
			if !list.required[k] {
				p = "(" + p + ")?"
			}
			params = append(params, p)
		}
		if len(params) == 0 { // no declared properties: any names, string values
			params = append(params, "("+GBNFLiteral(qcParam)+` [A-Za-z0-9_.-]+ ">\n" tc-text `+GBNFLiteral("\n"+qcParamEnd+"\n")+")*")
		}
		alts = append(alts, GBNFLiteral(qcFunc+t.Name+">\n")+" "+strings.Join(params, " ")+" "+GBNFLiteral(qcFuncEnd))
	}
	g.rule("tc-call", GBNFLiteral(hermesOpen+"\n")+" ("+strings.Join(alts, " | ")+") "+GBNFLiteral("\n"+hermesClose))
	g.b.WriteString(wsRule + "\n")
	calls := repeatCalls("tc-call", opts.Choice.Parallel)
	if opts.Choice.Mode == ChoiceAuto {
		g.rule("root", calls)
		return &Grammar{GBNF: g.String(), Lazy: true, Triggers: []string{lazyTrigger(hermesOpen)}}, nil
	}
	g.rule("root", g.thinkPrefix(thinkClose, opts.ThinkingOpen)+"tc-ws "+calls)
	return &Grammar{GBNF: g.String()}, nil
}
