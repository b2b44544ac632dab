package llamacpp

/*
#include "llama.h"
*/
import "C"

// minSharedPrefix is how many prompt tokens a sequence must gain from
// another running sequence's KV to take a copy of it. With per-sequence KV
// (kv_unified false) llama.cpp copies a whole KV stream, which costs about
// as much as evaluating a handful of tokens; 32 keeps the copy a clear win.
const minSharedPrefix = 32

// sharePrefixes lets requests that arrive together share the work on a
// common prompt prefix (a system prompt, a few-shot block). A sequence in
// prefill takes a copy of the KV another running sequence already holds for
// their common prefix; and it pauses its own prefill while an earlier
// sequence is still evaluating that prefix, so the prefix is evaluated once.
// It returns the sequences to leave out of this step's prefill.
//
// Only earlier sequences (admission order) are waited for, and the earliest
// prefilling sequence never waits, so some prefill always progresses.
func (l *loop) sharePrefixes() map[*sequence]bool {
	if l.m.opts.NoPrefixCache || l.recurrent {
		return nil
	}
	var hold map[*sequence]bool
	for i, p := range l.running {
		if !p.prefilling() || p.slot == nil {
			continue
		}
		limit := len(p.prompt) - 1 // one prompt token is always evaluated, for logits
		var donor *sequence
		best := p.prefilled
		for _, d := range l.running {
			if d == p || d.slot == nil || d.following {
				continue
			}
			if n := min(commonPrefix(d.slot.cache, p.prompt), limit); n > best {
				donor, best = d, n
			}
		}
		if donor != nil && best-p.prefilled >= minSharedPrefix {
			l.copyPrefix(donor, p, best)
		}
		for _, d := range l.running[:i] {
			if !d.prefilling() || d.slot == nil {
				continue
			}
			n := min(commonPrefix(d.prompt, p.prompt), limit)
			if n-p.prefilled >= minSharedPrefix && d.prefilled >= p.prefilled && d.prefilled < n {
				if hold == nil {
					hold = map[*sequence]bool{}
				}
				hold[p] = true
				break
			}
		}
	}
	return hold
}

// copyPrefix gives p the KV of the first n tokens that d holds; they are
// p's first n prompt tokens too. llama.cpp copies whole sequences across
// KV streams, so p takes all of d's cells and drops those from n on.
func (l *loop) copyPrefix(d, p *sequence, n int) {
	src, dst := C.llama_seq_id(d.slot.id), C.llama_seq_id(p.slot.id)
	C.llama_memory_seq_rm(l.mem, dst, -1, -1)
	C.llama_memory_seq_cp(l.mem, src, dst, -1, -1)
	if !C.llama_memory_seq_rm(l.mem, dst, C.llama_pos(n), -1) {
		// The memory cannot cut a sequence in the middle: start p over.
		C.llama_memory_seq_rm(l.mem, dst, -1, -1)
		p.slot.cache = p.slot.cache[:0]
		p.cached, p.prefilled = 0, 0
		return
	}
	p.slot.cache = append(p.slot.cache[:0], d.slot.cache[:n]...)
	p.cached += n - p.prefilled
	p.prefilled = n
	l.m.stats.sharedPrefix.Add(1)
}
