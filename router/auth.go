package router

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/llamagate/llamagate/auth"
	"github.com/llamagate/llamagate/models"
	"github.com/llamagate/llamagate/openai"
	"github.com/llamagate/llamagate/ratelimit"
)

const ctxKeyKey = "llamagate.key"

// authenticate requires a known API key when keys are configured, and the
// given scope. With no keyring the gateway is open (cmd/gateway allows
// that on loopback only).
func (s *Server) authenticate(scope auth.Scope) gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.cfg.Keys == nil {
			c.Next()
			return
		}
		secret, ok := auth.SecretFromRequest(c.Request.Header)
		if !ok {
			writeError(c, &openai.Error{Status: http.StatusUnauthorized, Type: openai.TypeInvalidRequest, Code: "invalid_api_key",
				Message: "missing API key: send it as Authorization: Bearer <key> (or x-api-key: <key>)"})
			return
		}
		key, ok := s.cfg.Keys.Lookup(secret)
		if !ok {
			writeError(c, &openai.Error{Status: http.StatusUnauthorized, Type: openai.TypeInvalidRequest, Code: "invalid_api_key",
				Message: "incorrect API key provided"})
			return
		}
		c.Set(ctxKeyKey, key)
		c.Set(ctxKeyKeyID, key.ID)
		if !key.Allows(scope) {
			writeError(c, &openai.Error{Status: http.StatusForbidden, Type: "permission_error", Code: "insufficient_scope",
				Message: "this API key may not use " + c.Request.URL.Path + " (it needs the " + string(scope) + " scope)"})
			return
		}
		c.Next()
	}
}

// requestKey returns the request's API key, or nil when keys are off.
func requestKey(c *gin.Context) *auth.Key {
	if k, ok := c.Get(ctxKeyKey); ok {
		return k.(*auth.Key)
	}
	return nil
}

// allowsModel reports whether the request's key may use the model with
// this id, asked for as name. Without keys every model is allowed.
func allowsModel(c *gin.Context, id, name string) bool {
	k := requestKey(c)
	return k == nil || k.AllowsModel(id, name)
}

// admit applies the request's key limits for model id: one request,
// reserve() tokens (prompt + the most it may generate; computed only when
// the key has a token limit) and a concurrency slot. The ticket (nil without limits) must be settled with the tokens
// really used. The rate limit headers are set on every answer.
func (s *Server) admit(c *gin.Context, id, name string, reserve func() int) (*ratelimit.Ticket, *openai.Error) {
	k := requestKey(c)
	if k == nil || s.cfg.Limiter == nil {
		return nil, nil // no limits: the reservation (a tokenization) is not computed
	}
	bucket, lim := k.Limits(id, name)
	n := 0
	if lim.TokensPerMinute > 0 {
		n = reserve()
	}
	t, st, err := s.cfg.Limiter.Admit(c.Request.Context(), bucket, ratelimit.Limits(lim), n)
	st.SetHeaders(c.Writer.Header())
	if err == nil {
		return t, nil
	}
	var le *ratelimit.LimitError
	switch {
	case errors.As(err, &le):
		s.cfg.Metrics.RateLimited(k.ID, string(le.Kind))
		e := &openai.Error{Status: http.StatusTooManyRequests, Type: "requests", Code: "rate_limit_exceeded", Message: le.Error(), RetryAfter: le.RetryAfterSeconds()}
		if le.Kind == ratelimit.KindTokens {
			e.Type = "tokens"
		}
		if le.TooLarge {
			e.RetryAfter = 0
		}
		return nil, e
	case errors.Is(err, ratelimit.ErrUnavailable):
		return nil, openai.Overloaded("rate_limit_unavailable", "the rate limit store is unavailable; retry")
	default:
		return nil, apiError(err, "")
	}
}

// acquireFor leases the model named name for a utility endpoint, as if it
// did not exist when the request's key may not use it.
func (s *Server) acquireFor(c *gin.Context, name string) (*models.Lease, error) {
	if id, ok := s.models.Resolve(name); ok && !allowsModel(c, id, name) {
		return nil, &models.NotFoundError{ID: name}
	}
	return s.models.Acquire(c.Request.Context(), name)
}
