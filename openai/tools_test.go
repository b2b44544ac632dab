package openai

import (
	"strings"
	"testing"
)

func TestDecodeTools(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"x"}],
		"tools":[{"type":"function","function":{"name":"a","description":"A","parameters":{"type":"object"}}},{"type":"function","function":{"name":"b-2"}}],
		"tool_choice":{"type":"function","function":{"name":"b-2"}},"parallel_tool_calls":false,
		"reasoning_format":"none","reasoning_effort":"high","chat_template_kwargs":{"enable_thinking":false}}`
	r, err := DecodeChatRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.ToolDefs) != 2 || r.ToolDefs[0].Name != "a" || r.ToolDefs[0].Description != "A" || string(r.ToolDefs[0].Parameters) != `{"type":"object"}` ||
		r.ToolDefs[1].Parameters != nil || len(r.Tools) != 2 {
		t.Fatalf("tools %+v", r.ToolDefs)
	}
	if r.ToolChoice != (ToolChoice{Mode: ToolChoiceFunction, Name: "b-2"}) || r.ParallelToolCalls || r.ReasoningFormat != "none" ||
		r.ReasoningEffort != "high" || string(r.TemplateKwargs["enable_thinking"]) != "false" {
		t.Fatalf("decoded %+v", r)
	}
	r, err = DecodeChatRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}]}`))
	if err != nil || r.ToolChoice.Mode != ToolChoiceAuto || !r.ParallelToolCalls {
		t.Fatalf("defaults: %+v %v", r, err)
	}
}

func TestDecodeToolsErrors(t *testing.T) {
	const msgs = `"model":"m","messages":[{"role":"user","content":"x"}]`
	const tool = `"tools":[{"type":"function","function":{"name":"f"}}]`
	for _, tc := range []struct{ extra, param string }{
		{`"tools":{}`, "tools"},
		{`"tools":[1]`, "tools[0]"},
		{`"tools":[{"function":{"name":"f"}}]`, "tools[0].type"},
		{`"tools":[{"type":"function"}]`, "tools[0].function"},
		{`"tools":[{"type":"function","function":{}}]`, "tools[0].function.name"},
		{`"tools":[{"type":"function","function":{"name":7}}]`, "tools[0].function.name"},
		{`"tools":[{"type":"function","function":{"name":"` + strings.Repeat("x", 65) + `"}}]`, "tools[0].function.name"},
		{`"tools":[{"type":"function","function":{"name":"f","parameters":"x"}}]`, "tools[0].function.parameters"},
		{`"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}]`, "tools[1].function.name"},
		{tool + `,"tool_choice":5`, "tool_choice"},
		{tool + `,"tool_choice":{"type":"function","function":{"name":"g"}}`, "tool_choice"},
		{tool + `,"tool_choice":{"type":"function"}`, "tool_choice"},
		{tool + `,"parallel_tool_calls":"yes"`, "parallel_tool_calls"},
		{`"reasoning_format":"xml"`, "reasoning_format"},
		{`"reasoning_effort":1`, "reasoning_effort"},
		{`"chat_template_kwargs":"x"`, "chat_template_kwargs"},
	} {
		_, err := DecodeChatRequest([]byte(`{` + msgs + `,` + tc.extra + `}`))
		if err == nil || err.Param != tc.param || err.Status != 400 {
			t.Errorf("%s: %v, want a 400 naming %s", tc.extra, err, tc.param)
		}
	}
}
