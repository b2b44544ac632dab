package main

import (
	"math"
	"reflect"
	"testing"
)

func TestPercentile(t *testing.T) {
	five := []float64{1, 2, 3, 4, 5}
	tests := []struct {
		name   string
		values []float64
		p      float64
		want   float64
	}{
		{"median odd", five, 50, 3},
		{"min", five, 0, 1},
		{"max", five, 100, 5},
		{"below 0 clamps", five, -5, 1},
		{"above 100 clamps", five, 150, 5},
		{"p25 on a rank", five, 25, 2},
		{"p90 interpolates", five, 90, 4.6},
		{"p99 interpolates", five, 99, 4.96},
		{"median even", []float64{1, 2, 3, 4}, 50, 2.5},
		{"two values p99", []float64{10, 20}, 99, 19.9},
		{"one value", []float64{7}, 99, 7},
		{"ties", []float64{1, 1, 1, 9}, 50, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.values, tt.p); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.values, tt.p, got, tt.want)
			}
		})
	}
	if got := percentile(nil, 50); !math.IsNaN(got) {
		t.Errorf("percentile of nothing = %v, want NaN", got)
	}
}

func TestSummarize(t *testing.T) {
	in := []float64{5, 1, 4, 2, 3}
	s := summarize(in)
	want := Summary{N: 5, Mean: 3, P50: 3, P90: 4.6, P99: 4.96, Min: 1, Max: 5}
	if math.Abs(s.P99-want.P99) > 1e-9 || math.Abs(s.P90-want.P90) > 1e-9 {
		t.Errorf("summary %+v, want %+v", s, want)
	}
	s.P99, s.P90 = want.P99, want.P90
	if s != want {
		t.Errorf("summary %+v, want %+v", s, want)
	}
	if !reflect.DeepEqual(in, []float64{5, 1, 4, 2, 3}) {
		t.Errorf("summarize sorted its input: %v", in)
	}
	if (summarize(nil) != Summary{}) {
		t.Error("summary of nothing is not zero")
	}
}

func res(client int, startMs, endMs, ttft float64, completion int, itl ...float64) *Result {
	return &Result{Client: client, StartAtMs: startMs, EndAtMs: endMs, E2EMs: endMs - startMs, TTFTMs: ttft, ITLMs: itl,
		OK: true, MaxTokens: completion, Chunks: completion, Usage: &Usage{PromptTokens: 10, CompletionTokens: completion, TotalTokens: 10 + completion}}
}

func TestLevelStats(t *testing.T) {
	bad := res(1, 1000, 1500, -1, 0)
	bad.OK, bad.Usage, bad.Issues = false, nil, []Issue{{Severity: sevError, Kind: "x"}, {Severity: sevMalformed, Kind: "y"}}
	rs := []*Result{
		res(0, 0, 1000, 100, 10, 50, 60),
		res(0, 1000, 2000, 200, 10, 70),
		res(1, 0, 1000, 300, 20, 80),
		bad,
	}
	st := levelStats(rs, 2, 2.0)
	if st.Requests != 4 || st.OK != 3 || st.Errors != 1 || st.Malformed != 1 {
		t.Errorf("counts %+v", st)
	}
	if st.OutputTokens != 40 || st.TokensPerS != 20 || st.RequestsPerS != 1.5 {
		t.Errorf("tokens %d, %v tok/s, %v req/s", st.OutputTokens, st.TokensPerS, st.RequestsPerS)
	}
	if st.TTFT.N != 3 || st.TTFT.P50 != 200 || st.ITL.N != 4 || st.E2E.N != 3 {
		t.Errorf("TTFT %+v ITL %+v E2E %+v", st.TTFT, st.ITL, st.E2E)
	}
	// client 0: 20 tokens over 2 s; client 1: 20 tokens over 1.5 s.
	if st.ClientMin != 10 || math.Abs(st.ClientMax-20/1.5) > 1e-9 {
		t.Errorf("client tok/s %v", st.ClientTokensPerS)
	}
	if st.PromptTokens != 10 {
		t.Errorf("prompt tokens %v", st.PromptTokens)
	}
}

func TestSplitITL(t *testing.T) {
	r := &Result{TokenAtMs: []float64{0, 10, 20, 30, 40, 50}}
	// The window 25..32 overlaps the intervals 20-30 and 30-40.
	during, outside := splitITL([]*Result{r}, 25, 32)
	if len(during) != 2 || len(outside) != 3 {
		t.Errorf("during %v, outside %v", during, outside)
	}
	// An interval that contains the whole window counts as during.
	during, _ = splitITL([]*Result{{TokenAtMs: []float64{0, 100}}}, 40, 60)
	if len(during) != 1 || during[0] != 100 {
		t.Errorf("during %v", during)
	}
}
