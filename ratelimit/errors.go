package ratelimit

import (
	"errors"
	"fmt"
	"time"
)

// Kind names the limit a request hit.
type Kind string

// The kinds of limit.
const (
	KindRequests   Kind = "requests"
	KindTokens     Kind = "tokens"
	KindConcurrent Kind = "concurrent"
)

// LimitError refuses a request over its limits (HTTP 429).
type LimitError struct {
	Kind      Kind
	Limit     int // requests or tokens per minute, or concurrent requests
	Requested int // units asked for: the token reservation, else 1
	// RetryAfter is how long until the request would be admitted if
	// nothing else used the bucket. Concurrency has no such bound; it
	// reports one second.
	RetryAfter time.Duration
	// TooLarge: the token reservation exceeds the whole per-minute limit,
	// so waiting cannot help; RetryAfter is 0.
	TooLarge bool
}

func (e *LimitError) Error() string {
	switch {
	case e.TooLarge:
		return fmt.Sprintf("request too large for tokens per minute: it may use %d tokens (prompt + max_tokens) and the limit is %d; lower max_tokens or shorten the prompt",
			e.Requested, e.Limit)
	case e.Kind == KindConcurrent:
		return fmt.Sprintf("too many concurrent requests: limit %d; retry when one finishes", e.Limit)
	case e.Kind == KindTokens:
		return fmt.Sprintf("rate limit reached for tokens per minute: limit %d, requested %d; try again in %s",
			e.Limit, e.Requested, FormatReset(e.RetryAfter))
	default:
		return fmt.Sprintf("rate limit reached for requests per minute: limit %d; try again in %s",
			e.Limit, FormatReset(e.RetryAfter))
	}
}

// RetryAfterSeconds is RetryAfter for a Retry-After header: whole seconds,
// rounded up, at least 1.
func (e *LimitError) RetryAfterSeconds() int {
	s := int((e.RetryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}

// ErrUnavailable is wrapped by Admit's error when the store failed and the
// policy is fail_closed (HTTP 503).
var ErrUnavailable = errors.New("rate limit store unavailable")

// rejection builds the LimitError for waits on requests and tokens (0:
// that rate has room), naming the longer wait: retrying sooner would fail
// on it anyway.
func rejection(lim Limits, tokens int, reqWait, tokWait time.Duration) *LimitError {
	if reqWait >= tokWait {
		return &LimitError{Kind: KindRequests, Limit: lim.RequestsPerMinute, Requested: 1, RetryAfter: ceilMillis(reqWait)}
	}
	return &LimitError{Kind: KindTokens, Limit: lim.TokensPerMinute, Requested: tokens, RetryAfter: ceilMillis(tokWait)}
}
