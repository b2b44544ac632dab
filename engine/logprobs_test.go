package engine

import (
	"strings"
	"testing"
)

// runAligned feeds tokens through a TextFilter and a LogprobQueue the way a
// backend does and returns, per event, the emitted text and the tokens
// released with it.
func runAligned(stops []string, tokens []string, flush bool) (texts []string, released [][]string) {
	f := NewTextFilter(stops)
	var q LogprobQueue
	add := func(text string, lps []TokenLogprob) {
		if text == "" && len(lps) == 0 {
			return
		}
		var toks []string
		for _, lp := range lps {
			toks = append(toks, lp.Token)
		}
		texts = append(texts, text)
		released = append(released, toks)
	}
	for _, tok := range tokens {
		q.Add(TokenLogprob{Token: tok})
		out, stopped := f.Push(tok)
		if stopped {
			add(out, q.Stopped(len(out)))
			return texts, released
		}
		add(out, q.Emitted(len(out)))
	}
	if flush {
		add(f.Flush(), q.Flush())
	}
	return texts, released
}

func TestLogprobQueueAlignsWithEmittedText(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stops    []string
		tokens   []string
		flush    bool
		texts    []string
		released [][]string
	}{
		{
			name:   "plain tokens are released with their text",
			tokens: []string{"Once", " upon", " a"}, flush: true,
			texts:    []string{"Once", " upon", " a"},
			released: [][]string{{"Once"}, {" upon"}, {" a"}},
		},
		{
			name:   "a character split over tokens releases both with the whole character",
			tokens: []string{"x\xe2", "\x82", "\xac!"}, flush: true,
			texts:    []string{"x", "€!"},
			released: [][]string{nil, {"x\xe2", "\x82", "\xac!"}},
		},
		{
			name:  "held text for a possible stop string delays its tokens",
			stops: []string{"END"}, tokens: []string{"a", "E", "N", "o"}, flush: true,
			texts:    []string{"a", "ENo"},
			released: [][]string{{"a"}, {"E", "N", "o"}},
		},
		{
			name:  "tokens inside the stop string are dropped, a straddling one kept whole",
			stops: []string{"END"}, tokens: []string{"ab", "cE", "N", "D", "z"},
			texts:    []string{"ab", "c", ""},
			released: [][]string{{"ab"}, nil, {"cE"}},
		},
		{
			name:  "a stop string that starts a token drops the token",
			stops: []string{"END"}, tokens: []string{"ab", "END"},
			texts:    []string{"ab"},
			released: [][]string{{"ab"}},
		},
		{
			name:   "an empty (control) token is released at once",
			tokens: []string{"a", "", "b"}, flush: true,
			texts:    []string{"a", "", "b"},
			released: [][]string{{"a"}, {""}, {"b"}},
		},
		{
			name:   "flush releases an incomplete character's tokens",
			tokens: []string{"a\xe2"}, flush: true,
			texts:    []string{"a", "\xe2"},
			released: [][]string{{}, {"a\xe2"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			texts, released := runAligned(tc.stops, tc.tokens, tc.flush)
			if strings.Join(texts, "|") != strings.Join(tc.texts, "|") {
				t.Fatalf("texts %q, want %q", texts, tc.texts)
			}
			if len(released) != len(tc.released) {
				t.Fatalf("released %q, want %q", released, tc.released)
			}
			for i := range released {
				if strings.Join(released[i], "|") != strings.Join(tc.released[i], "|") || len(released[i]) != len(tc.released[i]) {
					t.Fatalf("event %d released %q, want %q (all: %q)", i, released[i], tc.released[i], released)
				}
			}
		})
	}
}
