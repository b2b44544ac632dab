package engine

// LogprobQueue aligns per-token logprobs with the text a TextFilter lets
// through. Tokens are added in generation order with their bytes; the filter
// reports how many bytes it emitted; a token is released once every one of
// its bytes is out. So the tokens of an event are exactly those whose text
// the event (with the events before it) completes, and the concatenation of
// all released tokens equals the emitted text, except at a stop string:
//
//   - a token that lies wholly inside the stop string (or after it) is never
//     released: the client never sees its text;
//   - a token that straddles the cut is released with its whole text, so its
//     bytes run past the emitted text into the stop string.
//
// An end-of-generation token has no text and is never added.
//
// The zero value is ready to use. A LogprobQueue is used by one goroutine.
type LogprobQueue struct {
	pending []queuedLogprob
	total   int // bytes of every added token
	emitted int // bytes the filter let through
}

type queuedLogprob struct {
	lp         TokenLogprob
	start, end int
}

// Add queues the next generated token; its text is lp.Token.
func (q *LogprobQueue) Add(lp TokenLogprob) {
	start := q.total
	q.total += len(lp.Token)
	q.pending = append(q.pending, queuedLogprob{lp: lp, start: start, end: q.total})
}

// Emitted records that the filter let n more bytes through and returns the
// tokens now complete.
func (q *LogprobQueue) Emitted(n int) []TokenLogprob {
	q.emitted += n
	return q.release(func(t queuedLogprob) bool { return t.end <= q.emitted })
}

// Stopped records the last n bytes before a stop string and returns every
// queued token that began before the cut; the rest are dropped.
func (q *LogprobQueue) Stopped(n int) []TokenLogprob {
	q.emitted += n
	out := q.release(func(t queuedLogprob) bool { return t.start < q.emitted })
	q.pending = q.pending[:0]
	return out
}

// Flush returns every queued token, at an end that was not a stop string
// (the filter flushed everything it held).
func (q *LogprobQueue) Flush() []TokenLogprob {
	out := q.release(func(queuedLogprob) bool { return true })
	q.emitted = q.total
	return out
}

func (q *LogprobQueue) release(done func(queuedLogprob) bool) []TokenLogprob {
	n := 0
	for n < len(q.pending) && done(q.pending[n]) {
		n++
	}
	if n == 0 {
		return nil
	}
	out := make([]TokenLogprob, n)
	for i := range n {
		out[i] = q.pending[i].lp
	}
	q.pending = append(q.pending[:0], q.pending[n:]...)
	return out
}
