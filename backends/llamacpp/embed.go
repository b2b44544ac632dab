package llamacpp

/*
#include <stdlib.h>
#include "helpers.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/llamagate/llamagate/engine"
)

// Embeddings. The generation context is made with embeddings off, so the
// loop keeps a second llama context for them, made on the first request
// and freed with the model. Like the generation context it is touched by
// the loop goroutine only. Requests wait in their own bounded queue
// (Model.embedQ); each turn of the loop decodes one batch of queued inputs,
// oldest first, each input its own sequence, between two generation steps.
//
// Pooling (mean, CLS, last token) needs every token of an input in one
// micro-batch, so the context's n_ctx, n_batch and n_ubatch are all the
// longest input allowed, and the KV cache is cleared before each batch.

// maxEmbedSeqs bounds the inputs decoded together in one embedding batch
// (the embeddings context's n_seq_max).
const maxEmbedSeqs = 64

// embedJob is one Embed call. The loop fills out and advances next. The job
// ends exactly once, by whoever takes it out of the queue (takeEmbed): the
// loop when every input is done or the batch failed, the cancel watch when
// ctx ends first, or the shutdown. That one sends the result on done.
type embedJob struct {
	ctx    context.Context
	inputs [][]int
	out    [][]float32
	next   int        // inputs embedded so far; loop-owned
	done   chan error // cap 1
}

// embedder is the loop's embeddings context.
type embedder struct {
	lctx   *C.struct_llama_context
	mem    C.llama_memory_t      // nil for encoder-only models (no KV cache)
	batch  *C.struct_llama_batch // C memory, like the loop's batch
	tokens int                   // most tokens in one batch
	nEmbd  int
}

// EmbeddingSize is the length of the model's embedding vectors.
func (m *Model) EmbeddingSize() int {
	m.freeMu.RLock()
	defer m.freeMu.RUnlock()
	if m.freed {
		return 0
	}
	return int(C.llama_model_n_embd(m.model))
}

// EmbeddingContext is the most tokens one input of Embed may have: the
// context of one sequence, but no more than the model was trained on
// (positions past it give meaningless vectors).
func (m *Model) EmbeddingContext() int {
	n := m.info.CtxSize
	if t := m.info.CtxTrain; t > 0 && t < n {
		n = t
	}
	return n
}

// Embed computes a unit-length embedding of each input; see
// engine.Embedder. It fails with engine.ErrOverloaded when QueueSize
// embedding requests are already waiting.
func (m *Model) Embed(ctx context.Context, inputs [][]int) ([][]float32, error) {
	if len(inputs) == 0 {
		return nil, &engine.InvalidRequestError{Param: "input", Message: "there is nothing to embed"}
	}
	limit, vocab := m.EmbeddingContext(), m.info.VocabSize
	for i, in := range inputs {
		if len(in) == 0 {
			return nil, &engine.InvalidRequestError{Param: "input", Message: fmt.Sprintf("input %d has no tokens", i)}
		}
		if len(in) > limit {
			return nil, &engine.ContextLengthError{PromptTokens: len(in), CtxSize: limit}
		}
		for j, t := range in {
			if t < 0 || t >= vocab {
				return nil, &engine.InvalidRequestError{Param: "input", Message: fmt.Sprintf("token %d at position %d of input %d is outside the vocabulary (0..%d)", t, j, i, vocab-1)}
			}
		}
	}
	job := &embedJob{ctx: ctx, inputs: inputs, out: make([][]float32, len(inputs)), done: make(chan error, 1)}
	// Registered before the job is queued, so a cancellation is never
	// missed; if it fires first, the loop finds the context ended.
	stop := context.AfterFunc(ctx, func() {
		if m.takeEmbed(job) {
			job.done <- context.Cause(ctx)
		}
	})
	defer stop()
	m.mu.Lock()
	switch {
	case m.closed:
		m.mu.Unlock()
		return nil, engine.ErrClosed
	case len(m.embedQ) >= m.opts.QueueSize:
		m.mu.Unlock()
		return nil, engine.ErrOverloaded
	}
	if m.busyLocked() == 0 {
		m.idle = make(chan struct{})
	}
	m.embedQ = append(m.embedQ, job)
	m.mu.Unlock()
	m.signal()
	if m.opts.onEmbedQueued != nil {
		m.opts.onEmbedQueued()
	}
	if err := <-job.done; err != nil {
		return nil, err
	}
	return job.out, nil
}

// takeEmbed removes job from the queue and reports whether it was there:
// the caller that gets true ends the job.
func (m *Model) takeEmbed(job *embedJob) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, j := range m.embedQ {
		if j == job {
			m.embedQ = append(m.embedQ[:i], m.embedQ[i+1:]...)
			m.markIdleLocked()
			return true
		}
	}
	return false
}

func (m *Model) endEmbed(job *embedJob, err error) {
	if m.takeEmbed(job) {
		job.done <- err
	}
}

// failEmbedJobs ends every queued embedding request with err.
func (m *Model) failEmbedJobs(err error) {
	m.mu.Lock()
	jobs := m.embedQ
	m.embedQ = nil
	m.markIdleLocked()
	m.mu.Unlock()
	for _, j := range jobs {
		j.done <- err
	}
}

// embedPending reports whether embedding requests are queued.
func (m *Model) embedPending() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.embedQ) > 0
}

// embedStep decodes one batch of queued embedding inputs, if any.
func (l *loop) embedStep() {
	l.m.mu.Lock()
	jobs := append([]*embedJob(nil), l.m.embedQ...)
	l.m.mu.Unlock()
	if len(jobs) == 0 {
		return
	}
	if l.emb == nil {
		e, err := l.newEmbedder()
		if err != nil {
			l.m.log.Error("embeddings context", "err", err)
			for _, j := range jobs {
				l.m.endEmbed(j, err)
			}
			return
		}
		l.emb = e
	}
	e := l.emb
	type item struct {
		job *embedJob
		i   int
	}
	var items []item
	b := e.batch
	b.n_tokens = 0
	if e.mem != nil {
		C.llama_memory_clear(e.mem, true)
	}
fill:
	for _, j := range jobs {
		if j.ctx.Err() != nil {
			l.m.endEmbed(j, context.Cause(j.ctx))
			continue
		}
		for i := j.next; i < len(j.inputs); i++ {
			in := j.inputs[i]
			if len(in) > e.tokens {
				// Embed admits at most EmbeddingContext tokens; llama.cpp
				// made the context smaller. Decoding would abort the process.
				l.m.endEmbed(j, &engine.ContextLengthError{PromptTokens: len(in), CtxSize: e.tokens})
				continue fill
			}
			if len(items) == maxEmbedSeqs || int(b.n_tokens)+len(in) > e.tokens {
				break fill
			}
			seq := C.llama_seq_id(len(items))
			for p, t := range in {
				// Pooling reads every token's output.
				C.lg_batch_add(b, C.llama_token(t), C.llama_pos(p), seq, 1)
			}
			items = append(items, item{j, i})
		}
	}
	if len(items) == 0 {
		return
	}
	if rc := C.llama_decode(e.lctx, *b); rc != 0 {
		err := fmt.Errorf("llama_decode of an embedding batch failed with code %d", int(rc))
		l.m.log.Error("embedding decode failed", "code", int(rc), "tokens", int(b.n_tokens))
		for _, it := range items {
			l.m.endEmbed(it.job, err)
		}
		return
	}
	for k, it := range items {
		p := C.llama_get_embeddings_seq(e.lctx, C.llama_seq_id(k))
		if p == nil {
			l.m.endEmbed(it.job, errors.New("llama.cpp returned no pooled embedding"))
			continue
		}
		it.job.out[it.i] = normalized(unsafe.Slice((*float32)(unsafe.Pointer(p)), e.nEmbd))
		it.job.next = it.i + 1
		if it.job.next == len(it.job.inputs) {
			l.m.endEmbed(it.job, nil)
		}
	}
}

// normalized returns a copy of v scaled to unit L2 length (OpenAI's
// embeddings are unit vectors, so cosine similarity is a dot product). A
// zero vector stays zero.
func normalized(v []float32) []float32 {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	if sum == 0 {
		return out
	}
	inv := 1 / math.Sqrt(sum)
	for i, x := range v {
		out[i] = float32(float64(x) * inv)
	}
	return out
}

// newEmbedder makes the embeddings context. Its pooling is the model's own
// if the GGUF declares one (the generation context, made with default
// pooling, reports it), else mean pooling. Rank pooling (rerankers) gives
// scores, not vectors, so such a model embeds with mean pooling too.
func (l *loop) newEmbedder() (*embedder, error) {
	pooling := C.llama_pooling_type(l.lctx)
	switch pooling {
	case C.LLAMA_POOLING_TYPE_MEAN, C.LLAMA_POOLING_TYPE_CLS, C.LLAMA_POOLING_TYPE_LAST:
	default:
		pooling = C.LLAMA_POOLING_TYPE_MEAN
	}
	n := l.m.EmbeddingContext()
	p := C.llama_context_default_params()
	p.n_ctx = C.uint32_t(n)
	p.n_batch = C.uint32_t(n)
	p.n_ubatch = C.uint32_t(n)
	p.n_seq_max = maxEmbedSeqs
	p.n_threads = C.int32_t(l.m.opts.Threads)
	p.n_threads_batch = C.int32_t(l.m.opts.ThreadsBatch)
	p.embeddings = true
	p.pooling_type = pooling
	p.kv_unified = true // one pool of n cells shared by the batch's sequences
	p.no_perf = true
	lctx := C.llama_init_from_model(l.m.model, p)
	if lctx == nil {
		return nil, fmt.Errorf("llama.cpp could not create an embeddings context of %d tokens (out of memory?)", n)
	}
	// llama.cpp may round sizes; a batch must fit all three.
	tokens := min(n, int(C.llama_n_ctx(lctx)), int(C.llama_n_batch(lctx)), int(C.llama_n_ubatch(lctx)))
	e := &embedder{
		lctx:   lctx,
		mem:    C.llama_get_memory(lctx),
		batch:  (*C.struct_llama_batch)(C.malloc(C.size_t(unsafe.Sizeof(C.struct_llama_batch{})))),
		tokens: tokens,
		nEmbd:  int(C.llama_model_n_embd(l.m.model)),
	}
	*e.batch = C.llama_batch_init(C.int32_t(tokens), 0, 1)
	l.m.log.Info("embeddings context", "tokens", tokens, "pooling", int(pooling), "dims", e.nEmbd)
	return e, nil
}

func (l *loop) freeEmbedder() {
	if l.emb == nil {
		return
	}
	C.llama_batch_free(*l.emb.batch)
	C.free(unsafe.Pointer(l.emb.batch))
	C.llama_free(l.emb.lctx)
	l.emb = nil
}
