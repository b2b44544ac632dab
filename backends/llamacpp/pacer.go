package llamacpp

import "time"

// prefillPacer sizes the prompt chunk that a step may carry while other
// sequences are generating, from measured step times: a chunk may cost
// about as much as one decode-only step, so running streams see at most
// about twice their usual inter-token time while a long prompt is
// evaluated, and the prompt still moves as fast as that allows.
//
// It is owned by the batch loop; the zero value is ready to use.
type prefillPacer struct {
	decodeStep float64 // EMA of a decode-only step, seconds
	perToken   float64 // EMA of the extra time per prompt token in a step, seconds
}

const (
	pacerAlpha      = 0.2 // weight of a new measurement
	pacerHeadroom   = 0.8 // share of a decode step a chunk may cost
	pacerStartChunk = 32  // before anything is measured
	pacerMinChunk   = 4   // so a prompt always progresses
)

// observe records a successful step of nDecode generated tokens and
// nPrompt prompt tokens that took d.
func (p *prefillPacer) observe(nDecode, nPrompt int, d time.Duration) {
	sec := d.Seconds()
	switch {
	case nPrompt == 0 && nDecode > 0:
		p.decodeStep = ema(p.decodeStep, sec)
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

func ema(old, v float64) float64 {
	if old == 0 {
		return v
	}
	return old + pacerAlpha*(v-old)
}
