package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// Issue severities.
const (
	sevError     = "error"     // the request failed or its answer is wrong
	sevMalformed = "malformed" // an event breaks the protocol
	sevWarning   = "warning"   // suspicious but allowed
)

// Issue is one problem found in a response. Kind is a stable key for
// counting; Detail is this occurrence.
type Issue struct {
	Severity string `json:"severity"`
	Kind     string `json:"kind"`
	Detail   string `json:"detail,omitempty"`
}

// Usage is the usage object of the final chunk.
type Usage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details,omitempty"`
}

// Cached returns prompt_tokens_details.cached_tokens, 0 when absent.
func (u *Usage) Cached() int {
	if u == nil || u.PromptTokensDetails == nil {
		return 0
	}
	return u.PromptTokensDetails.CachedTokens
}

// Result is one request as the client saw it. Times are milliseconds; the
// *AtMs fields are offsets from the run's origin, so requests of one run
// can be placed on one time line.
type Result struct {
	Client    int    `json:"client"`
	Seq       int    `json:"seq"`
	Kind      string `json:"kind,omitempty"` // mixed mode: "short" or "long"
	MaxTokens int    `json:"max_tokens"`

	StartAtMs  float64   `json:"start_at_ms"`
	EndAtMs    float64   `json:"end_at_ms"`
	Status     int       `json:"status"`
	TTFTMs     float64   `json:"ttft_ms"` // -1: no text arrived
	E2EMs      float64   `json:"e2e_ms"`
	ITLMs      []float64 `json:"itl_ms"`
	TokenAtMs  []float64 `json:"token_at_ms"` // arrival of every text chunk
	Chunks     int       `json:"chunks"`      // text chunks received
	TextBytes  int       `json:"text_bytes"`
	Events     int       `json:"events"`
	Finish     string    `json:"finish_reason,omitempty"`
	Usage      *Usage    `json:"usage,omitempty"`
	Issues     []Issue   `json:"issues,omitempty"`
	OK         bool      `json:"ok"`
	GotDone    bool      `json:"got_done"`
	ResponseID string    `json:"id,omitempty"`

	origin    time.Time
	start     time.Time
	lastToken time.Time
	finished  bool
	model     string
}

func newResult(maxTokens int, origin time.Time, model string) *Result {
	return &Result{MaxTokens: maxTokens, TTFTMs: -1, ITLMs: []float64{}, TokenAtMs: []float64{}, origin: origin, model: model}
}

// CompletionTokens is what the request produced: usage when present, the
// chunk count otherwise.
func (r *Result) CompletionTokens() int {
	if r.Usage != nil {
		return r.Usage.CompletionTokens
	}
	return r.Chunks
}

