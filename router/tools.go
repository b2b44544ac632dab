package router

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/llamagate/llamagate/chat"
	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/models"
	"github.com/llamagate/llamagate/openai"
	"github.com/llamagate/llamagate/toolcall"
)

// chatPlan is what one chat attempt (one leased model) needs beyond its
// prompt: how to read the answer (a toolcall parser per choice, or none)
// and how to constrain and check it.
type chatPlan struct {
	eng     engine.Engine
	format  *toolcall.Format
	parse   bool // run a toolcall parser over each choice's text
	opts    toolcall.Options
	grammar *engine.Grammar
	// args holds, for a forced call (tool_choice required or named), each
	// tool's compiled parameters schema: the arguments are checked before
	// they are returned. content, with response_format strict, checks the
	// answer's text.
	args    map[string]*jsonschema.Schema
	content *jsonschema.Schema
}

// toolFormat is the model's tool-call format: the configured one, else the
// one detected from its chat template.
func toolFormat(spec models.Spec, detected *toolcall.Format) *toolcall.Format {
	if spec.ToolFormat != "" {
		if f := toolcall.Lookup(spec.ToolFormat); f != nil {
			return f
		}
	}
	return detected
}

// planChat renders a chat request's prompt for the leased model and plans
// how its answer is constrained and parsed.
func (s *Server) planChat(l *models.Lease, req *openai.ChatRequest) (string, *chatPlan, *openai.Error) {
	eng := l.Engine()
	info := eng.Info()
	src := l.Spec().ChatTemplate
	if src == "" {
		src = info.ChatTemplate
	}
	if src == "" {
		return "", nil, &openai.Error{Status: http.StatusBadRequest, Type: openai.TypeInvalidRequest, Param: "model", Code: "chat_template_missing",
			Message: fmt.Sprintf("model %q has no chat template (its GGUF file has no tokenizer.chat_template); set chat_template for it in the configuration, or use /v1/completions with a prompt in the model's own format", l.ID())}
	}
	entry := s.templates.get(src)
	if entry.err != nil {
		return "", nil, &openai.Error{Status: http.StatusInternalServerError, Type: openai.TypeServer, Code: "chat_template_invalid",
			Message: fmt.Sprintf("model %q has a chat template that does not compile: %v", l.ID(), entry.err)}
	}
	p := &chatPlan{eng: eng, format: toolFormat(l.Spec(), entry.format)}
	choice := toolChoice(req)
	reasoningFormat := req.ReasoningFormat
	if reasoningFormat == "" {
		reasoningFormat = l.Spec().ReasoningFormat
	}
	p.opts = toolcall.Options{Choice: choice, Reasoning: reasoningFormat != "none"}
	tools := req.Tools
	if choice.Mode == toolcall.ChoiceNone {
		tools = nil // rendered without them: the model cannot know of any
	} else {
		for _, d := range req.ToolDefs {
			p.opts.Tools = append(p.opts.Tools, toolcall.Tool{Name: d.Name, Description: d.Description, Parameters: d.Parameters})
		}
	}
	// The family's own template variables first, so that the request's
	// chat_template_kwargs can override them.
	extra := map[string]any{}
	if p.format.TemplateVars != nil {
		maps.Copy(extra, p.format.TemplateVars(tools, time.Now()))
	}
	for k, v := range req.TemplateKwargs {
		extra[k] = v
	}
	if req.ReasoningEffort != "" {
		extra["reasoning_effort"] = req.ReasoningEffort
	}
	prompt, apiErr := renderChat(entry.t, info, req.Messages, tools, extra)
	if apiErr != nil {
		return "", nil, apiErr
	}
	p.opts.ThinkingOpen = p.format.ReasoningOpen != nil && p.format.ReasoningOpen(prompt)
	// Without tools, text is parsed only for reasoning, and only where the
	// model may reason: the text is then streamed as it comes.
	p.parse = len(p.opts.Tools) > 0 || (p.opts.Reasoning && (p.opts.ThinkingOpen || p.format != toolcall.Generic ||
		entry.thinks || req.ReasoningFormat != "" || l.Spec().ReasoningFormat != ""))
	if err := p.constrain(req); err != nil {
		return "", nil, err
	}
	return prompt, p, nil
}

// toolChoice maps the request's tool_choice onto toolcall's.
func toolChoice(req *openai.ChatRequest) toolcall.Choice {
	c := toolcall.Choice{Parallel: req.ParallelToolCalls}
	switch {
	case len(req.ToolDefs) == 0 || req.ToolChoice.Mode == openai.ToolChoiceNone:
		c.Mode = toolcall.ChoiceNone
	case req.ToolChoice.Mode == openai.ToolChoiceRequired:
		c.Mode = toolcall.ChoiceRequired
	case req.ToolChoice.Mode == openai.ToolChoiceFunction:
		c.Mode, c.Name = toolcall.ChoiceNamed, req.ToolChoice.Name
	default:
		c.Mode = toolcall.ChoiceAuto
	}
	return c
}

