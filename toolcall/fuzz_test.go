package toolcall

import (
	"testing"
)

// FuzzParsers feeds arbitrary output, split at an arbitrary point, to
// every format: no panic, Finish returns, and a parse that succeeds has
// deltas adding up to its result.
func FuzzParsers(f *testing.F) {
	for _, s := range samples {
		f.Add(s.out, uint16(len(s.out)/2), true)
	}
	f.Add("<think><tool_call>{\"name\":\"a\",\"arguments\":{\"x\":\"\\u00e9\"}}", uint16(3), false)
	f.Fuzz(func(t *testing.T, text string, cut uint16, reasoning bool) {
		at := min(int(cut), len(text))
		for _, fm := range append([]*Format{Generic}, formats...) {
			opts := Options{Tools: weatherTools, Choice: Choice{Parallel: true}, Reasoning: reasoning}
			p := fm.NewParser(opts)
			ds := append(p.Feed(text[:at]), p.Feed(text[at:])...)
			rest, res, ok := p.Finish(cut%2 == 0)
			if !ok {
				if res.Content != text {
					t.Fatalf("%s: failed parse must return the raw text", fm.Name)
				}
				continue
			}
			checkDeltas(t, fm.Name, true, append(ds, rest...), res)
		}
	})
}
