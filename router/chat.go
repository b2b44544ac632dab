package router

import (
	"net/http"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/llamagate/llamagate/chat"
	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/models"
	"github.com/llamagate/llamagate/openai"
	"github.com/llamagate/llamagate/toolcall"
)

func (s *Server) chatCompletions(c *gin.Context) {
	req, ok := decodeBody(s, c, openai.DecodeChatRequest)
	if !ok {
		return
	}
	var plan *chatPlan // the current attempt's; a fallback plans again for its model
	s.generate(c, generation{
		endpoint: "/chat/completions",
		model:    req.Model, sampling: req.Sampling, defaultMax: 0, promptParam: "messages",
		stream: req.Stream, includeUsage: req.IncludeUsage,
		prompts: func(l *models.Lease) ([]promptInput, *openai.Error) {
			text, p, err := s.planChat(l, req)
			plan = p
			return []promptInput{{text: text}}, err
		},
		constrain: func(r *engine.Request) {
			if plan.grammar != nil {
				r.Grammar = plan.grammar
			}
		},
		writer: func(id string, created int64, _ int, model string) responseWriter {
			return &chatWriter{id: "chatcmpl-" + id, created: created, model: model, fingerprint: s.cfg.Fingerprint, logprobs: req.Logprobs,
				plan: plan, choices: map[int]*chatChoice{}}
		},
	})
}

// chatWriter shapes output as chat.completion objects and chunks. With a
// plan that parses, each choice's text goes through its own toolcall
// parser: content, reasoning_content and tool_calls come out of it.
type chatWriter struct {
	id, model, fingerprint string
	created                int64
	logprobs               bool
	plan                   *chatPlan
	choices                map[int]*chatChoice // per choice, while streaming
	reasoningTokens        int
}

// chatChoice is one streamed choice's parsing state.
type chatChoice struct {
	parser  toolcall.Parser
	lps     []engine.TokenLogprob // logprobs not yet sent with a chunk
	content strings.Builder       // content sent so far
	sent    bool                  // any delta was sent
}

func (w *chatWriter) base(object string) openai.ChatCompletion {
	return openai.ChatCompletion{ID: w.id, Object: object, Created: w.created, Model: w.model, SystemFingerprint: w.fingerprint}
}

func (w *chatWriter) parses() bool { return w.plan != nil && w.plan.parse }

func (w *chatWriter) newParser() toolcall.Parser { return w.plan.format.NewParser(w.plan.opts) }

// begin sends, as OpenAI does, a first chunk per choice with the role and
// empty content.
func (w *chatWriter) begin(n int) []any {
	out := make([]any, n)
	for i := range out {
		empty := ""
		c := w.base("chat.completion.chunk")
		c.Choices = []openai.ChatChoice{{Index: i, Delta: &openai.ChatDelta{Role: "assistant", Content: &empty}}}
		out[i] = c
	}
	return out
}

func (w *chatWriter) deltaChunk(index int, d *openai.ChatDelta, lps []engine.TokenLogprob, finish *string) any {
	c := w.base("chat.completion.chunk")
	ch := openai.ChatChoice{Index: index, Delta: d, FinishReason: finish}
	if w.logprobs && finish == nil {
		ch.Logprobs = chatLogprobs(lps)
	}
	c.Choices = []openai.ChatChoice{ch}
	return c
}

