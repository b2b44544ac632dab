package toolcall

import (
	"encoding/json"
	"strings"
	"testing"
)

// What forced grammars let a model write, checked with the test matcher:
// XML argument values held to their parameter's schema, parameters in
// schema order, and reasoning before a forced call bounded or absent.

const (
	valWeatherSchema = `{"type":"object","properties":{"city":{"type":"string","maxLength":10},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","days"]}`
	valZoneSchema    = `{"type":"object","properties":{"zone":{"type":"string","enum":["UTC","CET"]},"note":{"type":"string"}},"required":["zone"]}`
)

var valTools = []Tool{
	{Name: "get_weather", Parameters: json.RawMessage(valWeatherSchema)},
	{Name: "get_time", Parameters: json.RawMessage(valZoneSchema)},
}

// typedFakeConv stands in for llama.cpp's converter for the schemas of
// valTools: integers as digits, anything else as a JSON object.
func typedFakeConv(schema []byte) (string, error) {
	if strings.Contains(string(schema), `"type":"integer"`) && !strings.Contains(string(schema), "properties") {
		return "root ::= [0-9]{1,3} space\nspace ::= \" \"?\n", nil
	}
	return fakeConverter(schema)
}

func TestRawStringValue(t *testing.T) {
	cases := []struct {
		schema string
		accept []string
		reject []string
	}{
		{`{"type":"string","enum":["UTC","CET",3]}`, []string{"UTC", "CET"}, []string{"PST", "", "3", "UTCX"}},
		{`{"type":"string","const":"a\"b"}`, []string{`a"b`}, []string{"a", `a"bc`}},
		{`{"type":"string","maxLength":3}`, []string{"", "abc", "été"}, []string{"abcd", "a<b", "a\nb"}},
		{`{"type":"string","minLength":2,"maxLength":3}`, []string{"ab", "abc"}, []string{"a", "abcd"}},
		{`{"type":"string","minLength":2}`, []string{"ab", strings.Repeat("x", 50)}, []string{"a", ""}},
		{`{"type":"string","maxLength":0}`, []string{""}, []string{"a"}},
	}
	for _, c := range cases {
		expr := rawStringValue(json.RawMessage(c.schema), "free")
		g := "root ::= " + expr + "\n"
		for _, s := range c.accept {
			if !gbnfAccepts(t, g, s) {
				t.Errorf("%s: %q rejected by %s", c.schema, s, expr)
			}
		}
		for _, s := range c.reject {
			if gbnfAccepts(t, g, s) {
				t.Errorf("%s: %q accepted by %s", c.schema, s, expr)
			}
		}
	}
	for _, s := range []string{`{"type":"string"}`, `{"type":"string","pattern":"^a+$"}`, `{"enum":[1,2]}`, ``, `not json`} {
		if got := rawStringValue(json.RawMessage(s), "free"); got != "free" {
			t.Errorf("%s: %s, want the free rule", s, got)
		}
	}
}

// TestXMLGrammarsHoldSchemas: GLM's and Qwen3-Coder's forced grammars take
// string values from the parameter's schema (an enum, a maxLength), typed
// ones as JSON, the parameters in schema order with the required ones
// present; what they accept parses into arguments that hold the schema.
func TestXMLGrammarsHoldSchemas(t *testing.T) {
	glmCall := func(name string, kv ...string) string {
		s := "<tool_call>" + name + "\n"
		for i := 0; i < len(kv); i += 2 {
			s += "<arg_key>" + kv[i] + "</arg_key>\n<arg_value>" + kv[i+1] + "</arg_value>\n"
		}
		return s + "</tool_call>"
	}
	qcCall := func(name string, kv ...string) string {
		s := "<tool_call>\n<function=" + name + ">\n"
		for i := 0; i < len(kv); i += 2 {
			s += "<parameter=" + kv[i] + ">\n" + kv[i+1] + "\n</parameter>\n"
		}
		return s + "</function>\n</tool_call>"
	}
	for name, call := range map[string]func(string, ...string) string{"glm": glmCall, "qwen3coder": qcCall} {
		f := Lookup(name)
		for _, choice := range []Choice{{Mode: ChoiceRequired}, {Mode: ChoiceNamed, Name: "get_time"}} {
			opts := Options{Tools: valTools, Choice: choice}
			g, err := f.Grammar(opts, typedFakeConv)
			if err != nil {
				t.Fatal(err)
			}
			accept := map[string]string{
				call("get_time", "zone", "UTC"):                  `{"zone": "UTC"}`,
				call("get_time", "zone", "CET", "note", "a b c"): `{"zone": "CET", "note": "a b c"}`,
			}
			reject := []string{
				call("get_time", "zone", "PST"),
				call("get_time", "zone", "utc"),
				call("get_time"),                                      // zone is required
				call("get_time", "note", "x", "zone", "UTC"),          // not in schema order
				call("get_time", "zone", "UTC", "zone", "UTC"),        // twice
				call("get_time", "zone", "UTC", "other", "x"),         // not a parameter
				"<think>hm</think>" + call("get_time", "zone", "UTC"), // no reasoning when the prompt did not open it
			}
			if choice.Mode == ChoiceRequired {
				accept[call("get_weather", "city", "Paris", "days", "3")] = `{"city": "Paris", "days": 3}`
				accept[call("get_weather", "city", "", "days", "7")] = `{"city": "", "days": 7}`
				reject = append(reject,
					call("get_weather", "city", "Paris is nice", "days", "3"), // over maxLength
					call("get_weather", "city", "Paris", "days", "three"),
					call("get_weather", "days", "3", "city", "Paris"),
					call("get_weather", "city", "Paris"))
			} else {
				reject = append(reject, call("get_weather", "city", "Paris", "days", "3"))
			}
			for text, args := range accept {
				if !gbnfAccepts(t, g.GBNF, text) {
					t.Errorf("%s %+v: rejects %q; grammar:\n%s", name, choice, text, g.GBNF)
					continue
				}
				p := f.NewParser(opts)
				p.Feed(text)
				_, res, ok := p.Finish(false)
				if !ok || len(res.Calls) != 1 || res.Calls[0].Arguments != args {
					t.Errorf("%s: %q parses as %+v (ok %v), want arguments %s", name, text, res, ok, args)
				}
			}
			for _, text := range reject {
				if gbnfAccepts(t, g.GBNF, text) {
					t.Errorf("%s %+v: accepts %q; grammar:\n%s", name, choice, text, g.GBNF)
				}
			}
		}
	}
}

