package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// forEachStore runs f against the memory store and against a real Redis.
// newStore returns a fresh, empty store each call.
func forEachStore(t *testing.T, f func(t *testing.T, newStore func(t *testing.T) Store)) {
	t.Run("memory", func(t *testing.T) {
		f(t, func(*testing.T) Store { return NewMemoryStore() })
	})
	t.Run("redis", func(t *testing.T) {
		addr := startRedis(t)
		n := 0
		f(t, func(t *testing.T) Store {
			n++
			// A generous timeout: -race on a busy machine is slow, and a
			// timeout here would read as fail_open, not as a failure.
			return NewRedisStore(RedisOptions{Addr: addr, Prefix: fmt.Sprintf("test%d:", n), Timeout: 10 * time.Second})
		})
	})
}

// step is one action of a scenario: move the clock, admit, or settle.
type step struct {
	wait     time.Duration // move the clock first
	settle   int           // > 0: settle admitted ticket number settle-1 instead of admitting
	n        int           // admit: tokens to reserve; settle: tokens used
	refused  Kind          // admit: "" admitted, else the refused kind
	tooLarge bool
	retry    time.Duration // refused: RetryAfter
	req, tok Window        // admit: the Status
}

func admit(n int, req, tok Window) step { return step{n: n, req: req, tok: tok} }

func refuse(n int, k Kind, retry time.Duration, req, tok Window) step {
	return step{n: n, refused: k, retry: retry, req: req, tok: tok}
}
func settle(ticket, used int) step                       { return step{settle: ticket + 1, n: used} }
func wait(d time.Duration) step                          { return step{wait: d} }
func w(limit, remaining int, reset time.Duration) Window { return Window{limit, remaining, reset} }

var none = Window{}

const s = time.Second

func TestAdmitScenarios(t *testing.T) {
	scenarios := []struct {
		name  string
		lim   Limits
		steps []step
	}{
		{"requests run out and come back", Limits{RequestsPerMinute: 3}, []step{
			admit(0, w(3, 2, 20*s), none),
			admit(0, w(3, 1, 40*s), none),
			admit(0, w(3, 0, 60*s), none),
			refuse(0, KindRequests, 20*s, w(3, 0, 60*s), none),
			wait(19999 * time.Millisecond),
			refuse(0, KindRequests, time.Millisecond, w(3, 0, 40001*time.Millisecond), none),
			wait(time.Millisecond),
			admit(0, w(3, 0, 60*s), none),
			wait(60 * s),
			admit(0, w(3, 2, 20*s), none),
		}},
		{"tokens are reserved and the unused part refunded", Limits{TokensPerMinute: 100}, []step{
			admit(60, none, w(100, 40, 36*s)),
			refuse(50, KindTokens, 6*s, none, w(100, 40, 36*s)),
			settle(0, 20), // 40 back: 80
			admit(50, none, w(100, 30, 42*s)),
			settle(1, 50), // all used: nothing back
			settle(1, 0),  // settled already: nothing back
			refuse(31, KindTokens, 600*time.Millisecond, none, w(100, 30, 42*s)),
			admit(30, none, w(100, 0, 60*s)),
			settle(2, 40), // more than reserved: nothing back, nothing more taken
			refuse(1, KindTokens, 600*time.Millisecond, none, w(100, 0, 60*s)),
			settle(0, 0), // settled already
			refuse(1, KindTokens, 600*time.Millisecond, none, w(100, 0, 60*s)),
		}},
		{"a refusal takes nothing from the other rate", Limits{RequestsPerMinute: 2, TokensPerMinute: 100}, []step{
			admit(100, w(2, 1, 30*s), w(100, 0, 60*s)),
			refuse(10, KindTokens, 6*s, w(2, 1, 30*s), w(100, 0, 60*s)), // request unit kept
			admit(0, w(2, 0, 60*s), w(100, 0, 60*s)),
			wait(30 * s),
			refuse(60, KindTokens, 6*s, w(2, 1, 30*s), w(100, 50, 30*s)),
			admit(50, w(2, 0, 60*s), w(100, 0, 60*s)),
			// Both refused: the longer wait is named.
			refuse(10, KindRequests, 30*s, w(2, 0, 60*s), w(100, 0, 60*s)),
			wait(24 * s),
			refuse(10, KindRequests, 6*s, w(2, 0, 36*s), w(100, 40, 36*s)), // tokens kept
			wait(6 * s),
			admit(10, w(2, 0, 60*s), w(100, 40, 36*s)),
		}},
		{"a reservation over the whole limit can never pass", Limits{RequestsPerMinute: 5, TokensPerMinute: 100}, []step{
			{n: 101, refused: KindTokens, tooLarge: true},
			admit(100, w(5, 4, 12*s), w(100, 0, 60*s)), // the refusal took no request unit
		}},
		{"one rate unlimited has no window", Limits{TokensPerMinute: 10}, []step{
			admit(5, none, w(10, 5, 30*s)),
			admit(5, none, w(10, 0, 60*s)),
			refuse(1, KindTokens, 6*s, none, w(10, 0, 60*s)),
		}},
		{"unlimited", Limits{}, []step{
			admit(1_000_000, none, none),
			admit(1_000_000, none, none),
			settle(0, 0),
		}},
		{"concurrent requests", Limits{RequestsPerMinute: 10, Concurrent: 2}, []step{
			admit(0, w(10, 9, 6*s), none),
			admit(0, w(10, 8, 12*s), none),
			refuse(0, KindConcurrent, s, none, none),
			settle(0, 0),
			admit(0, w(10, 7, 18*s), none), // the concurrency refusal took no request unit
			refuse(0, KindConcurrent, s, none, none),
		}},
		{"a rate refusal frees its concurrency slot", Limits{RequestsPerMinute: 1, Concurrent: 1}, []step{
			admit(0, w(1, 0, 60*s), none),
			settle(0, 0),
			refuse(0, KindRequests, 60*s, w(1, 0, 60*s), none),
			wait(60 * s),
			admit(0, w(1, 0, 60*s), none),
		}},
	}
	forEachStore(t, func(t *testing.T, newStore func(*testing.T) Store) {
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				clock := newFakeClock()
				l := New(Options{Store: newStore(t), Now: clock.Now}, nil)
				defer l.Close()
				var tickets []*Ticket
				for i, st := range sc.steps {
					clock.Advance(st.wait)
					switch {
					case st.wait > 0:
						continue
					case st.settle > 0:
						tickets[st.settle-1].Settle(st.n)
						continue
					}
					tk, status, err := l.Admit(context.Background(), "alice", sc.lim, st.n)
					if st.refused == "" {
						if err != nil {
							t.Fatalf("step %d: Admit(%d): %v", i, st.n, err)
						}
						tickets = append(tickets, tk)
					} else {
						var le *LimitError
						if !errors.As(err, &le) {
							t.Fatalf("step %d: Admit(%d) = %v, want a %s LimitError", i, st.n, err, st.refused)
						}
						if tk != nil {
							t.Errorf("step %d: refused Admit returned a ticket", i)
						}
						if le.Kind != st.refused || le.RetryAfter != st.retry || le.TooLarge != st.tooLarge {
							t.Errorf("step %d: refused %s retry %v tooLarge %v, want %s %v %v",
								i, le.Kind, le.RetryAfter, le.TooLarge, st.refused, st.retry, st.tooLarge)
						}
					}
					if status.Requests != st.req || status.Tokens != st.tok {
						t.Errorf("step %d: status requests %+v tokens %+v, want %+v %+v", i, status.Requests, status.Tokens, st.req, st.tok)
					}
				}
			})
		}
	})
}
