package remote

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/llamagate/llamagate/openai"
)

// kind says where a failure came from; it decides the suggested status.
type kind int

const (
	kindUnavailable kind = iota // no answer: dial, TLS, connection reset
	kindTimeout                 // one of the client's own timeouts
	kindStatus                  // the upstream answered with an error
	kindBadResponse             // the upstream answered something that is not OpenAI
	kindCaller                  // the caller's context ended or its client went away
)

// UpstreamError is every failure of Forward. Until Started, nothing was
// written to the response and the caller may answer with APIError or try a
// fallback (Retryable); once Started, Forward has already ended the stream.
//
// The router cannot import this package; it sees the error through
// errors.As(err, **openai.Error) (see As) and through the methods
// Retryable() bool and Started() bool, which small interfaces can test.
type UpstreamError struct {
	// Status is the upstream's HTTP status; for an error event inside a
	// 200 stream, the status its error type implies; 0 when no answer came.
	Status int
	// Body is the upstream's error body as received (at most 64 KiB), for
	// logs; nil when there was none. It is not what the client gets: that
	// is APIError, normalized.
	Body []byte
	// RetryAfter is the upstream's Retry-After (seconds form), 0 if none.
	RetryAfter time.Duration
	// Err is the cause, for logs. It never holds the API key.
	Err error

	host    string
	kind    kind
	started bool
	detail  openai.ErrorDetail // the upstream's error, normalized (kindStatus)
}

func (e *UpstreamError) Error() string {
	var b strings.Builder
	b.WriteString("upstream ")
	b.WriteString(e.host)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.started {
		b.WriteString(" (after the response started)")
	}
	return b.String()
}

func (e *UpstreamError) Unwrap() error { return e.Err }

// Started reports whether anything was written to the response; after that
// no fallback is possible and the stream was already ended by Forward
// (except when the caller's own context ended it: see Forward).
func (e *UpstreamError) Started() bool { return e.started }

// Retryable reports whether another model (a fallback) may succeed where
// this upstream failed: nothing was written yet and the failure is the
// upstream's, not the request's (see the package doc for the list).
func (e *UpstreamError) Retryable() bool {
	if e.started {
		return false
	}
	switch e.kind {
	case kindUnavailable, kindTimeout, kindBadResponse:
		return true
	case kindStatus:
		return !passThrough(e.Status)
	}
	return false
}

// passThrough reports whether an upstream status is the request's fault,
// so the client gets it as it is. 401/403/404 are not: the client
// authenticated with the gateway, which chose the upstream, its key and
// its model name, so those are the deployment's failures.
func passThrough(status int) bool {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
		http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return status >= 400 && status < 500
}

// As lets errors.As(err, &oe) with oe *openai.Error find APIError, so the
// router's one mapping function needs no import of this package. It does
// not match failures of the caller's own context, which the caller maps
// itself (errors.Is(err, context.Canceled) and the like work through
// Unwrap).
func (e *UpstreamError) As(target any) bool {
	p, ok := target.(**openai.Error)
	if !ok || e.kind == kindCaller {
		return false
	}
	*p = e.APIError()
	return true
}

// APIError is the error the gateway's client should get: status, OpenAI
// error envelope and Retry-After. Messages name neither the upstream's
// address nor its key. Nil for failures of the caller's own context.
func (e *UpstreamError) APIError() *openai.Error {
	switch e.kind {
	case kindCaller:
		return nil
	case kindUnavailable:
		return &openai.Error{Status: http.StatusBadGateway, Type: openai.TypeServer, Code: "upstream_unavailable",
			Message: "the upstream server for this model could not be reached"}
	case kindTimeout:
		return upstreamTimeout()
	case kindBadResponse:
		return &openai.Error{Status: http.StatusBadGateway, Type: openai.TypeServer, Code: "upstream_error",
			Message: "the upstream server for this model sent an invalid response"}
	}
	d := e.detail
	switch {
	case passThrough(e.Status):
		oe := &openai.Error{Status: e.Status, Message: d.Message, Type: d.Type}
		if d.Param != nil {
			oe.Param = *d.Param
		}
		if d.Code != nil {
			oe.Code = *d.Code
		}
		return oe
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return &openai.Error{Status: http.StatusBadGateway, Type: openai.TypeServer, Code: "upstream_auth_failed",
			Message: fmt.Sprintf("the upstream server for this model refused the gateway's credentials (HTTP %d)", e.Status)}
	case e.Status == http.StatusTooManyRequests || e.Status == http.StatusServiceUnavailable:
		return &openai.Error{Status: http.StatusServiceUnavailable, Type: openai.TypeServer, Code: "upstream_overloaded",
			Message:    "the upstream server for this model is busy: " + d.Message,
			RetryAfter: int((e.RetryAfter + time.Second - 1) / time.Second)}
	case e.Status == http.StatusRequestTimeout || e.Status == http.StatusGatewayTimeout:
		return upstreamTimeout()
	default:
		return &openai.Error{Status: http.StatusBadGateway, Type: openai.TypeServer, Code: "upstream_error",
			Message: fmt.Sprintf("the upstream server for this model failed (HTTP %d): %s", e.Status, d.Message)}
	}
}