func (w *chatWriter) chunk(index int, text string, lps []engine.TokenLogprob, finish *string) ([]any, *openai.Error) {
	if !w.parses() {
		if finish != nil {
			if w.plan != nil && w.plan.content != nil && *finish == string(engine.FinishStop) {
				if err := w.plan.checkResult(toolcall.Result{Content: w.choice(index).content.String()}); err != nil {
					return nil, err
				}
			}
			return []any{w.deltaChunk(index, &openai.ChatDelta{}, nil, finish)}, nil
		}
		if w.plan != nil && w.plan.content != nil {
			w.choice(index).content.WriteString(text)
		}
		return []any{w.deltaChunk(index, &openai.ChatDelta{Content: &text}, lps, nil)}, nil
	}
	st := w.choice(index)
	st.lps = append(st.lps, lps...)
	if finish == nil {
		return w.deltaChunks(index, st, st.parser.Feed(text)), nil
	}
	rest, res, ok := st.parser.Finish(*finish == string(engine.FinishLength))
	var out []any
	if ok {
		if *finish == string(engine.FinishStop) {
			if err := w.plan.checkResult(res); err != nil {
				return nil, err
			}
		}
		out = w.deltaChunks(index, st, rest)
		if len(res.Calls) > 0 && *finish == string(engine.FinishStop) {
			reason := "tool_calls"
			finish = &reason
		}
		w.countReasoning(res.Reasoning)
	} else {
		// The text did not parse: what was not sent yet goes out as content.
		raw, sent := res.Content, st.content.String()
		var restText string
		switch {
		case strings.HasPrefix(raw, sent):
			restText = raw[len(sent):]
		case !st.sent:
			restText = raw
		}
		if restText != "" || len(st.lps) > 0 {
			out = append(out, w.deltaChunk(index, &openai.ChatDelta{Content: &restText}, st.lps, nil))
			st.lps = nil
		}
	}
	if len(st.lps) > 0 {
		empty := ""
		out = append(out, w.deltaChunk(index, &openai.ChatDelta{Content: &empty}, st.lps, nil))
		st.lps = nil
	}
	return append(out, w.deltaChunk(index, &openai.ChatDelta{}, nil, finish)), nil
}

func (w *chatWriter) choice(index int) *chatChoice {
	st := w.choices[index]
	if st == nil {
		st = &chatChoice{}
		if w.parses() {
			st.parser = w.newParser()
		}
		w.choices[index] = st
	}
	return st
}

// deltaChunks turns parser deltas into chunks: runs of content, of
// reasoning and of one call's argument fragments each make one chunk. The
// logprobs waiting go with the first chunk.
func (w *chatWriter) deltaChunks(index int, st *chatChoice, deltas []toolcall.Delta) []any {
	var out []any
	var cur *openai.ChatDelta
	var text strings.Builder
	curKind, curCall := toolcall.DeltaKind(-1), -1
	flush := func() {
		if cur == nil {
			return
		}
		s := text.String()
		switch curKind {
		case toolcall.DeltaContent:
			cur.Content = &s
			st.content.WriteString(s)
		case toolcall.DeltaReasoning:
			cur.ReasoningContent = &s
		case toolcall.DeltaCallArgs:
			cur.ToolCalls[0].Function.Arguments = s
		}
		out = append(out, w.deltaChunk(index, cur, st.lps, nil))
		st.lps, st.sent = nil, true
		cur = nil
		text.Reset()
	}
	for _, d := range deltas {
		same := cur != nil && d.Kind == curKind && d.Kind != toolcall.DeltaCallStart && (d.Kind != toolcall.DeltaCallArgs || d.Index == curCall)
		if !same {
			flush()
			curKind, curCall = d.Kind, d.Index
			switch d.Kind {
			case toolcall.DeltaCallStart:
				cur = &openai.ChatDelta{ToolCalls: []openai.ToolCall{{Index: &d.Index, ID: d.ID, Type: "function", Function: openai.ToolCallFunction{Name: d.Name}}}}
			case toolcall.DeltaCallArgs:
				cur = &openai.ChatDelta{ToolCalls: []openai.ToolCall{{Index: &d.Index}}}
			default:
				cur = &openai.ChatDelta{}
			}
		}
		text.WriteString(d.Text)
	}
	flush()
	return out
}

// countReasoning adds the tokens of a choice's reasoning to the usage.
func (w *chatWriter) countReasoning(reasoning string) {
	if reasoning == "" {
		return
	}
	if toks, err := w.plan.eng.Tokenize(reasoning, false); err == nil {
		w.reasoningTokens += len(toks)
	}
}

