package router

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/models"
	"github.com/llamagate/llamagate/openai"
)

// defaultCompletionMaxTokens is OpenAI's default max_tokens for the legacy
// completions endpoint.
const defaultCompletionMaxTokens = 16

func (s *Server) completions(c *gin.Context) {
	req, ok := decodeBody(s, c, openai.DecodeCompletionRequest)
	if !ok {
		return
	}
	var echo []string
	s.generate(c, generation{
		endpoint: "/completions",
		model:    req.Model, sampling: req.Sampling, defaultMax: defaultCompletionMaxTokens, promptParam: "prompt",
		stream: req.Stream, includeUsage: req.IncludeUsage,
		prompts: func(l *models.Lease) ([]promptInput, *openai.Error) {
			echo = echo[:0] // a fallback attempt renders again, for its model
			in := make([]promptInput, len(req.Prompts))
			for i, p := range req.Prompts {
				in[i] = promptInput{text: p.Text, tokens: p.Tokens}
				if !req.Echo {
					continue
				}
				text := p.Text
				if p.Tokens != nil {
					var err error
					if text, err = l.Engine().Detokenize(p.Tokens); err != nil {
						return nil, apiError(err, "prompt")
					}
				}
				echo = append(echo, text)
			}
			return in, nil
		},
		writer: func(id string, created int64, perPrompt int, model string) responseWriter {
			return &completionWriter{id: "cmpl-" + id, created: created, model: model, fingerprint: s.cfg.Fingerprint, echo: echo, perPrompt: perPrompt,
				logprobs: req.Logprobs, offsets: map[int]*textOffsets{}}
		},
	})
}

// promptInput is one prompt of a request, as text or tokens.
type promptInput struct {
	text   string
	tokens []int
}

// generation is what an endpoint hands to the shared generation path.
type generation struct {
	endpoint     string // the OpenAI path under /v1, for forwarding to an upstream
	model        string
	sampling     openai.Sampling
	defaultMax   int
	promptParam  string // the request field a prompt error names
	stream       bool
	includeUsage bool
	// prompts renders the request's prompts for the leased model; each
	// gets n choices, numbered prompt by prompt.
	prompts func(*models.Lease) ([]promptInput, *openai.Error)
	// constrain, if set, adds what the prompts' rendering decided (a
	// tool-call grammar) to the engine request.
	constrain func(*engine.Request)
	writer    func(id string, created int64, perPrompt int, model string) responseWriter
}

// generate runs a request on its model: key checks, deadline, lease,
// prompts, rate limits, engine, and the response as one body or as a
// stream. When the model fails before its first token and has fallbacks,
// the next one the key may use is tried.
func (s *Server) generate(c *gin.Context, g generation) {
	c.Set(ctxKeyModel, g.model)
	spec, known := s.models.Spec(g.model)
	if !known || !allowsModel(c, spec.ID, g.model) {
		writeError(c, openai.ModelNotFound(g.model))
		return
	}
	ctx, cancel, apiErr := s.requestContext(c)
	if apiErr != nil {
		writeError(c, apiErr)
		return
	}
	defer cancel() // ends every sequence of the request when the handler returns
	var p *pinger
	if g.stream {
		p = &pinger{c: c, every: s.cfg.KeepAlive}
	}
	a := &attempt{s: s, c: c, g: g, p: p, ctx: ctx}
	candidates := []string{g.model}
	for _, f := range spec.Fallbacks {
		if fs, ok := s.models.Spec(f); ok && allowsModel(c, fs.ID, f) {
			candidates = append(candidates, f)
		}
	}
	for i, name := range candidates {
		a.canFallBack = i+1 < len(candidates)
		err := a.run(name)
		if err == nil {
			return
		}
		s.log.Warn("model failed before its first token; trying a fallback", "request_id", c.GetString(ctxKeyRequestID),
			"model", name, "fallback", candidates[i+1], "err", err)
	}
}

// attempt is one try of a generation request on one model.
type attempt struct {
	s           *Server
	c           *gin.Context
	g           generation
	p           *pinger
	ctx         context.Context
	canFallBack bool // another model may be tried after a failure before the first token
}

