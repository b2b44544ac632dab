package openai

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// ToolDef is one entry of tools, checked: a function the model may call.
type ToolDef struct {
	Name        string
	Description string
	Parameters  json.RawMessage // a JSON schema object; nil when not given
}

// Tool choice modes (tool_choice).
const (
	ToolChoiceAuto     = "auto"
	ToolChoiceNone     = "none"
	ToolChoiceRequired = "required"
	ToolChoiceFunction = "function" // one named function, ToolChoice.Name
)

// ToolChoice is a decoded tool_choice.
type ToolChoice struct {
	Mode string // one of the ToolChoice* constants; "auto" when not given
	Name string // with ToolChoiceFunction
}

// Reasoning formats (reasoning_format): "none" leaves a thinking model's
// reasoning inline in content; the others put it in reasoning_content.
// "auto" (the default) and "deepseek" behave the same here and exist
// because llama-server's clients send them.
var reasoningFormats = map[string]bool{"none": true, "auto": true, "deepseek": true}

var reasoningEfforts = map[string]bool{"low": true, "medium": true, "high": true}

// functionName is OpenAI's rule for tools[].function.name.
var functionName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// decodeTools reads tools, tool_choice, parallel_tool_calls and the
// reasoning and template fields of a chat request.
func (r *ChatRequest) decodeTools(f fields) *Error {
	if raw, ok := f["tools"]; ok {
		if err := json.Unmarshal(raw, &r.Tools); err != nil {
			return typeError("tools", "an array of tool objects", raw)
		}
		if len(r.Tools) > MaxTools {
			return InvalidParam("tools", "invalid_value", "tools may hold at most %d tools", MaxTools)
		}
		seen := map[string]bool{}
		for i, t := range r.Tools {
			def, err := decodeTool(i, t)
			if err != nil {
				return err
			}
			if seen[def.Name] {
				return InvalidParam(fmt.Sprintf("tools[%d].function.name", i), "invalid_value", "tools has two functions named %q", def.Name)
			}
			seen[def.Name] = true
			r.ToolDefs = append(r.ToolDefs, def)
		}
	}
	if err := r.decodeToolChoice(f); err != nil {
		return err
	}
	r.ParallelToolCalls = true // OpenAI's default
	if err := f.boolean("parallel_tool_calls", &r.ParallelToolCalls); err != nil {
		return err
	}
	if err := f.str("reasoning_format", &r.ReasoningFormat); err != nil {
		return err
	}
	if r.ReasoningFormat != "" && !reasoningFormats[r.ReasoningFormat] {
		return InvalidParam("reasoning_format", "invalid_value", "reasoning_format must be none, auto or deepseek, got %q", r.ReasoningFormat)
	}
	if err := f.str("reasoning_effort", &r.ReasoningEffort); err != nil {
		return err
	}
	if r.ReasoningEffort != "" && !reasoningEfforts[r.ReasoningEffort] {
		return InvalidParam("reasoning_effort", "invalid_value", "reasoning_effort must be low, medium or high, got %q", r.ReasoningEffort)
	}
	if raw, ok := f["chat_template_kwargs"]; ok {
		kw, err := decodeObject(raw)
		if err != nil {
			return typeError("chat_template_kwargs", "an object", raw)
		}
		r.TemplateKwargs = map[string]json.RawMessage(kw)
	}
	return nil
}

