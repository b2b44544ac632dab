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
	"runtime"
	"time"
	"unsafe"

	"github.com/llamagate/llamagate/engine"
)

// sequence is one generation request. The fields below the line are owned
// by the batch loop once the sequence leaves the wait queue.
type sequence struct {
	ctx             context.Context
	req             engine.Request
	prompt          []int
	out             *stream
	index           int // the choice this sequence produces
	filter          *engine.TextFilter
	logprobs        engine.LogprobQueue // with req.Logprobs: tokens waiting for their text to be sent
	grammar         *grammarSpec        // the output's constraint, or nil
	assignErr       error               // the sequence could not be set up; admit ends it
	stopCancelWatch func() bool

	// A request with n > 1 is a leader and n-1 followers. Followers wait
	// (following is true) until the leader's prompt is evaluated, then take
	// a copy of its KV and sample from its logits: the prompt is evaluated
	// once.
	leader    *sequence
	followers []*sequence
	following bool

	slot           *slot
	sampler        *C.struct_llama_sampler
	grammarSampler *C.struct_llama_sampler // nil without a grammar
	prefilled      int                     // prompt tokens whose KV is in the slot
	cached         int                     // prompt tokens reused from the slot's previous KV
	generated      int
	next           C.llama_token // sampled and sent, not yet decoded
	batchIdx       int           // index of this sequence's logits in the current batch, or -1
}

func (s *sequence) generating() bool { return !s.following && s.prefilled == len(s.prompt) }
func (s *sequence) prefilling() bool { return !s.following && s.prefilled < len(s.prompt) }

// slot is one llama.cpp sequence id. cache lists exactly the tokens whose KV
// cells the sequence id holds, in position order; an idle slot keeps them so
// a later prompt with the same prefix skips their evaluation.
type slot struct {
	id       int
	seq      *sequence
	cache    []int
	lastUsed uint64
}

// minPrefixSimilarity is the share of a new prompt that must match an idle
// slot's cached tokens for the slot to be chosen over the least recently used
// one: a small accidental match (a BOS token) is not worth destroying another
// slot's cache for.
const minPrefixSimilarity = 0.1

type loop struct {
	m        *Model
	lctx     *C.struct_llama_context
	mem      C.llama_memory_t
	batch    *C.struct_llama_batch // in C memory: cgo may not see Go pointers to it
	slots    []*slot
	running  []*sequence // in admission order: earlier prompts prefill first
	clock    uint64
	pieceBuf []byte
	pacer    prefillPacer
	eog      []C.llama_logit_bias // -inf biases for ignore_eos; llama.cpp copies them
	cands    *C.llama_token_data  // the sampler's candidates, one per vocabulary token (C memory, reused)
	scratch  []float32            // biased logits for logprobs
	topBuf   []int
	emb      *embedder // the embeddings context, made on first use (embed.go)

	recurrent bool // the model's memory is recurrent or hybrid: no prefix sharing (share.go)

	// The threads of the CPU budget this model is using now (cpushare.go).
	sharing            bool
	threads, threadsPP int
	tuner              *threadTuner // nil: adaptive_threads off (tuner.go)
}

// run is the goroutine that owns the llama context for the model's life.
func (m *Model) run(ready chan<- error) {
	// The context is used from this OS thread only. The thread goes back
	// to Go's pool afterwards: ending it with the goroutine would leave
	// glibc's per-thread allocator state behind on every unload.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(m.exited)
	if err := m.loadModelBelowPriority(); err != nil {
		m.freeModel()
		ready <- err
		return
	}
	lctx, err := m.newContext()
	if err != nil {
		m.freeModel()
		ready <- err
		return
	}
	var pool *C.struct_ggml_threadpool
	if m.opts.ThreadPool {
		// Steps may use fewer threads than the pool has (CPU share,
		// tuner): ggml wakes only as many workers as a graph asks for.
		pool = C.lg_threadpool_new(C.int(max(m.opts.Threads, m.opts.ThreadsBatch)))
		C.llama_attach_threadpool(lctx, pool, pool)
	}
	l := &loop{
		m:        m,
		lctx:     lctx,
		mem:      C.llama_get_memory(lctx),
		batch:    (*C.struct_llama_batch)(C.malloc(C.size_t(unsafe.Sizeof(C.struct_llama_batch{})))),
		pieceBuf: make([]byte, 256),
		eog:      eogBiases(m.vocab),
		cands:    (*C.llama_token_data)(C.malloc(C.size_t(m.info.VocabSize) * C.size_t(unsafe.Sizeof(C.llama_token_data{})))),
		// Recurrent state cannot be cut at a position, so a shared prefix
		// cannot be copied out of a longer sequence.
		recurrent: bool(C.llama_model_is_recurrent(m.model)) || bool(C.llama_model_is_hybrid(m.model)),
	}
	*l.batch = C.llama_batch_init(C.int32_t(m.opts.BatchSize), 0, 1)
	for i := range m.opts.Parallel {
		l.slots = append(l.slots, &slot{id: i})
	}
	ready <- nil
	l.serve()
	l.freeEmbedder()
	C.llama_batch_free(*l.batch)
	C.free(unsafe.Pointer(l.batch))
	C.free(unsafe.Pointer(l.cands))
	C.llama_free(lctx)
	if pool != nil {
		C.ggml_threadpool_free(pool)
	}
	m.freeModel()
}

