package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"unicode/utf8"
)

// fields is a request object decoded one level deep, so each parameter can
// be checked on its own and an error can name it.
type fields map[string]json.RawMessage

// MaxNesting bounds how deep a request may nest JSON arrays and objects:
// far beyond any real request (tool schemas nest a few levels), and low
// enough that nothing downstream (template rendering, schema → grammar)
// recurses deeply on client input.
const MaxNesting = 64

// withinDepth reports whether body nests at most max levels of [ and {
// outside strings, and where it went deeper. It does not validate syntax.
func withinDepth(body []byte, max int) (int, bool) {
	depth, inString, escaped := 0, false, false
	for i, b := range body {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
		case b == '"':
			inString = true
		case b == '[' || b == '{':
			depth++
			if depth > max {
				return i, false
			}
		case b == ']' || b == '}':
			depth--
		}
	}
	return 0, true
}

// DecodeObject checks that body is valid UTF-8 holding one JSON object,
// with the same errors as the endpoints' decoders.
func DecodeObject(body []byte) (map[string]json.RawMessage, *Error) {
	return decodeObject(body)
}

// decodeObject parses a JSON object body. Syntax errors report their line,
// column and byte offset.
func decodeObject(body []byte) (fields, *Error) {
	if !utf8.Valid(body) {
		at := 0
		for at < len(body) {
			r, n := utf8.DecodeRune(body[at:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			at += n
		}
		return nil, &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Code: "invalid_encoding",
			Message: fmt.Sprintf("the request body is not valid UTF-8 (first bad byte at offset %d)", at)}
	}
	if at, ok := withinDepth(body, MaxNesting); !ok {
		return nil, &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Code: "nesting_too_deep",
			Message: fmt.Sprintf("the request nests JSON arrays and objects more than %d levels deep (at byte offset %d)", MaxNesting, at)}
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Code: "invalid_json", Message: "the request body is empty; send a JSON object"}
	}
	if trimmed[0] != '{' {
		if !json.Valid(trimmed) {
			return nil, syntaxError(body, json.Unmarshal(body, new(any)))
		}
		return nil, &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Code: "invalid_json", Message: "the request body must be a JSON object"}
	}
	var f fields
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, syntaxError(body, err)
	}
	// JSON null means "not given", as OpenAI's SDKs send it.
	for k, v := range f {
		if string(v) == "null" {
			delete(f, k)
		}
	}
	return f, nil
}

func syntaxError(body []byte, err error) *Error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Offset counts the bytes read, including the offending one.
		at := max(int(se.Offset)-1, 0)
		line, col := position(body, at)
		return &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Code: "invalid_json",
			Message: fmt.Sprintf("the request body is not valid JSON: %v at line %d, column %d (byte offset %d)", se, line, col, at)}
	}
	return &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Code: "invalid_json", Message: "the request body is not valid JSON: " + err.Error()}
}

func position(body []byte, offset int) (line, col int) {
	offset = min(max(offset, 0), len(body))
	line = 1 + bytes.Count(body[:offset], []byte{'\n'})
	col = offset - bytes.LastIndexByte(body[:offset], '\n')
	return line, col
}

func jsonKind(raw json.RawMessage) string {
	switch b := bytes.TrimSpace(raw); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '"':
		return "a string"
	case b[0] == '{':
		return "an object"
	case b[0] == '[':
		return "an array"
	case b[0] == 't' || b[0] == 'f':
		return "a boolean"
	default:
		return "a number"
	}
}

func typeError(param, want string, raw json.RawMessage) *Error {
	return InvalidParam(param, "invalid_type", "%s must be %s, not %s", param, want, jsonKind(raw))
}

func (f fields) has(name string) bool { _, ok := f[name]; return ok }

func (f fields) str(name string, dst *string) *Error {
	raw, ok := f[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return typeError(name, "a string", raw)
	}
	return nil
}

func (f fields) boolean(name string, dst *bool) *Error {
	raw, ok := f[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return typeError(name, "a boolean", raw)
	}
	return nil
}

// number decodes a finite float within [lo, hi].
func (f fields) number(name string, dst **float64, lo, hi float64) *Error {
	raw, ok := f[name]
	if !ok {
		return nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		if jsonKind(raw) == "a number" {
			return InvalidParam(name, "invalid_value", "%s is not a representable number", name)
		}
		return typeError(name, "a number", raw)
	}
	if v < lo || v > hi {
		return InvalidParam(name, "invalid_value", "%s must be between %g and %g, got %g", name, lo, hi, v)
	}
	*dst = &v
	return nil
}

// integer decodes an integral number within [lo, hi].
func (f fields) integer(name string, dst **int64, lo, hi int64) *Error {
	raw, ok := f[name]
	if !ok {
		return nil
	}
	v, err := parseInt(raw)
	if err != nil {
		if jsonKind(raw) == "a number" {
			return InvalidParam(name, "invalid_value", "%s must be an integer between %d and %d", name, lo, hi)
		}
		return typeError(name, "an integer", raw)
	}
	if v < lo || v > hi {
		return InvalidParam(name, "invalid_value", "%s must be between %d and %d, got %d", name, lo, hi, v)
	}
	*dst = &v
	return nil
}

func parseInt(raw json.RawMessage) (int64, error) {
	// encoding/json fills a json.Number from a string holding a number
	// ("5"); OpenAI refuses that, and so do we.
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '"' {
		return 0, errors.New("a string, not a number")
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, err
	}
	if v, err := n.Int64(); err == nil {
		return v, nil
	}
	// 5.0 is an integer too.
	fv, err := n.Float64()
	if err != nil || fv != math.Trunc(fv) || math.Abs(fv) > 1<<53 {
		return 0, errors.New("not an integer")
	}
	return int64(fv), nil
}

// stringOrList decodes a string or an array of strings (at most max).
func (f fields) stringOrList(name string, dst *[]string, max int) *Error {
	raw, ok := f[name]
	if !ok {
		return nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		*dst = []string{one}
		return nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return typeError(name, "a string or an array of strings", raw)
	}
	if len(list) > max {
		return InvalidParam(name, "invalid_value", "%s may hold at most %d strings, got %d", name, max, len(list))
	}
	*dst = list
	return nil
}
