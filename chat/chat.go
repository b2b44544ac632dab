// Package chat turns a chat conversation into the prompt text a model
// expects, by rendering the model's chat template (the Jinja source that
// GGUF files carry as tokenizer.chat_template) exactly as Hugging Face
// transformers does.
//
// It owns a small Jinja engine with the reference's semantics: Python
// Jinja2 3.1 in an ImmutableSandboxedEnvironment with trim_blocks and
// lstrip_blocks, the loopcontrols extension, transformers' tojson filter
// (json.dumps with ensure_ascii=False and key order kept) and the globals
// raise_exception and strftime_now. Python's value semantics (truthiness,
// str() and repr(), string and dict methods, Undefined) follow the
// reference, and so do its errors: a template that raises in Python fails
// here too. It also owns the mapping from OpenAI chat messages to template
// input (MessagesFromOpenAI).
//
// CONFORMANCE.md lists the reference cases and how this package fares.
package chat

import (
	"fmt"
	"strings"
	"time"
)

// Template is a compiled chat template. Render is safe for concurrent use.
type Template struct {
	nodes []node
}

// Parse compiles a template. Syntax errors and unknown filters or tests
// (which Jinja2 also reports at compile time) fail here as *SyntaxError.
func Parse(src string) (t *Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("chat template: internal error while parsing: %v", r)
		}
	}()
	nodes, err := parse(src)
	if err != nil {
		return nil, err
	}
	return &Template{nodes: nodes}, nil
}

// Input is what a template renders.
type Input struct {
	// Messages are the conversation turns (see MessagesFromOpenAI). Key
	// order is kept, as templates that dump messages show it.
	Messages []*Object
	// Tools are the tool definitions; nil leaves the variable tools
	// undefined, as the reference does without tools. Elements may be
	// *Object, json.RawMessage (decoded with key order kept), or plain Go
	// values (maps get sorted keys).
	Tools []any
	// AddGenerationPrompt asks the template to open the assistant's turn.
	AddGenerationPrompt bool
	// BOS and EOS are the model's bos_token and eos_token.
	BOS, EOS string
	// Now is the clock strftime_now reads, as wall-clock time; zero means
	// time.Now().
	Now time.Time
	// Extra holds other template variables (enable_thinking,
	// reasoning_effort, ...). The fields above win over the same names
	// here.
	Extra map[string]any
}

// Render renders the template. Errors raised by the template's
// raise_exception are *RaiseError; other runtime failures are *Error
// (UndefinedError, TypeError, SecurityError, ... as the reference names
// them). Render never panics.
func (t *Template) Render(in Input) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("chat template: internal error: %v", r)
		}
	}()
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	root := newScope(&scope{more: globals(now)})
	for k, v := range in.Extra {
		cv, err := fromGo(v, 0)
		if err != nil {
			return "", fmt.Errorf("chat: Extra[%q]: %w", k, err)
		}
		root.set(k, cv)
	}
	msgs := make([]any, len(in.Messages))
	for i, m := range in.Messages {
		cv, err := fromGo(m, 0)
		if err != nil {
			return "", fmt.Errorf("chat: messages[%d]: %w", i, err)
		}
		msgs[i] = cv
	}
	root.set("messages", msgs)
	if in.Tools != nil {
		tools, err := fromGo(in.Tools, 0)
		if err != nil {
			return "", fmt.Errorf("chat: tools: %w", err)
		}
		root.set("tools", tools)
	}
	root.set("add_generation_prompt", in.AddGenerationPrompt)
	root.set("bos_token", in.BOS)
	root.set("eos_token", in.EOS)

	ev := &evaluator{now: now}
	var b strings.Builder
	if err := ev.execList(t.nodes, root, &b); err != nil {
		return "", err
	}
	return b.String(), nil
}
