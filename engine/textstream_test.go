package engine

import (
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// validPrefixes is the set of every proper prefix (1 to 3 bytes) of the UTF-8
// encoding of a valid multi-byte rune: the byte strings TextFilter must hold
// back while their character is incomplete. It is built from utf8.EncodeRune
// over all scalar values, independently of the filter's own byte arithmetic.
var validPrefixes = sync.OnceValue(func() map[string]bool {
	set := make(map[string]bool, 1<<15)
	var buf [utf8.UTFMax]byte
	for r := rune(0x80); r <= utf8.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue // surrogates are not encodable
		}
		n := utf8.EncodeRune(buf[:], r)
		for k := 1; k < n; k++ {
			set[string(buf[:k])] = true
		}
	}
	return set
})

// endsIncomplete reports whether s ends with a proper prefix of a valid
// multi-byte character, judged on s alone.
func endsIncomplete(s string) bool {
	for k := 1; k <= 3 && k <= len(s); k++ {
		if validPrefixes()[s[len(s)-k:]] {
			return true
		}
	}
	return false
}

func TestEndsIncompleteOracle(t *testing.T) {
	for s, want := range map[string]bool{
		"":                 false,
		"a":                false,
		"é":                false,
		"\xc3":             true,
		"a\xc3":            true,
		"\xe2\x82":         true,
		"\xe2":             true,
		"\xf0\x9f\x99":     true,
		"\xf0\x9f":         true,
		"\xc0":             false, // overlong lead byte: never valid
		"\xc1":             false,
		"\xe0\x80":         false, // overlong 3-byte form
		"\xed\xa0":         false, // surrogate
		"\xf4\x90":         false, // above U+10FFFF
		"\xf5":             false,
		"\xff":             false,
		"\x80":             false,
		"\xe2\x82\xac":     false,
		"\xf0\x9f\x99\x82": false,
		"\xc3\xa9\xa9":     false,
	} {
		if got := endsIncomplete(s); got != want {
			t.Errorf("endsIncomplete(%q) = %v, want %v", s, got, want)
		}
	}
}

// push runs pieces through a filter and returns each Push output, the index
// of the piece that reported the stop (-1 if none) and the Flush result when
// no stop was reported.
func push(f *TextFilter, pieces []string) (outs []string, stoppedAt int, flush string) {
	stoppedAt = -1
	for i, p := range pieces {
		out, stopped := f.Push(p)
		outs = append(outs, out)
		if stopped {
			return outs, i, f.Flush()
		}
	}
	return outs, -1, f.Flush()
}