// TestForcedReasoningBounded: a forced call may not reason when the prompt
// left no reasoning block open (a model would reason on without end); when
// the prompt opened one, the answer closes it within forcedReasoningMax
// characters. The parsers read the reasoning and the call either way.
func TestForcedReasoningBounded(t *testing.T) {
	const args = `{"zone":"UTC"}`
	cases := []struct {
		format      string
		open, close string // the reasoning block's tags ("" open: open from the start)
		call        string
		alwaysOpen  bool
	}{
		{format: "deepseek-r1", open: "<think>", close: "</think>",
			call: "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n" + args + "\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>"},
		{format: "nemotron-v2", open: "<think>", close: "</think>", call: `<TOOLCALL>[{"name": "get_time", "arguments": ` + args + `}]</TOOLCALL>`},
		{format: "apriel", close: "[BEGIN FINAL RESPONSE]", alwaysOpen: true, call: `<tool_calls>[{"name": "get_time", "arguments": ` + args + `}]</tool_calls>`},
		{format: "hermes", open: "<think>", close: "</think>", call: "<tool_call>\n{\"name\": \"get_time\", \"arguments\": " + args + "}\n</tool_call>"},
		{format: "glm", open: "<think>", close: "</think>", call: "<tool_call>get_time\n<arg_key>zone</arg_key>\n<arg_value>UTC</arg_value>\n</tool_call>"},
		{format: "qwen3coder", open: "<think>", close: "</think>", call: "<tool_call>\n<function=get_time>\n<parameter=zone>\nUTC\n</parameter>\n</function>\n</tool_call>"},
		{format: "kimi-k2", open: "<think>", close: "</think>", call: "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_time:0<|tool_call_argument_begin|>" + args + "<|tool_call_end|><|tool_calls_section_end|>"},
		{format: "mistral", open: "[THINK]", close: "[/THINK]", call: "[TOOL_CALLS]get_time[ARGS]" + args},
	}
	tools := []Tool{{Name: "get_time", Parameters: json.RawMessage(`{"type":"object","properties":{"zone":{"type":"string","enum":["UTC","CET"]}},"required":["zone"]}`)}}
	for _, c := range cases {
		f := Lookup(c.format)
		if f == nil {
			t.Fatalf("no format %s", c.format)
		}
		for _, choice := range []Choice{{Mode: ChoiceRequired}, {Mode: ChoiceNamed, Name: "get_time"}} {
			closed := Options{Tools: tools, Choice: choice, Reasoning: true}
			opened := closed
			opened.ThinkingOpen = true
			if !c.alwaysOpen {
				g, err := f.Grammar(closed, fakeConverter)
				if err != nil {
					t.Fatal(err)
				}
				if !gbnfAccepts(t, g.GBNF, c.call) {
					t.Errorf("%s: the call alone is rejected:\n%s", c.format, g.GBNF)
				}
				if gbnfAccepts(t, g.GBNF, c.open+"hm"+c.close+c.call) {
					t.Errorf("%s: reasoning before a forced call the prompt did not open", c.format)
				}
			}
			g, err := f.Grammar(opened, fakeConverter)
			if err != nil {
				t.Fatal(err)
			}
			most := strings.Repeat("é", forcedReasoningMax)
			for text, want := range map[string]bool{
				c.close + c.call: true,
				"Let me see.\n" + c.close + "\n" + c.call: true,
				most + c.close + c.call:                   true,
				most + "x" + c.close + c.call:             false, // over the bound
				"a" + c.call:                              false, // the block must close
				c.call:                                    false,
			} {
				if got := gbnfAccepts(t, g.GBNF, text); got != want {
					t.Errorf("%s %+v opened: accepts %.60q... = %v, want %v", c.format, choice, text, got, want)
				}
			}
			p := f.NewParser(opened)
			p.Feed("Let me see.\n" + c.close + "\n" + c.call)
			_, res, ok := p.Finish(false)
			if !ok || len(res.Calls) != 1 || res.Calls[0].Name != "get_time" || !strings.Contains(res.Reasoning, "Let me see.") {
				t.Errorf("%s: parsed %+v ok %v", c.format, res, ok)
			}
		}
	}
}