// withDetails adds completion_tokens_details when the answer could hold
// reasoning.
func (w *chatWriter) withDetails(u openai.Usage) openai.Usage {
	if w.parses() && w.plan.opts.Reasoning {
		u.CompletionTokensDetails = &openai.CompletionTokensDetails{ReasoningTokens: min(w.reasoningTokens, u.CompletionTokens)}
	}
	return u
}

func (w *chatWriter) usageChunk(u openai.Usage) any {
	c := w.base("chat.completion.chunk")
	c.Choices = []openai.ChatChoice{}
	u = w.withDetails(u)
	c.Usage = &u
	return c
}

func (w *chatWriter) whole(choices []choiceResult, u openai.Usage) (any, *openai.Error) {
	c := w.base("chat.completion")
	for i := range choices {
		msg, finish, err := w.message(choices[i])
		if err != nil {
			return nil, err
		}
		ch := openai.ChatChoice{Index: i, Message: msg, FinishReason: &finish}
		if w.logprobs {
			ch.Logprobs = chatLogprobs(choices[i].logprobs)
		}
		c.Choices = append(c.Choices, ch)
	}
	u = w.withDetails(u)
	c.Usage = &u
	return c, nil
}

// message parses one whole choice into the assistant's message.
func (w *chatWriter) message(cr choiceResult) (*openai.ChatMessage, string, *openai.Error) {
	text, finish := cr.text, cr.finish
	if !w.parses() {
		if w.plan != nil && finish == string(engine.FinishStop) {
			if err := w.plan.checkResult(toolcall.Result{Content: text}); err != nil {
				return nil, "", err
			}
		}
		return &openai.ChatMessage{Role: "assistant", Content: &text}, finish, nil
	}
	p := w.newParser()
	p.Feed(text)
	_, res, ok := p.Finish(finish == string(engine.FinishLength))
	if !ok {
		// The text did not parse (a call cut short or malformed): it is
		// returned as it is, with its finish reason.
		return &openai.ChatMessage{Role: "assistant", Content: &text}, finish, nil
	}
	if finish == string(engine.FinishStop) {
		if err := w.plan.checkResult(res); err != nil {
			return nil, "", err
		}
	}
	w.countReasoning(res.Reasoning)
	msg := &openai.ChatMessage{Role: "assistant", ReasoningContent: res.Reasoning}
	if res.Content != "" || len(res.Calls) == 0 {
		msg.Content = &res.Content
	}
	for _, call := range res.Calls {
		msg.ToolCalls = append(msg.ToolCalls, openai.ToolCall{ID: call.ID, Type: "function", Function: openai.ToolCallFunction{Name: call.Name, Arguments: call.Arguments}})
	}
	if len(res.Calls) > 0 && finish == string(engine.FinishStop) {
		finish = "tool_calls"
	}
	return msg, finish, nil
}

// templates caches compiled chat templates by their source, so a model's
// template is parsed (and its tool-call format detected) once, not per
// request.
type templates struct{ m sync.Map } // source → *templateEntry

type templateEntry struct {
	t      *chat.Template
	err    error
	format *toolcall.Format
	thinks bool // the source writes <think>: its answers may reason
}

func (ts *templates) get(src string) *templateEntry {
	if e, ok := ts.m.Load(src); ok {
		return e.(*templateEntry)
	}
	t, err := chat.Parse(src)
	e := &templateEntry{t: t, err: err, format: toolcall.Detect(src), thinks: strings.Contains(src, "<think>")}
	ts.m.Store(src, e)
	return e
}

// applyTemplate is llama-server's POST /apply-template: {"model",
// "messages", "tools", ...} → {"prompt"}, rendered exactly as chat
// completions render it.
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
	prompt, _, apiErr := s.planChat(lease, req)
	if apiErr != nil {
		writeError(c, apiErr)
		return
	}
	c.JSON(http.StatusOK, gin.H{"prompt": prompt})
}
