package toolcall

// Building blocks shared by the families' streaming parsers. A family's
// parser is a callScanner (its call syntax) behind the common parser (raw
// text kept for failures, reasoning split off first, results accumulated in
// one place so streamed deltas and the whole Result cannot disagree).

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"
)

const spaces = " \t\r\n"

// partialSuffix returns the length of the longest suffix of s that is a
// proper prefix of one of the markers: text that must be held back because
// the next piece may complete a marker. It is at most the longest marker's
// length minus one, which bounds what a parser holds for this reason.
func partialSuffix(s string, markers ...string) int {
	best := 0
	for _, m := range markers {
		n := min(len(m)-1, len(s))
		for k := n; k > best; k-- {
			if s[len(s)-k:] == m[:k] {
				best = k
				break
			}
		}
	}
	return best
}

// findFirst returns where the earliest of the markers starts in s and
// which one it is (the longer one on a tie), or -1, -1.
func findFirst(s string, markers ...string) (pos, which int) {
	pos, which = -1, -1
	for i, m := range markers {
		if j := strings.Index(s, m); j >= 0 && (pos < 0 || j < pos || j == pos && len(m) > len(markers[which])) {
			pos, which = j, i
		}
	}
	return pos, which
}

// cutMarkers splits buffered text at the first marker. Before the marker
// (or, with no marker, all but a possible marker start) is safe to emit;
// rest keeps the marker onwards (or the held partial marker). which is -1
// when no whole marker was found.
func cutMarkers(buf string, markers ...string) (safe, rest string, which int) {
	pos, which := findFirst(buf, markers...)
	if pos >= 0 {
		return buf[:pos], buf[pos:], which
	}
	n := partialSuffix(buf, markers...)
	return buf[:len(buf)-n], buf[len(buf)-n:], -1
}

// jsonScan finds where one JSON value ends in text arriving piece by piece.
// It tracks nesting and strings (with escapes) but not full syntax: the
// caller validates the finished value with encoding/json. A scalar (number,
// true, ...) ends only at the byte after it, so it is done only when that
// byte arrives or at the end of the input (end).
type jsonScan struct {
	started, done bool
	depth         int
	inStr, esc    bool
	scalar        bool
	err           error
}

var errJSON = errors.New("toolcall: malformed JSON")

// feed consumes s up to the end of the value (leading whitespace
// included) and returns how many bytes it took.
func (j *jsonScan) feed(s string) int {
	for i := 0; i < len(s); i++ {
		if j.done || j.err != nil {
			return i
		}
		c := s[i]
		switch {
		case !j.started:
			switch {
			case strings.IndexByte(spaces, c) >= 0:
				continue
			case c == '{' || c == '[':
				j.depth = 1
			case c == '"':
				j.inStr = true
			case c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f' || c == 'n':
				j.scalar = true
			default:
				j.err = errJSON
				return i
			}
			j.started = true
		case j.scalar:
			if !isScalarByte(c) {
				j.done = true
				return i
			}
		case j.inStr:
			switch {
			case j.esc:
				j.esc = false
			case c == '\\':
				j.esc = true
			case c == '"':
				j.inStr = false
				if j.depth == 0 {
					j.done = true
				}
			}
		case c == '"':
			j.inStr = true
		case c == '{' || c == '[':
			j.depth++
		case c == '}' || c == ']':
			j.depth--
			if j.depth == 0 {
				j.done = true
			}
		}
	}
	return len(s)
}

// end reports whether the value is complete once no more input comes.
func (j *jsonScan) end() bool {
	if j.scalar && j.started && j.err == nil {
		j.done = true
	}
	return j.done && j.err == nil
}

func isScalarByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '+' || c == '.'
}

// scanValue returns the length of the complete JSON value at the start of
// s (after whitespace), or -1 when s ends first, -2 when it is not JSON.
// atEnd says no more text follows (a trailing scalar is then complete).
func scanValue(s string, atEnd bool) int {
	var j jsonScan
	n := j.feed(s)
	switch {
	case j.err != nil:
		return -2
	case j.done || atEnd && j.end():
		return n
	}
	return -1
}

const idChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomAlnum returns n random letters and digits from crypto/rand, so ids
// are unguessable and do not collide across concurrent requests.
func randomAlnum(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	for i := range b {
		b[i] = idChars[int(b[i])%len(idChars)]
	}
	return string(b)
}

// NewCallID returns an OpenAI-style call id: "call_" and 24 random
// letters and digits.
func NewCallID() string { return "call_" + randomAlnum(24) }

// trimStream passes one stream (content or reasoning) through, holding
// back whitespace at its ends: an incomplete UTF-8 sequence at the end of a
// piece is held too, so no delta splits a character. Whitespace next to a
// block the parser took out (a reasoning block, a tool call) is dropped;
// an answer from which nothing was taken out comes through byte for byte
// (a plain answer's leading or trailing spaces are the model's).
//
// Leading whitespace is held until the first other text decides it;
// trailing whitespace until more text follows it or the stream ends.
type trimStream struct {
	begun bool
	lead  string // whitespace before the first other text
	held  string
	// always trims like a removed block (reasoning text is always
	// trimmed); otherwise removed says whether a block was taken out.
	always  bool
	removed *bool
}

