package toolcall

// Helpers to compose GBNF grammars. Each tool's arguments grammar comes
// from llama.cpp's json-schema-to-grammar with the start rule "root" and
// common rule names (space, string, char, ...), so every tool's rules are
// renamed under their own prefix before they are merged into one grammar.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

func isRuleChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// gbnfWords calls f for every rule name in a grammar (definitions and
// references) with its byte range, skipping string literals, character
// classes, repetition counts ({m,n}) and comments.
func gbnfWords(g string, f func(start, end int)) {
	for i := 0; i < len(g); {
		c := g[i]
		switch {
		case c == '"' || c == '[':
			closer := byte('"')
			if c == '[' {
				closer = ']'
			}
			i++
			for i < len(g) && g[i] != closer {
				if g[i] == '\\' {
					i++
				}
				i++
			}
			i++
		case c == '{':
			for i < len(g) && g[i] != '}' {
				i++
			}
		case c == '#':
			for i < len(g) && g[i] != '\n' {
				i++
			}
		case isRuleChar(c):
			j := i
			for j < len(g) && isRuleChar(g[j]) {
				j++
			}
			f(i, j)
			i = j
		default:
			i++
		}
	}
}

var ruleDef = regexp.MustCompile(`(?m)^[ \t]*([A-Za-z0-9_-]+)[ \t]*::=`)

// PrefixRules renames every rule a grammar defines to prefix+name, in
// definitions and references alike, so that grammars sharing rule names
// can be merged. Names it does not define are left alone.
func PrefixRules(gbnf, prefix string) string {
	defined := map[string]bool{}
	for _, m := range ruleDef.FindAllStringSubmatch(gbnf, -1) {
		defined[m[1]] = true
	}
	var b strings.Builder
	last := 0
	gbnfWords(gbnf, func(s, e int) {
		if defined[gbnf[s:e]] {
			b.WriteString(gbnf[last:s])
			b.WriteString(prefix)
			b.WriteString(gbnf[s:e])
			last = e
		}
	})
	b.WriteString(gbnf[last:])
	return b.String()
}

