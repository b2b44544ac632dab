package remote

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/llamagate/llamagate/openai"
)

// stream passes an upstream event stream through, one event at a time.
//
// Events are read line by line and each complete event is written and
// flushed before the next line is read, so nothing is buffered beyond one
// event. SSE comments (": ping") are passed once the stream has started;
// before that they are dropped, because writing them would commit the
// status line and rule out a proper error status, unless the caller has
// committed it already (its own keep-alives): then they keep the client's
// connection alive while the upstream loads, and a fallback stays possible
// since no data was sent.
func (f *forward) stream(r io.Reader) (Usage, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxEvent)
	var (
		s   streamState
		ev  sseEvent
		err error
	)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if s.done, err = f.dispatch(&s, &ev); err != nil || s.done {
				break
			}
			continue
		}
		if line[0] == ':' {
			if f.started || f.committed() {
				if err = f.write(append(append([]byte{}, line...), '\n', '\n')); err != nil {
					break
				}
			}
			continue
		}
		ev.add(line)
	}
	if err == nil && !s.done {
		if scanErr := sc.Err(); scanErr != nil {
			err = f.broken(&s, scanErr)
		} else if s.done, err = f.dispatch(&s, &ev); err == nil && !s.done { // an event without its blank line
			err = f.eof(&s)
		}
	}
	if s.done && err == nil {
		// Read the end of the response so the connection can be reused;
		// OpenAI-compatible servers end it right after [DONE].
		_, _ = io.CopyN(io.Discard, r, 64<<10)
	}
	return s.usage(), err
}

// streamState is what a stream taught so far.
type streamState struct {
	done     bool  // [DONE] passed
	finished bool  // some choice had a finish_reason
	content  int   // content deltas seen, for the estimate
	real     Usage // the last usage chunk's
	hasUsage bool
}

func (s *streamState) usage() Usage {
	if s.hasUsage {
		return s.real
	}
	return Usage{CompletionTokens: s.content, Estimated: true}
}

// sseEvent collects the fields of one event.
type sseEvent struct {
	data    []byte
	hasData bool
	typ     string // the "event:" field
	err     []byte // llama-server's nonstandard "error:" field
}

func (e *sseEvent) add(line []byte) {
	field, value, _ := bytes.Cut(line, []byte(":"))
	value = bytes.TrimPrefix(value, []byte(" "))
	switch string(field) {
	case "data":
		if e.hasData {
			e.data = append(e.data, '\n')
		}
		e.data = append(e.data, value...)
		e.hasData = true
	case "event":
		e.typ = string(value)
	case "error":
		e.err = append(e.err[:0], value...)
	}
	// id and retry mean nothing to OpenAI clients.
}

// dispatch handles one complete event and resets ev; done reports [DONE].
func (f *forward) dispatch(s *streamState, ev *sseEvent) (done bool, err error) {
	defer func() { *ev = sseEvent{data: ev.data[:0]} }()
	switch {
	case ev.err != nil:
		return false, f.eventError(s, ev.err)
	case !ev.hasData:
		return false, nil
	case string(bytes.TrimSpace(ev.data)) == "[DONE]":
		if !f.started {
			if err := f.begin(); err != nil {
				return false, err
			}
		}
		return true, f.write([]byte("data: [DONE]\n\n"))
	}
	data := ev.data
	if bytes.IndexByte(data, '\n') >= 0 { // several data lines: make it one
		var b bytes.Buffer
		if json.Compact(&b, data) == nil {
			data = b.Bytes()
		}
	}
	ms, jerr := members(data)
	if ev.typ == "error" || jerr == nil && !isNull(lookup(ms, "error")) && lookup(ms, "choices") == nil {
		return false, f.eventError(s, data)
	}
	if jerr == nil {
		if u, ok := parseUsage(lookup(ms, "usage")); ok {
			s.real, s.hasUsage = u, true
			if f.dropUsage && string(bytes.TrimSpace(lookup(ms, "choices"))) == "[]" {
				return false, nil // asked for by us, not by the client
			}
		}
		ci := parseChoices(lookup(ms, "choices"))
		s.content += ci.content
		s.finished = s.finished || ci.finished
		data = apply(data, replaceAll(ms, "model", f.model))
	}
	// Not JSON: not ours to judge; the client gets it as it came.
	if !f.started {
		if err := f.begin(); err != nil {
			return false, err
		}
	}
	out := make([]byte, 0, len(data)+8)
	out = append(append(append(out, "data: "...), data...), '\n', '\n')
	return false, f.write(out)
}

// begin commits the response to a 200 event stream, unless the first-byte
// timeout fired a moment ago.
func (f *forward) begin() error {
	if !f.firstByteOK() {
		return f.fail(kindTimeout, 0, nil, errFirstByteTimeout)
	}
	openai.SetHeaders(f.w.Header())
	f.w.Header().Del("Content-Length")
	f.writeHeader(http.StatusOK)
	return nil
}

// write sends bytes of the stream and flushes them.
func (f *forward) write(b []byte) error {
	if _, err := f.w.Write(b); err != nil {
		return f.clientGone(err)
	}
	if err := http.NewResponseController(f.w).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return f.clientGone(err)
	}
	return nil
}

// eventError handles an error the upstream sent as an event: before the
// stream started it is returned like an HTTP error; after, it is passed on
// (normalized, so every SDK recognizes it) and ends the stream.
func (f *forward) eventError(s *streamState, body []byte) error {
	d := normalize(http.StatusOK, body)
	e := f.fail(kindStatus, statusOfEvent(body, d), bytes.Clone(body), errors.New(d.Message))
	e.detail = d
	if e.kind == kindStatus && f.started {
		if err := f.writeError(d); err != nil {
			return err
		}
	}
	return e
}

// broken handles a failed read: the caller's end (nothing written), our
// timeouts and broken connections (an error event once started).
func (f *forward) broken(s *streamState, err error) error {
	if errors.Is(err, bufio.ErrTooLong) {
		err = fmt.Errorf("an event is longer than %d MiB", maxEvent>>20)
	}
	e := f.fail(kindUnavailable, 0, nil, err)
	if errors.Is(err, bufio.ErrTooLong) && e.kind == kindUnavailable {
		e.kind = kindBadResponse
	}
	return f.endWith(e)
}

// eof handles the upstream ending its response without [DONE]. Some
// servers never send it; after a finish_reason the answer is complete and
// the client gets the [DONE] it expects. Otherwise the answer was cut.
func (f *forward) eof(s *streamState) error {
	if f.started && s.finished {
		s.done = true
		return f.write([]byte("data: [DONE]\n\n"))
	}
	return f.endWith(f.fail(kindBadResponse, 0, nil, io.ErrUnexpectedEOF))
}

// endWith writes e as the stream's last event when the stream started and
// e is not the caller's (who ended it, and knows why).
func (f *forward) endWith(e *UpstreamError) error {
	if f.started && e.kind != kindCaller {
		if err := f.writeError(e.APIError().Body().Error); err != nil {
			return err
		}
	}
	return e
}

func (f *forward) writeError(d openai.ErrorDetail) error {
	b, err := openai.Marshal(openai.ErrorBody{Error: d})
	if err != nil {
		return err
	}
	return f.write(append(append([]byte("data: "), bytes.TrimSpace(b)...), '\n', '\n'))
}