func TestTextFilter(t *testing.T) {
	tests := []struct {
		name   string
		stops  []string
		pieces []string
		// outs are the exact Push results; stoppedAt is the piece that
		// must report the stop (-1: none); flush is Flush's result after
		// the last piece (always "" after a stop).
		outs      []string
		stoppedAt int
		flush     string
	}{
		{
			name:      "no stops passes text through",
			pieces:    []string{"Hello", ", ", "world"},
			outs:      []string{"Hello", ", ", "world"},
			stoppedAt: -1,
		},
		{
			name:      "stop inside one piece",
			stops:     []string{"END"},
			pieces:    []string{"abc END def"},
			outs:      []string{"abc "},
			stoppedAt: 0,
		},
		{
			name:      "stop at the very start",
			stops:     []string{"a"},
			pieces:    []string{"abc"},
			outs:      []string{""},
			stoppedAt: 0,
		},
		{
			name:      "stop split across pieces",
			stops:     []string{"END"},
			pieces:    []string{"abc E", "N", "D more"},
			outs:      []string{"abc ", "", ""},
			stoppedAt: 2,
		},
		{
			name:      "stop split byte by byte",
			stops:     []string{"<|end|>"},
			pieces:    []string{"x", "<", "|", "e", "n", "d", "|", ">", "y"},
			outs:      []string{"x", "", "", "", "", "", "", ""},
			stoppedAt: 7,
		},
		{
			name:      "held stop prefix released when it diverges",
			stops:     []string{"END"},
			pieces:    []string{"xE", "N", "x"},
			outs:      []string{"x", "", "ENx"},
			stoppedAt: -1,
		},
		{
			name:      "held stop prefix returned by Flush",
			stops:     []string{"END"},
			pieces:    []string{"abcEN"},
			outs:      []string{"abc"},
			stoppedAt: -1,
			flush:     "EN",
		},
		{
			name:      "earliest of several stops wins",
			stops:     []string{"world", "lo"},
			pieces:    []string{"hello world"},
			outs:      []string{"hel"},
			stoppedAt: 0,
		},
		{
			name:      "earliest wins regardless of stop order",
			stops:     []string{"lo", "world"},
			pieces:    []string{"hello world"},
			outs:      []string{"hel"},
			stoppedAt: 0,
		},
		{
			name:      "longer stop ending at the same byte starts earlier",
			stops:     []string{"cd", "bcd"},
			pieces:    []string{"xab", "cd"},
			outs:      []string{"xa", ""},
			stoppedAt: 1,
		},
		{
			name:      "held prefix of one stop is released when another stops",
			stops:     []string{"zzz", "b"},
			pieces:    []string{"azz", "b", "z"},
			outs:      []string{"a", "zz"},
			stoppedAt: 1,
		},
		{
			name:      "overlapping prefix aab in aaab",
			stops:     []string{"aab"},
			pieces:    []string{"a", "a", "a", "b"},
			outs:      []string{"", "", "a", ""},
			stoppedAt: 3,
		},
		{
			name:      "overlapping prefix aab in aaaab at once",
			stops:     []string{"aab"},
			pieces:    []string{"aaaab"},
			outs:      []string{"aa"},
			stoppedAt: 0,
		},
		{
			name:      "overlapping prefix aab never completed",
			stops:     []string{"aab"},
			pieces:    []string{"a", "a", "a", "c"},
			outs:      []string{"", "", "a", "aac"},
			stoppedAt: -1,
		},
		{
			name:      "self-overlapping abac in ababac",
			stops:     []string{"abac"},
			pieces:    []string{"a", "b", "a", "b", "a", "c"},
			outs:      []string{"", "", "", "ab", "", ""},
			stoppedAt: 5,
		},
		{
			name:      "two-byte stop split byte by byte",
			stops:     []string{"é"},
			pieces:    []string{"caf", "\xc3", "\xa9", "!"},
			outs:      []string{"caf", "", ""},
			stoppedAt: 2,
		},
		{
			name:      "two-byte stop near miss",
			stops:     []string{"é"},
			pieces:    []string{"\xc3", "\xa8", "x"},
			outs:      []string{"", "è", "x"},
			stoppedAt: -1,
		},
		{
			name:      "four-byte stop split byte by byte",
			stops:     []string{"🙂"},
			pieces:    []string{"ok", "\xf0", "\x9f", "\x99", "\x82", "more"},
			outs:      []string{"ok", "", "", "", ""},
			stoppedAt: 4,
		},
		{
			name:      "four-byte stop near miss in the last byte",
			stops:     []string{"🙂"},
			pieces:    []string{"\xf0", "\x9f", "\x99", "\x83"},
			outs:      []string{"", "", "", "🙃"},
			stoppedAt: -1,
		},
		{
			name:      "multi-byte stop after multi-byte text",
			stops:     []string{"€uro"},
			pieces:    []string{"5 €", "€u", "ro"},
			outs:      []string{"5 ", "€", ""},
			stoppedAt: 2,
		},
		{
			name:      "incomplete character returned by Flush",
			pieces:    []string{"a\xf0\x9f"},
			outs:      []string{"a"},
			stoppedAt: -1,
			flush:     "\xf0\x9f",
		},
		{
			name:      "invalid lead bytes pass at once",
			pieces:    []string{"\xff", "\xfe", "\xc0", "\xc1", "\xf5", "\xf8"},
			outs:      []string{"\xff", "\xfe", "\xc0", "\xc1", "\xf5", "\xf8"},
			stoppedAt: -1,
		},
		{
			name:      "stray continuation bytes pass at once",
			pieces:    []string{"\x80", "a\xbf", "\x80\x80\x80"},
			outs:      []string{"\x80", "a\xbf", "\x80\x80\x80"},
			stoppedAt: -1,
		},
		{
			name:      "lead byte followed by a non-continuation passes",
			pieces:    []string{"\xc3", "(", "\xe2", "\x28", "\xf0", "\x9f", "z"},
			outs:      []string{"", "\xc3(", "", "\xe2(", "", "", "\xf0\x9fz"},
			stoppedAt: -1,
		},
		{
			name:      "prefixes that can never become valid pass at once",
			pieces:    []string{"\xe0\x80", "\xed\xa0", "\xf4\x90", "\xf0\x80"},
			outs:      []string{"\xe0\x80", "\xed\xa0", "\xf4\x90", "\xf0\x80"},
			stoppedAt: -1,
		},
		{
			name:      "valid prefixes at the edges of the ranges are held",
			pieces:    []string{"\xe0\xa0", "\x80", "\xed\x9f", "\xbf", "\xf4\x8f\xbf", "\xbf"},
			outs:      []string{"", "\u0800", "", "\ud7ff", "", "\U0010ffff"},
			stoppedAt: -1,
		},
		{
			name:      "invalid byte then a held prefix",
			pieces:    []string{"\xff\xe2\x82", "\xac"},
			outs:      []string{"\xff", "€"},
			stoppedAt: -1,
		},
		{
			name:      "invalid bytes before a stop",
			stops:     []string{"STOP"},
			pieces:    []string{"\xff\x80ST", "OP"},
			outs:      []string{"\xff\x80", ""},
			stoppedAt: 1,
		},
		{
			name:      "empty stop strings are ignored",
			stops:     []string{"", ""},
			pieces:    []string{"abc", "def"},
			outs:      []string{"abc", "def"},
			stoppedAt: -1,
		},
		{
			name:      "empty stop beside a real one",
			stops:     []string{"", "x", ""},
			pieces:    []string{"ab", "x"},
			outs:      []string{"ab", ""},
			stoppedAt: 1,
		},
		{
			name:      "empty pieces",
			stops:     []string{"ab"},
			pieces:    []string{"", "a", "", "b"},
			outs:      []string{"", "", "", ""},
			stoppedAt: 3,
		},
		{
			name:      "stop and incomplete UTF-8 held together",
			stops:     []string{"ab"},
			pieces:    []string{"xa", "\xc3", "\xa9"},
			outs:      []string{"x", "a", "é"},
			stoppedAt: -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewTextFilter(tt.stops)
			outs, stoppedAt, flush := push(f, tt.pieces)
			if stoppedAt != tt.stoppedAt {
				t.Errorf("stop reported at piece %d, want %d", stoppedAt, tt.stoppedAt)
			}
			if strings.Join(outs, "\x00") != strings.Join(tt.outs, "\x00") || len(outs) != len(tt.outs) {
				t.Errorf("outputs %q, want %q", outs, tt.outs)
			}
			if flush != tt.flush {
				t.Errorf("Flush = %q, want %q", flush, tt.flush)
			}
			if rest := f.Flush(); rest != "" {
				t.Errorf("second Flush = %q, want empty", rest)
			}
		})
	}
}

