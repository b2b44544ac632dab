package main

import (
	"math"
	"math/rand/v2"
	"strings"
)

// promptWords are common English words, most of them one token (with their
// leading space) in Llama-style vocabularies. Prompts are random sequences
// of them, so different prompts differ from their first tokens on.
var promptWords = strings.Fields(`
the of and to in is was for on that with as by at from his her they this
which be or had are but not all were when we there can an your one has more
their if will would about out so up what time into some them could him than
other only then its also two may first like over new these any now after
most made many where before through back years much down should well people
because good each those day same how work three life world under last never
city water still house long just great while own place old small found
thought went say part number night again great hand high year came show
every large light between river country under story read next live white
open king stone green early road garden letter music paper table window
mountain morning summer winter quiet simple heavy bright clear warm cold
north south east west market village forest field bridge harbor island
`)

// wordRNG returns a generator for seed.
func wordRNG(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// makeWords returns n pseudo-random words for seed, with a full stop every
// few words so the text looks like sentences.
func makeWords(seed uint64, n int) string {
	rng := wordRNG(seed)
	var b strings.Builder
	sentence := 0
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		w := promptWords[rng.IntN(len(promptWords))]
		if sentence == 0 && len(w) > 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		b.WriteString(w)
		sentence++
		if sentence >= 8+rng.IntN(8) || i == n-1 {
			b.WriteByte('.')
			sentence = 0
		}
	}
	return b.String()
}

// mix derives a seed from a base seed and some small integers (splitmix64
// over each part), so every (level, client, request) gets its own prompt.
func mix(base uint64, parts ...int) uint64 {
	x := base
	for _, p := range parts {
		x ^= uint64(p) + 0x9e3779b97f4a7c15 + (x << 6) + (x >> 2)
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		x = z ^ (z >> 31)
	}
	return x
}

// promptMaker builds prompts of about a given number of tokens, using the
// tokens-per-word ratio measured against the served model.
type promptMaker struct {
	seed          uint64
	tokensPerWord float64
}

// words returns how many words make about tokens tokens.
func (p promptMaker) words(tokens int) int {
	tpw := p.tokensPerWord
	if tpw <= 0 || math.IsNaN(tpw) {
		tpw = 1.3
	}
	return max(1, int(math.Round(float64(tokens)/tpw)))
}

// prompt returns the prompt of request (level, client, req): its own text of
// about own tokens, after a prefix of about shared tokens common to all
// requests of the run when shared > 0.
func (p promptMaker) prompt(shared, own, level, client, req int) string {
	text := makeWords(mix(p.seed, 1, level, client, req), p.words(own))
	if shared <= 0 {
		return text
	}
	return p.sharedPrefix(shared) + " " + text
}

// sharedPrefix is the prefix common to all requests of the run.
func (p promptMaker) sharedPrefix(tokens int) string {
	return makeWords(mix(p.seed, 2), p.words(tokens))
}
