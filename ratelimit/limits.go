package ratelimit

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// period is the window all rates are expressed in.
const period = time.Minute

// Limits are one bucket's limits; 0 is unlimited. auth.Limits has the same
// fields and converts to it.
type Limits struct {
	RequestsPerMinute int
	TokensPerMinute   int
	Concurrent        int
}

func (l Limits) rated() bool { return l.RequestsPerMinute > 0 || l.TokensPerMinute > 0 }

// Status is a bucket's state after Admit, as OpenAI's x-ratelimit headers
// report it.
type Status struct {
	Requests Window
	Tokens   Window
}

// Window is one rate's state. Limit 0 means the rate is unlimited (or was
// not checked) and has no headers.
type Window struct {
	Limit     int
	Remaining int           // units that could be taken now
	Reset     time.Duration // until the bucket is full again
}

// SetHeaders writes OpenAI's rate limit headers for the limited rates:
// x-ratelimit-{limit,remaining,reset}-{requests,tokens}. Resets are
// written as OpenAI does, "20ms", "1s", "6m0s".
func (s Status) SetHeaders(h http.Header) {
	set := func(name string, w Window) {
		if w.Limit <= 0 {
			return
		}
		h.Set("x-ratelimit-limit-"+name, strconv.Itoa(w.Limit))
		h.Set("x-ratelimit-remaining-"+name, strconv.Itoa(w.Remaining))
		h.Set("x-ratelimit-reset-"+name, FormatReset(w.Reset))
	}
	set("requests", s.Requests)
	set("tokens", s.Tokens)
}

// FormatReset writes d as OpenAI's reset headers do: Go's duration format
// at millisecond precision, rounded up so that a client waiting that long
// finds the budget back ("20ms", "1.5s", "6m0s").
func FormatReset(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	return ceilMillis(d).String()
}

func ceilMillis(d time.Duration) time.Duration {
	return (d + time.Millisecond - 1) / time.Millisecond * time.Millisecond
}

// window describes a bucket of limit units that holds level units now and
// is full again after untilFull.
func window(limit int, level float64, untilFull time.Duration) Window {
	remaining := int(math.Floor(level + 1e-9))
	return Window{
		Limit:     limit,
		Remaining: min(max(remaining, 0), limit),
		Reset:     ceilMillis(max(untilFull, 0)),
	}
}

// unitsDuration is how long a bucket of limit units per period takes to
// refill units.
func unitsDuration(units float64, limit int) time.Duration {
	return ceilNanos(units * float64(period) / float64(limit))
}

// ceilNanos rounds a float count of nanoseconds up, ignoring float noise
// far below a nanosecond so that exact values (20s) stay exact.
func ceilNanos(ns float64) time.Duration {
	if ns <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(ns - 1e-3))
}
