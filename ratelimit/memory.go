package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// MemoryStore keeps buckets in this process, one x/time/rate limiter per
// rate, driven only by the times passed in. It is safe for concurrent use.
//
// Buckets that have refilled completely hold nothing a new bucket would
// not, so a sweep, at most once a minute, drops them: memory is bounded by
// the buckets used in the last two minutes or so.
type MemoryStore struct {
	mu        sync.Mutex
	buckets   map[string]*memBucket
	lastSweep time.Time
}

// memBucket has one limiter per limited rate; nil is unlimited.
type memBucket struct {
	req, tok *rate.Limiter
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{buckets: map[string]*memBucket{}}
}

// Len returns the number of buckets held.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.buckets)
}

// Take implements Store. One mutex guards both rates, which makes the
// take all or nothing.
func (m *MemoryStore) Take(_ context.Context, bucket string, lim Limits, tokens int, now time.Time) (Status, error) {
	if !lim.rated() {
		return Status{}, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	b := m.buckets[bucket]
	if b == nil {
		b = &memBucket{}
		m.buckets[bucket] = b
	}
	b.req = fit(b.req, lim.RequestsPerMinute, now)
	b.tok = fit(b.tok, lim.TokensPerMinute, now)

	// Reserving in both limiters and cancelling both when either must wait
	// leaves the verdict to x/time/rate and undoes the take exactly.
	rq, reqWait := reserve(b.req, 1, now)
	tk, tokWait := reserve(b.tok, tokens, now)
	if reqWait > 0 || tokWait > 0 {
		tk.CancelAt(now)
		rq.CancelAt(now)
		return b.status(now), rejection(lim, tokens, reqWait, tokWait)
	}
	return b.status(now), nil
}

// reserve takes n units from l (nil: unlimited) and returns the
// reservation and how long it must wait (0: the units were there).
func reserve(l *rate.Limiter, n int, now time.Time) (*rate.Reservation, time.Duration) {
	if l == nil {
		// A nil *rate.Reservation's CancelAt would panic; a zero one
		// (ok false) is a no-op.
		return &rate.Reservation{}, 0
	}
	r := l.ReserveN(now, n)
	if !r.OK() {
		// n exceeds the burst: the Limiter refuses that before the store.
		return r, period
	}
	return r, r.DelayFrom(now)
}

// Refund implements Store. x/time/rate cannot add tokens to a limiter, so
// the token limiter is replaced by one holding the refunded level.
func (m *MemoryStore) Refund(_ context.Context, bucket string, lim Limits, tokens int, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.buckets[bucket]
	if b == nil || b.tok == nil || tokens <= 0 {
		return nil // swept: the bucket is full anyway
	}
	b.tok = refill(b.tok, float64(tokens), now)
	return nil
}

// Close implements Store.
func (m *MemoryStore) Close() error { return nil }

func (b *memBucket) status(now time.Time) Status {
	var st Status
	if b.req != nil {
		st.Requests = memWindow(b.req, now)
	}
	if b.tok != nil {
		st.Tokens = memWindow(b.tok, now)
	}
	return st
}

func memWindow(l *rate.Limiter, now time.Time) Window {
	level := l.TokensAt(now)
	return window(l.Burst(), level, unitsDuration(float64(l.Burst())-level, l.Burst()))
}

// fit returns l adjusted to limit per minute: nil for unlimited, a full
// new limiter when there was none, l itself with the new rate otherwise
// (limits change when the config does).
func fit(l *rate.Limiter, limit int, now time.Time) *rate.Limiter {
	switch {
	case limit <= 0:
		return nil
	case l == nil:
		return rate.NewLimiter(perMinute(limit), limit)
	case l.Burst() != limit:
		l.SetLimitAt(now, perMinute(limit))
		l.SetBurstAt(now, limit)
	}
	return l
}

func perMinute(limit int) rate.Limit { return rate.Limit(float64(limit) / period.Seconds()) }

// refill returns a limiter like l holding units more than l does at now,
// at most its burst. A fresh limiter starts full; taking the difference
// leaves the wanted level. AllowN takes whole units, so the take is
// rounded up: a refund may lose under one unit and never over-admits.
func refill(l *rate.Limiter, units float64, now time.Time) *rate.Limiter {
	burst := l.Burst()
	level := math.Min(float64(burst), l.TokensAt(now)+units)
	fresh := rate.NewLimiter(l.Limit(), burst)
	if take := int(math.Ceil(float64(burst) - level - 1e-9)); take > 0 {
		fresh.AllowN(now, take)
	}
	return fresh
}

// sweep drops full buckets, at most once a minute of the given clock.
func (m *MemoryStore) sweep(now time.Time) {
	if now.Sub(m.lastSweep) < period {
		return
	}
	m.lastSweep = now
	for name, b := range m.buckets {
		if full(b.req, now) && full(b.tok, now) {
			delete(m.buckets, name)
		}
	}
}

func full(l *rate.Limiter, now time.Time) bool {
	return l == nil || l.TokensAt(now) >= float64(l.Burst())
}