// fail answers the request with e: its HTTP error, or an error event once
// a keep-alive started the stream.
func (a *attempt) fail(e *openai.Error) {
	if a.p != nil && a.p.started {
		a.c.Set(ctxKeyError, e)
		_ = a.p.sse.Data(e.Body())
		return
	}
	writeError(a.c, e)
}

// fallBack reports whether err, met before the first token, lets another
// model be tried: the model could not be loaded or had no room or slot.
// When it does not (or no model is left), it answers the request.
func (a *attempt) fallBack(err error) error {
	var le *models.LoadError
	var ce *models.CapacityError
	if a.canFallBack && a.ctx.Err() == nil &&
		(errors.As(err, &le) || errors.As(err, &ce) || errors.Is(err, engine.ErrOverloaded) || errors.Is(err, engine.ErrClosed)) {
		return err
	}
	a.fail(apiError(requestCause(a.ctx, err), a.g.promptParam))
	return nil
}

// run serves the request on the model named name. It returns nil once it
// answered the request (successfully or not), or the error that lets the
// caller try a fallback.
func (a *attempt) run(name string) error {
	s, c, g, p, ctx := a.s, a.c, a.g, a.p, a.ctx
	fail := a.fail
	if spec, ok := s.models.Spec(name); ok && spec.Remote != nil {
		return a.runRemote(spec)
	}
	arrived := time.Now()
	var lease *models.Lease
	var err error
	p.wait(func() { lease, err = s.models.Acquire(ctx, name) })
	if errors.Is(err, models.ErrRemote) {
		// A reload made it remote while this request waited.
		if spec, ok := s.models.Spec(name); ok && spec.Remote != nil {
			return a.runRemote(spec)
		}
	}
	if err != nil {
		return a.fallBack(err)
	}
	defer lease.Release()
	c.Set(ctxKeyModelID, lease.ID())
	s.cfg.Metrics.QueueWait(lease.ID(), time.Since(arrived))
	s.cfg.Metrics.InFlight(lease.ID(), 1)
	defer s.cfg.Metrics.InFlight(lease.ID(), -1)
	eng := lease.Engine()
	info := eng.Info()
	ereq, apiErr := engineRequest(withModelDefaults(g.sampling, lease.Spec().Sampling), info, g.defaultMax)
	if apiErr != nil {
		fail(apiErr)
		return nil
	}
	inputs, apiErr := g.prompts(lease)
	if apiErr != nil {
		fail(apiErr)
		return nil
	}
	if g.constrain != nil {
		g.constrain(&ereq)
	}
	ticket, apiErr := s.admit(c, lease.ID(), name, func() int { return reservation(eng, inputs, ereq, info) })
	if apiErr != nil {
		fail(apiErr)
		return nil
	}
	defer func() {
		used := 0
		if u, ok := c.Get(ctxKeyUsage); ok {
			used = u.(openai.Usage).TotalTokens
		} else if _, started := c.Get(ctxKeyTTFT); started && ticket != nil {
			// Tokens were generated but the request did not finish (client
			// gone, deadline, error): its real count is unknown, so it keeps
			// its whole reservation; a disconnect is no way around a limit.
			used = ticket.Reserved()
		}
		ticket.Settle(used)
	}()
	start := time.Now()
	streams := make([]engine.Stream, len(inputs))
	for i, in := range inputs {
		r := ereq
		r.Prompt, r.PromptTokens = in.text, in.tokens
		if streams[i], err = eng.Generate(ctx, r); err != nil {
			if i == 0 {
				return a.fallBack(err)
			}
			fail(apiError(err, g.promptParam))
			return nil
		}
	}
	stream := streams[0]
	if len(streams) > 1 {
		stream = mergeStreams(ctx, streams, ereq.N)
	}
	total := len(inputs) * ereq.N
	w := g.writer(newID(""), start.Unix(), ereq.N, lease.ID())
	if g.stream {
		s.stream(c, ctx, p, stream, total, ereq.N, arrived, g.includeUsage, g.promptParam, w)
	} else {
		s.whole(c, ctx, stream, total, ereq.N, arrived, g.promptParam, w)
	}
	return nil
}

