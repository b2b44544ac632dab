package main

import (
	"math"
	"slices"
	"sort"
)

// percentile returns the p-th percentile (0..100) of sorted values, by
// linear interpolation between the closest ranks (the "R-7" definition,
// numpy's default): rank = p/100 × (n-1). It returns NaN for no values.
func percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 || math.IsNaN(p) {
		return math.NaN()
	}
	if p <= 0 {
		return sorted[0]
	}
	if p >= 100 {
		return sorted[n-1]
	}
	rank := p / 100 * float64(n-1)
	lo := int(math.Floor(rank))
	if lo >= n-1 {
		return sorted[n-1]
	}
	frac := rank - float64(lo)
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}

// Summary describes a sample of latencies (milliseconds). With N == 0 the
// other fields are 0 and mean nothing.
type Summary struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

// summarize computes a Summary; it does not modify values.
func summarize(values []float64) Summary {
	if len(values) == 0 {
		return Summary{}
	}
	s := slices.Clone(values)
	sort.Float64s(s)
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	return Summary{
		N:    len(s),
		Mean: sum / float64(len(s)),
		P50:  percentile(s, 50),
		P90:  percentile(s, 90),
		P99:  percentile(s, 99),
		Min:  s[0],
		Max:  s[len(s)-1],
	}
}

// LevelStats aggregates the requests of one concurrency level.
type LevelStats struct {
	Requests     int     `json:"requests"`
	OK           int     `json:"ok"`
	Errors       int     `json:"errors"`    // requests with at least one error
	Malformed    int     `json:"malformed"` // protocol violations, all requests
	Warnings     int     `json:"warnings"`
	WallS        float64 `json:"wall_s"`
	OutputTokens int     `json:"output_tokens"` // sum of completion_tokens
	TokensPerS   float64 `json:"output_tokens_per_s"`
	RequestsPerS float64 `json:"requests_per_s"`
	TTFT         Summary `json:"ttft_ms"`
	ITL          Summary `json:"itl_ms"`
	E2E          Summary `json:"e2e_ms"`
	// Per-client output tokens/s: a client's tokens over the time from its
	// first request's start to its last request's end.
	ClientTokensPerS []float64 `json:"client_tokens_per_s"`
	ClientMin        float64   `json:"client_tokens_per_s_min"`
	ClientMax        float64   `json:"client_tokens_per_s_max"`
	PromptTokens     float64   `json:"prompt_tokens_mean"`
	CachedTokens     float64   `json:"cached_tokens_mean"`
}

// levelStats computes the statistics of the requests of clients clients
// over wallS seconds.
func levelStats(results []*Result, clients int, wallS float64) LevelStats {
	st := LevelStats{Requests: len(results), WallS: wallS}
	var ttft, itl, e2e []float64
	tokens := make([]int, clients)
	first := make([]float64, clients)
	last := make([]float64, clients)
	seen := make([]bool, clients)
	var prompt, cached, withUsage int
	for _, r := range results {
		if r.OK {
			st.OK++
		} else {
			st.Errors++
		}
		st.Malformed += r.count(sevMalformed)
		st.Warnings += r.count(sevWarning)
		st.OutputTokens += r.CompletionTokens()
		if r.TTFTMs >= 0 {
			ttft = append(ttft, r.TTFTMs)
		}
		itl = append(itl, r.ITLMs...)
		if r.OK {
			e2e = append(e2e, r.E2EMs)
		}
		if r.Usage != nil {
			prompt += r.Usage.PromptTokens
			cached += r.Usage.Cached()
			withUsage++
		}
		if c := r.Client; c >= 0 && c < clients {
			tokens[c] += r.CompletionTokens()
			if !seen[c] || r.StartAtMs < first[c] {
				first[c] = r.StartAtMs
			}
			if !seen[c] || r.EndAtMs > last[c] {
				last[c] = r.EndAtMs
			}
			seen[c] = true
		}
	}
	if wallS > 0 {
		st.TokensPerS = float64(st.OutputTokens) / wallS
		st.RequestsPerS = float64(st.OK) / wallS
	}
	st.TTFT, st.ITL, st.E2E = summarize(ttft), summarize(itl), summarize(e2e)
	for c := range clients {
		if !seen[c] {
			continue
		}
		v := 0.0
		if span := (last[c] - first[c]) / 1000; span > 0 {
			v = float64(tokens[c]) / span
		}
		st.ClientTokensPerS = append(st.ClientTokensPerS, v)
	}
	if len(st.ClientTokensPerS) > 0 {
		st.ClientMin = slices.Min(st.ClientTokensPerS)
		st.ClientMax = slices.Max(st.ClientTokensPerS)
	}
	if withUsage > 0 {
		st.PromptTokens = float64(prompt) / float64(withUsage)
		st.CachedTokens = float64(cached) / float64(withUsage)
	}
	return st
}

// splitITL sorts the inter-token intervals of results into those that
// overlap the window [ws, we] (offsets in ms) and the others. An interval
// is the time between two consecutive text chunks of one request.
func splitITL(results []*Result, ws, we float64) (during, outside []float64) {
	for _, r := range results {
		for k := 1; k < len(r.TokenAtMs); k++ {
			a, b := r.TokenAtMs[k-1], r.TokenAtMs[k]
			if b > ws && a < we {
				during = append(during, b-a)
			} else {
				outside = append(outside, b-a)
			}
		}
	}
	return during, outside
}
