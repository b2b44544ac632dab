package toolcall

// GLM 4.5/4.6 writes calls as
//
//	<tool_call>NAME
//	<arg_key>K</arg_key>
//	<arg_value>V</arg_value>
//	</tool_call>
//
// A value is written raw when it is a string and as JSON otherwise (the
// template's `v | tojson if v is not string else v`), so the parser reads
// it back by the parameter's schema: a string unless the schema gives the
// parameter only non-string types. Reasoning is a leading <think> block.
// Hermes also writes <tool_call>, so this format has the higher priority.

import (
	"encoding/json"
	"strings"
)

const (
	glmCallOpen  = "<tool_call>"
	glmCallClose = "</tool_call>"
	glmKeyOpen   = "<arg_key>"
	glmKeyClose  = "</arg_key>"
	glmValOpen   = "<arg_value>"
	glmValClose  = "</arg_value>"
)

const (
	glmText = iota
	glmName
	glmArgs  // between arguments
	glmKey   // inside <arg_key>
	glmValue // between </arg_key> and </arg_value>
)

type glmScan struct {
	opts  *Options
	st    int
	pend  string
	name  string
	key   string
	nargs int
}

func (g *glmScan) feed(o *out, s string) {
	g.pend += s
	for o.err == nil {
		switch g.st {
		case glmText:
			safe, rest, which := cutMarkers(g.pend, glmCallOpen)
			o.text(safe)
			g.pend = rest
			if which < 0 {
				return
			}
			g.pend = rest[len(glmCallOpen):]
			g.st = glmName
		case glmName:
			// The name ends at its line's end or at the first argument.
			pos, which := findFirst(g.pend, "\n", glmKeyOpen, glmCallClose)
			if pos < 0 {
				if len(g.pend) > maxHeader {
					o.fail(errMarkup)
				}
				return
			}
			name := strings.TrimSpace(g.pend[:pos])
			if name == "" && which == 0 {
				g.pend = g.pend[pos+1:] // a newline before the name
				continue
			}
			if name == "" {
				o.fail(errMarkup)
				return
			}
			g.name = name
			o.start(name, "")
			g.nargs = 0
			if which == 0 {
				pos++
			}
			g.pend = g.pend[pos:]
			g.st = glmArgs
		case glmArgs:
			w, rest, wait := expectMarker(g.pend, glmKeyOpen, glmCallClose)
			if wait {
				return
			}
			if w < 0 {
				o.fail(errMarkup)
				return
			}
			g.pend = rest
			if w == 0 {
				g.st = glmKey
				continue
			}
			g.closeArgs(o)
			o.endCall()
			g.st = glmText
		case glmKey:
			pos := strings.Index(g.pend, glmKeyClose)
			if pos < 0 {
				if len(g.pend) > maxHeader {
					o.fail(errMarkup)
				}
				return
			}
			g.key = strings.TrimSpace(g.pend[:pos])
			g.pend = g.pend[pos+len(glmKeyClose):]
			g.st = glmValue
		case glmValue:
			w, rest, wait := expectMarker(g.pend, glmValOpen)
			if wait {
				return
			}
			if w < 0 {
				o.fail(errMarkup)
				return
			}
			pos := strings.Index(rest, glmValClose)
			if pos < 0 {
				return // the value is read whole: its type needs all of it
			}
			g.emitArg(o, g.key, rest[:pos])
			g.pend = rest[pos+len(glmValClose):]
			g.st = glmArgs
		}
	}
}

// emitArg writes one key/value pair of the arguments object, opening it
// on the first pair, as `{"k": v` then `, "k": v`.
func (g *glmScan) emitArg(o *out, key, raw string) {
	sep := ", "
	if g.nargs == 0 {
		sep = "{"
	}
	g.nargs++
	o.arg(sep + jsonString(key) + ": " + glmArgValue(g.opts, g.name, key, raw))
}

func (g *glmScan) closeArgs(o *out) {
	if g.nargs == 0 {
		o.arg("{}")
	} else {
		o.arg("}")
	}
}

// glmArgValue turns a raw <arg_value> into JSON: a JSON value when the
// parameter's schema allows only non-string types and the text parses,
// else a string.
func glmArgValue(opts *Options, tool, key, raw string) string {
	if t := toolByName(*opts, tool); t != nil && !glmStringParam(t.Parameters, key) {
		if v := strings.TrimSpace(raw); json.Valid([]byte(v)) {
			return v
		}
	}
	return jsonString(raw)
}

