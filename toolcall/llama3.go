package toolcall

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Llama 3.1 / 3.2 / 3.3 answer a call with the call object as the whole
// answer: {"name": "f", "parameters": {...}} (also with "type":
// "function" first). Llama 3.1 also writes <|python_tag|> then either that
// object or a builtin tool call such as brave_search.call(query="...").

const pythonTag = "<|python_tag|>"

func init() {
	Register(&Format{
		Name:     "llama3",
		Priority: 20,
		Detect: func(t string) bool {
			// Both Llama templates render calls as {"name": ..., "parameters": ...}
			// after an ipython-aware header.
			return strings.Contains(t, "<|start_header_id|>") && strings.Contains(t, `"parameters": `) &&
				(strings.Contains(t, "ipython") || strings.Contains(t, pythonTag))
		},
		NewParser: func(opts Options) Parser { return newParser(opts, nil, &llama3Calls{}) },
		Grammar:   llama3Grammar,
	})
	// Firefunction v2 (a Llama 3 fine-tune) writes " functools[...]": the
	// list form shared with Granite and Mistral Nemo.
	Register(&Format{
		Name:     "firefunction",
		Priority: 30,
		Detect:   func(t string) bool { return strings.Contains(t, "functools[") },
		NewParser: func(opts Options) Parser {
			return newParser(opts, nil, &arrayCalls{marker: "functools", newObj: func() *callObject {
				return newCallObject([]string{"name"}, []string{"arguments"})
			}})
		},
		Grammar: func(opts Options, conv SchemaConverter) (*Grammar, error) {
			g, list, err := arrayGrammar(opts, conv, "functools", "arguments")
			if err != nil {
				return nil, err
			}
			g.rule("root", list)
			if opts.Choice.Mode == ChoiceAuto {
				return &Grammar{GBNF: g.String(), Lazy: true, Triggers: []string{lazyTrigger("functools")}}, nil
			}
			return &Grammar{GBNF: g.String()}, nil
		},
		TemplateVars: firefunctionVars,
	})
}

// firefunctionVars gives Firefunction v2's template what it reads besides
// the messages: functions, the JSON text of the offered functions (the
// template appends it to the system prompt, "" without tools), and
// datetime, the date the prompt states as today's ("Today is Dec 06
// 2026."). The date alone, not the time: the template puts it in the
// system prompt, and a prompt that changed every second would defeat
// prefix reuse and make two identical requests render differently.
func firefunctionVars(tools []json.RawMessage, now time.Time) map[string]any {
	functions := ""
	var fns []json.RawMessage
	for _, t := range tools {
		var tool struct {
			Function json.RawMessage `json:"function"`
		}
		if json.Unmarshal(t, &tool) == nil && len(tool.Function) > 0 {
			fns = append(fns, tool.Function)
		}
	}
	if len(fns) > 0 {
		var b strings.Builder
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(false)
		e.SetIndent("", "    ")
		if e.Encode(fns) == nil { // raw messages from a JSON request always encode
			functions = strings.TrimSuffix(b.String(), "\n")
		}
	}
	return map[string]any{"functions": functions, "datetime": now.UTC().Format("Jan 02 2006")}
}

func llamaObject() *callObject {
	return newCallObject([]string{"name"}, []string{"parameters", "arguments"})
}

type llama3Calls struct {
	state int
	pend  string
	obj   *callObject
	code  strings.Builder // after <|python_tag|>, not JSON
}

const (
	llStart = iota // nothing but whitespace yet: a '{' makes a call
	llText
	llObj
	llAfter // after a call: more calls may follow (separated by ';')
	llTag   // after <|python_tag|>
	llCode  // a builtin call's text
)