func (t *trimStream) trimming() bool { return t.always || (t.removed != nil && *t.removed) }

func (t *trimStream) push(s string) string {
	if !t.begun {
		t.lead += s
		rest := strings.TrimLeft(t.lead, spaces)
		if rest == "" {
			return ""
		}
		t.begun = true
		if t.trimming() {
			s = rest
		} else {
			s = t.lead
		}
		t.lead = ""
	}
	s = t.held + s
	e := len(strings.TrimRight(s, spaces))
	e -= partialRune(s[:e])
	t.held = s[e:]
	return s[:e]
}

// block drops whitespace held before a block that is being taken out.
func (t *trimStream) block() {
	t.lead = ""
	if rest := strings.TrimRight(t.held, spaces); len(rest) < len(t.held) {
		t.held = rest
	}
}

// flush returns the held text: a cut-off character at the very end, and
// the trailing whitespace unless a block was taken out.
func (t *trimStream) flush() string {
	s := t.lead + t.held
	if t.trimming() {
		s = strings.TrimRight(t.held, spaces)
	}
	t.lead, t.held = "", ""
	return s
}

// partialRune returns how many bytes at the end of s start a UTF-8
// sequence that is not complete yet.
func partialRune(s string) int {
	for k := 1; k <= 3 && k <= len(s); k++ {
		c := s[len(s)-k]
		if c < 0x80 {
			return 0
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRuneInString(s[len(s)-k:]) {
				return k
			}
			return 0
		}
	}
	return 0
}

// out collects one answer's deltas and the Result they add up to.
type out struct {
	opts      *Options
	deltas    []Delta
	content   strings.Builder
	reasoning strings.Builder
	calls     []Call
	ctrim     trimStream
	rtrim     trimStream
	removed   bool            // a reasoning block or a call was taken out of the text
	args      strings.Builder // the current call's arguments
	argsHeld  string          // an incomplete UTF-8 sequence of arguments
	inCall    bool
	dropping  bool // the current call is past the first with parallel off
	err       error
}

func (o *out) text(s string) {
	if s = o.ctrim.push(s); s != "" {
		o.content.WriteString(s)
		o.deltas = append(o.deltas, Delta{Kind: DeltaContent, Text: s})
	}
}

func (o *out) think(s string) {
	o.taken()
	if s = o.rtrim.push(s); s != "" {
		o.reasoning.WriteString(s)
		o.deltas = append(o.deltas, Delta{Kind: DeltaReasoning, Text: s})
	}
}

// start begins a call; id "" makes a new one. With parallel calls off,
// calls after the first are parsed but dropped: the grammar allows only
// one, so more come only from unconstrained output.
func (o *out) start(name, id string) {
	o.endCall()
	o.taken()
	o.inCall = true
	if !o.opts.Choice.Parallel && len(o.calls) > 0 {
		o.dropping = true
		return
	}
	if id == "" {
		id = o.newID()
	}
	o.calls = append(o.calls, Call{ID: id, Name: name})
	o.deltas = append(o.deltas, Delta{Kind: DeltaCallStart, Index: len(o.calls) - 1, ID: id, Name: name})
}

// taken notes that a block is being taken out of the content, so the
// whitespace next to it goes too.
func (o *out) taken() {
	o.removed = true
	o.ctrim.removed = &o.removed
	o.rtrim.always = true
	o.ctrim.block()
}

func (o *out) newID() string {
	if o.opts.NewID != nil {
		return o.opts.NewID()
	}
	return NewCallID()
}

// arg adds a fragment of the current call's arguments.
func (o *out) arg(s string) {
	if !o.inCall || o.dropping {
		return
	}
	s = o.argsHeld + s
	e := len(s) - partialRune(s)
	o.argsHeld = s[e:]
	if s = s[:e]; s != "" {
		o.args.WriteString(s)
		o.deltas = append(o.deltas, Delta{Kind: DeltaCallArgs, Index: len(o.calls) - 1, Text: s})
	}
}

// argsValid reports whether the current call's arguments so far are JSON.
func (o *out) argsValid() bool { return json.Valid([]byte(o.args.String() + o.argsHeld)) }

// endCall closes the current call, if any.
func (o *out) endCall() {
	if !o.inCall {
		return
	}
	if !o.dropping {
		if o.argsHeld != "" {
			o.args.WriteString(o.argsHeld)
			o.deltas = append(o.deltas, Delta{Kind: DeltaCallArgs, Index: len(o.calls) - 1, Text: o.argsHeld})
		}
		o.calls[len(o.calls)-1].Arguments = o.args.String()
	}
	o.inCall, o.dropping, o.argsHeld = false, false, ""
	o.args.Reset()
}

// call emits a whole call at once.
func (o *out) call(name, id, args string) {
	o.start(name, id)
	o.arg(args)
	o.endCall()
}

// fail records the first error; the parser then stops interpreting text.
func (o *out) fail(err error) {
	if o.err == nil {
		o.err = err
	}
}

func (o *out) take() []Delta {
	d := o.deltas
	o.deltas = nil
	return d
}