func (r *Result) add(sev, kind, format string, args ...any) {
	r.Issues = append(r.Issues, Issue{Severity: sev, Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

func (r *Result) count(sev string) int {
	n := 0
	for _, is := range r.Issues {
		if is.Severity == sev {
			n++
		}
	}
	return n
}

func (r *Result) ms(t time.Time) float64 { return durMs(t.Sub(r.origin)) }

func durMs(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// chunkJSON is one streamed completion object. Pointers tell missing
// fields from empty ones.
type chunkJSON struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Model   string        `json:"model"`
	Choices *[]choiceJSON `json:"choices"`
	Usage   *Usage        `json:"usage"`
	Error   *struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	} `json:"error"`
}

type choiceJSON struct {
	Index        *int    `json:"index"`
	Text         *string `json:"text"`
	FinishReason *string `json:"finish_reason"`
}

// handle checks one event against the streaming completions protocol and
// records its timing.
func (r *Result) handle(ev sseEvent) {
	r.Events++
	if r.GotDone {
		r.add(sevMalformed, "event after [DONE]", "%.80q", ev.Data)
		return
	}
	if ev.Data == "[DONE]" {
		r.GotDone = true
		return
	}
	var ch chunkJSON
	if err := json.Unmarshal([]byte(ev.Data), &ch); err != nil {
		r.add(sevMalformed, "event is not JSON", "%v: %.120q", err, ev.Data)
		return
	}
	if ch.Error != nil {
		r.add(sevError, "error event in the stream", "%s: %s", ch.Error.Type, ch.Error.Message)
		return
	}
	if ch.Object != "text_completion" {
		r.add(sevMalformed, "object is not text_completion", "object %q", ch.Object)
	}
	switch {
	case ch.ID == "":
		r.add(sevMalformed, "chunk without id", "")
	case r.ResponseID == "":
		r.ResponseID = ch.ID
	case ch.ID != r.ResponseID:
		r.add(sevMalformed, "id changes within a stream", "%q then %q", r.ResponseID, ch.ID)
	}
	if ch.Model != r.model {
		r.add(sevWarning, "model differs from the request's", "got %q, asked %q", ch.Model, r.model)
	}
	if ch.Choices == nil {
		r.add(sevMalformed, "chunk without choices", "%.120q", ev.Data)
		return
	}
	choices := *ch.Choices
	if len(choices) == 0 {
		switch {
		case ch.Usage == nil:
			r.add(sevMalformed, "chunk with empty choices and no usage", "")
		case r.Usage != nil:
			r.add(sevMalformed, "second usage chunk", "")
		default:
			r.Usage = ch.Usage
			if !r.finished {
				r.add(sevMalformed, "usage chunk before the finish_reason chunk", "")
			}
		}
		return
	}
	if r.Usage != nil {
		r.add(sevMalformed, "choice chunk after the usage chunk", "")
	}
	if ch.Usage != nil {
		// llama-server's form: usage rides on the finish_reason chunk.
		// Not OpenAI's, but the figures are still checked below.
		r.add(sevWarning, "usage in a chunk that has choices", "")
		r.Usage = ch.Usage
	}
	if len(choices) > 1 {
		r.add(sevMalformed, "more than one choice in a chunk", "%d choices", len(choices))
	}
	c := choices[0]
	if c.Index == nil || *c.Index != 0 {
		r.add(sevMalformed, "choice index is not 0", "")
	}
	if c.Text == nil {
		r.add(sevMalformed, "choice without text", "")
	} else if *c.Text != "" {
		if r.finished {
			r.add(sevMalformed, "text after finish_reason", "%.40q", *c.Text)
		}
		at := ev.At
		if r.Chunks == 0 {
			r.TTFTMs = durMs(at.Sub(r.start))
		} else {
			r.ITLMs = append(r.ITLMs, durMs(at.Sub(r.lastToken)))
		}
		r.TokenAtMs = append(r.TokenAtMs, r.ms(at))
		r.lastToken = at
		r.Chunks++
		r.TextBytes += len(*c.Text)
	}
	if c.FinishReason != nil {
		if r.finished {
			r.add(sevMalformed, "second finish_reason", "%q", *c.FinishReason)
		}
		r.finished = true
		r.Finish = *c.FinishReason
	}
}

// conclude checks what must hold once the stream is over.
func (r *Result) conclude() {
	if r.count(sevError) > 0 && !r.GotDone {
		// The stream already failed; the missing parts follow from that.
		r.OK = false
		return
	}
	if !r.GotDone {
		r.add(sevError, "stream ended without data: [DONE]", "")
	}
	if !r.finished {
		r.add(sevError, "no chunk with a finish_reason", "")
	} else if r.Finish != "length" {
		// With ignore_eos and no stop sequences, only max_tokens ends a request.
		r.add(sevError, "finish_reason is not length despite ignore_eos", "finish_reason %q after %d chunks", r.Finish, r.Chunks)
	}
	if r.Chunks == 0 {
		r.add(sevError, "no text chunk", "")
	}
	if r.Usage == nil {
		r.add(sevError, "no usage chunk despite include_usage", "")
	} else {
		u := r.Usage
		if u.CompletionTokens != r.MaxTokens {
			r.add(sevError, "usage.completion_tokens != max_tokens", "completion_tokens %d, max_tokens %d, chunks %d", u.CompletionTokens, r.MaxTokens, r.Chunks)
		}
		if r.Chunks != u.CompletionTokens {
			r.add(sevWarning, "text chunks != usage.completion_tokens", "%d chunks, completion_tokens %d", r.Chunks, u.CompletionTokens)
		}
		if u.TotalTokens != u.PromptTokens+u.CompletionTokens {
			r.add(sevMalformed, "usage.total_tokens != prompt + completion", "%d != %d + %d", u.TotalTokens, u.PromptTokens, u.CompletionTokens)
		}
		if u.PromptTokens <= 0 {
			r.add(sevMalformed, "usage.prompt_tokens is not positive", "%d", u.PromptTokens)
		}
		if u.PromptTokensDetails == nil {
			r.add(sevWarning, "usage without prompt_tokens_details", "")
		} else if c := u.Cached(); c < 0 || c > u.PromptTokens {
			r.add(sevMalformed, "cached_tokens outside [0, prompt_tokens]", "cached %d, prompt %d", c, u.PromptTokens)
		}
	}
	r.OK = r.count(sevError) == 0
}

// completionRequest is the body sent for every request.
type completionRequest struct {
	Model         string `json:"model"`
	Prompt        string `json:"prompt"`
	MaxTokens     int    `json:"max_tokens"`
	Temperature   int    `json:"temperature"`
	Seed          int    `json:"seed"`
	Stream        bool   `json:"stream"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	IgnoreEOS bool `json:"ignore_eos"`
}

// requester sends streaming completion requests to one gateway.
type requester struct {
	client  *http.Client
	url     string // the completions endpoint
	model   string
	timeout time.Duration
	origin  time.Time
	now     func() time.Time
	// onToken, when set, is called for every text chunk (progress display).
	onToken func()
}

// do sends one request and reads its whole stream.
func (q *requester) do(ctx context.Context, prompt string, maxTokens int) *Result {
	r := newResult(maxTokens, q.origin, q.model)
	body := completionRequest{Model: q.model, Prompt: prompt, MaxTokens: maxTokens, Seed: 1, Stream: true, IgnoreEOS: true}
	body.StreamOptions.IncludeUsage = true
	raw, err := json.Marshal(body)
	if err != nil {
		r.add(sevError, "encoding the request", "%v", err)
		return r
	}
	if q.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, q.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, q.url, bytes.NewReader(raw))
	if err != nil {
		r.add(sevError, "building the request", "%v", err)
		return r
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")

	r.start = q.now()
	r.StartAtMs = r.ms(r.start)
	defer func() {
		end := q.now()
		r.EndAtMs = r.ms(end)
		r.E2EMs = durMs(end.Sub(r.start))
	}()
	resp, err := q.client.Do(req)
	if err != nil {
		r.add(sevError, "HTTP request failed", "%v", err)
		return r
	}
	defer resp.Body.Close()
	r.Status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		r.add(sevError, fmt.Sprintf("HTTP status %d", resp.StatusCode), "%s", errorMessage(msg))
		return r
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		r.add(sevMalformed, "Content-Type is not text/event-stream", "%q", resp.Header.Get("Content-Type"))
	}
	q.read(resp.Body, r)
	return r
}

// read parses the event stream of one response into r.
func (q *requester) read(body io.Reader, r *Result) {
	rd := newSSEReader(body, q.now)
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, errIncompleteEvent) {
				r.add(sevMalformed, "stream ended inside an event", "")
			} else {
				r.add(sevError, "reading the stream failed", "%v", err)
			}
			break
		}
		before := r.Chunks
		r.handle(ev)
		if q.onToken != nil && r.Chunks > before {
			q.onToken()
		}
	}
	if rd.Fields > 0 {
		r.add(sevWarning, "SSE fields other than data", "%d fields", rd.Fields)
	}
	r.conclude()
}

// errorMessage extracts error.message from an OpenAI error body, or returns
// the body itself, shortened.
func errorMessage(body []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
