package llamacpp

/*
#include "llama.h"
*/
import "C"

import (
	"math/rand/v2"

	"github.com/llamagate/llamagate/engine"
)

// newSampler builds a llama.cpp sampler chain in the order llama.cpp's own
// tools use: penalties, then the truncations (top-k, top-p, min-p), then
// temperature and the seeded draw. Temperature <= 0 is greedy.
func newSampler(s engine.Sampling) *C.struct_llama_sampler {
	cp := C.llama_sampler_chain_default_params()
	cp.no_perf = true
	chain := C.llama_sampler_chain_init(cp)
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