func (l *loop) serve() {
	for {
		l.admit()
		l.reapCancelled()
		if len(l.running) == 0 && !l.m.embedPending() {
			l.idle()
			select {
			case <-l.m.wake:
				l.gather()
				continue
			case <-l.m.quit:
				l.shutdown()
				return
			}
		}
		select {
		case <-l.m.quit:
			l.shutdown()
			return
		default:
		}
		// One embedding batch per turn, between decode steps, so neither
		// kind of work starves the other (embed.go).
		l.embedStep()
		l.step()
	}
}

// gather holds the first step after an idle spell for a moment when the
// prompts that woke the loop will take long to evaluate, so that requests
// sent together (several clients starting at once) start in one step.
// Without it the first arrival's prompt step begins at once and holds the
// cores for its whole length (hundreds of milliseconds for a 1B model on
// two cores), the others' HTTP handling waits for the CPU, and they are
// then evaluated one per step while the first streams already decode,
// stalling them each time (bench/RESULTS.md, "llamagate and llama-server
// side by side").
func (l *loop) gather() {
	if l.m.opts.onGather != nil {
		l.m.opts.onGather()
	}
	l.m.mu.Lock()
	n := 0
	for _, s := range l.m.waiting {
		n += len(s.prompt)
	}
	l.m.mu.Unlock()
	w := gatherWindow(l.pacer.promptToken, n)
	if w == 0 {
		return
	}
	t := time.NewTimer(w)
	defer t.Stop()
	select {
	case <-t.C:
	case <-l.m.quit:
	}
}

const (
	gatherShare = 0.02 // of the waiting prompts' estimated evaluation time
	gatherMax   = 5 * time.Millisecond
	gatherMin   = 100 * time.Microsecond // below this: no wait at all
)

// gatherWindow is how long gather waits for prompts of n tokens when a
// prompt token costs perToken seconds (0: not measured yet, no wait).
// Tiny models, whose prompts take microseconds, never wait.
func gatherWindow(perToken float64, n int) time.Duration {
	w := min(time.Duration(gatherShare*perToken*float64(n)*float64(time.Second)), gatherMax)
	if w < gatherMin {
		return 0
	}
	return w
}

// admit moves waiting sequences into free slots, oldest first.
func (l *loop) admit() {
	type pick struct {
		seq  *sequence
		slot *slot
	}
	var picks []pick
	var taken map[*slot]bool
	l.m.mu.Lock()
	if len(l.m.waiting) > 0 {
		taken = map[*slot]bool{} // only when someone waits: admit runs every step
	}
	for len(l.m.waiting) > 0 {
		// A request's sequences (leader and followers) enter together.
		group := l.m.waiting[:1+len(l.m.waiting[0].followers)]
		if l.freeSlots(taken) < len(group) {
			break
		}
		for _, seq := range group {
			prompt := seq.prompt
			if seq.leader != nil {
				prompt = nil // a follower's KV is replaced: take the LRU slot
			}
			s := l.chooseSlot(prompt, taken)
			taken[s] = true
			picks = append(picks, pick{seq, s})
		}
		l.m.waiting = l.m.waiting[len(group):]
		l.m.occupied += len(group)
	}
	l.m.mu.Unlock()
	for _, p := range picks {
		l.assign(p.seq, p.slot)
	}
	// Only once a request's sequences all have slots can a failed one end
	// (ending a leader ends its waiting followers).
	for _, p := range picks {
		if p.seq.assignErr != nil {
			l.end(p.seq, engine.Event{Err: p.seq.assignErr}, true)
		}
	}
	if len(picks) > 0 {
		l.publishStats()
	}
}