// reservation is what a request may cost against tokens per minute: its
// prompt tokens and the most it may generate, for every choice.
func reservation(eng engine.Engine, inputs []promptInput, r engine.Request, info engine.ModelInfo) int {
	total := 0
	for _, in := range inputs {
		n := len(in.tokens)
		if in.tokens == nil {
			if toks, err := eng.Tokenize(in.text, true); err == nil {
				n = len(toks)
			}
		}
		out := r.MaxTokens
		if out <= 0 {
			out = max(info.CtxSize-n, 0)
		}
		total += n + out*max(r.N, 1)
	}
	return total
}

// engineRequest maps the shared sampling parameters onto an engine request,
// checking them against the model.
func engineRequest(p openai.Sampling, info engine.ModelInfo, defaultMax int) (engine.Request, *openai.Error) {
	r := engine.Request{Stop: p.Stop, IgnoreEOS: p.IgnoreEOS, MaxTokens: defaultMax, N: max(p.N, 1),
		Logprobs: p.Logprobs, TopLogprobs: p.TopLogprobs, JSONSchema: p.JSONSchema}
	if r.N > info.Parallel {
		return r, openai.InvalidParam("n", "invalid_value", "n is %d, but this model serves at most %d choices at once (its parallel setting)", r.N, info.Parallel)
	}
	if p.MaxTokens != nil {
		if *p.MaxTokens > int64(info.CtxSize) {
			return r, openai.InvalidParam("max_tokens", "invalid_value", "max_tokens is %d, but this model's context window is %d tokens", *p.MaxTokens, info.CtxSize)
		}
		r.MaxTokens = int(*p.MaxTokens)
	}
	sm := &r.Sampling
	sm.Temperature = 1 // OpenAI's default
	if p.Temperature != nil {
		sm.Temperature = float32(*p.Temperature)
	}
	if p.TopP != nil {
		sm.TopP = float32(*p.TopP)
	}
	if p.TopK != nil {
		sm.TopK = int(*p.TopK)
	}
	if p.MinP != nil {
		sm.MinP = float32(*p.MinP)
	}
	if p.Seed != nil {
		sm.Seed, sm.SeedSet = uint32(uint64(*p.Seed)&math.MaxUint32), true
	}
	if p.PresencePenalty != nil {
		sm.PresencePenalty = float32(*p.PresencePenalty)
	}
	if p.FrequencyPenalty != nil {
		sm.FrequencyPenalty = float32(*p.FrequencyPenalty)
	}
	if p.RepeatPenalty != nil {
		sm.RepeatPenalty = float32(*p.RepeatPenalty)
	}
	if len(p.LogitBias) > 0 {
		sm.LogitBias = make(map[int]float32, len(p.LogitBias))
		for tok, b := range p.LogitBias {
			if tok >= info.VocabSize {
				return r, openai.InvalidParam("logit_bias", "invalid_value", "logit_bias has token id %d, but this model's vocabulary has %d tokens", tok, info.VocabSize)
			}
			sm.LogitBias[tok] = float32(b)
		}
	}
	return r, nil
}

// responseWriter shapes engine output into one endpoint's wire format.
type responseWriter interface {
	begin(n int) []any // chunks that open a stream of n choices
	// chunk shapes a piece of a choice: its text and the logprobs of the
	// tokens that text completes, or (finish not nil) its end. It may make
	// no chunk or several; an error (an answer that fails its checks)
	// ends the stream.
	chunk(index int, text string, lps []engine.TokenLogprob, finish *string) ([]any, *openai.Error)
	usageChunk(u openai.Usage) any
	whole(choices []choiceResult, u openai.Usage) (any, *openai.Error)
}

// choiceResult is one whole choice.
type choiceResult struct {
	text     string
	finish   string
	logprobs []engine.TokenLogprob
}