// callScanner is a family's call syntax. It is fed content text (reasoning
// already split off) and reports through out: o.text for content,
// o.start/o.arg/o.endCall or o.call for calls, o.fail for malformed calls.
type callScanner interface {
	feed(o *out, s string)
	// finish ends the text; a call still open is an error (o.fail).
	finish(o *out)
}

// textOnly is the scanner used when no tools were offered: everything is
// content.
type textOnly struct{}

func (textOnly) feed(o *out, s string) { o.text(s) }
func (textOnly) finish(*out)           {}

// parser is the Parser every family returns: it keeps the raw text for a
// failed parse, splits reasoning first and hands content to the scanner.
type parser struct {
	o     out
	raw   strings.Builder
	think *thinkSplit // nil: the family has no reasoning block
	calls callScanner
	opts  Options
}

// newParser builds the common parser. think may be nil. calls is used
// only when the request offers tools and allows calls.
func newParser(opts Options, think *thinkSplit, calls callScanner) *parser {
	p := &parser{think: think, opts: opts}
	p.o.opts = &p.opts
	if len(opts.Tools) == 0 || opts.Choice.Mode == ChoiceNone || calls == nil {
		calls = textOnly{}
	}
	p.calls = calls
	if think != nil {
		think.reasoning = opts.Reasoning
		if opts.ThinkingOpen {
			think.state = thinkIn
		}
	}
	return p
}

func (p *parser) Feed(s string) []Delta {
	p.raw.WriteString(s)
	if p.o.err != nil {
		return nil
	}
	if p.think != nil {
		p.think.feed(&p.o, s, p.calls)
	} else {
		p.calls.feed(&p.o, s)
	}
	if p.o.err != nil {
		return nil
	}
	return p.o.take()
}

func (p *parser) Finish(truncated bool) ([]Delta, Result, bool) {
	o := &p.o
	if o.err == nil {
		if p.think != nil {
			p.think.finish(o, p.calls)
		}
		p.calls.finish(o)
		if o.inCall && truncated {
			o.fail(errUnterminated)
		}
		o.endCall()
	}
	if o.err != nil {
		return nil, Result{Content: p.raw.String()}, false
	}
	if s := o.ctrim.flush(); s != "" {
		o.content.WriteString(s)
		o.deltas = append(o.deltas, Delta{Kind: DeltaContent, Text: s})
	}
	if s := o.rtrim.flush(); s != "" {
		o.reasoning.WriteString(s)
		o.deltas = append(o.deltas, Delta{Kind: DeltaReasoning, Text: s})
	}
	res := Result{Content: o.content.String(), Reasoning: o.reasoning.String(), Calls: o.calls}
	return o.take(), res, true
}

var errUnterminated = errors.New("toolcall: unterminated tool call")

// thinkSplit separates a reasoning block written between open and close
// tags (<think>...</think>, [THINK]...[/THINK]) at the start of the
// output, or from the first byte when the prompt opened it (ThinkingOpen).
// With reasoning off the block, tags included, stays in content.
type thinkSplit struct {
	open, close string
	reasoning   bool
	state       int
	pend        string
}

const (
	thinkStart = iota // before any non-space text: a block may open
	thinkIn           // inside the block
	thinkDone         // after it (or no block): all content
)

// newThinkSplit returns a splitter for one tag pair.
func newThinkSplit(open, close string) *thinkSplit {
	return &thinkSplit{open: open, close: close}
}

func (t *thinkSplit) feed(o *out, s string, calls callScanner) {
	if t.state == thinkDone {
		calls.feed(o, s)
		return
	}
	t.pend += s
	if t.state == thinkStart {
		tr := strings.TrimLeft(t.pend, spaces)
		switch {
		case strings.HasPrefix(tr, t.open):
			t.state = thinkIn
			if !t.reasoning {
				o.text(t.pend[:len(t.pend)-len(tr)+len(t.open)])
			}
			t.pend = tr[len(t.open):]
		case strings.HasPrefix(t.open, tr):
			return // could still be the open tag
		default:
			t.state = thinkDone
			s, t.pend = t.pend, ""
			calls.feed(o, s)
			return
		}
	}
	// In the block: emit all but a possible start of the close tag.
	safe, rest, which := cutMarkers(t.pend, t.close)
	t.emit(o, safe)
	if which < 0 {
		t.pend = rest
		return
	}
	if !t.reasoning {
		o.text(t.close)
	}
	t.state = thinkDone
	after := rest[len(t.close):]
	t.pend = ""
	if after != "" {
		calls.feed(o, after)
	}
}

func (t *thinkSplit) emit(o *out, s string) {
	if t.reasoning {
		o.think(s)
	} else {
		o.text(s)
	}
}

// finish flushes held text: an unclosed block (cut short) is reasoning,
// text that only looked like the start of an open tag is content.
func (t *thinkSplit) finish(o *out, calls callScanner) {
	s := t.pend
	t.pend = ""
	switch t.state {
	case thinkStart:
		if s != "" {
			calls.feed(o, s)
		}
	case thinkIn:
		t.emit(o, s)
	}
	t.state = thinkDone
}
