package chat

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The lexer follows Jinja2's with trim_blocks=True, lstrip_blocks=True and
// keep_trailing_newline=False, the settings Hugging Face uses.

type tokKind int

const (
	tData tokKind = iota
	tVarBegin
	tVarEnd
	tBlockBegin
	tBlockEnd
	tName
	tString
	tInt
	tFloat
	tOp
	tEOF
)

type token struct {
	kind tokKind
	val  string // data text, name, decoded string, number text or operator
	line int
}

func (t token) String() string {
	switch t.kind {
	case tData:
		return "template data"
	case tVarBegin:
		return "'{{'"
	case tVarEnd:
		return "'}}'"
	case tBlockBegin:
		return "'{%'"
	case tBlockEnd:
		return "'%}'"
	case tString:
		return "string " + strconv.Quote(t.val)
	case tEOF:
		return "end of template"
	}
	return "'" + t.val + "'"
}

// SyntaxError is returned by Parse for a template that does not compile.
type SyntaxError struct {
	Line    int
	Message string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("chat template: syntax error on line %d: %s", e.Line, e.Message)
}

type lexer struct {
	src          string
	pos          int
	line         int
	toks         []token
	lineStarting bool // the text before the next tag starts a line
}

func normalizeNewlines(src string) string {
	if strings.Contains(src, "\r") {
		src = strings.ReplaceAll(src, "\r\n", "\n")
		src = strings.ReplaceAll(src, "\r", "\n")
	}
	// keep_trailing_newline=False drops one trailing newline.
	return strings.TrimSuffix(src, "\n")
}

func lex(src string) ([]token, error) {
	lx := &lexer{src: normalizeNewlines(src), line: 1, lineStarting: true}
	if err := lx.run(); err != nil {
		return nil, err
	}
	return lx.toks, nil
}

func (lx *lexer) errf(format string, args ...any) error {
	return &SyntaxError{Line: lx.line, Message: fmt.Sprintf(format, args...)}
}

func (lx *lexer) emit(kind tokKind, val string, line int) {
	lx.toks = append(lx.toks, token{kind: kind, val: val, line: line})
}

// nextTag finds the next "{{", "{%" or "{#" at or after pos.
func (lx *lexer) nextTag(pos int) int {
	for {
		i := strings.IndexByte(lx.src[pos:], '{')
		if i < 0 || pos+i+1 >= len(lx.src) {
			return -1
		}
		j := pos + i
		switch lx.src[j+1] {
		case '{', '%', '#':
			return j
		}
		pos = j + 1
	}
}

func pyRstrip(s string) string { return strings.TrimRightFunc(s, pyIsSpace) }
func pyLstrip(s string) string { return strings.TrimLeftFunc(s, pyIsSpace) }

// pyIsSpace is Python's str.isspace for one character.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

func (lx *lexer) data(text string, line int) {
	if text != "" {
		lx.emit(tData, text, line)
	}
}

func (lx *lexer) run() error {
	src := lx.src
	for lx.pos < len(src) {
		start := lx.pos
		startLine := lx.line
		tag := lx.nextTag(start)
		if tag < 0 {
			lx.data(src[start:], startLine)
			lx.line += strings.Count(src[start:], "\n")
			lx.pos = len(src)
			break
		}
		text := src[start:tag]
		lx.line += strings.Count(text, "\n")
		kind := src[tag+1]
		sign := byte(0)
		if tag+2 < len(src) && (src[tag+2] == '-' || src[tag+2] == '+') {
			sign = src[tag+2]
		}
		// Whitespace control before the tag.
		switch {
		case sign == '-':
			text = pyRstrip(text)
		case sign == 0 && kind != '{':
			// lstrip_blocks: drop spaces between the line start and the tag.
			lpos := strings.LastIndexByte(text, '\n') + 1
			if lpos > 0 || lx.lineStarting {
				rest := text[lpos:]
				if rest != "" && strings.TrimLeftFunc(rest, pyIsSpace) == "" {
					text = text[:lpos]
				}
			}
		}
		lx.data(text, startLine)
		lx.pos = tag + 2
		if sign != 0 {
			lx.pos++
		}
		// A raw block is data up to its endraw.
		if kind == '%' && lx.isRaw() {
			if err := lx.raw(); err != nil {
				return err
			}
			continue
		}
		var err error
		switch kind {
		case '#':
			err = lx.comment()
		case '{':
			lx.emit(tVarBegin, "", lx.line)
			err = lx.inside("}}", tVarEnd)
		case '%':
			lx.emit(tBlockBegin, "", lx.line)
			err = lx.inside("%}", tBlockEnd)
		}
		if err != nil {
			return err
		}
	}
	lx.emit(tEOF, "", lx.line)
	return nil
}