type completionWriter struct {
	id, model, fingerprint string
	created                int64
	echo                   []string // with echo: each prompt's text, put before its choices' text
	perPrompt              int
	logprobs               bool
	offsets                map[int]*textOffsets // per choice, while streaming
}

func (w *completionWriter) echoFor(index int) string {
	if len(w.echo) == 0 {
		return ""
	}
	return w.echo[index/w.perPrompt]
}

func (w *completionWriter) base() openai.Completion {
	return openai.Completion{ID: w.id, Object: "text_completion", Created: w.created, Model: w.model, SystemFingerprint: w.fingerprint}
}

// begin sends, with echo, each choice's prompt first.
func (w *completionWriter) begin(n int) []any {
	var out []any
	for i := range n {
		if e := w.echoFor(i); e != "" {
			out = append(out, w.textChunk(i, e, nil, nil))
		}
	}
	return out
}

func (w *completionWriter) chunk(index int, text string, lps []engine.TokenLogprob, finish *string) ([]any, *openai.Error) {
	return []any{w.textChunk(index, text, lps, finish)}, nil
}

func (w *completionWriter) textChunk(index int, text string, lps []engine.TokenLogprob, finish *string) any {
	c := w.base()
	ch := openai.CompletionChoice{Index: index, Text: text, FinishReason: finish}
	if w.logprobs && finish == nil {
		off := w.offsets[index]
		if off == nil {
			off = &textOffsets{}
			w.offsets[index] = off
		}
		ch.Logprobs = completionLogprobs(lps, off)
	}
	c.Choices = []openai.CompletionChoice{ch}
	return c
}

func (w *completionWriter) usageChunk(u openai.Usage) any {
	c := w.base()
	c.Choices = []openai.CompletionChoice{}
	c.Usage = &u
	return c
}

func (w *completionWriter) whole(choices []choiceResult, u openai.Usage) (any, *openai.Error) {
	c := w.base()
	for i := range choices {
		ch := openai.CompletionChoice{Index: i, Text: w.echoFor(i) + choices[i].text, FinishReason: &choices[i].finish}
		if w.logprobs {
			ch.Logprobs = completionLogprobs(choices[i].logprobs, &textOffsets{})
		}
		c.Choices = append(c.Choices, ch)
	}
	c.Usage = &u
	return c, nil
}

// usageTotal adds up the usage of a request's choices: each prompt is
// counted once (its choices share it), every completion.
type usageTotal struct {
	openai.Usage
	perPrompt int
	seen      map[int]bool
}

func (t *usageTotal) add(index int, u engine.Usage) {
	if t.seen == nil {
		t.seen = map[int]bool{}
	}
	if p := index / max(t.perPrompt, 1); !t.seen[p] {
		t.seen[p] = true
		t.PromptTokens += u.PromptTokens
		if t.PromptTokensDetails == nil {
			t.PromptTokensDetails = &openai.PromptTokensDetails{}
		}
		t.PromptTokensDetails.CachedTokens += u.CachedTokens
	}
	t.CompletionTokens += u.CompletionTokens
	t.TotalTokens = t.PromptTokens + t.CompletionTokens
}

// whole collects a generation and answers with one JSON body.
func (s *Server) whole(c *gin.Context, ctx context.Context, st engine.Stream, n, perPrompt int, start time.Time, promptParam string, w responseWriter) {
	texts := make([]strings.Builder, n)
	finishes := make([]string, n)
	lps := make([][]engine.TokenLogprob, n)
	usage := usageTotal{perPrompt: perPrompt}
	first := true
	for {
		limit, what := s.cfg.StallTimeout, "stall"
		if first {
			limit, what = s.cfg.TTFTTimeout, "first token"
		}
		ev, err := nextWithin(ctx, st, limit, what)
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil && ev.Err != nil {
			err = ev.Err
		}
		if err != nil {
			writeError(c, apiError(requestCause(ctx, err), promptParam))
			return
		}
		if first {
			c.Set(ctxKeyTTFT, time.Since(start))
			first = false
		}
		if ev.Done {
			finishes[ev.Index] = string(ev.Finish)
			usage.add(ev.Index, ev.Usage)
			continue
		}
		texts[ev.Index].WriteString(ev.Text)
		lps[ev.Index] = append(lps[ev.Index], ev.Logprobs...)
	}
	out := make([]choiceResult, n)
	for i := range texts {
		out[i] = choiceResult{text: texts[i].String(), finish: finishes[i], logprobs: lps[i]}
	}
	c.Set(ctxKeyUsage, usage.Usage)
	c.Set(ctxKeyFinish, strings.Join(finishes, ","))
	resp, apiErr := w.whole(out, usage.Usage)
	if apiErr != nil {
		writeError(c, apiErr)
		return
	}
	body, err := openai.Marshal(resp)
	if err != nil {
		writeError(c, openai.Internal("encoding the response failed"))
		return
	}
	c.Data(http.StatusOK, "application/json", body)
}

