// Package llamacpp runs GGUF models with llama.cpp inside the gateway's
// process. It is the only package with cgo.
//
// Each loaded Model has one goroutine, locked to its OS thread, that owns the
// llama context: it loads the model, runs the batch loop that decodes every
// active sequence together (continuous batching), and frees everything when
// the model closes. Requests reach it through a bounded wait queue and get
// their results through a per-request mailbox that never blocks the loop.
// See design.md for the invariants.
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
	"log/slog"
	"os"
	"runtime"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/internal/cpus"
)

// Options configure one loaded model. Zero values mean the documented
// defaults.
type Options struct {
	Path    string
	Threads int // threads for generation steps; default: internal/cpus' choice
	// ThreadsBatch are the threads for steps that evaluate a prompt
	// (llama.cpp's n_threads_batch); default: Threads.
	ThreadsBatch int
	// CPUShare, when set, is the thread budget shared with the other
	// models: while several are busy each uses at most its part
	// (cpushare.go).
	CPUShare *CPUShare
	// AdaptiveThreads lets a model decode with fewer threads while that
	// is measurably faster (another process holds a core, tuner.go).
	AdaptiveThreads bool
	// ThreadPool keeps ggml's worker threads alive between steps (they
	// sleep as soon as a step ends: no polling). Without it ggml starts
	// them for every step. Measured (docs/decisions.md): faster beside a
	// low-priority CPU hog; on a quiet machine within ±8%, not settled.
	ThreadPool bool
	CtxSize    int // tokens per sequence; default: the trained context capped at MaxCtxSize
	MaxCtxSize int // cap for the default CtxSize; default 4096
	BatchSize  int // llama.cpp n_batch: most tokens decoded in one step; default 512
	Parallel   int // sequences decoded together (slots); default 4
	QueueSize  int // requests waiting for a slot; default 4 × Parallel
	// Offload places layers on GPUs and sets the KV cache type and flash
	// attention (devices.go); the zero value runs on the CPU only.
	Offload Offload
	// KVUnified puts all sequences in one KV pool of CtxSize × Parallel
	// cells; otherwise each sequence has its own CtxSize cells. With split
	// pools llama.cpp evaluates a batch that mixes sequences in several
	// passes, so unified is faster (see docs/decisions.md).
	KVUnified bool
	// KVOvercommit (with KVUnified) lets one sequence use the whole pool.
	// When the pool runs out, the sequence holding the most cells ends
	// with finish reason "length".
	KVOvercommit bool
	// PrefillBudget bounds the prompt tokens evaluated in one step while
	// other sequences are generating, so a long prompt cannot stretch their
	// inter-token latency by more than one such chunk. 0 (the default)
	// sizes the chunk from measured step times so that it costs about one
	// decode step (see pacer.go).
	PrefillBudget int
	// NoPrefixCache disables reuse of a finished slot's KV for a new prompt
	// with the same prefix (for benchmarks).
	NoPrefixCache bool
	Logger        *slog.Logger
	Progress      func(float32) // load progress, 0..1

	// onStep, when set (tests only), runs on the loop goroutine after
	// every decode step.
	onStep func()
	// onThreads, when set (tests only), runs on the loop goroutine before
	// every decode step with the generation and prompt threads it uses.
	onThreads func(n, nBatch int)
	// stepTime, when set (tests only), replaces the measured time of a
	// decode step that used threads and decoded batch generated tokens,
	// as the thread tuner sees it.
	stepTime func(threads, batch int, measured time.Duration) time.Duration
	// onGather, when set (tests only), runs on the loop goroutine when it
	// has woken from idle, before it admits the requests.
	onGather func()
	// onEmbedQueued, when set (tests only), runs after Embed queued its
	// request, on the caller's goroutine.
	onEmbedQueued func()
}