func (l *loop) freeSlots(taken map[*slot]bool) int {
	n := 0
	for _, s := range l.slots {
		if s.seq == nil && !taken[s] {
			n++
		}
	}
	return n
}

// chooseSlot picks the free slot whose cached tokens share the longest
// prefix with prompt, if that prefix is worth keeping; otherwise the least
// recently used free slot.
func (l *loop) chooseSlot(prompt []int, taken map[*slot]bool) *slot {
	var best, lru *slot
	bestN := 0
	for _, s := range l.slots {
		if s.seq != nil || taken[s] {
			continue
		}
		if lru == nil || s.lastUsed < lru.lastUsed {
			lru = s
		}
		if l.m.opts.NoPrefixCache {
			continue
		}
		if n := commonPrefix(s.cache, prompt); n > bestN {
			best, bestN = s, n
		}
	}
	if best != nil && float64(bestN) >= minPrefixSimilarity*float64(len(prompt)) {
		return best
	}
	return lru
}

func commonPrefix(a, b []int) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// assign binds seq to s, keeping the KV of the shared prompt prefix. At
// least one prompt token is always evaluated, to get logits to sample from.
func (l *loop) assign(seq *sequence, s *slot) {
	keep := 0
	if !l.m.opts.NoPrefixCache {
		keep = min(commonPrefix(s.cache, seq.prompt), len(seq.prompt)-1)
	}
	if keep < len(s.cache) {
		if !C.llama_memory_seq_rm(l.mem, C.llama_seq_id(s.id), C.llama_pos(keep), -1) {
			C.llama_memory_seq_rm(l.mem, C.llama_seq_id(s.id), -1, -1)
			keep = 0
		}
		s.cache = s.cache[:keep]
	}
	seq.slot = s
	if seq.leader != nil {
		// The follower's KV will be a copy of the leader's.
		C.llama_memory_seq_rm(l.mem, C.llama_seq_id(s.id), -1, -1)
		s.cache = s.cache[:0]
		keep = 0
		seq.following = true
	}
	seq.prefilled = keep
	seq.cached = keep
	seq.batchIdx = -1
	var banned []C.llama_logit_bias
	if seq.req.IgnoreEOS {
		banned = l.eog
	}
	sampling := seq.req.Sampling
	sampling.Seed += uint32(seq.index) // choices of one request differ, reproducibly
	if seq.grammar != nil {
		// Generate parsed this grammar already; failing now would be a bug.
		if seq.grammarSampler = newGrammar(l.m.vocab, seq.grammar); seq.grammarSampler == nil {
			seq.assignErr = errors.New("llama.cpp could not create the grammar sampler")
		}
	}
	seq.sampler = newSampler(sampling, l.m.info.VocabSize, banned)
	s.seq = seq
	l.running = append(l.running, seq)
}

func (l *loop) reapCancelled() {
	for _, seq := range append([]*sequence(nil), l.running...) {
		if seq.ctx.Err() != nil {
			l.m.stats.cancelled.Add(1)
			l.end(seq, engine.Event{Err: context.Cause(seq.ctx)}, true)
		}
	}
}

func (l *loop) shutdown() {
	l.idle()
	for _, seq := range append([]*sequence(nil), l.running...) {
		l.end(seq, engine.Event{Err: engine.ErrClosed}, true)
	}
	l.m.mu.Lock()
	waiting := l.m.waiting
	l.m.waiting = nil
	l.m.markIdleLocked()
	l.m.mu.Unlock()
	for _, seq := range waiting {
		seq.stopCancelWatch()
		seq.out.push(engine.Event{Err: engine.ErrClosed})
	}
	l.m.failEmbedJobs(engine.ErrClosed)
}