func TestTextFilterZeroValue(t *testing.T) {
	var f TextFilter
	if out, stopped := f.Push("ab\xc3"); out != "ab" || stopped {
		t.Fatalf("Push = %q, %v", out, stopped)
	}
	if out, stopped := f.Push("\xa9"); out != "é" || stopped {
		t.Fatalf("Push = %q, %v", out, stopped)
	}
	if rest := f.Flush(); rest != "" {
		t.Fatalf("Flush = %q", rest)
	}
}

// TestTextFilterReuseAfterFlush checks that Flush empties the filter: what
// it held does not come back, and stop matching starts afresh.
func TestTextFilterReuseAfterFlush(t *testing.T) {
	f := NewTextFilter([]string{"END"})
	if out, _ := f.Push("aEN"); out != "a" {
		t.Fatalf("Push = %q", out)
	}
	if rest := f.Flush(); rest != "EN" {
		t.Fatalf("Flush = %q", rest)
	}
	// "D" alone no longer completes the stop with the flushed "EN".
	if out, stopped := f.Push("D"); out != "D" || stopped {
		t.Fatalf("Push after Flush = %q, %v", out, stopped)
	}
}

// TestTextFilterSplitCharacters splits strings with 2-, 3- and 4-byte
// characters at every byte boundary (two pieces) and byte by byte, with and
// without a stop string, and checks that no output ends inside a character
// and that nothing is lost or reordered.
func TestTextFilterSplitCharacters(t *testing.T) {
	texts := []string{"é", "€", "🙂", "aé€🙂b", "日本語", "🙂🙂", "x\u0800\U0010ffff\ud7ffy"}
	stopSets := [][]string{nil, {"zz"}, {"never", "€🙂"}, {"é"}}
	for _, text := range texts {
		for _, stops := range stopSets {
			want, wantStop := text, false
			for _, s := range stops {
				if i := strings.Index(text, s); i >= 0 && len(text[:i]) < len(want) {
					want, wantStop = text[:i], true
				}
			}
			check := func(pieces []string) {
				t.Helper()
				f := NewTextFilter(stops)
				outs, stoppedAt, flush := push(f, pieces)
				for i, o := range outs {
					if endsIncomplete(o) {
						t.Errorf("text %q stops %q pieces %q: output %d %q ends inside a character", text, stops, pieces, i, o)
					}
				}
				got := strings.Join(outs, "") + flush
				if got != want || (stoppedAt >= 0) != wantStop {
					t.Errorf("text %q stops %q pieces %q: got %q stopped=%v, want %q stopped=%v", text, stops, pieces, got, stoppedAt >= 0, want, wantStop)
				}
			}
			for i := 0; i <= len(text); i++ {
				check([]string{text[:i], text[i:]})
			}
			bytewise := make([]string, len(text))
			for i := 0; i < len(text); i++ {
				bytewise[i] = text[i : i+1]
			}
			check(bytewise)
		}
	}
}

func TestTextFilterNestedStopIsSplitIndependent(t *testing.T) {
	stops := []string{"0", ".00"}
	whole, wholeStopped := NewTextFilter(stops).Push(".00%")
	split, splitStopped := NewTextFilter(stops).Push(".0")
	if !wholeStopped || !splitStopped || whole != split {
		t.Fatalf("whole %q (%v) vs split %q (%v)", whole, wholeStopped, split, splitStopped)
	}
}

func TestTextFilterInvalidStopDoesNotSplitCharacter(t *testing.T) {
	f := NewTextFilter([]string{"\xa9x"})
	if out, _ := f.Push("é"); out == "\xc3" {
		t.Fatal("output ends inside é")
	}
}
