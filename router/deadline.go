package router

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/openai"
)

// timeoutError is the cause of a request's end by one of its deadlines.
type timeoutError struct {
	what string // "total", "first token", "stall"
	d    time.Duration
}

func (e *timeoutError) Error() string {
	switch e.what {
	case "first token":
		return fmt.Sprintf("no first token within %s (time-to-first-token timeout)", e.d)
	case "stall":
		return fmt.Sprintf("no new token within %s (stall timeout)", e.d)
	}
	return fmt.Sprintf("the request did not finish within %s (request timeout)", e.d)
}

// requestCause returns why the request's context ended when the server
// ended it (a deadline, the shutdown), else err.
func requestCause(ctx context.Context, err error) error {
	switch cause := context.Cause(ctx).(type) {
	case *timeoutError:
		return cause
	case nil:
		return err
	default:
		if cause == ErrShuttingDown {
			return cause
		}
	}
	return err
}

// requestTimeout is the request's total deadline: the configured default,
// shortened by an X-Request-Timeout header (seconds), capped by the key's
// max_timeout. Zero means none.
func (s *Server) requestTimeout(c *gin.Context) (time.Duration, *openai.Error) {
	d := s.cfg.RequestTimeout
	if h := c.GetHeader("X-Request-Timeout"); h != "" {
		secs, err := strconv.ParseFloat(h, 64)
		if err != nil || !(secs > 0 && secs <= 86400) {
			return 0, &openai.Error{Status: http.StatusBadRequest, Type: openai.TypeInvalidRequest, Code: "invalid_header",
				Message: "X-Request-Timeout must be a number of seconds between 0 and 86400, not " + strconv.Quote(h)}
		}
		if h := time.Duration(secs * float64(time.Second)); d <= 0 || h < d {
			d = h
		}
	}
	if k := requestKey(c); k != nil && k.MaxTimeout() > 0 && (d <= 0 || d > k.MaxTimeout()) {
		d = k.MaxTimeout()
	}
	return d, nil
}

// requestContext is the request's context bounded by its total deadline
// (requestTimeout); cancel must be called when the request ends.
func (s *Server) requestContext(c *gin.Context) (context.Context, context.CancelFunc, *openai.Error) {
	timeout, apiErr := s.requestTimeout(c)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	if timeout > 0 {
		ctx, cancel := context.WithTimeoutCause(c.Request.Context(), timeout, &timeoutError{what: "total", d: timeout})
		return ctx, cancel, nil
	}
	ctx, cancel := context.WithCancel(c.Request.Context())
	return ctx, cancel, nil
}

// nextWithin waits at most d (0: no bound) for the stream's next event.
// When d passes, it returns a *timeoutError; the caller ends the request,
// which frees the sequence.
func nextWithin(ctx context.Context, st engine.Stream, d time.Duration, what string) (engine.Event, error) {
	if d <= 0 {
		return st.Next(ctx)
	}
	cause := &timeoutError{what: what, d: d}
	tctx, cancel := context.WithTimeoutCause(ctx, d, cause)
	defer cancel()
	ev, err := st.Next(tctx)
	if err != nil && ctx.Err() == nil && context.Cause(tctx) == cause {
		return ev, cause
	}
	return ev, err
}

// pinger keeps a streaming response alive while the request waits (for a
// model load, a slot, a long prefill): once every interval it sends an SSE
// comment, committing the response to 200 and an event stream. Until the
// first ping, errors still get their own HTTP status.
type pinger struct {
	c       *gin.Context
	every   time.Duration
	sse     *openai.SSE
	started bool
	gone    bool // a write failed: the client left
}

// wait runs f (which must not touch the response) and pings while it runs.
func (p *pinger) wait(f func()) {
	if p == nil || p.every <= 0 {
		f()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			if !p.gone && p.begin().Comment("ping") != nil {
				p.gone = true
			}
		}
	}
}

// begin sends the stream's headers once and returns its encoder.
func (p *pinger) begin() *openai.SSE {
	if !p.started {
		p.started = true
		openai.SetHeaders(p.c.Writer.Header())
		p.c.Status(http.StatusOK)
		p.sse = openai.NewSSE(p.c.Writer)
	}
	return p.sse
}