// end finishes seq with its final event. dropKV frees the slot's KV cells
// (cancellation, errors); otherwise the slot keeps them for prefix reuse.
func (l *loop) end(seq *sequence, final engine.Event, dropKV bool) {
	s := seq.slot
	if s == nil || s.seq != seq {
		return // already ended (a follower ended with its leader)
	}
	if dropKV {
		C.llama_memory_seq_rm(l.mem, C.llama_seq_id(s.id), -1, -1)
		s.cache = s.cache[:0]
	}
	if seq.sampler != nil {
		C.llama_sampler_free(seq.sampler)
		seq.sampler = nil
	}
	if seq.grammarSampler != nil {
		C.llama_sampler_free(seq.grammarSampler)
		seq.grammarSampler = nil
	}
	for i, r := range l.running {
		if r == seq {
			l.running = append(l.running[:i], l.running[i+1:]...)
			break
		}
	}
	s.seq = nil
	l.clock++
	s.lastUsed = l.clock
	seq.stopCancelWatch()
	l.publishStats()
	for _, f := range seq.followers {
		if f.following && f.slot != nil && f.slot.seq == f {
			// The leader failed before its prompt was evaluated.
			l.end(f, engine.Event{Index: f.index, Err: final.Err}, true)
		}
	}
	l.m.mu.Lock()
	l.m.occupied--
	l.m.markIdleLocked()
	l.m.mu.Unlock()
	final.Index = seq.index
	if final.Done {
		final.Usage = engine.Usage{PromptTokens: len(seq.prompt), CompletionTokens: seq.generated, CachedTokens: seq.cached}
	}
	seq.out.push(final)
}

func (l *loop) finish(seq *sequence, reason engine.FinishReason) {
	l.flushText(seq)
	l.end(seq, engine.Event{Done: true, Finish: reason}, false)
}

// flushText sends the text (and the tokens) the filter still holds, at an
// end that is not a stop string.
func (l *loop) flushText(seq *sequence) {
	ev := engine.Event{Index: seq.index, Text: seq.filter.Flush()}
	if seq.req.Logprobs {
		ev.Logprobs = seq.logprobs.Flush()
	}
	if ev.Text != "" || len(ev.Logprobs) > 0 {
		seq.out.push(ev)
	}
}

func (l *loop) publishStats() {
	var active, cached int64
	for _, s := range l.slots {
		if s.seq != nil {
			active += int64(len(s.cache))
		} else {
			cached += int64(len(s.cache))
		}
	}
	l.m.stats.activeTokens.Store(active)
	l.m.stats.cachedTokens.Store(cached)
}