// afterEnd applies the whitespace control of a closing marker found at
// lx.pos (the '-' or '+' included in n) and moves past it.
func (lx *lexer) afterEnd(n int, sign byte, block bool) {
	lx.pos += n
	switch {
	case sign == '-':
		rest := lx.src[lx.pos:]
		trimmed := pyLstrip(rest)
		skipped := rest[:len(rest)-len(trimmed)]
		lx.line += strings.Count(skipped, "\n")
		lx.pos += len(skipped)
		lx.lineStarting = strings.HasSuffix(skipped, "\n")
	case sign == 0 && block && strings.HasPrefix(lx.src[lx.pos:], "\n"):
		// trim_blocks
		lx.pos++
		lx.line++
		lx.lineStarting = true
	default:
		lx.lineStarting = false
	}
}

func (lx *lexer) comment() error {
	line := lx.line
	i := strings.Index(lx.src[lx.pos:], "#}")
	if i < 0 {
		return &SyntaxError{Line: line, Message: "missing end of comment tag"}
	}
	end := lx.pos + i
	sign := byte(0)
	if end > lx.pos && (lx.src[end-1] == '-' || lx.src[end-1] == '+') {
		sign = lx.src[end-1]
	}
	lx.line += strings.Count(lx.src[lx.pos:end], "\n")
	lx.pos = end
	lx.afterEnd(2, sign, true)
	return nil
}

func (lx *lexer) isRaw() bool {
	rest := lx.src[lx.pos:]
	t := strings.TrimLeft(rest, " \t\n\r")
	if !strings.HasPrefix(t, "raw") {
		return false
	}
	t = strings.TrimLeft(t[3:], " \t\n\r")
	return strings.HasPrefix(t, "%}") || strings.HasPrefix(t, "-%}") || strings.HasPrefix(t, "+%}")
}

func (lx *lexer) raw() error {
	line := lx.line
	// Skip to the end of "{% raw %}".
	i := strings.Index(lx.src[lx.pos:], "%}")
	sign := lx.src[lx.pos+i-1]
	if sign != '-' && sign != '+' {
		sign = 0
	}
	lx.line += strings.Count(lx.src[lx.pos:lx.pos+i], "\n")
	lx.pos += i
	lx.afterEnd(2, sign, false) // no trim_blocks after "raw %}"
	// Find "{% endraw %}".
	search := lx.pos
	for {
		j := strings.Index(lx.src[search:], "{%")
		if j < 0 {
			return &SyntaxError{Line: line, Message: "missing endraw"}
		}
		tag := search + j
		p := tag + 2
		tsign := byte(0)
		if p < len(lx.src) && (lx.src[p] == '-' || lx.src[p] == '+') {
			tsign = lx.src[p]
			p++
		}
		t := strings.TrimLeft(lx.src[p:], " \t\n\r")
		if !strings.HasPrefix(t, "endraw") {
			search = tag + 2
			continue
		}
		t = strings.TrimLeft(t[6:], " \t\n\r")
		esign := byte(0)
		if strings.HasPrefix(t, "-") || strings.HasPrefix(t, "+") {
			esign = t[0]
			t = t[1:]
		}
		if !strings.HasPrefix(t, "%}") {
			search = tag + 2
			continue
		}
		text := lx.src[lx.pos:tag]
		if tsign == '-' {
			text = pyRstrip(text)
		} else if tsign == 0 {
			lpos := strings.LastIndexByte(text, '\n') + 1
			if lpos > 0 || lx.lineStarting {
				rest := text[lpos:]
				if rest != "" && strings.TrimLeftFunc(rest, pyIsSpace) == "" {
					text = text[:lpos]
				}
			}
		}
		lx.data(text, lx.line)
		endPos := len(lx.src) - len(t) // at "%}"
		lx.line += strings.Count(lx.src[lx.pos:endPos], "\n")
		lx.pos = endPos
		lx.afterEnd(2, esign, true)
		return nil
	}
}