// constrain builds the tool-call grammar (with llama.cpp's JSON schema
// converter, through the engine) and the schemas the answer is checked
// against.
func (p *chatPlan) constrain(req *openai.ChatRequest) *openai.Error {
	if req.JSONSchema != nil && req.JSONStrict {
		p.content = compileSchema(req.JSONSchema)
	}
	mode := p.opts.Choice.Mode
	if mode == toolcall.ChoiceNone {
		return nil
	}
	forced := mode == toolcall.ChoiceRequired || mode == toolcall.ChoiceNamed
	if req.JSONSchema != nil {
		if forced {
			return openai.InvalidParam("response_format", "invalid_value", "a JSON response_format cannot be combined with tool_choice %q: the answer is a tool call", req.ToolChoice.Mode)
		}
		return nil // the JSON grammar holds the whole answer; calls stay unconstrained
	}
	conv, ok := p.eng.(engine.SchemaConverter)
	if !ok {
		if forced {
			return openai.InvalidParam("tool_choice", "unsupported_value", "this model's backend cannot constrain its output to a tool call")
		}
		return nil
	}
	g, err := p.format.Grammar(p.opts, conv.SchemaToGrammar)
	if err != nil {
		return openai.InvalidParam("tools", "invalid_value", "the tools cannot be turned into a grammar for %s tool calls: %v", p.format.Name, err)
	}
	if g != nil {
		p.grammar = &engine.Grammar{GBNF: g.GBNF, Lazy: g.Lazy, Triggers: g.Triggers}
	}
	if forced {
		p.args = map[string]*jsonschema.Schema{}
		for _, t := range p.opts.Tools {
			if t.Parameters != nil {
				p.args[t.Name] = compileSchema(t.Parameters)
			}
		}
	}
	return nil
}

// compileSchema compiles a JSON schema for checking answers, or returns nil
// when the validator cannot compile it (the answer is then only checked to
// be JSON). It never loads anything: a $ref must point inside the schema.
func compileSchema(schema []byte) *jsonschema.Schema {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(jsonschema.SchemeURLLoader{})
	const loc = "mem:///schema.json"
	if c.AddResource(loc, doc) != nil {
		return nil
	}
	sch, err := c.Compile(loc)
	if err != nil {
		return nil
	}
	return sch
}

// checkJSON checks text against schema (nil: only that it is JSON).
func checkJSON(text string, schema *jsonschema.Schema) error {
	if !json.Valid([]byte(text)) {
		return fmt.Errorf("it is not valid JSON")
	}
	if schema == nil {
		return nil
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return err
	}
	if err := schema.Validate(v); err != nil {
		return fmt.Errorf("it does not match the schema: %s", strings.ReplaceAll(err.Error(), "mem:///schema.json", "schema"))
	}
	return nil
}

// checkResult checks a parsed answer against the request's schemas. The
// error is a 500: the grammar should have made a wrong answer impossible.
func (p *chatPlan) checkResult(res toolcall.Result) *openai.Error {
	if p.args != nil {
		if len(res.Calls) == 0 {
			return invalidOutput("tool_choice requires a tool call, but the model's answer holds none")
		}
		for _, c := range res.Calls {
			if p.opts.Choice.Mode == toolcall.ChoiceNamed && c.Name != p.opts.Choice.Name {
				return invalidOutput(fmt.Sprintf("tool_choice names %q, but the model called %q", p.opts.Choice.Name, c.Name))
			}
			if err := checkJSON(c.Arguments, p.args[c.Name]); err != nil {
				return invalidOutput(fmt.Sprintf("the arguments of the model's call to %q are not valid: %v", c.Name, err))
			}
		}
	}
	if p.content != nil {
		if err := checkJSON(res.Content, p.content); err != nil {
			return invalidOutput(fmt.Sprintf("the model's answer does not satisfy response_format: %v", err))
		}
	}
	return nil
}

func invalidOutput(msg string) *openai.Error {
	return &openai.Error{Status: http.StatusInternalServerError, Type: openai.TypeServer, Code: "invalid_model_output", Message: msg}
}

// renderChat turns messages into the prompt with a compiled chat template.
func renderChat(tmpl *chat.Template, info engine.ModelInfo, messages, tools []json.RawMessage, extra map[string]any) (string, *openai.Error) {
	msgs, err := chat.MessagesFromOpenAI(messages)
	if err != nil {
		return "", openai.InvalidParam("messages", "invalid_value", "%v", err)
	}
	var toolList []any
	if tools != nil {
		toolList = make([]any, len(tools))
		for i, t := range tools {
			toolList[i] = t
		}
	}
	prompt, err := tmpl.Render(chat.Input{Messages: msgs, Tools: toolList, AddGenerationPrompt: true, BOS: info.BOS, EOS: info.EOS, Extra: extra})
	if err != nil {
		return "", &openai.Error{Status: http.StatusBadRequest, Type: openai.TypeInvalidRequest, Param: "messages", Code: "chat_template_error",
			Message: fmt.Sprintf("the model's chat template rejected this conversation: %v", err)}
	}
	// Templates that print bos_token themselves would get a second one from
	// the tokenizer, which adds BOS where the model asks for it.
	if info.BOS != "" {
		prompt = strings.TrimPrefix(prompt, info.BOS)
	}
	return prompt, nil
}
