package ratelimit

import (
	"context"
	"time"
)

// Store keeps the request and token buckets. Implementations must be safe
// for concurrent use and must not read the clock: now is passed in.
type Store interface {
	// Take takes one request unit and tokens token units from bucket at
	// now, both or neither (a rate with limit 0 is not checked). It
	// returns the bucket's Status after the attempt; over a limit the
	// error is a *LimitError, any other error is a store failure.
	Take(ctx context.Context, bucket string, lim Limits, tokens int, now time.Time) (Status, error)
	// Refund gives back tokens token units taken from bucket, never
	// filling it beyond its limit.
	Refund(ctx context.Context, bucket string, lim Limits, tokens int, now time.Time) error
	// Close releases the store's resources.
	Close() error
}