func (l *llama3Calls) feed(o *out, s string) {
	l.pend += s
	for o.err == nil {
		switch l.state {
		case llStart, llAfter, llTag:
			tr := strings.TrimLeft(l.pend, spaces+";")
			switch {
			case tr == "":
				if l.state == llStart {
					return // leading whitespace is held; trimmed anyway
				}
				l.pend = ""
				return
			case tr[0] == '{':
				l.pend, l.obj, l.state = tr, llamaObject(), llObj
			case l.state == llTag:
				l.state = llCode
			default:
				l.state = llText
			}
		case llText:
			safe, rest, which := cutMarkers(l.pend, pythonTag)
			o.text(safe)
			l.pend = rest
			if which < 0 {
				return
			}
			l.pend, l.state = rest[len(pythonTag):], llTag
		case llObj:
			n := l.obj.feed(o, l.pend)
			l.pend = l.pend[n:]
			if !l.obj.done {
				return
			}
			o.endCall()
			l.state = llAfter
		case llCode:
			l.code.WriteString(l.pend)
			l.pend = ""
			return
		}
	}
}

func (l *llama3Calls) finish(o *out) {
	switch l.state {
	case llText:
		o.text(l.pend)
	case llObj:
		o.fail(errUnterminated)
	case llCode:
		name, args, ok := builtinCall(l.code.String())
		if !ok {
			o.fail(errNotCall)
			return
		}
		o.call(name, "", args)
	}
	l.pend = ""
}

var builtinRE = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\.call\(([\s\S]*)\)\s*$`)
var kwargRE = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|-?[0-9][0-9.eE+-]*|True|False|None)\s*(?:,|$)`)

// builtinCall reads Llama 3.1's builtin tool syntax, NAME.call(k="v",
// ...), with string, number and boolean arguments.
func builtinCall(code string) (name, args string, ok bool) {
	m := builtinRE.FindStringSubmatch(code)
	if m == nil {
		return "", "", false
	}
	obj := map[string]any{}
	var keys []string
	rest := m[2]
	for strings.TrimSpace(rest) != "" {
		k := kwargRE.FindStringSubmatchIndex(rest)
		if k == nil {
			return "", "", false
		}
		key, lit := rest[k[2]:k[3]], rest[k[4]:k[5]]
		v, ok := pyLiteral(lit)
		if !ok {
			return "", "", false
		}
		obj[key] = v
		keys = append(keys, key)
		rest = rest[k[1]:]
	}
	// Keep the model's argument order.
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		v, _ := json.Marshal(obj[k])
		if str, ok := obj[k].(string); ok {
			v = []byte(jsonString(str)) // unescaped <, > and &, as written
		}
		b.WriteString(jsonString(k) + ": " + string(v))
	}
	b.WriteByte('}')
	return m[1], b.String(), true
}

func pyLiteral(lit string) (any, bool) {
	switch lit {
	case "True":
		return true, true
	case "False":
		return false, true
	case "None":
		return nil, true
	}
	if lit[0] == '\'' { // a single-quoted string: requote for strconv
		lit = `"` + strings.ReplaceAll(strings.ReplaceAll(lit[1:len(lit)-1], `\'`, `'`), `"`, `\"`) + `"`
	}
	if lit[0] == '"' {
		s, err := strconv.Unquote(lit)
		return s, err == nil
	}
	var n json.Number
	if json.Unmarshal([]byte(lit), &n) != nil {
		return nil, false
	}
	return n, true
}

// llama3Grammar forces the bare {"name": ..., "parameters": ...} form;
// with auto it applies once an answer opens with {"name".
func llama3Grammar(opts Options, conv SchemaConverter) (*Grammar, error) {
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
		alts = append(alts, jsonCallObject("name", t.Name, "parameters", args))
	}
	g.rule("tc-obj", strings.Join(alts, " | "))
	g.b.WriteString(wsRule + "\n")
	root := "tc-obj"
	if opts.Choice.Parallel {
		root = `tc-obj (tc-ws ";" tc-ws tc-obj)*`
	}
	g.rule("root", root)
	if opts.Choice.Mode == ChoiceAuto {
		return &Grammar{GBNF: g.String(), Lazy: true, Triggers: []string{`\s*(\{\s*"name"\s*:)[\s\S]*`}}, nil
	}
	return &Grammar{GBNF: g.String()}, nil
}