// decodeTool checks tools[i]: {"type":"function","function":{"name",
// "description","parameters","strict"}}.
func decodeTool(i int, raw json.RawMessage) (ToolDef, *Error) {
	param := fmt.Sprintf("tools[%d]", i)
	t, err := decodeObject(raw)
	if err != nil {
		return ToolDef{}, typeError(param, "an object", raw)
	}
	var typ string
	if !t.has("type") {
		return ToolDef{}, MissingParam(param + ".type")
	}
	if err := t.str("type", &typ); err != nil {
		err.Param = param + ".type"
		return ToolDef{}, err
	}
	if typ != "function" {
		return ToolDef{}, InvalidParam(param+".type", "invalid_value", "%s.type must be \"function\", got %q", param, typ)
	}
	fnRaw, ok := t["function"]
	if !ok {
		return ToolDef{}, MissingParam(param + ".function")
	}
	fn, err := decodeObject(fnRaw)
	if err != nil {
		return ToolDef{}, typeError(param+".function", "an object", fnRaw)
	}
	var def ToolDef
	if !fn.has("name") {
		return ToolDef{}, MissingParam(param + ".function.name")
	}
	for _, p := range []struct {
		key string
		dst *string
	}{{"name", &def.Name}, {"description", &def.Description}} {
		if err := fn.str(p.key, p.dst); err != nil {
			err.Param = param + ".function." + p.key
			err.Message = fmt.Sprintf("%s.function.%s must be a string", param, p.key)
			return ToolDef{}, err
		}
	}
	if !functionName.MatchString(def.Name) {
		return ToolDef{}, InvalidParam(param+".function.name", "invalid_value",
			"%s.function.name must be 1 to 64 letters, digits, underscores or dashes, got %q", param, def.Name)
	}
	if p, ok := fn["parameters"]; ok {
		if jsonKind(p) != "an object" {
			return ToolDef{}, typeError(param+".function.parameters", "a JSON Schema object", p)
		}
		def.Parameters = append(json.RawMessage(nil), p...)
	}
	var strict bool
	if err := fn.boolean("strict", &strict); err != nil {
		err.Param = param + ".function.strict"
		return ToolDef{}, err
	}
	return def, nil
}

// decodeToolChoice reads tool_choice: "none", "auto", "required" or
// {"type":"function","function":{"name":...}} naming one of tools.
func (r *ChatRequest) decodeToolChoice(f fields) *Error {
	r.ToolChoice = ToolChoice{Mode: ToolChoiceAuto}
	raw, ok := f["tool_choice"]
	if !ok {
		return nil
	}
	switch jsonKind(raw) {
	case "a string":
		var mode string
		_ = json.Unmarshal(raw, &mode)
		switch mode {
		case ToolChoiceNone, ToolChoiceAuto:
		case ToolChoiceRequired:
			if len(r.ToolDefs) == 0 {
				return InvalidParam("tool_choice", "invalid_value", "tool_choice \"required\" needs tools")
			}
		default:
			return InvalidParam("tool_choice", "invalid_value", "tool_choice must be none, auto, required or an object naming a function, got %q", mode)
		}
		r.ToolChoice.Mode = mode
		return nil
	case "an object":
	default:
		return typeError("tool_choice", "a string or an object", raw)
	}
	obj, _ := decodeObject(raw)
	var typ string
	if err := obj.str("type", &typ); err != nil || typ != "function" {
		return InvalidParam("tool_choice", "invalid_value", "tool_choice.type must be \"function\"")
	}
	fn, err := decodeObject(obj["function"])
	if obj["function"] == nil || err != nil {
		return InvalidParam("tool_choice", "invalid_value", "tool_choice.function must be an object with the function's name")
	}
	var name string
	if err := fn.str("name", &name); err != nil || name == "" {
		return InvalidParam("tool_choice", "invalid_value", "tool_choice.function.name must be the name of one of tools")
	}
	for _, d := range r.ToolDefs {
		if d.Name == name {
			r.ToolChoice = ToolChoice{Mode: ToolChoiceFunction, Name: name}
			return nil
		}
	}
	return InvalidParam("tool_choice", "invalid_value", "tool_choice names the function %q, which is not in tools", name)
}

// ToolCall is one call in an assistant message; Index is set in stream
// deltas only.
type ToolCall struct {
	Index    *int             `json:"index,omitempty"`
	ID       string           `json:"id,omitempty"`
	Type     string           `json:"type,omitempty"`
	Function ToolCallFunction `json:"function"`
}

// ToolCallFunction is a call's function and its arguments (JSON text). In
// a delta after the first, Name is empty and Arguments a fragment.
type ToolCallFunction struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}
