package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// sseEvent is one dispatched server-sent event: the joined data lines and
// the moment the blank line that ends it was read.
type sseEvent struct {
	Data string
	At   time.Time
}

// errIncompleteEvent means the stream ended inside an event (data lines, or
// a partial line, with no blank line after them). The spec says to drop
// such an event; a benchmark reports it.
var errIncompleteEvent = errors.New("stream ended inside an event (no blank line after its data)")

// maxSSELine bounds one line, so a server that never sends a newline cannot
// make the client buffer without limit.
const maxSSELine = 4 << 20

// sseReader parses a text/event-stream as the WHATWG HTML spec describes:
// lines end in \n, \r\n or \r; a line starting with ':' is a comment; "data"
// fields accumulate (joined with \n) until a blank line dispatches the
// event; an event without data is not dispatched; other fields (event, id,
// retry) are ignored because the OpenAI API does not use them.
type sseReader struct {
	r      *bufio.Reader
	now    func() time.Time
	skipLF bool // the previous line ended in \r: a following \n belongs to it
	line   []byte
	data   []byte
	// Fields counts the non-data fields seen (event:, id:, retry:, unknown).
	Fields int
}

func newSSEReader(r io.Reader, now func() time.Time) *sseReader {
	if now == nil {
		now = time.Now
	}
	return &sseReader{r: bufio.NewReaderSize(r, 64<<10), now: now}
}

// readLine returns the next line without its terminator. The slice is valid
// until the next call. At the end of the stream it returns io.EOF, or
// errIncompleteEvent if a partial line was pending.
func (s *sseReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		b, err := s.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && len(s.line) > 0 {
				return nil, errIncompleteEvent
			}
			return nil, err
		}
		if s.skipLF {
			s.skipLF = false
			if b == '\n' {
				continue
			}
		}
		switch b {
		case '\n':
			return s.line, nil
		case '\r':
			s.skipLF = true
			return s.line, nil
		}
		if len(s.line) >= maxSSELine {
			return nil, fmt.Errorf("SSE line longer than %d bytes", maxSSELine)
		}
		s.line = append(s.line, b)
	}
}

// Next returns the next event that has data. It returns io.EOF at a clean
// end of the stream, errIncompleteEvent when the stream stops inside an
// event, or the read error.
func (s *sseReader) Next() (sseEvent, error) {
	s.data = s.data[:0]
	hasData := false
	for {
		line, err := s.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && hasData {
				return sseEvent{}, errIncompleteEvent
			}
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if !hasData {
				continue
			}
			return sseEvent{Data: string(s.data), At: s.now()}, nil
		}
		if line[0] == ':' {
			continue // comment (keep-alive)
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		if string(field) != "data" {
			s.Fields++
			continue
		}
		if hasData {
			s.data = append(s.data, '\n')
		}
		s.data = append(s.data, value...)
		hasData = true
	}
}
