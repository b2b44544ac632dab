package llamacpp

/*
#include <stdlib.h>
#include "helpers.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"time"
	"unsafe"
)

// CeilingOptions configure MeasureCeiling.
type CeilingOptions struct {
	Path      string
	Threads   int
	Batch     int // sequences decoded together (B)
	Prompt    int // prompt tokens per sequence
	Generate  int // tokens generated per sequence
	KVUnified bool
}

// CeilingResult is what llama.cpp itself achieves, with no gateway around it.
type CeilingResult struct {
	PrefillTokensPerSec float64
	DecodeTokensPerSec  float64 // all sequences together
	DecodeStep          time.Duration
}

// MeasureCeiling drives llama.cpp directly in a tight loop, the way
// llama.cpp's batched-bench does: B sequences prefill a prompt each, then
// decode one token each per step, with greedy sampling (as the gateway's
// benchmarks use). It is the upper bound the gateway's throughput is
// compared against. It runs on the calling goroutine's OS thread.
func MeasureCeiling(o CeilingOptions) (CeilingResult, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	backendInit()
	var res CeilingResult
	m := &Model{opts: Options{Path: o.Path, Threads: o.Threads, Parallel: o.Batch, CtxSize: o.Prompt + o.Generate + 8, KVUnified: o.KVUnified}}
	m.opts.applyDefaults()
	if err := m.loadModel(); err != nil {
		return res, err
	}
	defer m.freeModel()
	lctx, err := m.newContext()
	if err != nil {
		return res, err
	}
	defer C.llama_free(lctx)
	nBatch := max(o.Prompt*o.Batch, o.Batch, 512)
	m.opts.BatchSize = nBatch
	batch := (*C.struct_llama_batch)(C.malloc(C.size_t(unsafe.Sizeof(C.struct_llama_batch{}))))
	defer C.free(unsafe.Pointer(batch))
	*batch = C.llama_batch_init(C.int32_t(nBatch), 0, 1)
	defer C.llama_batch_free(*batch)
	greedy := C.llama_sampler_init_greedy()
	defer C.llama_sampler_free(greedy)

	// Prefill: every sequence's prompt, in batches of at most 512 tokens.
	vocab := int(m.info.VocabSize)
	start := time.Now()
	for s := range o.Batch {
		for i := 0; i < o.Prompt; {
			batch.n_tokens = 0
			for ; i < o.Prompt && batch.n_tokens < 512; i++ {
				tok := 1 + (i*7919+s*104729)%(vocab-1) // varied, valid tokens
				C.lg_batch_add(batch, C.llama_token(tok), C.llama_pos(i), C.llama_seq_id(s), 0)
			}
			if rc := C.llama_decode(lctx, *batch); rc != 0 {
				return res, fmt.Errorf("prefill decode failed: %d", int(rc))
			}
		}
	}
	res.PrefillTokensPerSec = float64(o.Prompt*o.Batch) / time.Since(start).Seconds()

	// Decoding starts from a fixed token per sequence: the prompts' last
	// logits were overwritten by later prefill batches.
	next := make([]C.llama_token, o.Batch)
	for s := range next {
		next[s] = C.llama_token(1 + s)
	}
	start = time.Now()
	for g := range o.Generate {
		batch.n_tokens = 0
		for s := range o.Batch {
			C.lg_batch_add(batch, next[s], C.llama_pos(o.Prompt+g), C.llama_seq_id(s), 1)
		}
		if rc := C.llama_decode(lctx, *batch); rc != 0 {
			return res, fmt.Errorf("decode failed: %d", int(rc))
		}
		for s := range o.Batch {
			next[s] = C.llama_sampler_sample(greedy, lctx, C.int32_t(s))
		}
	}
	d := time.Since(start)
	res.DecodeTokensPerSec = float64(o.Generate*o.Batch) / d.Seconds()
	res.DecodeStep = d / time.Duration(max(o.Generate, 1))
	return res, nil
}