func (o *Options) applyDefaults() {
	if o.Threads <= 0 {
		o.Threads = cpus.Detect(cpus.Affinity()).Threads
	}
	if o.ThreadsBatch <= 0 {
		o.ThreadsBatch = o.Threads
	}
	if o.MaxCtxSize <= 0 {
		o.MaxCtxSize = 4096
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 512
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 4 * o.Parallel
	}
	if o.PrefillBudget < 0 || o.PrefillBudget > o.BatchSize {
		o.PrefillBudget = o.BatchSize
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Model is a loaded GGUF model with its batch loop. It implements
// engine.Engine.
type Model struct {
	opts Options
	log  *slog.Logger

	// model and vocab are written by the loop before ready and freed by it
	// after exit; between those, vocab is read-only and safe to use from
	// request goroutines (tokenization) under freeMu's read lock.
	model  *C.struct_llama_model
	vocab  *C.struct_llama_vocab
	freeMu sync.RWMutex
	freed  bool
	cmem   cParams // C memory the model params point into; freed with the model

	info     engine.ModelInfo
	memBytes int64 // weights + KV cache as allocated; set before ready

	wake   chan struct{} // cap 1: new work or a cancelled waiter
	quit   chan struct{}
	exited chan struct{}
	close  sync.Once

	// mu guards the admission state shared between request goroutines and
	// the loop: the wait queue, the number of occupied slots, the embedding
	// queue (embed.go) and the idle channel (closed while nothing is queued
	// or running).
	mu       sync.Mutex
	waiting  []*sequence
	occupied int
	embedQ   []*embedJob
	idle     chan struct{}
	closed   bool

	stats struct {
		generated    atomic.Int64
		cancelled    atomic.Int64
		activeTokens atomic.Int64 // KV cells of running sequences
		cachedTokens atomic.Int64 // KV cells kept by idle slots for prefix reuse
		steps        atomic.Int64
		promptTokens atomic.Int64 // prompt tokens evaluated (not reused)
		kvFull       atomic.Int64
		sharedPrefix atomic.Int64 // KV prefix copies from another running sequence
	}
}

// Stats is a snapshot of the engine's counters.
type Stats struct {
	Active       int   // sequences in a slot
	Waiting      int   // sequences queued for a slot
	ActiveTokens int64 // KV cells held by running sequences
	CachedTokens int64 // KV cells kept by idle slots for prefix reuse
	Generated    int64 // tokens sampled since load
	Cancelled    int64 // sequences ended by their request's cancellation
	Steps        int64 // llama_decode calls
	PromptTokens int64 // prompt tokens evaluated since load (reused ones excluded)
	KVFull       int64 // sequences ended because the KV cache was full
	SharedPrefix int64 // prompts that took a common prefix's KV from another running sequence
}

// Load loads the model and starts its batch loop. ctx bounds only the wait
// for the load; llama.cpp cannot abort a load midway, so a cancelled load
// is freed when it finishes.
func Load(ctx context.Context, opts Options) (*Model, error) {
	opts.applyDefaults()
	if _, err := os.Stat(opts.Path); err != nil {
		return nil, fmt.Errorf("model file: %w", err)
	}
	backendInit()
	if err := opts.Offload.validate(); err != nil {
		return nil, err
	}
	if err := opts.Offload.checkFree(); err != nil {
		return nil, err
	}
	m := &Model{
		opts:   opts,
		log:    opts.Logger,
		wake:   make(chan struct{}, 1),
		quit:   make(chan struct{}),
		exited: make(chan struct{}),
		idle:   make(chan struct{}),
	}
	close(m.idle)
	ready := make(chan error, 1)
	go m.run(ready)
	select {
	case err := <-ready:
		if err != nil {
			return nil, err
		}
		return m, nil
	case <-ctx.Done():
		go func() {
			if err := <-ready; err == nil {
				m.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// Info describes the loaded model.
func (m *Model) Info() engine.ModelInfo { return m.info }

// Stats returns the engine's counters.
func (m *Model) Stats() Stats {
	m.mu.Lock()
	active, waiting := m.occupied, len(m.waiting)
	m.mu.Unlock()
	return Stats{
		Active:       active,
		Waiting:      waiting,
		ActiveTokens: m.stats.activeTokens.Load(),
		CachedTokens: m.stats.cachedTokens.Load(),
		Generated:    m.stats.generated.Load(),
		Cancelled:    m.stats.cancelled.Load(),
		Steps:        m.stats.steps.Load(),
		PromptTokens: m.stats.promptTokens.Load(),
		KVFull:       m.stats.kvFull.Load(),
		SharedPrefix: m.stats.sharedPrefix.Load(),
	}
}

// Idle returns a channel that is closed while no sequence (or embedding
// request) is queued or running. Tests and the model cache use it to wait without polling.
func (m *Model) Idle() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.idle
}

// Close ends every open stream with engine.ErrClosed, stops the loop and
// frees the model. It is safe to call more than once.
func (m *Model) Close() error {
	m.close.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		close(m.quit)
	})
	<-m.exited
	return nil
}

// Generate queues a generation. It fails at once with a
// *engine.ContextLengthError when the prompt does not fit, and with
// engine.ErrOverloaded when the wait queue is full.
func (m *Model) Generate(ctx context.Context, req engine.Request) (engine.Stream, error) {
	prompt := req.PromptTokens
	if prompt == nil {
		var err error
		if prompt, err = m.Tokenize(req.Prompt, true); err != nil {
			return nil, err
		}
	}
	if err := m.checkTokens(prompt); err != nil {
		return nil, err
	}
	grammar, err := m.requestGrammar(req)
	if err != nil {
		return nil, err
	}
	if req.TopLogprobs < 0 || req.TopLogprobs > m.info.VocabSize {
		return nil, &engine.InvalidRequestError{Param: "top_logprobs", Message: fmt.Sprintf("top_logprobs must be between 0 and the vocabulary size %d", m.info.VocabSize)}
	}
	if len(prompt) == 0 {
		return nil, &engine.InvalidRequestError{Param: "prompt", Message: "the prompt is empty and this model has no BOS token to start from"}
	}
	if len(prompt) >= m.info.CtxSize {
		return nil, &engine.ContextLengthError{PromptTokens: len(prompt), CtxSize: m.info.CtxSize}
	}
	n := max(req.N, 1)
	if n > m.opts.Parallel {
		return nil, &engine.InvalidRequestError{Param: "n", Message: fmt.Sprintf("n is %d, but this model decodes at most %d sequences at once (its parallel setting)", n, m.opts.Parallel)}
	}
	out := newStream(n)
	seqs := make([]*sequence, n)
	for i := range seqs {
		seqs[i] = &sequence{ctx: ctx, req: req, prompt: prompt, out: out, index: i, filter: engine.NewTextFilter(req.Stop), grammar: grammar}
		if i > 0 {
			seqs[i].leader = seqs[0]
			seqs[0].followers = append(seqs[0].followers, seqs[i])
		}
	}
	// A cancelled waiter leaves the queue at once; a running one is noticed
	// by the loop, which this also wakes. Registered before the sequences
	// are queued so the loop always sees the stop function.
	stop := context.AfterFunc(ctx, func() { m.dequeueCancelled(seqs[0]) })
	for _, seq := range seqs {
		seq.stopCancelWatch = stop
	}
	m.mu.Lock()
	if err := m.admitLocked(n); err != nil {
		m.mu.Unlock()
		stop()
		return nil, err
	}
	if m.busyLocked() == 0 {
		m.idle = make(chan struct{})
	}
	m.waiting = append(m.waiting, seqs...)
	m.mu.Unlock()
	m.signal()
	return out, nil
}

// admitLocked says whether n more sequences may queue.
func (m *Model) admitLocked(n int) error {
	if m.closed {
		return engine.ErrClosed
	}
	if m.occupied+len(m.waiting)+n > m.opts.Parallel+m.opts.QueueSize {
		return engine.ErrOverloaded
	}
	return nil
}

func (m *Model) checkTokens(tokens []int) error {
	n := m.info.VocabSize
	for i, t := range tokens {
		if t < 0 || t >= n {
			return &engine.InvalidRequestError{Param: "prompt", Message: fmt.Sprintf("token %d at position %d is outside the vocabulary (0..%d)", t, i, n-1)}
		}
	}
	return nil
}

func (m *Model) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// dequeueCancelled removes a cancelled request (a leader and its followers)
// that is still waiting for slots and ends its stream; sequences already in
// slots are left to the loop.
func (m *Model) dequeueCancelled(leader *sequence) {
	m.mu.Lock()
	for i, s := range m.waiting {
		if s == leader {
			n := 1 + len(leader.followers)
			m.waiting = append(m.waiting[:i], m.waiting[i+n:]...)
			m.markIdleLocked()
			m.mu.Unlock()
			m.stats.cancelled.Add(int64(n))
			leader.out.push(engine.Event{Err: context.Cause(leader.ctx)})
			return
		}
	}
	m.mu.Unlock()
	m.signal()
}

// busyLocked counts the work that keeps the model from being idle:
// sequences in slots or waiting for one, and embedding requests.
func (m *Model) busyLocked() int { return m.occupied + len(m.waiting) + len(m.embedQ) }

func (m *Model) markIdleLocked() {
	if m.busyLocked() == 0 {
		select {
		case <-m.idle:
		default:
			close(m.idle)
		}
	}
}

// Tokenize turns text into tokens. Special-token text (such as a chat
// template's markers) is parsed as the special token.
func (m *Model) Tokenize(text string, addSpecial bool) ([]int, error) {
	m.freeMu.RLock()
	defer m.freeMu.RUnlock()
	if m.freed {
		return nil, engine.ErrClosed
	}
	return tokenize(m.vocab, text, addSpecial)
}

func tokenize(vocab *C.struct_llama_vocab, text string, addSpecial bool) ([]int, error) {
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	capacity := len(text) + 2
	for range 2 {
		buf := make([]C.llama_token, capacity)
		n := C.llama_tokenize(vocab, ctext, C.int32_t(len(text)), unsafe.SliceData(buf), C.int32_t(capacity), C.bool(addSpecial), C.bool(true))
		if n >= 0 {
			out := make([]int, n)
			for i := range out {
				out[i] = int(buf[i])
			}
			return out, nil
		}
		if n == C.INT32_MIN {
			return nil, errors.New("tokenization failed: the text is too long")
		}
		capacity = int(-n)
	}
	return nil, errors.New("tokenization failed")
}

// Detokenize turns tokens into text, rendering special tokens as text.
func (m *Model) Detokenize(tokens []int) (string, error) {
	m.freeMu.RLock()
	defer m.freeMu.RUnlock()
	if m.freed {
		return "", engine.ErrClosed
	}
	if err := m.checkTokens(tokens); err != nil {
		return "", err
	}
	if len(tokens) == 0 {
		return "", nil
	}
	in := make([]C.llama_token, len(tokens))
	for i, t := range tokens {
		in[i] = C.llama_token(t)
	}
	capacity := len(tokens)*8 + 16
	for range 2 {
		buf := make([]byte, capacity)
		n := C.llama_detokenize(m.vocab, unsafe.SliceData(in), C.int32_t(len(in)), (*C.char)(unsafe.Pointer(unsafe.SliceData(buf))), C.int32_t(capacity), C.bool(false), C.bool(true))
		if n >= 0 {
			return string(buf[:n]), nil
		}
		capacity = int(-n)
	}
	return "", errors.New("detokenization failed")
}

// piece renders one generated token; control tokens render as nothing.
func piece(vocab *C.struct_llama_vocab, tok C.llama_token, buf []byte) []byte {
	return renderToken(vocab, tok, buf, false)
}

// pieceSpecial renders a token with control tokens as their text ("</s>"),
// for naming alternatives in logprobs.
func pieceSpecial(vocab *C.struct_llama_vocab, tok C.llama_token, buf []byte) []byte {
	return renderToken(vocab, tok, buf, true)
}

func renderToken(vocab *C.struct_llama_vocab, tok C.llama_token, buf []byte, special bool) []byte {
	n := C.llama_token_to_piece(vocab, tok, (*C.char)(unsafe.Pointer(unsafe.SliceData(buf))), C.int32_t(len(buf)), 0, C.bool(special))
	if n < 0 {
		buf = make([]byte, -n)
		n = C.llama_token_to_piece(vocab, tok, (*C.char)(unsafe.Pointer(unsafe.SliceData(buf))), C.int32_t(len(buf)), 0, C.bool(special))
		if n < 0 {
			return nil
		}
	}
	return buf[:n]
}

func tokenText(vocab *C.struct_llama_vocab, tok C.llama_token) string {
	if tok < 0 {
		return ""
	}
	p := C.llama_vocab_get_text(vocab, tok)
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// loadNice is how much lower than the process the loading thread's CPU
// priority is.
const loadNice = 10

// loadModelBelowPriority runs loadModel on its own OS thread at a lower CPU
// priority, so that reading and repacking a model's weights takes the
// cores only when models already loaded are not using them: a request to a
// loaded model must not wait for another model's load.
func (m *Model) loadModelBelowPriority() error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		tid := unix.Gettid()
		// Linux's getpriority returns 20 - nice.
		raw, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
		nice := 20 - raw
		lowered := err == nil && unix.Setpriority(unix.PRIO_PROCESS, tid, min(nice+loadNice, 19)) == nil
		done <- m.loadModel()
		// Raising the priority again can need privileges; a thread left
		// below priority must not go back to Go's pool, so it then ends
		// with this goroutine.
		if !lowered || unix.Setpriority(unix.PRIO_PROCESS, tid, nice) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return <-done
}

// loadModel loads the weights (mmap) on the calling OS thread.
func (m *Model) loadModel() error {
	params := C.llama_model_default_params()
	params.use_mmap = true
	if err := m.opts.Offload.apply(&params, &m.cmem); err != nil {
		m.cmem.free()
		return err
	}
	if m.opts.Progress != nil {
		h := cgo.NewHandle(m.opts.Progress)
		defer h.Delete()
		hp := (*cgo.Handle)(C.malloc(C.size_t(unsafe.Sizeof(h))))
		defer C.free(unsafe.Pointer(hp))
		*hp = h
		C.lg_set_progress(&params, unsafe.Pointer(hp))
	}
	cpath := C.CString(m.opts.Path)
	defer C.free(unsafe.Pointer(cpath))
	m.model = C.llama_model_load_from_file(cpath, params)
	if m.model == nil {
		m.cmem.free()
		return fmt.Errorf("llama.cpp could not load %s (see the log for its reason)", m.opts.Path)
	}
	m.vocab = C.llama_model_get_vocab(m.model)
	return nil
}

// kvBytes is the size of a KV cache of nCtx cells of type typ for model:
// per layer and cell, one key and one value row of n_embd/n_head ×
// n_head_kv values.
func kvBytes(model *C.struct_llama_model, nCtx int, typ C.enum_ggml_type) int64 {
	nHead := int64(C.llama_model_n_head(model))
	if nHead <= 0 {
		return 0
	}
	headDim := int64(C.llama_model_n_embd(model)) / nHead
	row := int64(C.ggml_row_size(typ, C.int64_t(headDim*int64(C.llama_model_n_head_kv(model)))))
	return int64(nCtx) * 2 * row * int64(C.llama_model_n_layer(model))
}

// Occupancy returns the slots serving a sequence and the requests waiting
// for one.
func (m *Model) Occupancy() (busy, queued int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.occupied, len(m.waiting)
}

// MemoryBytes returns the memory the loaded model holds: its weights and
// its KV cache (compute buffers are not counted).
func (m *Model) MemoryBytes() int64 { return m.memBytes }

// newContext creates the llama context for all slots.
func (m *Model) newContext() (*C.struct_llama_context, error) {
	ctxTrain := int(C.llama_model_n_ctx_train(m.model))
	ctxSize := m.opts.CtxSize
	if ctxSize <= 0 {
		ctxSize = min(ctxTrain, m.opts.MaxCtxSize)
	}
	if ctxSize <= 0 {
		ctxSize = m.opts.MaxCtxSize
	}
	p := C.llama_context_default_params()
	p.n_ctx = C.uint32_t(ctxSize * m.opts.Parallel)
	p.n_batch = C.uint32_t(m.opts.BatchSize)
	p.n_ubatch = C.uint32_t(min(m.opts.BatchSize, 512))
	p.n_seq_max = C.uint32_t(m.opts.Parallel)
	p.n_threads = C.int32_t(m.opts.Threads)
	p.n_threads_batch = C.int32_t(m.opts.ThreadsBatch)
	p.embeddings = false
	p.no_perf = true
	p.kv_unified = C.bool(m.opts.KVUnified)
	if err := checkKVType(m.model, m.opts.Offload.kvType()); err != nil {
		return nil, err
	}
	p.type_k, p.type_v = m.opts.Offload.kvType(), m.opts.Offload.kvType()
	p.flash_attn_type = m.opts.Offload.flashAttn()
	lctx := C.llama_init_from_model(m.model, p)
	if lctx == nil {
		return nil, fmt.Errorf("llama.cpp could not create a context of %d tokens × %d sequences (out of memory?)", ctxSize, m.opts.Parallel)
	}
	// An overcommitted unified pool lets one sequence use all of it; when it
	// runs out, the loop ends the longest sequence (finish "length").
	if m.opts.KVUnified && m.opts.KVOvercommit {
		ctxSize *= m.opts.Parallel
	}
	// llama.cpp may round the context; never promise more than a sequence has.
	if seqCtx := int(C.llama_n_ctx_seq(lctx)); seqCtx < ctxSize {
		ctxSize = seqCtx
	}
	m.memBytes = int64(C.llama_model_size(m.model)) + kvBytes(m.model, int(C.llama_n_ctx(lctx)), m.opts.Offload.kvType())
	bos := C.llama_vocab_bos(m.vocab)
	eos := C.llama_vocab_eos(m.vocab)
	tmpl := ""
	if p := C.llama_model_chat_template(m.model, nil); p != nil {
		tmpl = C.GoString(p)
	}
	m.info = engine.ModelInfo{
		CtxSize:      ctxSize,
		CtxTrain:     ctxTrain,
		Parallel:     m.opts.Parallel,
		VocabSize:    int(C.llama_vocab_n_tokens(m.vocab)),
		ChatTemplate: tmpl,
		BOS:          tokenText(m.vocab, bos),
		EOS:          tokenText(m.vocab, eos),
	}
	return lctx, nil
}

func (m *Model) freeModel() {
	m.freeMu.Lock()
	defer m.freeMu.Unlock()
	if m.model != nil {
		C.llama_model_free(m.model)
	}
	m.cmem.free()
	m.model, m.vocab, m.freed = nil, nil, true
	C.lg_release_memory()
}