// glmStringParam reports whether a parameter is (or may be) a string, or
// has no type the schema states.
func glmStringParam(schema json.RawMessage, key string) bool {
	var s struct {
		Properties map[string]struct {
			Type any `json:"type"`
		} `json:"properties"`
	}
	if json.Unmarshal(schema, &s) != nil {
		return true
	}
	p, ok := s.Properties[key]
	if !ok {
		return true
	}
	switch t := p.Type.(type) {
	case string:
		return t == "string"
	case []any:
		for _, x := range t {
			if x == "string" {
				return true
			}
		}
		return len(t) == 0
	}
	return true
}

func (g *glmScan) finish(o *out) {
	switch g.st {
	case glmText:
		o.text(g.pend)
	case glmArgs:
		// Between arguments with the closing tag missing: the arguments
		// read are whole, so the call stands unless output was cut short.
		if strings.TrimSpace(g.pend) != "" {
			o.fail(errUnterminated)
			break
		}
		g.closeArgs(o)
	default:
		o.fail(errUnterminated)
	}
	g.pend = ""
}

func newGLMParser(opts Options) Parser {
	p := newParser(opts, newThinkSplit("<think>", "</think>"), nil)
	if callsOn(opts) {
		p.calls = &glmScan{opts: &p.opts}
	}
	return p
}

// glmGrammar constrains a call to the tool's parameters in the order the
// schema lists them (required ones present, the others optional): GBNF
// cannot express "any order, each once" without blowing up, and models
// write parameters in schema order.
func glmGrammar(opts Options, conv SchemaConverter) (*Grammar, error) {
	tools, err := offered(opts)
	if err != nil {
		return nil, err
	}
	g := &grammarBuilder{conv: conv}
	g.b.WriteString(wsRule + "\n")
	g.rule("tc-str", notContaining(glmValClose))
	var alts []string
	for _, t := range tools {
		body, err := glmArgsRule(g, t)
		if err != nil {
			return nil, err
		}
		alts = append(alts, GBNFLiteral(glmCallOpen+t.Name+"\n")+" "+body+" "+GBNFLiteral(glmCallClose))
	}
	g.rule("tc-call", strings.Join(alts, " | "))
	calls := repeatCalls("tc-call", opts.Choice.Parallel)
	if opts.Choice.Mode == ChoiceAuto {
		g.rule("root", calls)
		return &Grammar{GBNF: g.String(), Lazy: true, Triggers: []string{lazyTrigger(glmCallOpen)}}, nil
	}
	g.rule("root", g.thinkPrefix("</think>", opts.ThinkingOpen)+"tc-ws "+calls)
	return &Grammar{GBNF: g.String()}, nil
}

// glmArgsRule returns the sequence of <arg_key>/<arg_value> pairs for one
// tool. Values of string parameters are raw text held to their schema's
// enum, const and length (rawStringValue); others follow their schema as
// JSON (converted one parameter at a time).
func glmArgsRule(g *grammarBuilder, t Tool) (string, error) {
	params, err := toolParams(t)
	if err != nil {
		return "", err
	}
	if len(params.order) == 0 {
		// No declared parameters: any keys, string values.
		return `("<arg_key>" [^<]+ "</arg_key>\n<arg_value>" tc-str "</arg_value>\n")*`, nil
	}
	var parts []string
	for _, key := range params.order {
		value := rawStringValue(params.props[key], "tc-str")
		if !glmStringParam(t.Parameters, key) {
			root, err := g.args(Tool{Name: t.Name + "." + key, Parameters: params.props[key]})
			if err != nil {
				return "", err
			}
			value = root
		}
		pair := GBNFLiteral(glmKeyOpen+key+glmKeyClose+"\n"+glmValOpen) + " " + value + " " + GBNFLiteral(glmValClose+"\n")
		if !params.required[key] {
			pair = "(" + pair + ")?"
		}
		parts = append(parts, pair)
	}
	return strings.Join(parts, " "), nil
}

func init() {
	Register(&Format{
		Name: "glm",
		// Above Hermes: GLM's template also writes <tool_call>.
		Priority: 110,
		Detect: func(tmpl string) bool {
			return strings.Contains(tmpl, glmKeyOpen) && strings.Contains(tmpl, glmCallOpen)
		},
		NewParser:     newGLMParser,
		Grammar:       glmGrammar,
		ReasoningOpen: endsOpenThink,
	})
}
