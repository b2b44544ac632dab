package llamacpp

import "time"

// prefillPacer sizes the prompt chunk that a step may carry while other
// sequences are generating, from measured step times: a chunk may cost
// about as much as one decode-only step, so running streams see at most
// about twice their usual inter-token time while a long prompt is
// evaluated, and the prompt still moves as fast as that allows.
//
// It is owned by the batch loop; the zero value is ready to use.
//
// Short prompts are the exception: with split KV pools (kv_unified off)
// llama.cpp evaluates a step that mixes prompt tokens with running streams
// in two passes over the weights, so every chunk costs about one decode
// step on top of its tokens. A 70-token prompt cut into ten small chunks
// paid ten extra passes, and four clients with short prompts got half the
// throughput of llama-server, which evaluates each prompt whole (issue 12;
// bench/RESULTS.md). A prompt whose whole remaining part costs at most
// pacerWholeSteps decode steps is therefore evaluated in one step: one
// longer inter-token gap instead of many slightly longer ones.
type prefillPacer struct {
	decodeStep float64 // EMA of a decode-only step, seconds
	perToken   float64 // EMA of the extra time per prompt token in a step, seconds
	// promptToken is the EMA of the time per token of steps that evaluate
	// prompts only (no pass shared with decoding), seconds: the marginal
	// cost of a prompt token when it comes in a large chunk.
	promptToken float64
}

const (
	pacerAlpha      = 0.2 // weight of a new measurement
	pacerHeadroom   = 0.8 // share of a decode step a chunk may cost
	pacerStartChunk = 32  // before anything is measured
	pacerMinChunk   = 4   // so a prompt always progresses
	// pacerWholeSteps is the cost, in decode steps, up to which a prompt's
	// remaining tokens go into one step whole.
	pacerWholeSteps = 8
	// pacerRateChunk is the smallest prompt-only step that measures
	// promptToken (smaller ones are dominated by the pass itself).
	pacerRateChunk = 16
)

// observe records a successful step of nDecode generated tokens and
// nPrompt prompt tokens that took d.
func (p *prefillPacer) observe(nDecode, nPrompt int, d time.Duration) {
	sec := d.Seconds()
	switch {
	case nPrompt == 0 && nDecode > 0:
		p.decodeStep = ema(p.decodeStep, sec)
	case nPrompt >= pacerRateChunk && nDecode == 0:
		p.promptToken = ema(p.promptToken, sec/float64(nPrompt))
		p.perToken = ema(p.perToken, sec/float64(nPrompt))
	case nPrompt > 0:
		base := 0.0
		if nDecode > 0 {
			base = p.decodeStep
		}
		p.perToken = ema(p.perToken, max(sec-base, 0)/float64(nPrompt))
	}
}

// budget returns how many prompt tokens the next step may carry while
// sequences are generating.
func (p *prefillPacer) budget(limit int) int {
	if p.decodeStep == 0 || p.perToken == 0 {
		return min(pacerStartChunk, limit)
	}
	n := int(pacerHeadroom * p.decodeStep / p.perToken)
	return min(max(n, pacerMinChunk), limit)
}

// whole returns how many remaining prompt tokens may be evaluated in one
// step while sequences are generating (0 before both a decode step and a
// prompt-only step have been measured).
func (p *prefillPacer) whole(limit int) int {
	if p.decodeStep == 0 || p.promptToken == 0 {
		return 0
	}
	return min(int(pacerWholeSteps*p.decodeStep/p.promptToken), limit)
}

func ema(old, v float64) float64 {
	if old == 0 {
		return v
	}
	return old + pacerAlpha*(v-old)
}
