package toolcall

// A small GBNF matcher for tests: it reads the subset of llama.cpp's GBNF
// this package and llama.cpp's schema converter write (literals, character
// classes, rule references, groups, alternatives, * + ? {m} {m,} {m,n},
// comments) and says whether a grammar accepts a whole text, so grammar
// tests can check what a grammar lets a model write, not only its shape.

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

type gItem struct {
	lit      []rune     // a literal (when class, ref and alts are unset)
	class    [][2]rune  // a character class's ranges
	negate   bool       // [^...]
	anyChar  bool       // .
	ref      string     // a rule reference
	alts     [][]*gItem // a group
	min, max int        // repetition; max -1 is unbounded
	isClass  bool
	isGroup  bool
}

type gMatcher struct {
	rules map[string][][]*gItem
	in    []rune
	memo  map[string]map[int][]int
	busy  map[string]bool
}

// parseGBNF parses a grammar into rules; it fails the test on syntax it
// does not know.
func parseGBNF(t *testing.T, g string) map[string][][]*gItem {
	t.Helper()
	rules := map[string][][]*gItem{}
	locs := ruleDef.FindAllStringSubmatchIndex(g, -1)
	for i, l := range locs {
		end := len(g)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		p := &gParser{s: g[l[1]:end]}
		alts := p.alts()
		if p.err == nil && p.i < len(p.s) {
			p.err = fmt.Errorf("unexpected %q", p.s[p.i:])
		}
		if p.err != nil {
			t.Fatalf("rule %s: %v in\n%s", g[l[2]:l[3]], p.err, g)
		}
		rules[g[l[2]:l[3]]] = alts
	}
	return rules
}

type gParser struct {
	s   string
	i   int
	err error
}

func (p *gParser) skip() {
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			p.i++
		case c == '#':
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.i++
			}
		default:
			return
		}
	}
}

func (p *gParser) alts() [][]*gItem {
	var alts [][]*gItem
	for {
		alts = append(alts, p.seq())
		p.skip()
		if p.err != nil || p.i >= len(p.s) || p.s[p.i] != '|' {
			return alts
		}
		p.i++
	}
}

func (p *gParser) seq() []*gItem {
	var seq []*gItem
	for {
		p.skip()
		if p.err != nil || p.i >= len(p.s) || p.s[p.i] == '|' || p.s[p.i] == ')' {
			return seq
		}
		it := p.item()
		if it == nil {
			return seq
		}
		p.postfix(it)
		seq = append(seq, it)
	}
}

func (p *gParser) char() rune {
	if p.s[p.i] != '\\' {
		r, n := utf8.DecodeRuneInString(p.s[p.i:])
		p.i += n
		return r
	}
	p.i++
	c := p.s[p.i]
	p.i++
	hex := 0
	switch c {
	case 'n':
		return '\n'
	case 't':
		return '\t'
	case 'r':
		return '\r'
	case 'x':
		hex = 2
	case 'u':
		hex = 4
	case 'U':
		hex = 8
	default:
		return rune(c)
	}
	v, err := strconv.ParseUint(p.s[p.i:p.i+hex], 16, 32)
	if err != nil {
		p.err = err
	}
	p.i += hex
	return rune(v)
}

func (p *gParser) item() *gItem {
	it := &gItem{min: 1, max: 1}
	switch c := p.s[p.i]; {
	case c == '"':
		p.i++
		for p.i < len(p.s) && p.s[p.i] != '"' {
			it.lit = append(it.lit, p.char())
		}
		p.i++
	case c == '[':
		p.i++
		it.isClass = true
		if p.i < len(p.s) && p.s[p.i] == '^' {
			it.negate = true
			p.i++
		}
		for p.i < len(p.s) && p.s[p.i] != ']' {
			lo := p.char()
			hi := lo
			if p.i+1 < len(p.s) && p.s[p.i] == '-' && p.s[p.i+1] != ']' {
				p.i++
				hi = p.char()
			}
			it.class = append(it.class, [2]rune{lo, hi})
		}
		p.i++
	case c == '.':
		p.i++
		it.anyChar = true
	case c == '(':
		p.i++
		it.isGroup = true
		it.alts = p.alts()
		p.skip()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			p.err = fmt.Errorf("unclosed group")
			return nil
		}
		p.i++
	case isRuleChar(c):
		j := p.i
		for j < len(p.s) && isRuleChar(p.s[j]) {
			j++
		}
		it.ref = p.s[p.i:j]
		p.i = j
	default:
		p.err = fmt.Errorf("unexpected %q", p.s[p.i:])
		return nil
	}
	return it
}

