package toolcall

import "strings"

// callBody reads what follows a call's open marker up to its end.
type callBody interface {
	// feed consumes s up to the end of the body and returns the bytes taken.
	feed(o *out, s string) int
	finished() bool
}

func (c *callObject) finished() bool { return c.done }

// taggedCalls is the scanner for families that wrap each call between an
// open and a close marker (<tool_call>...</tool_call>): text outside is
// content, the body between is read by newBody's parser.
type taggedCalls struct {
	open, close string
	newBody     func() callBody
	// closeOptional accepts a body not followed by the close marker
	// (models often stop right after the JSON).
	closeOptional bool

	state int
	pend  string
	body  callBody
}

const (
	tagText = iota
	tagBody
	tagClose
)

func (t *taggedCalls) feed(o *out, s string) {
	for o.err == nil {
		switch t.state {
		case tagText:
			buf := t.pend + s
			safe, rest, which := cutMarkers(buf, t.open)
			o.text(safe)
			if which < 0 {
				t.pend = rest
				return
			}
			t.pend, s = "", rest[len(t.open):]
			t.state, t.body = tagBody, t.newBody()
		case tagBody:
			n := t.body.feed(o, s)
			s = s[n:]
			if !t.body.finished() {
				return
			}
			t.state = tagClose
		case tagClose:
			buf := t.pend + s
			tr := strings.TrimLeft(buf, spaces)
			switch {
			case strings.HasPrefix(tr, t.close):
				o.endCall()
				t.pend, s, t.state = "", tr[len(t.close):], tagText
			case strings.HasPrefix(t.close, tr):
				t.pend = tr // whitespace before it is not content
				return
			case t.closeOptional:
				o.endCall()
				t.pend, s, t.state = "", buf, tagText
			default:
				o.fail(errUnterminated)
				return
			}
		}
		if s == "" {
			return
		}
	}
}

func (t *taggedCalls) finish(o *out) {
	switch t.state {
	case tagText:
		o.text(t.pend)
	case tagBody:
		o.fail(errUnterminated)
	case tagClose:
		if !t.closeOptional {
			o.fail(errUnterminated)
		}
		o.endCall()
	}
	t.pend = ""
}
