package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Limiter. The zero value is an in-memory,
// fail-open limiter on the real clock.
type Options struct {
	Store Store            // nil: NewMemoryStore()
	Now   func() time.Time // nil: time.Now
	// FailClosed refuses requests when the Store fails (ErrUnavailable);
	// false admits them uncounted.
	FailClosed bool
	// LogEvery is the least time between two logs of store failures; 0:
	// 30s. Failures in between are counted in the next log.
	LogEvery time.Duration
}

// Limiter admits requests against per-bucket limits. It is safe for
// concurrent use.
type Limiter struct {
	store      Store
	now        func() time.Time
	failClosed bool
	log        *slog.Logger
	logEvery   time.Duration

	mu         sync.Mutex
	inFlight   map[string]int // concurrency per bucket; no entry at 0
	logged     bool
	lastLog    time.Time
	suppressed int
}

// New returns a Limiter. logger receives store failures.
func New(opts Options, logger *slog.Logger) *Limiter {
	l := &Limiter{
		store:      opts.Store,
		now:        opts.Now,
		failClosed: opts.FailClosed,
		log:        logger,
		logEvery:   opts.LogEvery,
		inFlight:   map[string]int{},
	}
	if l.store == nil {
		l.store = NewMemoryStore()
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.logEvery <= 0 {
		l.logEvery = 30 * time.Second
	}
	return l
}

// Close closes the store.
func (l *Limiter) Close() error { return l.store.Close() }

// Admit takes, for bucket (e.g. a key id, or key id + "/" + model), one
// request unit, reserveTokens tokens (prompt tokens + max_tokens) and a
// concurrency slot, all or nothing. Status is for the response headers,
// also on refusal. Errors: *LimitError over a limit; an error wrapping
// ErrUnavailable when the store failed and the policy is fail_closed;
// ctx's error when ctx ended during a store call. On success the Ticket
// must be settled once the request is done.
func (l *Limiter) Admit(ctx context.Context, bucket string, lim Limits, reserveTokens int) (*Ticket, Status, error) {
	reserveTokens = max(reserveTokens, 0)
	if lim.TokensPerMinute > 0 && reserveTokens > lim.TokensPerMinute {
		return nil, Status{}, &LimitError{Kind: KindTokens, Limit: lim.TokensPerMinute, Requested: reserveTokens, TooLarge: true}
	}
	t := &Ticket{l: l, bucket: bucket, lim: lim}
	if lim.Concurrent > 0 {
		if !l.acquire(bucket, lim.Concurrent) {
			return nil, Status{}, &LimitError{Kind: KindConcurrent, Limit: lim.Concurrent, Requested: 1, RetryAfter: time.Second}
		}
		t.slot = true
	}
	if !lim.rated() {
		return t, Status{}, nil
	}
	now := l.now()
	st, err := l.store.Take(ctx, bucket, lim, reserveTokens, now)
	var limErr *LimitError
	switch {
	case err == nil:
		if lim.TokensPerMinute > 0 {
			t.reserved = reserveTokens
		}
		return t, st, nil
	case errors.As(err, &limErr):
		t.release()
		return nil, st, err
	case ctx.Err() != nil:
		// The client went away; that says nothing about the store.
		t.release()
		return nil, Status{}, ctx.Err()
	}
	l.storeFailed(now, "admit", err)
	if !l.failClosed {
		return t, Status{}, nil
	}
	t.release()
	return nil, Status{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
}

func (l *Limiter) acquire(bucket string, limit int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight[bucket] >= limit {
		return false
	}
	l.inFlight[bucket]++
	return true
}

func (l *Limiter) releaseSlot(bucket string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight[bucket] <= 1 {
		delete(l.inFlight, bucket) // idle buckets take no memory
		return
	}
	l.inFlight[bucket]--
}

// storeFailed logs a store failure unless one was logged less than
// logEvery ago (by the injected clock); those are counted instead.
func (l *Limiter) storeFailed(now time.Time, op string, err error) {
	l.mu.Lock()
	if l.logged && now.Sub(l.lastLog) < l.logEvery {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	suppressed := l.suppressed
	l.logged, l.lastLog, l.suppressed = true, now, 0
	l.mu.Unlock()
	policy := "fail_open: requests admitted uncounted"
	if l.failClosed {
		policy = "fail_closed: requests refused"
	}
	l.log.Warn("rate limit store failed", "op", op, "err", err, "policy", policy, "failures_not_logged", suppressed)
}

// Ticket is an admitted request's hold on its bucket.
type Ticket struct {
	l        *Limiter
	bucket   string
	lim      Limits
	reserved int  // tokens taken from the store
	slot     bool // holds a concurrency slot
	settled  atomic.Bool
}

// Reserved returns the tokens the ticket holds in the bucket (0 when
// tokens are unlimited or the store failed open).
func (t *Ticket) Reserved() int { return t.reserved }

// Settle ends the request: it gives back the reserved tokens it did not
// use (reserved - usedTokens) and frees the concurrency slot. Only the
// first call counts; a nil Ticket does nothing. A refund to a failing
// store is logged and dropped: the tokens return by themselves within a
// minute.
func (t *Ticket) Settle(usedTokens int) {
	if t == nil || !t.settled.CompareAndSwap(false, true) {
		return
	}
	t.release()
	refund := t.reserved - max(usedTokens, 0)
	if refund <= 0 {
		return
	}
	// Not the request's context: it has usually ended by now, and the
	// store bounds its own calls.
	now := t.l.now()
	if err := t.l.store.Refund(context.Background(), t.bucket, t.lim, refund, now); err != nil {
		t.l.storeFailed(now, "refund", err)
	}
}

func (t *Ticket) release() {
	if t.slot {
		t.slot = false
		t.l.releaseSlot(t.bucket)
	}
}