func upstreamTimeout() *openai.Error {
	return &openai.Error{Status: http.StatusGatewayTimeout, Type: openai.TypeTimeout, Code: "upstream_timeout",
		Message: "the upstream server for this model did not answer in time"}
}

// normalize turns an upstream error body into OpenAI's error detail:
// an OpenAI envelope keeps its message, type, param and code (code and
// param only when they are strings, as the SDKs expect); {"error":"text"},
// {"detail":...} (FastAPI) and other text become a detail of type
// "upstream_error" whose message is the body's text (HTML: the status text).
func normalize(status int, body []byte) openai.ErrorDetail {
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && !isNull(env.Error) {
		var d struct {
			Message *string `json:"message"`
			Type    *string `json:"type"`
			Param   any     `json:"param"`
			Code    any     `json:"code"`
		}
		if json.Unmarshal(env.Error, &d) == nil && d.Message != nil {
			out := openai.ErrorDetail{Message: *d.Message, Type: "upstream_error"}
			if d.Type != nil && *d.Type != "" {
				out.Type = *d.Type
			}
			if s, ok := d.Param.(string); ok {
				out.Param = &s
			}
			if s, ok := d.Code.(string); ok {
				out.Code = &s
			}
			return out
		}
		var s string
		if json.Unmarshal(env.Error, &s) == nil {
			return openai.ErrorDetail{Message: s, Type: "upstream_error"}
		}
	}
	msg := snippet(body)
	if msg == "" || strings.HasPrefix(msg, "<") { // an HTML page from a proxy says no more than its status
		msg = http.StatusText(status)
	}
	return openai.ErrorDetail{Message: msg, Type: "upstream_error"}
}

// snippet is the start of a body as valid UTF-8, for an error message.
func snippet(b []byte) string {
	const max = 512
	if len(b) > max {
		b = b[:max]
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(b), string(utf8.RuneError)))
}

// statusOfEvent infers an HTTP status for an error event inside a stream,
// which came with status 200: llama-server puts one in "code", others only
// name the type.
func statusOfEvent(body []byte, d openai.ErrorDetail) int {
	var env struct {
		Error struct {
			Code any `json:"code"`
		} `json:"error"`
		Code any `json:"code"`
	}
	if json.Unmarshal(body, &env) == nil {
		for _, c := range []any{env.Error.Code, env.Code} {
			if f, ok := c.(float64); ok && f >= 400 && f < 600 {
				return int(f)
			}
		}
	}
	switch d.Type {
	case openai.TypeInvalidRequest:
		return http.StatusBadRequest
	case openai.TypeAuthentication:
		return http.StatusUnauthorized
	case openai.TypePermission:
		return http.StatusForbidden
	case openai.TypeNotFound:
		return http.StatusNotFound
	case openai.TypeRateLimit:
		return http.StatusTooManyRequests
	case openai.TypeTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// retryAfter reads a Retry-After header in its seconds form.
func retryAfter(h http.Header) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After")))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

var (
	errFirstByteTimeout = errors.New("no first event within the first-byte timeout")
	errTotalTimeout     = errors.New("the request exceeded its timeout")
)
