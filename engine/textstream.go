package engine

import (
	"bytes"
	"unicode/utf8"
)

// TextFilter turns a model's token pieces into text that is safe to send:
// it never emits the start of a multi-byte UTF-8 character without its end,
// never emits a stop string, and never emits text that might still turn out
// to be the start of one. Stop strings are matched on the decoded bytes, so a
// stop string split across tokens is found.
//
// The zero value has no stop strings. A TextFilter is used by one goroutine.
type TextFilter struct {
	stops   [][]byte
	pending []byte
}

// NewTextFilter returns a filter for the given stop strings; empty strings
// are ignored.
func NewTextFilter(stops []string) *TextFilter {
	f := &TextFilter{}
	for _, s := range stops {
		if s != "" {
			f.stops = append(f.stops, []byte(s))
		}
	}
	return f
}

// Push adds the next piece of model output. It returns the text that can be
// sent now and whether a stop string was reached; after a stop the filter is
// empty and the caller must end the generation (out is the text before the
// stop string).
func (f *TextFilter) Push(piece string) (out string, stopped bool) {
	f.pending = append(f.pending, piece...)
	if at := f.firstStop(); at >= 0 {
		out = string(f.pending[:at])
		f.pending = f.pending[:0]
		return out, true
	}
	hold := max(f.stopPrefixHold(), incompleteUTF8Tail(f.pending))
	n := len(f.pending) - hold
	n = charStart(f.pending, n)
	if n <= 0 {
		return "", false
	}
	out = string(f.pending[:n])
	f.pending = append(f.pending[:0], f.pending[n:]...)
	return out, false
}

// Flush returns whatever is held back, at the end of a generation that did
// not stop on a stop string. An incomplete UTF-8 sequence is returned as is:
// the model ended inside a character, and the bytes are its output.
func (f *TextFilter) Flush() string {
	out := string(f.pending)
	f.pending = f.pending[:0]
	return out
}

// firstStop returns the byte offset of the stop string that a stream would
// complete first (the earliest end; on a tie the earliest start), or -1.
// Choosing by end keeps the result independent of how the text was split
// into pieces when one stop string lies inside another.
func (f *TextFilter) firstStop() int {
	at, end := -1, -1
	for _, s := range f.stops {
		i := bytes.Index(f.pending, s)
		if i < 0 {
			continue
		}
		if e := i + len(s); end < 0 || e < end || (e == end && i < at) {
			at, end = i, e
		}
	}
	return at
}

// stopPrefixHold is the length of the longest suffix of pending that is a
// proper prefix of a stop string: text that a later piece may complete.
func (f *TextFilter) stopPrefixHold() int {
	hold := 0
	for _, s := range f.stops {
		for k := min(len(s)-1, len(f.pending)); k > hold; k-- {
			if bytes.HasSuffix(f.pending, s[:k]) {
				hold = k
				break
			}
		}
	}
	return hold
}

// incompleteUTF8Tail returns how many trailing bytes of b form the valid
// beginning of a multi-byte character whose remaining bytes have not arrived
// yet. Bytes that can never become valid UTF-8 are not held.
func incompleteUTF8Tail(b []byte) int {
	// A character is at most 4 bytes, so only the last 3 can be incomplete.
	for n := 1; n <= 3 && n <= len(b); n++ {
		c := b[len(b)-n]
		if c < 0x80 {
			return 0 // ASCII: nothing incomplete after it
		}
		if c >= 0xC0 { // a lead byte
			need := 0
			switch {
			case c >= 0xF8:
				return 0
			case c >= 0xF0:
				need = 4
			case c >= 0xE0:
				need = 3
			default:
				need = 2
			}
			if n >= need {
				return 0 // complete (or invalid): nothing to wait for
			}
			// Held only if what we have could still start a valid rune.
			if utf8.FullRune(b[len(b)-n:]) {
				return 0
			}
			return n
		}
		// continuation byte: keep looking for its lead byte
	}
	return 0
}

// charStart moves a cut position n back to the start of the valid character
// it would split, if any, so held-back bytes never take the end of a
// character away from its beginning.
func charStart(b []byte, n int) int {
	if n <= 0 || n >= len(b) {
		return n
	}
	for p := n - 1; p >= 0 && p >= n-3; p-- {
		if !utf8.RuneStart(b[p]) {
			continue
		}
		if r, size := utf8.DecodeRune(b[p:]); (r != utf8.RuneError || size > 1) && p+size > n {
			return p
		}
		return n
	}
	return n
}