// step builds one batch from every running sequence, decodes it, and
// samples a token for each sequence that produced logits. Generating
// sequences go first so a newly arrived prompt cannot starve them; prompts
// fill the rest of the batch within the prefill budget.
func (l *loop) step() {
	type undo struct {
		seq                 *sequence
		cacheLen, prefilled int
	}
	var undos []undo
	b := l.batch
	b.n_tokens = 0
	// Before the generating sequences' sampled tokens join their slots'
	// token lists: those tokens have no KV cells until this step's decode,
	// so they must not be copied as part of a shared prefix.
	hold := l.sharePrefixes()
	generating := false
	for _, seq := range l.running {
		seq.batchIdx = -1
		if !seq.generating() {
			continue
		}
		s := seq.slot
		undos = append(undos, undo{seq, len(s.cache), seq.prefilled})
		seq.batchIdx = int(b.n_tokens)
		C.lg_batch_add(b, seq.next, C.llama_pos(len(s.cache)), C.llama_seq_id(s.id), 1)
		s.cache = append(s.cache, int(seq.next))
		generating = true
	}
	nDecode := int(b.n_tokens)
	room := l.m.opts.BatchSize - nDecode
	budget, whole := room, 0
	if generating {
		if l.m.opts.PrefillBudget > 0 {
			budget = min(budget, l.m.opts.PrefillBudget)
		} else {
			budget = min(budget, l.pacer.budget(l.m.opts.BatchSize))
			// One short prompt per step may go whole (pacer.go).
			whole = min(room, l.pacer.whole(l.m.opts.BatchSize))
		}
	}
	for _, seq := range l.running {
		if budget <= 0 && whole <= 0 {
			break
		}
		if !seq.prefilling() || hold[seq] {
			continue
		}
		rest := len(seq.prompt) - seq.prefilled
		k, fromBudget := min(rest, budget), true
		if rest > budget && rest <= whole {
			k, whole, fromBudget = rest, 0, false
		}
		if k <= 0 {
			continue
		}
		room -= k
		s := seq.slot
		undos = append(undos, undo{seq, len(s.cache), seq.prefilled})
		for j := range k {
			i := seq.prefilled + j
			last := i == len(seq.prompt)-1
			if last {
				seq.batchIdx = int(b.n_tokens)
			}
			logits := 0
			if last {
				logits = 1
			}
			C.lg_batch_add(b, C.llama_token(seq.prompt[i]), C.llama_pos(len(s.cache)), C.llama_seq_id(s.id), C.int(logits))
			s.cache = append(s.cache, seq.prompt[i])
		}
		seq.prefilled += k
		if fromBudget {
			budget -= k
		}
		budget, whole = min(budget, room), min(whole, room)
		l.m.stats.promptTokens.Add(int64(k))
	}
	if b.n_tokens == 0 {
		return
	}
	l.setThreads()
	started := time.Now()
	rc := C.llama_decode(l.lctx, *b)
	l.m.stats.steps.Add(1)
	if rc == 0 {
		d := time.Since(started)
		l.pacer.observe(nDecode, int(b.n_tokens)-nDecode, d)
		if l.tuner != nil {
			if l.m.opts.stepTime != nil {
				d = l.m.opts.stepTime(l.threads, nDecode, d)
			}
			l.tuner.observe(l.threads, nDecode, int(b.n_tokens)-nDecode, d)
		}
	}
	if rc != 0 {
		// llama.cpp leaves no cells of a failed batch behind; make the
		// slots' token lists match and keep every sequence where it was.
		var victim *sequence
		for _, u := range undos {
			s := u.seq.slot
			C.llama_memory_seq_rm(l.mem, C.llama_seq_id(s.id), C.llama_pos(u.cacheLen), -1)
			s.cache = s.cache[:u.cacheLen]
			u.seq.prefilled = u.prefilled
			u.seq.batchIdx = -1
			if victim == nil || len(s.cache) > len(victim.slot.cache) {
				victim = u.seq
			}
		}
		if rc == 1 && victim != nil {
			// The KV cache is full. Idle slots' prefix caches go first;
			// only if there are none does the sequence holding the most
			// cells end, freeing its cells so the others can go on.
			if l.dropIdleCaches() {
				return
			}
			l.m.stats.kvFull.Add(1)
			l.m.log.Warn("KV cache full: ending the longest sequence with finish_reason length", "slot", victim.slot.id, "tokens", len(victim.slot.cache))
			if victim.generating() {
				l.flushText(victim)
				l.end(victim, engine.Event{Done: true, Finish: engine.FinishLength}, true)
			} else {
				l.end(victim, engine.Event{Err: fmt.Errorf("the KV cache is full: %w", errKVFull)}, true)
			}
			return
		}
		err := fmt.Errorf("llama_decode failed with code %d", int(rc))
		l.m.log.Error("decode failed", "code", int(rc))
		for _, u := range undos {
			l.end(u.seq, engine.Event{Err: err}, true)
		}
		return
	}
	l.sample()
	if l.m.opts.onStep != nil {
		l.m.opts.onStep()
	}
}

// dropIdleCaches frees the KV that idle slots keep for prefix reuse and
// reports whether there was any.
func (l *loop) dropIdleCaches() bool {
	dropped := false
	for _, s := range l.slots {
		if s.seq == nil && len(s.cache) > 0 {
			C.llama_memory_seq_rm(l.mem, C.llama_seq_id(s.id), -1, -1)
			s.cache = s.cache[:0]
			dropped = true
		}
	}
	if dropped {
		l.publishStats()
	}
	return dropped
}

var errKVFull = errors.New("no room left in the KV cache for this prompt; retry later or lower parallel/ctx_size")

func (l *loop) sample() {
	for _, seq := range append([]*sequence(nil), l.running...) {
		if seq.batchIdx < 0 || seq.slot == nil || seq.slot.seq != seq {
			continue
		}
		if seq.generated == 0 {
			l.releaseFollowers(seq)
		}
		l.sampleAt(seq, seq.batchIdx)
	}
}

var errNoPossibleToken = errors.New("no token of the model's vocabulary is possible here: the response_format or tool-call grammar (or a bias) excludes every one")

