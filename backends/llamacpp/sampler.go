package llamacpp

/*
#include "llama.h"
*/
import "C"

import (
	"math"
	"math/rand/v2"
	"unsafe"

	"github.com/llamagate/llamagate/engine"
)

// newSampler builds a llama.cpp sampler chain in the order llama.cpp's own
// tools use: penalties, then the truncations (top-k, top-p, min-p), then
// temperature and the seeded draw. Temperature <= 0 is greedy.
//
// banned lists tokens that must never be sampled (the end-of-generation
// tokens when the request ignores EOS); they get a bias of -inf first.
//
// A grammar is not part of the chain: lg_sample checks the drawn token
// against it and, only when it is rejected, applies the grammar to every
// token before the chain and draws again.
func newSampler(s engine.Sampling, vocabSize int, banned []C.llama_logit_bias) *C.struct_llama_sampler {
	cp := C.llama_sampler_chain_default_params()
	cp.no_perf = true
	chain := C.llama_sampler_chain_init(cp)
	biases := banned
	if len(s.LogitBias) > 0 {
		biases = append([]C.llama_logit_bias(nil), banned...)
		for tok, b := range s.LogitBias {
			biases = append(biases, C.llama_logit_bias{token: C.llama_token(tok), bias: C.float(b)})
		}
	}
	if len(biases) > 0 {
		C.llama_sampler_chain_add(chain, C.llama_sampler_init_logit_bias(C.int32_t(vocabSize), C.int32_t(len(biases)), unsafe.SliceData(biases)))
	}
	repeat := s.RepeatPenalty
	if repeat == 0 {
		repeat = 1
	}
	if repeat != 1 || s.PresencePenalty != 0 || s.FrequencyPenalty != 0 {
		lastN := s.RepeatLastN
		if lastN == 0 {
			lastN = 64
		}
		C.llama_sampler_chain_add(chain, C.llama_sampler_init_penalties(C.int32_t(lastN), C.float(repeat), C.float(s.FrequencyPenalty), C.float(s.PresencePenalty)))
	}
	if s.Temperature <= 0 {
		C.llama_sampler_chain_add(chain, C.llama_sampler_init_greedy())
		return chain
	}
	if s.TopK > 0 {
		C.llama_sampler_chain_add(chain, C.llama_sampler_init_top_k(C.int32_t(s.TopK)))
	}
	if s.TopP > 0 && s.TopP < 1 {
		C.llama_sampler_chain_add(chain, C.llama_sampler_init_top_p(C.float(s.TopP), 1))
	}
	if s.MinP > 0 {
		C.llama_sampler_chain_add(chain, C.llama_sampler_init_min_p(C.float(s.MinP), 1))
	}
	C.llama_sampler_chain_add(chain, C.llama_sampler_init_temp(C.float(s.Temperature)))
	seed := s.Seed
	if !s.SeedSet {
		seed = rand.Uint32()
	}
	C.llama_sampler_chain_add(chain, C.llama_sampler_init_dist(C.uint32_t(seed)))
	return chain
}

// eogBiases returns a -inf bias for every end-of-generation token of the
// vocabulary.
func eogBiases(vocab *C.struct_llama_vocab) []C.llama_logit_bias {
	var out []C.llama_logit_bias
	n := int(C.llama_vocab_n_tokens(vocab))
	for t := range n {
		if C.llama_vocab_is_eog(vocab, C.llama_token(t)) {
			out = append(out, C.llama_logit_bias{token: C.llama_token(t), bias: C.float(math.Inf(-1))})
		}
	}
	return out
}