// inside lexes the expression tokens of a {{ }} or {% %} tag up to its
// closing marker. Brackets must balance before the marker counts, as in
// Jinja2.
func (lx *lexer) inside(closer string, endKind tokKind) error {
	src := lx.src
	startLine := lx.line
	depth := 0
	block := endKind == tBlockEnd
	for {
		// Skip whitespace.
		for lx.pos < len(src) {
			c := src[lx.pos]
			if c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' {
				lx.pos++
			} else if c == '\n' {
				lx.pos++
				lx.line++
			} else {
				break
			}
		}
		if lx.pos >= len(src) {
			what := "block"
			if !block {
				what = "variable"
			}
			return &SyntaxError{Line: startLine, Message: "unexpected end of template: missing end of " + what + " tag"}
		}
		rest := src[lx.pos:]
		if depth == 0 {
			if strings.HasPrefix(rest, closer) {
				lx.emit(endKind, "", lx.line)
				lx.afterEnd(2, 0, block)
				return nil
			}
			if (rest[0] == '-' || (rest[0] == '+' && block)) && strings.HasPrefix(rest[1:], closer) {
				lx.emit(endKind, "", lx.line)
				lx.afterEnd(3, rest[0], block)
				return nil
			}
		}
		c := rest[0]
		switch {
		case c == '\'' || c == '"':
			s, n, err := lexString(rest)
			if err != nil {
				return lx.errf("%v", err)
			}
			lx.emit(tString, s, lx.line)
			lx.line += strings.Count(rest[:n], "\n")
			lx.pos += n
		case c >= '0' && c <= '9':
			n, isFloat := lexNumber(rest)
			kind := tInt
			if isFloat {
				kind = tFloat
			}
			lx.emit(kind, strings.ReplaceAll(rest[:n], "_", ""), lx.line)
			lx.pos += n
		case c == '_' || c >= 0x80 || unicode.IsLetter(rune(c)):
			n := 0
			for n < len(rest) {
				r, size := utf8.DecodeRuneInString(rest[n:])
				if r == '_' || unicode.IsLetter(r) || (n > 0 && unicode.IsDigit(r)) {
					n += size
					continue
				}
				break
			}
			if n == 0 {
				return lx.errf("unexpected char %q", rest[:1])
			}
			lx.emit(tName, rest[:n], lx.line)
			lx.pos += n
		default:
			op := ""
			for _, cand := range []string{"//", "**", "==", "!=", "<=", ">="} {
				if strings.HasPrefix(rest, cand) {
					op = cand
					break
				}
			}
			if op == "" {
				if !strings.ContainsRune("+-/*%~[](){}<>=.:|,;", rune(c)) {
					return lx.errf("unexpected char %q", rest[:1])
				}
				op = rest[:1]
			}
			switch op {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				if depth == 0 {
					return lx.errf("unexpected '%s'", op)
				}
				depth--
			}
			lx.emit(tOp, op, lx.line)
			lx.pos += len(op)
		}
	}
}

func lexNumber(s string) (n int, isFloat bool) {
	digits := func(i int) int {
		for i < len(s) && ((s[i] >= '0' && s[i] <= '9') || (s[i] == '_' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9')) {
			i++
		}
		return i
	}
	n = digits(0)
	if n+1 < len(s) && s[n] == '.' && s[n+1] >= '0' && s[n+1] <= '9' {
		n = digits(n + 1)
		isFloat = true
	}
	if n < len(s) && (s[n] == 'e' || s[n] == 'E') {
		j := n + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			n = digits(j)
			isFloat = true
		}
	}
	return n, isFloat
}

// lexString reads a quoted string literal and decodes Python escapes.
func lexString(s string) (string, int, error) {
	q := s[0]
	var b strings.Builder
	i := 1
	for i < len(s) {
		c := s[i]
		if c == q {
			return b.String(), i + 1, nil
		}
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		e := s[i+1]
		i += 2
		switch e {
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i - 1
			k := j
			for k < len(s) && k < j+3 && s[k] >= '0' && s[k] <= '7' {
				k++
			}
			v, _ := strconv.ParseUint(s[j:k], 8, 32)
			b.WriteRune(rune(v))
			i = k
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+n > len(s) {
				return "", 0, fmt.Errorf("truncated \\%c escape", e)
			}
			v, err := strconv.ParseUint(s[i:i+n], 16, 32)
			if err != nil || v > unicode.MaxRune {
				return "", 0, fmt.Errorf("invalid \\%c escape", e)
			}
			b.WriteRune(rune(v))
			i += n
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	return "", 0, fmt.Errorf("unterminated string")
}