// GBNFLiteral returns s as a quoted GBNF string literal.
func GBNFLiteral(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// ArgsGrammar converts a tool's parameters schema (nil or empty meaning
// any object) and renames its rules under prefix. It returns the rules and
// the name of their start rule.
func ArgsGrammar(t Tool, prefix string, conv SchemaConverter) (rules, root string, err error) {
	schema := []byte(strings.TrimSpace(string(t.Parameters)))
	if len(schema) == 0 || string(schema) == "null" || string(schema) == "{}" {
		schema = []byte(`{"type":"object"}`)
	}
	if !json.Valid(schema) {
		return "", "", fmt.Errorf("toolcall: tool %q: parameters are not JSON", t.Name)
	}
	g, err := conv(schema)
	if err != nil {
		return "", "", fmt.Errorf("toolcall: tool %q: %w", t.Name, err)
	}
	return PrefixRules(g, prefix), prefix + "root", nil
}

// offered returns the tools a grammar allows for this choice: the named
// one, or all.
func offered(opts Options) ([]Tool, error) {
	if opts.Choice.Mode != ChoiceNamed {
		if len(opts.Tools) == 0 {
			return nil, fmt.Errorf("toolcall: no tools to call")
		}
		return opts.Tools, nil
	}
	for _, t := range opts.Tools {
		if t.Name == opts.Choice.Name {
			return []Tool{t}, nil
		}
	}
	return nil, fmt.Errorf("toolcall: tool_choice names %q, which is not among the tools", opts.Choice.Name)
}

// grammarBuilder assembles a grammar from rules added one at a time.
type grammarBuilder struct {
	b    strings.Builder
	conv SchemaConverter
	n    int
}

func (g *grammarBuilder) rule(name, body string) {
	fmt.Fprintf(&g.b, "%s ::= %s\n", name, body)
}

// args adds a tool's arguments grammar under a fresh prefix and returns
// its start rule.
func (g *grammarBuilder) args(t Tool) (string, error) {
	g.n++
	rules, root, err := ArgsGrammar(t, fmt.Sprintf("tc%d-", g.n), g.conv)
	if err != nil {
		return "", err
	}
	g.b.WriteString(strings.TrimRight(rules, "\n"))
	g.b.WriteByte('\n')
	return root, nil
}

// wsRule is the whitespace allowed between structural tokens; bounded so a
// constrained model cannot loop on blanks forever.
const wsRule = `tc-ws ::= [ \t\n]{0,4}`

// jsonCallObject returns a GBNF sequence for {"NAMEKEY": "NAME", "ARGKEY":
// ARGS} as callObject reads it (the name first, so arguments stream).
func jsonCallObject(nameKey, name, argKey, argsRule string) string {
	return fmt.Sprintf(`"{" tc-ws %s tc-ws ":" tc-ws %s tc-ws "," tc-ws %s tc-ws ":" tc-ws %s tc-ws "}"`,
		GBNFLiteral(`"`+nameKey+`"`), GBNFLiteral(jsonString(name)), GBNFLiteral(`"`+argKey+`"`), argsRule)
}

// jsonString quotes s as JSON without HTML escaping (<b> stays <b>, as
// the model wrote it).
func jsonString(s string) string {
	var b strings.Builder
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	_ = e.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// notContaining returns a GBNF expression matching text that does not
// contain marker, for a marker whose first byte does not recur in it
// (</think>, [/THINK], </tool_call>): a run of the first byte may be
// followed by any other than the next marker byte.
func notContaining(marker string) string {
	first := string(marker[0])
	alts := []string{"[^" + classEscape(first) + "]"}
	for i := 1; i < len(marker); i++ {
		alts = append(alts, fmt.Sprintf("%s+ %s[^%s]", GBNFLiteral(first), prefixLit(marker[1:i]), classEscape(first+marker[i:i+1])))
	}
	return "(" + strings.Join(alts, " | ") + ")*"
}

func prefixLit(s string) string {
	if s == "" {
		return ""
	}
	return GBNFLiteral(s) + " "
}

func classEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ']', '[', '\\', '^', '-':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// lazyTrigger returns a trigger pattern that fires at the first marker
// anywhere in the output: the grammar then applies from the marker on.
func lazyTrigger(marker string) string {
	return `[\s\S]*?(` + regexp.QuoteMeta(marker) + `)[\s\S]*`
}

// forcedReasoningMax bounds, in characters, the reasoning a forced call
// may write when the prompt opened the reasoning block.
const forcedReasoningMax = 200

// thinkPrefix returns what a forced answer (tool_choice required or
// named) writes before its calls. When the prompt left a reasoning block
// open, the answer must close it: at most forcedReasoningMax characters,
// none of them close's first byte, then close. A model that would reason
// on and on (a small one never closes the block by itself) is then
// brought to the call, and the one-character class keeps the grammar
// cheap to apply at every token. Otherwise the call comes first, with no
// reasoning, as llama-server does when it forces a call: a grammar that
// allowed an optional block would let a model reason without end. The
// parsers still read reasoning before calls whatever the grammar. The
// expression returned is "" or ends with a space, to go before the calls.
func (g *grammarBuilder) thinkPrefix(close string, opened bool) string {
	if !opened {
		return ""
	}
	g.rule("tc-think", fmt.Sprintf("[^%s]{0,%d} %s tc-ws", classEscape(close[:1]), forcedReasoningMax, GBNFLiteral(close)))
	return "tc-think "
}

func (g *grammarBuilder) String() string { return g.b.String() }

// repeatCalls returns root's body: one call, or with parallel calls one
// or more separated by whitespace.
func repeatCalls(call string, parallel bool) string {
	if parallel {
		return call + " (tc-ws " + call + ")*"
	}
	return call
}

// rawTextChar is one character of a length-bounded raw-text value: a value
// written as bare text between XML-like tags (GLM's <arg_value>,
// Qwen3-Coder's <parameter=...>) must not run into its close tag, and one
// line keeps the parsers' trimming of a newline around the value from
// changing its length.
const rawTextChar = `[^<\n]`

// rawStringValue returns the GBNF expression for a string parameter's
// value written as raw text rather than as a JSON string (the XML
// families), held to the parameter's schema where a raw-text grammar can
// hold it cheaply: const and enum become their literal strings, minLength
// and maxLength a bounded run of rawTextChar. Anything else (pattern,
// format, no constraint) is free, the expression free.
func rawStringValue(schema json.RawMessage, free string) string {
	var s struct {
		Const     *any  `json:"const"`
		Enum      []any `json:"enum"`
		MinLength *int  `json:"minLength"`
		MaxLength *int  `json:"maxLength"`
	}
	if len(schema) == 0 || json.Unmarshal(schema, &s) != nil {
		return free
	}
	if s.Const != nil {
		if c, ok := (*s.Const).(string); ok {
			return GBNFLiteral(c)
		}
	}
	var alts []string
	for _, v := range s.Enum {
		if str, ok := v.(string); ok {
			alts = append(alts, GBNFLiteral(str))
		}
	}
	if len(alts) > 0 {
		return "(" + strings.Join(alts, " | ") + ")"
	}
	lo, hi := 0, -1
	if s.MinLength != nil && *s.MinLength > 0 {
		lo = *s.MinLength
	}
	if s.MaxLength != nil && *s.MaxLength >= lo {
		hi = *s.MaxLength
	}
	switch {
	case hi == 0:
		return `""`
	case hi > 0:
		return fmt.Sprintf("%s{%d,%d}", rawTextChar, lo, hi)
	case lo > 0:
		return fmt.Sprintf("%s{%d,}", rawTextChar, lo)
	}
	return free
}

// paramList is a tool's parameters as the XML-like families write them one
// by one: each property's schema, the names in the order the schema lists
// them, and which are required.
type paramList struct {
	props    map[string]json.RawMessage
	order    []string
	required map[string]bool
}

// toolParams reads t's parameters schema into a paramList (empty without
// a schema).
func toolParams(t Tool) (paramList, error) {
	var p paramList
	if len(t.Parameters) == 0 {
		return p, nil
	}
	var schema struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
	}
	if err := json.Unmarshal(t.Parameters, &schema); err != nil {
		return p, err
	}
	order, err := propertyOrder(t.Parameters)
	if err != nil {
		return p, err
	}
	p = paramList{props: schema.Properties, order: order, required: map[string]bool{}}
	for _, r := range schema.Required {
		p.required[r] = true
	}
	return p, nil
}

// propertyOrder returns a schema's property names in the order written
// (a Go map would lose it).
func propertyOrder(schema json.RawMessage) ([]string, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(schema, &top); err != nil {
		return nil, err
	}
	props, ok := top["properties"]
	if !ok {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(props)))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}
