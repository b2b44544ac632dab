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
	s.generate(c, generation{
		model: req.Model, sampling: req.Sampling, defaultMax: defaultCompletionMaxTokens, promptParam: "prompt",
		stream: req.Stream, includeUsage: req.IncludeUsage,
		prompt: func(*models.Lease) (string, *openai.Error) { return req.Prompt, nil },
		writer: func(id string, created int64) responseWriter {
			return &completionWriter{id: "cmpl-" + id, created: created, model: req.Model, fingerprint: s.cfg.Fingerprint}
		},
	})
}

// generation is what an endpoint hands to the shared generation path.
type generation struct {
	model        string
	sampling     openai.Sampling
	defaultMax   int
	promptParam  string // the request field a prompt error names
	stream       bool
	includeUsage bool
	prompt       func(*models.Lease) (string, *openai.Error) // renders the prompt for the leased model
	writer       func(id string, created int64) responseWriter
}

// generate runs a request on its model: lease, prompt, engine, and the
// response as one body or as a stream.
func (s *Server) generate(c *gin.Context, g generation) {
	c.Set(ctxKeyModel, g.model)
	ctx := c.Request.Context()
	lease, err := s.models.Acquire(ctx, g.model)
	if err != nil {
		writeError(c, apiError(err, g.promptParam))
		return
	}
	defer lease.Release()
	eng := lease.Engine()
	ereq, apiErr := engineRequest(g.sampling, eng.Info(), g.defaultMax)
	if apiErr != nil {
		writeError(c, apiErr)
		return
	}
	if ereq.Prompt, apiErr = g.prompt(lease); apiErr != nil {
		writeError(c, apiErr)
		return
	}
	start := time.Now()
	stream, err := eng.Generate(ctx, ereq)
	if err != nil {
		writeError(c, apiError(err, g.promptParam))
		return
	}
	w := g.writer(newID(""), start.Unix())
	if g.stream {
		s.stream(c, stream, ereq.N, start, g.includeUsage, g.promptParam, w)
	} else {
		s.whole(c, stream, ereq.N, start, g.promptParam, w)
	}
}

// engineRequest maps the shared sampling parameters onto an engine request,
// checking them against the model.
func engineRequest(p openai.Sampling, info engine.ModelInfo, defaultMax int) (engine.Request, *openai.Error) {
	r := engine.Request{Stop: p.Stop, IgnoreEOS: p.IgnoreEOS, MaxTokens: defaultMax, N: max(p.N, 1)}
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
	chunk(index int, text string, finish *string) any
	usageChunk(u openai.Usage) any
	whole(texts, finishes []string, u openai.Usage) any
}

type completionWriter struct {
	id, model, fingerprint string
	created                int64
}

func (w *completionWriter) base() openai.Completion {
	return openai.Completion{ID: w.id, Object: "text_completion", Created: w.created, Model: w.model, SystemFingerprint: w.fingerprint}
}

func (w *completionWriter) begin(int) []any { return nil }

func (w *completionWriter) chunk(index int, text string, finish *string) any {
	c := w.base()
	c.Choices = []openai.CompletionChoice{{Index: index, Text: text, FinishReason: finish}}
	return c
}

func (w *completionWriter) usageChunk(u openai.Usage) any {
	c := w.base()
	c.Choices = []openai.CompletionChoice{}
	c.Usage = &u
	return c
}

func (w *completionWriter) whole(texts, finishes []string, u openai.Usage) any {
	c := w.base()
	for i := range texts {
		c.Choices = append(c.Choices, openai.CompletionChoice{Index: i, Text: texts[i], FinishReason: &finishes[i]})
	}
	c.Usage = &u
	return c
}

// usageTotal adds up the usage of a request's choices: the prompt is
// counted once, completions all.
type usageTotal struct{ openai.Usage }

func (t *usageTotal) add(u engine.Usage) {
	t.PromptTokens = u.PromptTokens
	t.CompletionTokens += u.CompletionTokens
	t.TotalTokens = t.PromptTokens + t.CompletionTokens
	t.PromptTokensDetails = &openai.PromptTokensDetails{CachedTokens: u.CachedTokens}
}

// whole collects a generation and answers with one JSON body.
func (s *Server) whole(c *gin.Context, st engine.Stream, n int, start time.Time, promptParam string, w responseWriter) {
	texts := make([]strings.Builder, n)
	finishes := make([]string, n)
	var usage usageTotal
	first := true
	for {
		ev, err := st.Next(c.Request.Context())
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil && ev.Err != nil {
			err = ev.Err
		}
		if err != nil {
			writeError(c, apiError(err, promptParam))
			return
		}
		if first {
			c.Set(ctxKeyTTFT, time.Since(start))
			first = false
		}
		if ev.Done {
			finishes[ev.Index] = string(ev.Finish)
			usage.add(ev.Usage)
			continue
		}
		texts[ev.Index].WriteString(ev.Text)
	}
	out := make([]string, n)
	for i := range texts {
		out[i] = texts[i].String()
	}
	c.Set(ctxKeyUsage, usage.Usage)
	c.Set(ctxKeyFinish, strings.Join(finishes, ","))
	body, err := openai.Marshal(w.whole(out, finishes, usage.Usage))
	if err != nil {
		writeError(c, openai.Internal("encoding the response failed"))
		return
	}
	c.Data(http.StatusOK, "application/json", body)
}

// stream sends a generation as server-sent events. The status line waits
// for the first event, so a request that fails before producing anything
// still gets a proper HTTP error status.
func (s *Server) stream(c *gin.Context, st engine.Stream, n int, start time.Time, includeUsage bool, promptParam string, w responseWriter) {
	ctx := c.Request.Context()
	ev, err := st.Next(ctx)
	if err == nil && ev.Err != nil {
		err = ev.Err
	}
	if err != nil {
		writeError(c, apiError(err, promptParam))
		return
	}
	c.Set(ctxKeyTTFT, time.Since(start))
	openai.SetHeaders(c.Writer.Header())
	c.Status(http.StatusOK)
	sse := openai.NewSSE(c.Writer)
	for _, chunk := range w.begin(n) {
		if sse.Data(chunk) != nil {
			return
		}
	}
	var usage usageTotal
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
			usage.add(ev.Usage)
			finishes = append(finishes, finish)
			if sse.Data(w.chunk(ev.Index, "", &finish)) != nil {
				return
			}
		case ev.Text != "":
			if err := sse.Data(w.chunk(ev.Index, ev.Text, nil)); err != nil {
				return // the client is gone; returning cancels the generation
			}
		}
		ev, err = st.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The request's context ended: the engine frees the sequences.
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
