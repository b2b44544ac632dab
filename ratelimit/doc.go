// Package ratelimit owns per-key rate limits: requests per minute, tokens
// per minute and concurrent requests, kept in process (MemoryStore, on
// golang.org/x/time/rate) or shared between gateway instances (RedisStore,
// GCRA in Lua). Time is injected (Options.Now), so tests are deterministic.
// It knows nothing of HTTP routing or keys; the router maps its errors to
// status codes.
//
// # Use
//
//	t, st, err := l.Admit(ctx, bucket, lim, promptTokens+maxTokens)
//	st.SetHeaders(w.Header())            // also on a 429
//	if err != nil { ... }                // *LimitError → 429, ErrUnavailable → 503
//	defer t.Settle(usage.TotalTokens)    // returns unused tokens, frees the slot
//
// Admit is all or nothing: one request unit, the token reservation and a
// concurrency slot are taken together, or none is. A request refused on
// tokens does not spend a request unit and vice versa.
//
// # Semantics
//
// Each rate is a bucket holding up to its per-minute limit that refills
// continuously (limit/60 per second), so a full minute's budget may be
// spent in a burst and then trickles back. The token reservation is the
// most a request can use (prompt tokens + max_tokens); Settle gives back
// what it did not use, so a short answer does not pay for its max_tokens.
// Usage above the reservation is not charged. A reservation larger than
// the whole per-minute limit could never be admitted and is refused with
// LimitError.TooLarge.
//
// # Concurrency limits are per process
//
// Concurrent requests are counted in the Limiter, not in the Store: the
// limit protects this process's slots, and a count kept in Redis would
// leak slots whenever a gateway dies mid-request. With N gateway
// instances a key may have up to N × concurrent requests in flight.
//
// # Store failures
//
// When the Store fails (Redis down or slow), Options.FailClosed chooses:
// false (fail_open, the default) admits the request without counting it;
// true (fail_closed) refuses it with an error wrapping ErrUnavailable. Both
// log at most once per Options.LogEvery.
package ratelimit
