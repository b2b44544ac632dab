package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFormatReset(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{-time.Second, "0s"},
		{time.Nanosecond, "1ms"},
		{20 * time.Millisecond, "20ms"},
		{20*time.Millisecond + 1, "21ms"},
		{time.Second, "1s"},
		{1500 * time.Millisecond, "1.5s"},
		{8640 * time.Millisecond, "8.64s"},
		{6 * time.Minute, "6m0s"},
		{86400 * time.Millisecond, "1m26.4s"},
		{time.Minute - time.Nanosecond, "1m0s"},
	}
	for _, tt := range tests {
		if got := FormatReset(tt.d); got != tt.want {
			t.Errorf("FormatReset(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestSetHeaders(t *testing.T) {
	tests := []struct {
		name   string
		status Status
		want   map[string]string // every x-ratelimit header expected
	}{
		{"both", Status{Requests: w(60, 59, time.Second), Tokens: w(150000, 149984, 6*time.Millisecond)}, map[string]string{
			"x-ratelimit-limit-requests":     "60",
			"x-ratelimit-remaining-requests": "59",
			"x-ratelimit-reset-requests":     "1s",
			"x-ratelimit-limit-tokens":       "150000",
			"x-ratelimit-remaining-tokens":   "149984",
			"x-ratelimit-reset-tokens":       "6ms",
		}},
		{"tokens only", Status{Tokens: w(10, 0, 6*time.Minute)}, map[string]string{
			"x-ratelimit-limit-tokens":     "10",
			"x-ratelimit-remaining-tokens": "0",
			"x-ratelimit-reset-tokens":     "6m0s",
		}},
		{"unlimited", Status{}, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			tt.status.SetHeaders(h)
			if len(h) != len(tt.want) {
				t.Errorf("got %d headers, want %d: %v", len(h), len(tt.want), h)
			}
			for k, v := range tt.want {
				if got := h.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestLimitError(t *testing.T) {
	tests := []struct {
		err         *LimitError
		wantMsg     string
		wantSeconds int
	}{
		{&LimitError{Kind: KindRequests, Limit: 10, Requested: 1, RetryAfter: 6 * time.Second}, "requests per minute: limit 10; try again in 6s", 6},
		{&LimitError{Kind: KindTokens, Limit: 100, Requested: 50, RetryAfter: 600 * time.Millisecond}, "tokens per minute: limit 100, requested 50; try again in 600ms", 1},
		{&LimitError{Kind: KindTokens, Limit: 100, Requested: 101, TooLarge: true}, "request too large for tokens per minute: it may use 101 tokens (prompt + max_tokens) and the limit is 100", 1},
		{&LimitError{Kind: KindConcurrent, Limit: 4, Requested: 1, RetryAfter: time.Second}, "too many concurrent requests: limit 4", 1},
		{&LimitError{Kind: KindRequests, Limit: 1, Requested: 1, RetryAfter: 59*time.Second + time.Millisecond}, "try again in 59.001s", 60},
	}
	for _, tt := range tests {
		if msg := tt.err.Error(); !strings.Contains(msg, tt.wantMsg) {
			t.Errorf("Error() = %q, want it to contain %q", msg, tt.wantMsg)
		}
		if got := tt.err.RetryAfterSeconds(); got != tt.wantSeconds {
			t.Errorf("%v: RetryAfterSeconds = %d, want %d", tt.err, got, tt.wantSeconds)
		}
	}
}

// failingStore fails every call with err.
type failingStore struct {
	err     error
	refunds atomic.Int32
}

func (f *failingStore) Take(context.Context, string, Limits, int, time.Time) (Status, error) {
	return Status{}, f.err
}

func (f *failingStore) Refund(context.Context, string, Limits, int, time.Time) error {
	f.refunds.Add(1)
	return f.err
}

func (f *failingStore) Close() error { return nil }

// logCount returns a logger and a function counting its records.
func logCount() (*slog.Logger, func() []string) {
	var mu sync.Mutex
	var buf bytes.Buffer
	h := slog.NewTextHandler(&lockedWriter{mu: &mu, w: &buf}, nil)
	return slog.New(h), func() []string {
		mu.Lock()
		defer mu.Unlock()
		s := strings.TrimSpace(buf.String())
		if s == "" {
			return nil
		}
		return strings.Split(s, "\n")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestStoreFailurePolicy(t *testing.T) {
	boom := errors.New("connection refused")
	lim := Limits{RequestsPerMinute: 10, TokensPerMinute: 100, Concurrent: 1}
	tests := []struct {
		name       string
		failClosed bool
	}{
		{"fail_open admits uncounted", false},
		{"fail_closed refuses", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			store := &failingStore{err: boom}
			logger, lines := logCount()
			l := New(Options{Store: store, Now: clock.Now, FailClosed: tt.failClosed, LogEvery: 10 * time.Second}, logger)

			for range 3 {
				tk, st, err := l.Admit(context.Background(), "k", lim, 50)
				if st != (Status{}) {
					t.Errorf("status %+v on a store failure, want none", st)
				}
				if tt.failClosed {
					if !errors.Is(err, ErrUnavailable) || !errors.Is(err, boom) || tk != nil {
						t.Fatalf("Admit = %v, %v; want ErrUnavailable wrapping the cause", tk, err)
					}
					continue
				}
				if err != nil || tk == nil {
					t.Fatalf("Admit = %v, %v; want admitted", tk, err)
				}
				if tk.Reserved() != 0 {
					t.Errorf("Reserved = %d: nothing was taken from the store", tk.Reserved())
				}
				tk.Settle(0) // frees the slot for the next round; nothing to refund
			}
			if n := store.refunds.Load(); n != 0 {
				t.Errorf("%d refunds of tokens never taken", n)
			}
			if got := lines(); len(got) != 1 || !strings.Contains(got[0], "connection refused") {
				t.Fatalf("logged %q, want one line about the failure", got)
			}
			clock.Advance(10 * time.Second)
			tk, _, _ := l.Admit(context.Background(), "k", lim, 50)
			tk.Settle(0)
			got := lines()
			if len(got) != 2 || !strings.Contains(got[1], "failures_not_logged=2") {
				t.Fatalf("logged %q, want a second line counting 2 unlogged failures", got)
			}
			// Whatever the policy, no slot is left held.
			if n := len(l.inFlight); n != 0 {
				t.Errorf("%d buckets hold slots after every request ended", n)
			}
		})
	}
}

func TestAdmitContextEnded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	logger, lines := logCount()
	l := New(Options{Store: &failingStore{err: context.Canceled}, FailClosed: false}, logger)
	tk, _, err := l.Admit(ctx, "k", Limits{RequestsPerMinute: 1, Concurrent: 1}, 0)
	if !errors.Is(err, context.Canceled) || tk != nil {
		t.Fatalf("Admit = %v, %v; want context.Canceled, even when failing open", tk, err)
	}
	if got := lines(); len(got) != 0 {
		t.Errorf("a gone client is not a store failure, yet logged %q", got)
	}
	if len(l.inFlight) != 0 {
		t.Error("the slot was not freed")
	}
}

func TestSettleNil(t *testing.T) {
	var tk *Ticket
	tk.Settle(10) // must not panic: callers defer it before checking err
}

// TestConcurrentLimitUnderLoad checks with many goroutines that no more
// than the limit are ever in flight and that every slot comes back.
func TestConcurrentLimitUnderLoad(t *testing.T) {
	const limit, workers, rounds = 3, 16, 50
	l := New(Options{}, nil)
	var inFlight, peak, admitted atomic.Int32
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range rounds {
				tk, _, err := l.Admit(context.Background(), "k", Limits{Concurrent: limit}, 0)
				if err != nil {
					continue
				}
				admitted.Add(1)
				n := inFlight.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				inFlight.Add(-1)
				tk.Settle(0)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > limit {
		t.Errorf("peak in flight %d > limit %d", p, limit)
	}
	if admitted.Load() == 0 {
		t.Error("nothing admitted")
	}
	if len(l.inFlight) != 0 {
		t.Errorf("slots left held: %v", l.inFlight)
	}
}

func TestMemoryStoreEvictsFullBuckets(t *testing.T) {
	clock := newFakeClock()
	store := NewMemoryStore()
	l := New(Options{Store: store, Now: clock.Now}, nil)
	lim := Limits{RequestsPerMinute: 10, TokensPerMinute: 1000}
	for i := range 100 {
		tk, _, err := l.Admit(context.Background(), "k"+strings.Repeat("x", i), lim, 500)
		if err != nil {
			t.Fatal(err)
		}
		tk.Settle(100)
	}
	if store.Len() != 100 {
		t.Fatalf("Len = %d, want 100", store.Len())
	}
	// Not yet full after 30s: nothing dropped.
	clock.Advance(30 * time.Second)
	if _, _, err := l.Admit(context.Background(), "other", lim, 0); err != nil {
		t.Fatal(err)
	}
	if store.Len() != 101 {
		t.Fatalf("Len = %d after 30s, want 101 (no bucket is full yet)", store.Len())
	}
	// A minute later all 100 are full again; the next sweep drops them.
	clock.Advance(60 * time.Second)
	if _, _, err := l.Admit(context.Background(), "other", lim, 0); err != nil {
		t.Fatal(err)
	}
	if store.Len() != 1 {
		t.Fatalf("Len = %d, want 1 (only the bucket just used)", store.Len())
	}
	// A dropped bucket starts full, as it was.
	_, st, err := l.Admit(context.Background(), "k", lim, 0)
	if err != nil || st.Requests.Remaining != 9 || st.Tokens.Remaining != 1000 {
		t.Fatalf("Admit after eviction = %+v, %v", st, err)
	}
}
