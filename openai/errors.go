// Package openai holds the OpenAI wire format: request decoding and
// validation, response and stream-chunk types, the error envelope and the
// server-sent-events encoder. It knows nothing of gin, models or engines.
package openai

import (
	"fmt"
	"net/http"
)

// Error types, as OpenAI names them.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeNotFound       = "not_found_error"
	TypeRateLimit      = "rate_limit_error"
	TypeServer         = "server_error"
	TypeTimeout        = "timeout_error"
)

// Error is an API error with its HTTP status. It marshals to OpenAI's
// envelope through Body.
type Error struct {
	Status  int
	Message string
	Type    string
	Param   string // empty marshals as null
	Code    string // empty marshals as null
	// RetryAfter, in whole seconds, is sent as the Retry-After header when
	// positive (503s without it get 1).
	RetryAfter int
}

func (e *Error) Error() string { return e.Message }

// ErrorBody is the JSON envelope {"error": {...}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of the envelope.
type ErrorDetail struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// Body returns the envelope for e.
func (e *Error) Body() ErrorBody {
	d := ErrorDetail{Message: e.Message, Type: e.Type}
	if e.Param != "" {
		p := e.Param
		d.Param = &p
	}
	if e.Code != "" {
		c := e.Code
		d.Code = &c
	}
	return ErrorBody{Error: d}
}

// InvalidParam is a 400 for a value of the wrong type or out of range.
func InvalidParam(param, code, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Param: param, Code: code, Message: fmt.Sprintf(format, args...)}
}

// MissingParam is a 400 for a required parameter that is absent.
func MissingParam(param string) *Error {
	return &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Param: param, Code: "missing_required_parameter",
		Message: fmt.Sprintf("you must provide the %q parameter", param)}
}

// ModelNotFound is the 404 for an unknown model.
func ModelNotFound(model string) *Error {
	return &Error{Status: http.StatusNotFound, Type: TypeInvalidRequest, Param: "model", Code: "model_not_found",
		Message: fmt.Sprintf("the model %q does not exist; GET /v1/models lists the available models", model)}
}

// ContextLengthExceeded is the 400 for a prompt longer than the window.
func ContextLengthExceeded(param, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Param: param, Code: "context_length_exceeded", Message: msg}
}

// Overloaded is a 503 the client should retry later.
func Overloaded(code, msg string) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Type: TypeServer, Code: code, Message: msg}
}

// Internal is a 500 with a message safe to show.
func Internal(msg string) *Error {
	return &Error{Status: http.StatusInternalServerError, Type: TypeServer, Code: "internal_error", Message: msg}
}

// NotFound is the 404 for an unknown route.
func NotFound(msg string) *Error {
	return &Error{Status: http.StatusNotFound, Type: TypeInvalidRequest, Code: "not_found", Message: msg}
}
