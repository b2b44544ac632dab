package openai

import (
	"encoding/json"
	"fmt"
)

// Chat limits that protect the template renderer from absurd input.
const (
	MaxMessages = 4096
	MaxTools    = 256
)

// ChatRequest is a decoded POST /v1/chat/completions body. Messages and
// Tools stay raw JSON (checked for shape here): the chat package maps them
// onto the template's input.
type ChatRequest struct {
	Model      string
	Messages   []json.RawMessage
	Tools      []json.RawMessage
	ToolDefs   []ToolDef // Tools, checked, in order
	ToolChoice ToolChoice
	// ParallelToolCalls (default true) allows more than one call per answer.
	ParallelToolCalls bool
	// ReasoningFormat is "" (not given: the model's default), "none"
	// (reasoning stays in content) or "auto"/"deepseek" (reasoning_content).
	ReasoningFormat string
	// ReasoningEffort ("" or low, medium, high) is passed to the chat
	// template as reasoning_effort.
	ReasoningEffort string
	// TemplateKwargs (chat_template_kwargs) become extra template variables.
	TemplateKwargs map[string]json.RawMessage
	Stream         bool
	IncludeUsage   bool
	User           string
	Sampling
}

var chatRoles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true}

// DecodeChatRequest parses and validates a /v1/chat/completions body.
func DecodeChatRequest(body []byte) (*ChatRequest, *Error) {
	f, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	r := &ChatRequest{}
	if err := decodeModel(f, &r.Model); err != nil {
		return nil, err
	}
	raw, ok := f["messages"]
	if !ok {
		return nil, MissingParam("messages")
	}
	if err := json.Unmarshal(raw, &r.Messages); err != nil {
		return nil, typeError("messages", "an array of message objects", raw)
	}
	if len(r.Messages) == 0 {
		return nil, InvalidParam("messages", "invalid_value", "messages must hold at least one message")
	}
	if len(r.Messages) > MaxMessages {
		return nil, InvalidParam("messages", "invalid_value", "messages may hold at most %d messages", MaxMessages)
	}
	for i, m := range r.Messages {
		if err := checkMessage(i, m); err != nil {
			return nil, err
		}
	}
	if err := r.decodeTools(f); err != nil {
		return nil, err
	}
	if err := decodeStreamFlags(f, &r.Stream, &r.IncludeUsage); err != nil {
		return nil, err
	}
	if err := f.str("user", &r.User); err != nil {
		return nil, err
	}
	if err := r.Sampling.decode(f); err != nil {
		return nil, err
	}
	if err := f.boolean("logprobs", &r.Logprobs); err != nil {
		return nil, err
	}
	var top *int64
	if err := f.integer("top_logprobs", &top, 0, MaxTopLogprobs); err != nil {
		return nil, err
	}
	if top != nil {
		if !r.Logprobs {
			return nil, InvalidParam("top_logprobs", "invalid_value", "top_logprobs requires logprobs: true")
		}
		r.TopLogprobs = int(*top)
	}
	if err := unsupported(f); err != nil {
		return nil, err
	}
	return r, nil
}

// checkMessage checks one message's shape: a known role and a content that
// is a string, null, or an array of parts.
func checkMessage(i int, raw json.RawMessage) *Error {
	param := fmt.Sprintf("messages[%d]", i)
	m, err := decodeObject(raw)
	if err != nil {
		return typeError(param, "an object", raw)
	}
	var role string
	if !m.has("role") {
		return MissingParam(param + ".role")
	}
	if err := m.str("role", &role); err != nil {
		err.Param = param + ".role"
		return err
	}
	if !chatRoles[role] {
		return InvalidParam(param+".role", "invalid_value", "%s.role must be one of system, developer, user, assistant, tool; got %q", param, role)
	}
	content, ok := m["content"]
	if !ok {
		if role == "assistant" {
			return nil // tool calls only
		}
		return MissingParam(param + ".content")
	}
	switch jsonKind(content) {
	case "a string":
		return nil
	case "an array":
		var parts []struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(content, &parts) != nil {
			return typeError(param+".content", "a string or an array of content parts", content)
		}
		for j, p := range parts {
			switch p.Type {
			case "text":
			case "image_url", "input_image", "image":
				return InvalidParam(fmt.Sprintf("%s.content[%d]", param, j), "invalid_value", "this model does not accept images")
			case "input_audio":
				return InvalidParam(fmt.Sprintf("%s.content[%d]", param, j), "invalid_value", "this model does not accept audio")
			default:
				return InvalidParam(fmt.Sprintf("%s.content[%d].type", param, j), "invalid_value", "unknown content part type %q", p.Type)
			}
		}
		return nil
	}
	return typeError(param+".content", "a string or an array of content parts", content)
}

// ChatCompletion is a /v1/chat/completions response or stream chunk.
type ChatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint,omitempty"`
	Choices           []ChatChoice `json:"choices"`
	Usage             *Usage       `json:"usage,omitempty"`
}

// ChatChoice is one choice: Message in a whole response, Delta in a chunk.
type ChatChoice struct {
	Index        int           `json:"index"`
	Message      *ChatMessage  `json:"message,omitempty"`
	Delta        *ChatDelta    `json:"delta,omitempty"`
	Logprobs     *ChatLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
}

// ChatMessage is the assistant's whole message. Content is null when the
// message holds tool calls and no text.
type ChatMessage struct {
	Role             string     `json:"role"`
	Content          *string    `json:"content"`
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
}

// ChatDelta is a piece of the assistant's message in a stream chunk.
type ChatDelta struct {
	Role             string     `json:"role,omitempty"`
	Content          *string    `json:"content,omitempty"`
	ReasoningContent *string    `json:"reasoning_content,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
}