// stream sends a generation as server-sent events. The status line waits
// for the first event, so a request that fails before producing anything
// still gets a proper HTTP error status.
func (s *Server) stream(c *gin.Context, ctx context.Context, p *pinger, st engine.Stream, n, perPrompt int, start time.Time, includeUsage bool, promptParam string, w responseWriter) {
	var ev engine.Event
	var err error
	p.wait(func() { ev, err = nextWithin(ctx, st, s.cfg.TTFTTimeout, "first token") })
	if err == nil && ev.Err != nil {
		err = ev.Err
	}
	if err != nil {
		e := apiError(requestCause(ctx, err), promptParam)
		if p.started {
			c.Set(ctxKeyError, e)
			_ = p.sse.Data(e.Body())
			return
		}
		writeError(c, e)
		return
	}
	c.Set(ctxKeyTTFT, time.Since(start))
	model, last := c.GetString(ctxKeyModelID), time.Now()
	sse := p.begin()
	for _, chunk := range w.begin(n) {
		if sse.Data(chunk) != nil {
			return
		}
	}
	usage := usageTotal{perPrompt: perPrompt}
	var finishes []string
	for {
		switch {
		case ev.Err != nil:
			e := apiError(ev.Err, promptParam)
			c.Set(ctxKeyError, e)
			_ = sse.Data(e.Body())
			return
		case ev.Done:
			finish := string(ev.Finish)
			usage.add(ev.Index, ev.Usage)
			finishes = append(finishes, finish)
			if !sendChunks(c, sse, w, ev.Index, "", nil, &finish) {
				return
			}
		case ev.Text != "" || len(ev.Logprobs) > 0:
			if !sendChunks(c, sse, w, ev.Index, ev.Text, ev.Logprobs, nil) {
				return // the client is gone (returning cancels the generation), or the answer failed its checks
			}
			now := time.Now()
			s.cfg.Metrics.InterToken(model, now.Sub(last))
			last = now
		}
		ev, err = nextWithin(ctx, st, s.cfg.StallTimeout, "stall")
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The request's context ended (client gone, deadline, shutdown):
			// returning cancels it and the engine frees the sequences.
			err = requestCause(ctx, err)
			e := apiError(err, promptParam)
			c.Set(ctxKeyError, e)
			if !errors.Is(err, context.Canceled) {
				_ = sse.Data(e.Body())
			}
			return
		}
	}
	c.Set(ctxKeyUsage, usage.Usage)
	c.Set(ctxKeyFinish, strings.Join(finishes, ","))
	if includeUsage && sse.Data(w.usageChunk(usage.Usage)) != nil {
		return
	}
	_ = sse.Done()
}

// sendChunks sends what w makes of a piece of a choice. It reports false
// when the stream must end: the client is gone, or the answer failed its
// checks (sent as an error event).
func sendChunks(c *gin.Context, sse *openai.SSE, w responseWriter, index int, text string, lps []engine.TokenLogprob, finish *string) bool {
	chunks, apiErr := w.chunk(index, text, lps, finish)
	if apiErr != nil {
		c.Set(ctxKeyError, apiErr)
		_ = sse.Data(apiErr.Body())
		return false
	}
	for _, ch := range chunks {
		if sse.Data(ch) != nil {
			return false
		}
	}
	return true
}
