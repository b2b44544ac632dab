package router

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/llamagate/llamagate/chat"
	"github.com/llamagate/llamagate/engine"

	"github.com/llamagate/llamagate/models"
	"github.com/llamagate/llamagate/openai"
)

func (s *Server) chatCompletions(c *gin.Context) {
	req, ok := decodeBody(s, c, openai.DecodeChatRequest)
	if !ok {
		return
	}
	s.generate(c, generation{
		endpoint: "/chat/completions",
		model:    req.Model, sampling: req.Sampling, defaultMax: 0, promptParam: "messages",
		stream: req.Stream, includeUsage: req.IncludeUsage,
		prompts: func(l *models.Lease) ([]promptInput, *openai.Error) {
			text, err := s.renderChat(l, req.Messages, req.Tools)
			return []promptInput{{text: text}}, err
		},
		writer: func(id string, created int64, _ int, model string) responseWriter {
			return &chatWriter{id: "chatcmpl-" + id, created: created, model: model, fingerprint: s.cfg.Fingerprint, logprobs: req.Logprobs}
		},
	})
}

// chatWriter shapes output as chat.completion objects and chunks.
type chatWriter struct {
	id, model, fingerprint string
	created                int64
	logprobs               bool
}

func (w *chatWriter) base(object string) openai.ChatCompletion {
	return openai.ChatCompletion{ID: w.id, Object: object, Created: w.created, Model: w.model, SystemFingerprint: w.fingerprint}
}

// begin sends, as OpenAI does, a first chunk per choice with the role and
// empty content.
func (w *chatWriter) begin(n int) []any {
	out := make([]any, n)
	for i := range out {
		empty := ""
		c := w.base("chat.completion.chunk")
		c.Choices = []openai.ChatChoice{{Index: i, Delta: &openai.ChatMessage{Role: "assistant", Content: &empty}}}
		out[i] = c
	}
	return out
}

func (w *chatWriter) chunk(index int, text string, lps []engine.TokenLogprob, finish *string) any {
	c := w.base("chat.completion.chunk")
	ch := openai.ChatChoice{Index: index, Delta: &openai.ChatMessage{}, FinishReason: finish}
	if finish == nil {
		ch.Delta.Content = &text
		if w.logprobs {
			ch.Logprobs = chatLogprobs(lps)
		}
	}
	c.Choices = []openai.ChatChoice{ch}
	return c
}

func (w *chatWriter) usageChunk(u openai.Usage) any {
	c := w.base("chat.completion.chunk")
	c.Choices = []openai.ChatChoice{}
	c.Usage = &u
	return c
}

func (w *chatWriter) whole(choices []choiceResult, u openai.Usage) any {
	c := w.base("chat.completion")
	for i := range choices {
		ch := openai.ChatChoice{Index: i, Message: &openai.ChatMessage{Role: "assistant", Content: &choices[i].text}, FinishReason: &choices[i].finish}
		if w.logprobs {
			ch.Logprobs = chatLogprobs(choices[i].logprobs)
		}
		c.Choices = append(c.Choices, ch)
	}
	c.Usage = &u
	return c
}

// templates caches compiled chat templates by their source, so a model's
// template is parsed once, not per request.
type templates struct{ m sync.Map } // source → templateEntry

type templateEntry struct {
	t   *chat.Template
	err error
}

func (ts *templates) get(src string) (*chat.Template, error) {
	if e, ok := ts.m.Load(src); ok {
		return e.(templateEntry).t, e.(templateEntry).err
	}
	t, err := chat.Parse(src)
	ts.m.Store(src, templateEntry{t, err})
	return t, err
}

// renderChat turns the request's messages into the prompt, with the
// model's chat template (the configured override, else the GGUF's).
func (s *Server) renderChat(l *models.Lease, messages, tools []json.RawMessage) (string, *openai.Error) {
	info := l.Engine().Info()
	src := l.Spec().ChatTemplate
	if src == "" {
		src = info.ChatTemplate
	}
	if src == "" {
		return "", &openai.Error{Status: http.StatusBadRequest, Type: openai.TypeInvalidRequest, Param: "model", Code: "chat_template_missing",
			Message: fmt.Sprintf("model %q has no chat template (its GGUF file has no tokenizer.chat_template); set chat_template for it in the configuration, or use /v1/completions with a prompt in the model's own format", l.ID())}
	}
	tmpl, err := s.templates.get(src)
	if err != nil {
		return "", &openai.Error{Status: http.StatusInternalServerError, Type: openai.TypeServer, Code: "chat_template_invalid",
			Message: fmt.Sprintf("model %q has a chat template that does not compile: %v", l.ID(), err)}
	}
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
	prompt, err := tmpl.Render(chat.Input{Messages: msgs, Tools: toolList, AddGenerationPrompt: true, BOS: info.BOS, EOS: info.EOS})
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

// applyTemplate is llama-server's POST /apply-template: {"model",
// "messages", "tools"} → {"prompt"}, rendered exactly as chat completions
// render it.
func (s *Server) applyTemplate(c *gin.Context) {
	req, ok := decodeBody(s, c, openai.DecodeChatRequest)
	if !ok {
		return
	}
	c.Set(ctxKeyModel, req.Model)
	lease, err := s.acquireFor(c, req.Model)
	if err != nil {
		writeError(c, apiError(err, "messages"))
		return
	}
	defer lease.Release()
	prompt, apiErr := s.renderChat(lease, req.Messages, req.Tools)
	if apiErr != nil {
		writeError(c, apiErr)
		return
	}
	c.JSON(http.StatusOK, gin.H{"prompt": prompt})
}
