package router

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/llamagate/llamagate/openai"
)

const (
	ctxKeyRequestID = "llamagate.request_id"
	ctxKeyError     = "llamagate.error"
	ctxKeyModel     = "llamagate.model"
	ctxKeyUsage     = "llamagate.usage"
	ctxKeyFinish    = "llamagate.finish"
	ctxKeyTTFT      = "llamagate.ttft"
	// ctxKeyModelID is the id of the model a request was served by (never
	// an alias or an unknown name), the only model label of metrics.
	ctxKeyModelID = "llamagate.model_id"
	ctxKeyKeyID   = "llamagate.key_id"
	ctxKeyBody    = "llamagate.body" // the raw request body, for forwarding to an upstream
)

func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// requestID accepts a client's X-Request-Id (if sane) or makes one, and
// returns it on the response.
func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if id == "" || len(id) > 128 {
		id = newID("req_")
	}
	c.Set(ctxKeyRequestID, id)
	c.Header("X-Request-Id", id)
	c.Next()
}

// accessLog writes one line per request.
func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	attrs := []slog.Attr{
		slog.String("request_id", c.GetString(ctxKeyRequestID)),
		slog.String("method", c.Request.Method),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", c.Writer.Status()),
		slog.Duration("duration", time.Since(start)),
	}
	if m := c.GetString(ctxKeyModel); m != "" {
		attrs = append(attrs, slog.String("model", m))
	}
	if u, ok := c.Get(ctxKeyUsage); ok {
		u := u.(openai.Usage)
		attrs = append(attrs, slog.Int("tokens_in", u.PromptTokens), slog.Int("tokens_out", u.CompletionTokens))
	}
	if f := c.GetString(ctxKeyFinish); f != "" {
		attrs = append(attrs, slog.String("finish_reason", f))
	}
	if d, ok := c.Get(ctxKeyTTFT); ok {
		attrs = append(attrs, slog.Duration("ttft", d.(time.Duration)))
	}
	if e, ok := c.Get(ctxKeyError); ok {
		attrs = append(attrs, slog.String("error", e.(*openai.Error).Message))
	}
	if k := c.GetString(ctxKeyKeyID); k != "" {
		attrs = append(attrs, slog.String("key_id", k))
	}
	s.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "request", attrs...)
	s.record(c, time.Since(start))
}

// record adds the request to the metrics.
func (s *Server) record(c *gin.Context, total time.Duration) {
	m := s.cfg.Metrics
	if m == nil {
		return
	}
	model, key := c.GetString(ctxKeyModelID), c.GetString(ctxKeyKeyID)
	if key == "" {
		key = "none"
	}
	m.Request(c.FullPath(), model, key, c.Writer.Status())
	if u, ok := c.Get(ctxKeyUsage); ok && model != "" {
		u := u.(openai.Usage)
		ttft, _ := c.Get(ctxKeyTTFT)
		d, _ := ttft.(time.Duration)
		cached := 0
		if u.PromptTokensDetails != nil {
			cached = u.PromptTokensDetails.CachedTokens
		}
		m.Generation(model, key, u.PromptTokens, u.CompletionTokens, cached, d, total)
	}
}

// recovery turns a panic in a handler into a 500 with the OpenAI envelope
// and a logged stack, instead of a dropped connection.
func (s *Server) recovery(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.log.Error("panic in handler", "request_id", c.GetString(ctxKeyRequestID), "panic", r, "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				writeError(c, openai.Internal("internal error"))
			}
			c.Abort()
		}
	}()
	c.Next()
}

// readBody reads the request body up to the configured limit.
func (s *Server) readBody(c *gin.Context) ([]byte, *openai.Error) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &openai.Error{Status: http.StatusRequestEntityTooLarge, Type: openai.TypeInvalidRequest, Code: "request_too_large",
				Message: "the request body is larger than the limit of " + formatBytes(mbe.Limit)}
		}
		return nil, &openai.Error{Status: http.StatusBadRequest, Type: openai.TypeInvalidRequest, Code: "invalid_body", Message: "could not read the request body: " + err.Error()}
	}
	return body, nil
}

func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " bytes"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 3; m /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatInt(n/div, 10) + " " + []string{"KiB", "MiB", "GiB", "TiB"}[exp]
}

// decodeBody reads the body and decodes it with decode, answering the error
// itself; ok is false when the handler should stop.
func decodeBody[T any](s *Server, c *gin.Context, decode func([]byte) (T, *openai.Error)) (req T, ok bool) {
	body, apiErr := s.readBody(c)
	if apiErr == nil {
		c.Set(ctxKeyBody, body)
		req, apiErr = decode(body)
	}
	if apiErr != nil {
		writeError(c, apiErr)
		return req, false
	}
	return req, true
}
