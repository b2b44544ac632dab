package router

import (
	"context"
	"errors"
	"net/http"

	"github.com/llamagate/llamagate/models"
	"github.com/llamagate/llamagate/openai"
)

// Forwarder sends a request for a remote model to its upstream and
// passes the answer to w (see backends/remote). Before it writes anything
// it returns its failures untouched, so a fallback can answer instead;
// such errors may report Retryable() and Started() (see upstreamError).
type Forwarder func(ctx context.Context, spec models.Spec, endpoint string, body []byte, showModel string, w http.ResponseWriter) (prompt, completion int, err error)

// upstreamError is what the router needs to know of a forwarding failure.
type upstreamError interface {
	Retryable() bool // a fallback may be tried (the upstream is down, overloaded or misconfigured)
	Started() bool   // the answer had begun; the forwarder ended it itself
}

// remoteReserveOut is what a forwarded request without max_tokens is
// assumed to generate at admission; it is settled at the real count.
const remoteReserveOut = 1024

// runRemote forwards the request to a remote model's upstream.
func (a *attempt) runRemote(spec models.Spec) error {
	s, c, g := a.s, a.c, a.g
	if s.cfg.Forward == nil {
		a.fail(openai.Internal("model " + spec.ID + " is remote, but this server has no upstream forwarding configured"))
		return nil
	}
	raw, _ := c.Get(ctxKeyBody)
	body, _ := raw.([]byte)
	c.Set(ctxKeyModelID, spec.ID)
	// The prompt is counted upstream; reserve a conservative estimate
	// (a token is rarely shorter than 3 bytes of JSON) and settle later.
	out := remoteReserveOut
	if g.sampling.MaxTokens != nil {
		out = int(*g.sampling.MaxTokens)
	}
	ticket, apiErr := s.admit(c, spec.ID, spec.ID, func() int { return len(body)/3 + out*max(g.sampling.N, 1) })
	if apiErr != nil {
		a.fail(apiErr)
		return nil
	}
	s.cfg.Metrics.InFlight(spec.ID, 1)
	defer s.cfg.Metrics.InFlight(spec.ID, -1)
	prompt, completion, err := s.cfg.Forward(a.ctx, spec, g.endpoint, body, spec.ID, c.Writer)
	ticket.Settle(prompt + completion)
	if err == nil {
		c.Set(ctxKeyUsage, openai.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion})
		return nil
	}
	var ue upstreamError
	if errors.As(err, &ue) && ue.Started() {
		c.Set(ctxKeyError, apiError(err, g.promptParam))
		return nil // the forwarder ended the stream with an error event
	}
	if a.canFallBack && a.ctx.Err() == nil && errors.As(err, &ue) && ue.Retryable() {
		return err
	}
	a.fail(apiError(requestCause(a.ctx, err), g.promptParam))
	return nil
}
