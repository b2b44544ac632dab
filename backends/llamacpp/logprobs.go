package llamacpp

/*
#include "llama.h"
*/
import "C"

import (
	"math"
	"unsafe"

	"github.com/llamagate/llamagate/engine"
)

// tokenLogprob computes the logprob of tok and the request's most likely
// tokens from the logits at batch index idx. The distribution is the
// model's: a log-softmax over the whole vocabulary of the logits plus the
// request's logit biases (and -inf for end-of-generation tokens under
// ignore_eos), before penalties, grammar, temperature and truncation, which
// shape the draw but are not the model's belief (docs/decisions.md).
// text is the token's bytes as emitted.
func (l *loop) tokenLogprob(seq *sequence, idx int, tok C.llama_token, text string) engine.TokenLogprob {
	n := l.m.info.VocabSize
	raw := unsafe.Slice((*float32)(unsafe.Pointer(C.llama_get_logits_ith(l.lctx, C.int32_t(idx)))), n)
	if len(l.scratch) != n {
		l.scratch = make([]float32, n)
	}
	x := l.scratch
	copy(x, raw)
	for t, b := range seq.req.Sampling.LogitBias {
		x[t] += b
	}
	if seq.req.IgnoreEOS {
		for _, b := range l.eog {
			x[b.token] = float32(math.Inf(-1))
		}
	}
	lse := logSumExp(x)
	lp := engine.TokenLogprob{Token: text, Logprob: x[tok] - lse}
	if k := seq.req.TopLogprobs; k > 0 {
		lp.Top = make([]engine.TopLogprob, 0, k)
		for _, t := range topK(x, k, l.topBuf[:0]) {
			lp.Top = append(lp.Top, engine.TopLogprob{
				Token:   string(pieceSpecial(l.m.vocab, C.llama_token(t), l.pieceBuf)),
				Logprob: x[t] - lse,
			})
		}
	}
	return lp
}

// logSumExp is log(Σ exp(v)) over x, computed around the maximum so it
// neither overflows nor underflows.
func logSumExp(x []float32) float32 {
	mx := float32(math.Inf(-1))
	for _, v := range x {
		if v > mx {
			mx = v
		}
	}
	if math.IsInf(float64(mx), -1) {
		return mx
	}
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v - mx))
	}
	return mx + float32(math.Log(sum))
}

// topK returns the ids of the k largest values of x, largest first (ties:
// the lower id first), appended to buf. It keeps a small sorted list, so it
// costs one pass over x when k is small, as logprobs' k (≤ 20) is.
func topK(x []float32, k int, buf []int) []int {
	top := buf
	for i, v := range x {
		if len(top) == k && v <= x[top[k-1]] {
			continue
		}
		// Insert i after every entry that is at least as large.
		j := len(top)
		if j < k {
			top = append(top, i)
		} else {
			j = k - 1
		}
		for j > 0 && x[top[j-1]] < v {
			top[j] = top[j-1]
			j--
		}
		top[j] = i
	}
	return top
}