func (p *gParser) postfix(it *gItem) {
	if p.i >= len(p.s) {
		return
	}
	switch p.s[p.i] {
	case '*':
		it.min, it.max = 0, -1
	case '+':
		it.min, it.max = 1, -1
	case '?':
		it.min, it.max = 0, 1
	case '{':
		end := strings.IndexByte(p.s[p.i:], '}')
		if end < 0 {
			p.err = fmt.Errorf("unclosed repetition")
			return
		}
		spec := p.s[p.i+1 : p.i+end]
		lo, hi, comma := strings.Cut(spec, ",")
		var err error
		if it.min, err = strconv.Atoi(strings.TrimSpace(lo)); err != nil {
			p.err = err
		}
		switch {
		case !comma:
			it.max = it.min
		case strings.TrimSpace(hi) == "":
			it.max = -1
		default:
			if it.max, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
				p.err = err
			}
		}
		p.i += end + 1
		return
	default:
		return
	}
	p.i++
}

// gbnfAccepts reports whether grammar g's root matches the whole text.
func gbnfAccepts(t *testing.T, g, text string) bool {
	t.Helper()
	m := &gMatcher{rules: parseGBNF(t, g), in: []rune(text), memo: map[string]map[int][]int{}, busy: map[string]bool{}}
	if m.rules["root"] == nil {
		t.Fatalf("no root in\n%s", g)
	}
	for _, e := range m.rule(t, "root", 0) {
		if e == len(m.in) {
			return true
		}
	}
	return false
}

func (m *gMatcher) rule(t *testing.T, name string, pos int) []int {
	if ends, ok := m.memo[name][pos]; ok {
		return ends
	}
	alts, ok := m.rules[name]
	if !ok {
		t.Fatalf("rule %s is not defined", name)
	}
	key := name + "@" + strconv.Itoa(pos)
	if m.busy[key] {
		return nil // left recursion: none of the grammars here have it
	}
	m.busy[key] = true
	ends := m.alts(t, alts, pos)
	delete(m.busy, key)
	if m.memo[name] == nil {
		m.memo[name] = map[int][]int{}
	}
	m.memo[name][pos] = ends
	return ends
}

func (m *gMatcher) alts(t *testing.T, alts [][]*gItem, pos int) []int {
	set := map[int]bool{}
	for _, seq := range alts {
		cur := map[int]bool{pos: true}
		for _, it := range seq {
			next := map[int]bool{}
			for p := range cur {
				for _, e := range m.repeat(t, it, p) {
					next[e] = true
				}
			}
			cur = next
		}
		for p := range cur {
			set[p] = true
		}
	}
	out := make([]int, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	return out
}

// repeat returns the ends of it's repetitions from pos.
func (m *gMatcher) repeat(t *testing.T, it *gItem, pos int) []int {
	var out []int
	cur := map[int]bool{pos: true}
	seen := map[int]bool{}
	for n := 0; len(cur) > 0 && (it.max < 0 || n <= it.max); n++ {
		if n >= it.min {
			for p := range cur {
				if !seen[p] {
					seen[p] = true
					out = append(out, p)
				}
			}
		}
		if n == it.max {
			break
		}
		next := map[int]bool{}
		for p := range cur {
			for _, e := range m.once(t, it, p) {
				if n+1 < it.min || !seen[e] {
					next[e] = true
				}
			}
		}
		cur = next
	}
	return out
}

func (m *gMatcher) once(t *testing.T, it *gItem, pos int) []int {
	switch {
	case it.ref != "":
		return m.rule(t, it.ref, pos)
	case it.isGroup:
		return m.alts(t, it.alts, pos)
	case it.anyChar:
		if pos < len(m.in) {
			return []int{pos + 1}
		}
	case it.isClass:
		if pos >= len(m.in) {
			return nil
		}
		in := false
		for _, r := range it.class {
			if m.in[pos] >= r[0] && m.in[pos] <= r[1] {
				in = true
			}
		}
		if in != it.negate {
			return []int{pos + 1}
		}
	default:
		if pos+len(it.lit) <= len(m.in) && string(m.in[pos:pos+len(it.lit)]) == string(it.lit) {
			return []int{pos + len(it.lit)}
		}
	}
	return nil
}

func TestGBNFMatcher(t *testing.T) {
	g := `root ::= "a" x{2,3} ("b" | [^a-c\n]+)? y
x ::= [0-9]
y ::= "" | "!" y # recursion
`
	for text, want := range map[string]bool{"a12": true, "a123": true, "a1": false, "a1234": true, "a12a": false, "a12b!!": true, "a12zz!": true, "a12c": false, "b12": false} {
		if got := gbnfAccepts(t, g, text); got != want {
			t.Errorf("%q: accepted %v, want %v", text, got, want)
		}
	}
}
