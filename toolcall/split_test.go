package toolcall

// The streaming harness: every sample registered by any family's test file
// is parsed whole, then fed split at every byte boundary and one byte at a
// time; each way must give the same Result and deltas that add up to it.

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// sample is one model output and what it parses to. Call ids in want are
// ignored unless wantIDs is set (ids come from a counter in tests).
type sample struct {
	name      string
	format    string
	opts      Options // Tools defaults to weatherTools; NewID is set by the harness
	noTools   bool    // parse with no tools offered
	out       string
	truncated bool
	want      Result
	fail      bool // Finish must report ok=false
	wantIDs   bool // compare call ids too (a model-given id is kept)
}

var samples []sample

// addSamples registers samples for the harness (called from test files'
// init functions, B's included).
func addSamples(s ...sample) { samples = append(samples, s...) }

// callMarkers lists, per format, text that must never reach content in a
// sample that parses (a split marker leaking out shows up here).
var callMarkers = map[string][]string{}

func addMarkers(format string, m ...string) { callMarkers[format] = append(callMarkers[format], m...) }

var weatherTools = []Tool{
	{Name: "get_weather", Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"},"metric":{"type":"boolean"},"opts":{"type":"object"}},"required":["city"]}`)},
	{Name: "search", Parameters: []byte(`{"type":"object","properties":{"query":{"type":"string"}}}`)},
}

func (s sample) options() Options {
	o := s.opts
	if o.Tools == nil && !s.noTools {
		o.Tools = weatherTools
	}
	if o.Choice == (Choice{}) {
		o.Choice = Choice{Mode: ChoiceAuto, Parallel: true}
	}
	n := 0
	o.NewID = func() string { n++; return fmt.Sprintf("call_%d", n) }
	return o
}

// run feeds the pieces and checks the stream's own consistency.
func (s sample) run(t *testing.T, pieces []string) (Result, bool) {
	t.Helper()
	f := Lookup(s.format)
	if f == nil {
		t.Fatalf("format %q not registered", s.format)
	}
	p := f.NewParser(s.options())
	var ds []Delta
	for _, x := range pieces {
		ds = append(ds, p.Feed(x)...)
	}
	rest, res, ok := p.Finish(s.truncated)
	ds = append(ds, rest...)
	if !ok {
		if res.Content != s.out || res.Reasoning != "" || len(res.Calls) != 0 {
			t.Fatalf("failed parse must return the raw text as content, got %+v", res)
		}
		return res, ok
	}
	checkDeltas(t, s.format, s.noTools, ds, res)
	return res, ok
}

// checkDeltas checks that deltas add up to the result, that every call
// starts before its arguments, and that no call marker leaks to content.
func checkDeltas(t *testing.T, format string, noTools bool, ds []Delta, res Result) {
	t.Helper()
	var content, reasoning strings.Builder
	args := map[int]*strings.Builder{}
	for _, d := range ds {
		switch d.Kind {
		case DeltaContent:
			content.WriteString(d.Text)
		case DeltaReasoning:
			reasoning.WriteString(d.Text)
		case DeltaCallStart:
			if _, dup := args[d.Index]; dup || d.Index != len(args) {
				t.Fatalf("call start %d out of order", d.Index)
			}
			if d.Index >= len(res.Calls) || d.ID != res.Calls[d.Index].ID || d.Name != res.Calls[d.Index].Name {
				t.Fatalf("call start %+v does not match result %+v", d, res.Calls)
			}
			args[d.Index] = &strings.Builder{}
		case DeltaCallArgs:
			b, ok := args[d.Index]
			if !ok {
				t.Fatalf("arguments before the start of call %d", d.Index)
			}
			b.WriteString(d.Text)
		}
	}
	if content.String() != res.Content {
		t.Fatalf("content deltas %q != result %q", content.String(), res.Content)
	}
	if reasoning.String() != res.Reasoning {
		t.Fatalf("reasoning deltas %q != result %q", reasoning.String(), res.Reasoning)
	}
	if len(args) != len(res.Calls) {
		t.Fatalf("%d call starts for %d calls", len(args), len(res.Calls))
	}
	for i, c := range res.Calls {
		if args[i].String() != c.Arguments {
			t.Fatalf("call %d argument deltas %q != %q", i, args[i].String(), c.Arguments)
		}
	}
	for _, m := range callMarkers[format] {
		if noTools {
			break // with no tools offered, call syntax is text
		}
		if strings.Contains(res.Content, m) {
			t.Fatalf("marker %q in content %q", m, res.Content)
		}
	}
}

func sameResult(a, b Result, ids bool) bool {
	if !ids {
		a.Calls, b.Calls = clearIDs(a.Calls), clearIDs(b.Calls)
	}
	if len(a.Calls) == 0 && len(b.Calls) == 0 {
		a.Calls, b.Calls = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

func clearIDs(cs []Call) []Call {
	out := make([]Call, len(cs))
	for i, c := range cs {
		c.ID = ""
		out[i] = c
	}
	return out
}

func TestSamplesWhole(t *testing.T) {
	for _, s := range samples {
		t.Run(s.format+"/"+s.name, func(t *testing.T) {
			res, ok := s.run(t, []string{s.out})
			if ok == s.fail {
				t.Fatalf("ok = %v, want %v (result %+v)", ok, !s.fail, res)
			}
			if s.fail {
				return
			}
			if !sameResult(res, s.want, s.wantIDs) {
				t.Fatalf("got  %#v\nwant %#v", res, s.want)
			}
			seen := map[string]bool{}
			for _, c := range res.Calls {
				if c.ID == "" || seen[c.ID] {
					t.Fatalf("call ids must be unique and set: %+v", res.Calls)
				}
				seen[c.ID] = true
			}
		})
	}
}

func TestSamplesSplit(t *testing.T) {
	for _, s := range samples {
		t.Run(s.format+"/"+s.name, func(t *testing.T) {
			whole, wok := s.run(t, []string{s.out})
			for i := 0; i <= len(s.out); i++ {
				res, ok := s.run(t, []string{s.out[:i], s.out[i:]})
				if ok != wok || !sameResult(res, whole, true) {
					t.Fatalf("split at %d (%q|%q): got %#v ok=%v, whole %#v ok=%v", i, s.out[:i], s.out[i:], res, ok, whole, wok)
				}
			}
			bytes := make([]string, len(s.out))
			for i := 0; i < len(s.out); i++ {
				bytes[i] = s.out[i : i+1]
			}
			res, ok := s.run(t, bytes)
			if ok != wok || !sameResult(res, whole, true) {
				t.Fatalf("byte at a time: got %#v ok=%v, whole %#v ok=%v", res, ok, whole, wok)
			}
		})
	}
}
