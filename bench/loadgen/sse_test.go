package main

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// readAll returns the data of every event of stream and the error that
// ended it.
func readAll(t *testing.T, stream string) ([]string, int, error) {
	t.Helper()
	rd := newSSEReader(strings.NewReader(stream), nil)
	var got []string
	for {
		ev, err := rd.Next()
		if err != nil {
			return got, rd.Fields, err
		}
		got = append(got, ev.Data)
	}
}

func TestSSEReader(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		want   []string
		fields int
		err    error
	}{
		{"lf", "data: a\n\ndata: b\n\n", []string{"a", "b"}, 0, io.EOF},
		{"crlf", "data: a\r\n\r\ndata: b\r\n\r\n", []string{"a", "b"}, 0, io.EOF},
		{"cr", "data: a\r\rdata: b\r\r", []string{"a", "b"}, 0, io.EOF},
		{"mixed endings", "data: a\r\n\ndata: b\r\r\n", []string{"a", "b"}, 0, io.EOF},
		{"no space after colon", "data:a\n\n", []string{"a"}, 0, io.EOF},
		{"only the first space is dropped", "data:  a \n\n", []string{" a "}, 0, io.EOF},
		{"multi-line data", "data: a\ndata: b\n\n", []string{"a\nb"}, 0, io.EOF},
		{"empty data field", "data\n\n", []string{""}, 0, io.EOF},
		{"comments are skipped", ": keep-alive\n\ndata: a\n: inside\n\n", []string{"a"}, 0, io.EOF},
		{"other fields are counted, not data", "event: x\nid: 1\nretry: 5\ndata: a\n\n", []string{"a"}, 3, io.EOF},
		{"event without data is not dispatched", "event: ping\n\ndata: a\n\n", []string{"a"}, 1, io.EOF},
		{"extra blank lines", "\n\n\ndata: a\n\n\n\n", []string{"a"}, 0, io.EOF},
		{"json with colons", `data: {"a":"b: c"}` + "\n\n", []string{`{"a":"b: c"}`}, 0, io.EOF},
		{"empty stream", "", nil, 0, io.EOF},
		{"event cut before its blank line", "data: a\n\ndata: b\n", []string{"a"}, 0, errIncompleteEvent},
		{"line cut before its newline", "data: a\n\ndata: b", []string{"a"}, 0, errIncompleteEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, fields, err := readAll(t, tt.stream)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events %q, want %q", got, tt.want)
			}
			if fields != tt.fields {
				t.Errorf("fields %d, want %d", fields, tt.fields)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("error %v, want %v", err, tt.err)
			}
		})
	}
}

// TestSSEReaderTimestamps checks that an event is stamped when its blank
// line is read, by one call of the clock per event.
func TestSSEReaderTimestamps(t *testing.T) {
	t0 := time.Unix(1000, 0)
	calls := 0
	now := func() time.Time { calls++; return t0.Add(time.Duration(calls) * time.Millisecond) }
	rd := newSSEReader(strings.NewReader(": c\n\ndata: a\n\ndata: b\n\n"), now)
	for i, want := range []time.Duration{1, 2} {
		ev, err := rd.Next()
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.At.Sub(t0); got != want*time.Millisecond {
			t.Errorf("event %d at %v, want %v", i, got, want*time.Millisecond)
		}
	}
}

// TestSSEReaderSplitReads feeds the stream one byte per Read, so a \r\n
// pair is split across reads.
func TestSSEReaderSplitReads(t *testing.T) {
	stream := "data: a\r\n\r\ndata: b\r\n\r\n"
	rd := newSSEReader(&oneByteReader{s: stream}, nil)
	var got []string
	for {
		ev, err := rd.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
		got = append(got, ev.Data)
	}
	if !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("got %q", got)
	}
}

type oneByteReader struct{ s string }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.s) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.s[0]
	r.s = r.s[1:]
	return 1, nil
}

func TestSSEReaderLineLimit(t *testing.T) {
	rd := newSSEReader(strings.NewReader("data: "+strings.Repeat("x", maxSSELine+10)+"\n\n"), nil)
	if _, err := rd.Next(); err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("error %v, want a line-length error", err)
	}
}
