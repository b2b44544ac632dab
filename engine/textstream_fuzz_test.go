package engine

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// referenceStop computes, on the whole text, where a streaming filter must
// cut: the stop occurrence that is completed first (the smallest end
// offset), and of those ending at that byte the one that starts earliest.
// Only this choice can be made without knowing the text after the stop, so
// it is the only one that does not depend on how the text was split into
// pieces. It returns the cut offset and the end of that stop, or ok=false.
func referenceStop(text []byte, stops []string) (cut, end int, ok bool) {
	for _, s := range stops {
		if s == "" {
			continue
		}
		i := bytes.Index(text, []byte(s)) // earliest start is earliest end for one string
		if i < 0 {
			continue
		}
		e := i + len(s)
		if !ok || e < end || (e == end && i < cut) {
			cut, end, ok = i, e, true
		}
	}
	return cut, end, ok
}

// splitsValidRune reports whether offset at falls strictly inside a valid
// multi-byte character of text, as Go's decoder reads the text from its
// start. A boundary after bytes that can never be valid UTF-8 (E2 82 followed
// by E2, say) splits nothing.
func splitsValidRune(text []byte, at int) bool {
	for i := 0; i < len(text) && i < at; {
		r, n := utf8.DecodeRune(text[i:])
		if r != utf8.RuneError || n > 1 {
			if i < at && at < i+n {
				return true
			}
		}
		i += n
	}
	return false
}

// pieces splits text into consecutive pieces whose lengths come from cuts
// (one byte each, 0..15; 0 makes an empty piece); what remains after the last
// cut is one piece.
func pieces(text, cuts []byte) [][]byte {
	var ps [][]byte
	for _, c := range cuts {
		n := min(int(c%16), len(text))
		ps = append(ps, text[:n])
		text = text[n:]
	}
	return append(ps, text)
}

// FuzzTextFilter pushes a text split at fuzzed positions through a filter
// with two (possibly empty, possibly invalid UTF-8) stop strings and checks
// it against referenceStop on the whole text:
//   - the outputs (and Flush when not stopped) concatenate to the text up to
//     the cut, or to the whole text;
//   - the stop is reported iff the text contains a stop, by the push that
//     completes it;
//   - an output followed by more pieces never ends inside a valid character
//     of the text;
//   - the filter holds back no more than a stop prefix and an incomplete
//     character.
func FuzzTextFilter(f *testing.F) {
	f.Fuzz(func(t *testing.T, text, cuts []byte, stop1, stop2 string) {
		stops := []string{stop1, stop2}
		cut, stopEnd, wantStop := referenceStop(text, stops)
		maxStop := max(len(stop1), len(stop2))

		tf := NewTextFilter(stops)
		ps := pieces(text, cuts)
		var got []byte
		pushed := 0
		for i, p := range ps {
			out, stopped := tf.Push(string(p))
			pushed += len(p)
			got = append(got, out...)
			if stopped {
				if !wantStop {
					t.Fatalf("piece %d %q: stop reported but the text %q has no stop of %q", i, p, text, stops)
				}
				if pushed < stopEnd || pushed-len(p) >= stopEnd {
					t.Fatalf("stop reported after %d bytes (piece %d %q), but the first stop ends at byte %d of %q", pushed, i, p, stopEnd, text)
				}
				if !bytes.Equal(got, text[:cut]) {
					t.Fatalf("stopped output %q, want %q (text %q, stops %q, pieces %q)", got, text[:cut], text, stops, ps)
				}
				if rest := tf.Flush(); rest != "" {
					t.Fatalf("filter not empty after a stop: Flush = %q", rest)
				}
				return
			}
			if !bytes.HasPrefix(text, got) {
				t.Fatalf("outputs %q are not a prefix of the text %q (pieces %q, stops %q)", got, text, ps, stops)
			}
			if wantStop && pushed >= stopEnd {
				t.Fatalf("the stop ending at byte %d was not reported after %d bytes (text %q, stops %q, pieces %q)", stopEnd, pushed, text, stops, ps)
			}
			if wantStop && len(got) > cut {
				t.Fatalf("emitted %q, past the stop at byte %d of %q", got, cut, text)
			}
			if i < len(ps)-1 && splitsValidRune(text, len(got)) {
				t.Fatalf("output %q ends inside a character: emitted %q of %q (pieces %q, stops %q)", out, got, text, ps, stops)
			}
			if held := pushed - len(got); held > max(maxStop-1, 0)+utf8.UTFMax-1 {
				t.Fatalf("holding %d bytes (%q) with stops %q", held, text[len(got):pushed], stops)
			}
		}
		if wantStop {
			t.Fatalf("text %q contains a stop of %q but none was reported (pieces %q)", text, stops, ps)
		}
		got = append(got, tf.Flush()...)
		if !bytes.Equal(got, text) {
			t.Fatalf("outputs + Flush = %q, want the text %q (pieces %q, stops %q)", got, text, ps, stops)
		}
		if rest := tf.Flush(); rest != "" {
			t.Fatalf("second Flush = %q", rest)
		}
	})
}
