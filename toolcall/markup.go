package toolcall

// Small pieces shared by the special-token families (harmony, DeepSeek,
// Command R, Kimi, GLM): their calls are a fixed sequence of markers with
// JSON or plain text between them, so a parser is a state machine that
// waits for the next expected marker.

import (
	"encoding/json"
	"errors"
	"strings"
)

var errMarkup = errors.New("toolcall: unexpected text in tool-call markup")

// expectMarker looks for one of markers at the start of s after leading
// whitespace. It returns which one and the text after it; which is -1 with
// wait true while s could still become one of them (more text is needed),
// and -1 with wait false when s cannot.
func expectMarker(s string, markers ...string) (which int, rest string, wait bool) {
	t := strings.TrimLeft(s, spaces)
	if t == "" {
		return -1, s, true
	}
	for i, m := range markers {
		if strings.HasPrefix(t, m) {
			return i, t[len(m):], false
		}
	}
	for _, m := range markers {
		if strings.HasPrefix(m, t) {
			return -1, s, true
		}
	}
	return -1, s, false
}

// argsJSON streams one call's arguments object and checks it once whole:
// argsObject finds its end but does not validate it, and a call must not
// be reported with arguments a client cannot parse.
type argsJSON struct {
	obj  argsObject
	text strings.Builder
}

// feed consumes s up to the end of the object and returns how many bytes
// it took; done says the object is whole (and valid, else o failed).
func (a *argsJSON) feed(o *out, s string) (n int, done bool) {
	n = a.obj.feed(o, s)
	a.text.WriteString(s[:n])
	if o.err != nil {
		return n, false
	}
	if a.obj.done() {
		if !json.Valid([]byte(a.text.String())) {
			o.fail(errJSON)
			return n, false
		}
		return n, true
	}
	return n, false
}

// callsOn reports whether a request's answer may hold calls at all.
func callsOn(opts Options) bool {
	return len(opts.Tools) > 0 && opts.Choice.Mode != ChoiceNone
}

// endsOpenThink reports whether a rendered prompt ends inside a <think>
// block it opened (DeepSeek R1's "<｜Assistant｜><think>\n").
func endsOpenThink(prompt string) bool {
	return strings.HasSuffix(strings.TrimRight(prompt, spaces), "<think>")
}

// toolByName returns the offered tool with this name, or nil.
func toolByName(opts Options, name string) *Tool {
	for i := range opts.Tools {
		if opts.Tools[i].Name == name {
			return &opts.Tools[i]
		}
	}
	return nil
}
