package router

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/openai"
)

// embeddings is POST /v1/embeddings: key checks, deadline, lease, tokens,
// rate limits, then one engine call for every input.
func (s *Server) embeddings(c *gin.Context) {
	req, ok := decodeBody(s, c, openai.DecodeEmbeddingRequest)
	if !ok {
		return
	}
	c.Set(ctxKeyModel, req.Model)
	ctx, cancel, apiErr := s.requestContext(c)
	if apiErr != nil {
		writeError(c, apiErr)
		return
	}
	defer cancel() // drops the request's queued work in the engine
	// acquireFor waits on the request's context; the deadline bounds that
	// wait (a model load) too.
	orig := c.Request
	c.Request = orig.WithContext(ctx)
	lease, err := s.acquireFor(c, req.Model)
	c.Request = orig
	if err != nil {
		writeError(c, apiError(requestCause(ctx, err), "input"))
		return
	}
	defer lease.Release()
	c.Set(ctxKeyModelID, lease.ID())
	emb, ok := lease.Engine().(engine.Embedder)
	if !ok {
		writeError(c, openai.InvalidParam("model", "model_not_supported", "the model %q cannot compute embeddings", req.Model))
		return
	}
	dims := emb.EmbeddingSize()
	if req.Dimensions != 0 && req.Dimensions != dims {
		writeError(c, openai.UnsupportedDimensions(req.Dimensions, dims))
		return
	}
	inputs, total, apiErr := embeddingTokens(lease.Engine(), emb.EmbeddingContext(), req.Inputs)
	if apiErr != nil {
		writeError(c, apiErr)
		return
	}
	ticket, apiErr := s.admit(c, lease.ID(), req.Model, func() int { return total })
	if apiErr != nil {
		writeError(c, apiErr)
		return
	}
	used := 0
	defer func() { ticket.Settle(used) }()
	s.cfg.Metrics.InFlight(lease.ID(), 1)
	defer s.cfg.Metrics.InFlight(lease.ID(), -1)
	vecs, err := emb.Embed(ctx, inputs)
	if err != nil {
		writeError(c, apiError(requestCause(ctx, err), "input"))
		return
	}
	used = total
	usage := openai.Usage{PromptTokens: total, TotalTokens: total}
	c.Set(ctxKeyUsage, usage)
	out := openai.EmbeddingList{Object: "list", Model: req.Model, Data: make([]openai.Embedding, len(vecs)),
		Usage: openai.EmbeddingUsage{PromptTokens: total, TotalTokens: total}}
	for i, v := range vecs {
		out.Data[i] = openai.Embedding{Object: "embedding", Index: i, Vector: v}
		if req.Base64 {
			out.Data[i].Vector = openai.EncodeBase64(v)
		}
	}
	body, err := openai.Marshal(out)
	if err != nil {
		writeError(c, openai.Internal("encoding the response failed: "+err.Error()))
		return
	}
	c.Data(http.StatusOK, "application/json", body)
}

// embeddingTokens turns the inputs into tokens (texts with the model's BOS,
// as for a prompt) and checks each against the longest input the model
// embeds. total is the tokens of all inputs.
func embeddingTokens(eng engine.Engine, limit int, in []openai.EmbeddingInput) (out [][]int, total int, _ *openai.Error) {
	out = make([][]int, len(in))
	for i, x := range in {
		toks := x.Tokens
		if toks == nil {
			var err error
			if toks, err = eng.Tokenize(x.Text, true); err != nil {
				return nil, 0, apiError(err, "input")
			}
		}
		if len(toks) > limit {
			return nil, 0, openai.ContextLengthExceeded("input", contextMessage(i, len(toks), limit))
		}
		out[i] = toks
		total += len(toks)
	}
	return out, total, nil
}

func contextMessage(i, n, limit int) string {
	return fmt.Sprintf("input %d has %d tokens, but this model embeds at most %d tokens per input; shorten it", i, n, limit)
}