// sampleAt samples seq's next token from the logits at batch index idx.
func (l *loop) sampleAt(seq *sequence, idx int) {
	lazy := C.int(0)
	if seq.grammar != nil && seq.grammar.lazy {
		lazy = 1
	}
	g := seq.grammarSampler // lg_sample replaces a lazy grammar that refused its trigger's text
	tok := C.lg_sample(seq.sampler, &g, lazy, l.lctx, C.int32_t(idx), l.cands, C.int32_t(l.m.info.VocabSize))
	seq.grammarSampler = g
	if tok < 0 {
		l.end(seq, engine.Event{Err: errNoPossibleToken}, true)
		return
	}
	l.accept(seq, tok, idx)
}

// releaseFollowers gives the followers of a leader whose prompt was just
// evaluated a copy of its KV, and their first token from its logits.
func (l *loop) releaseFollowers(leader *sequence) {
	for _, f := range leader.followers {
		if !f.following || f.slot == nil || f.slot.seq != f {
			continue
		}
		C.llama_memory_seq_rm(l.mem, C.llama_seq_id(f.slot.id), -1, -1)
		C.llama_memory_seq_cp(l.mem, C.llama_seq_id(leader.slot.id), C.llama_seq_id(f.slot.id), -1, -1)
		f.slot.cache = append(f.slot.cache[:0], leader.slot.cache...)
		f.prefilled = len(f.prompt)
		f.cached = leader.cached
		f.following = false
		l.sampleAt(f, leader.batchIdx)
	}
}

// accept handles a token sampled from the logits at batch index idx: stop
// conditions, text and logprobs, and the next step.
func (l *loop) accept(seq *sequence, tok C.llama_token, idx int) {
	seq.generated++
	l.m.stats.generated.Add(1)
	if C.llama_vocab_is_eog(l.m.vocab, tok) {
		l.finish(seq, engine.FinishStop)
		return
	}
	text := string(piece(l.m.vocab, tok, l.pieceBuf))
	if seq.req.Logprobs {
		seq.logprobs.Add(l.tokenLogprob(seq, idx, tok, text)) // reuses pieceBuf
	}
	out, stopped := seq.filter.Push(text)
	ev := engine.Event{Index: seq.index, Text: out}
	if seq.req.Logprobs {
		if stopped {
			ev.Logprobs = seq.logprobs.Stopped(len(out))
		} else {
			ev.Logprobs = seq.logprobs.Emitted(len(out))
		}
	}
	if out != "" || len(ev.Logprobs) > 0 {
		seq.out.push(ev)
	}
	switch {
	case stopped:
		l.end(seq, engine.Event{Done: true, Finish: engine.FinishStop}, false)
	case seq.req.MaxTokens > 0 && seq.generated >= seq.req.MaxTokens:
		l.finish(seq, engine.FinishLength)
	case len(seq.slot.cache) >= l.m.info.CtxSize:
		l.finish(seq, engine.FinishLength)
	default:
		seq.next = tok
	}
}

// setThreads joins the CPU share and applies this model's part of it
// before a decode step. Changing the count between steps is cheap: without
// an attached thread pool ggml starts the step's threads per graph.
func (l *loop) setThreads() {
	o := &l.m.opts
	if !l.sharing {
		l.sharing = true
		o.CPUShare.join()
	}
	n, nb := o.CPUShare.threads(o.Threads), o.CPUShare.threads(o.ThreadsBatch)
	if o.AdaptiveThreads {
		if l.tuner == nil {
			l.tuner = newThreadTuner(n)
		}
		l.tuner.setFull(n)
		if t := l.tuner.threads(); t < n {
			// Contended: prompt steps (and llama.cpp counts any step of
			// more than one token as one) get no more threads either.
			n, nb = t, min(nb, t)
		}
	}
	if n != l.threads || nb != l.threadsPP {
		l.threads, l.threadsPP = n, nb
		C.llama_set_n_threads(l.lctx, C.int32_t(n), C.int32_t(nb))
	}
	if o.onThreads != nil {
		o.onThreads(n, nb)
	}
}

// idle leaves the CPU share when the model has no work.
func (l *loop) idle() {
	if l.sharing {
		l.sharing = false
		l.m.opts.CPUShare.leave()
	}
}
