package openai

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
)

// SSE writes server-sent events, flushing after each so every token reaches
// the client at once.
type SSE struct {
	w   io.Writer
	f   http.Flusher
	buf bytes.Buffer
	enc *json.Encoder
}

// NewSSE returns an encoder over w; w should implement http.Flusher.
func NewSSE(w io.Writer) *SSE {
	s := &SSE{w: w}
	s.f, _ = w.(http.Flusher)
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false)
	return s
}

// SetHeaders sets the headers of an event stream.
func SetHeaders(h http.Header) {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
}

// Data writes one "data: <json>" event. Strings holding invalid UTF-8 are
// encoded with U+FFFD in their place, so model output can never break the
// stream's JSON.
func (s *SSE) Data(v any) error {
	s.buf.Reset()
	s.buf.WriteString("data: ")
	if err := s.enc.Encode(v); err != nil {
		return err
	}
	s.buf.WriteByte('\n') // Encode wrote one newline; an event ends with two
	return s.flush()
}

// Done writes the terminating "data: [DONE]" event.
func (s *SSE) Done() error {
	s.buf.Reset()
	s.buf.WriteString("data: [DONE]\n\n")
	return s.flush()
}

// Comment writes an SSE comment line, used as a keep-alive.
func (s *SSE) Comment(text string) error {
	s.buf.Reset()
	s.buf.WriteString(": " + text + "\n\n")
	return s.flush()
}

func (s *SSE) flush() error {
	if _, err := s.w.Write(s.buf.Bytes()); err != nil {
		return err
	}
	if s.f != nil {
		s.f.Flush()
	}
	return nil
}

// Marshal encodes v as JSON without HTML escaping, the way responses are
// written.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
