package ratelimit

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llamagate/llamagate/config"
	"github.com/redis/go-redis/v9"
)

// TestRedisSharedLimit: two gateways on one Redis enforce one limit
// together, under concurrent load.
func TestRedisSharedLimit(t *testing.T) {
	addr := startRedis(t)
	clock := newFakeClock()
	var limiters [2]*Limiter
	for i := range limiters {
		limiters[i] = New(Options{
			Store: NewRedisStore(RedisOptions{Addr: addr, Prefix: "shared:", Timeout: 10 * time.Second}),
			Now:   clock.Now,
		}, nil)
		defer limiters[i].Close()
	}
	const calls = 50
	lim := Limits{RequestsPerMinute: 10}
	var admitted, refused atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range calls {
		wg.Go(func() {
			<-start
			_, _, err := limiters[i%2].Admit(context.Background(), "alice", lim, 0)
			var le *LimitError
			switch {
			case err == nil:
				admitted.Add(1)
			case errors.As(err, &le) && le.Kind == KindRequests:
				refused.Add(1)
			default:
				t.Errorf("Admit: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if admitted.Load() != 10 || refused.Load() != calls-10 {
		t.Fatalf("admitted %d, refused %d; want 10 and %d", admitted.Load(), refused.Load(), calls-10)
	}
	// Six seconds later each limiter sees the one unit that came back.
	clock.Advance(6 * time.Second)
	if _, _, err := limiters[0].Admit(context.Background(), "alice", lim, 0); err != nil {
		t.Fatalf("after 6s: %v", err)
	}
	if _, _, err := limiters[1].Admit(context.Background(), "alice", lim, 0); err == nil {
		t.Fatal("the unit that came back was admitted twice")
	}
}

// TestRedisUnreachable points the store at a port nobody listens on.
func TestRedisUnreachable(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	lim := Limits{RequestsPerMinute: 10, TokensPerMinute: 100}
	tests := []struct {
		name       string
		failClosed bool
	}{
		{"fail_open", false},
		{"fail_closed", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, lines := logCount()
			l := New(Options{
				Store:      NewRedisStore(RedisOptions{Addr: addr, Timeout: 2 * time.Second}),
				Now:        newFakeClock().Now,
				FailClosed: tt.failClosed,
			}, logger)
			defer l.Close()
			tk, st, err := l.Admit(context.Background(), "alice", lim, 10)
			if tt.failClosed {
				if !errors.Is(err, ErrUnavailable) || tk != nil {
					t.Fatalf("Admit = %v, %v; want ErrUnavailable", tk, err)
				}
			} else {
				if err != nil || tk == nil || st != (Status{}) {
					t.Fatalf("Admit = %v, %+v, %v; want admitted without status", tk, st, err)
				}
				tk.Settle(0) // nothing reserved, nothing to refund
			}
			if got := lines(); len(got) != 1 || !strings.Contains(got[0], "rate limit store failed") {
				t.Fatalf("logged %q, want one failure line", got)
			}
		})
	}
}

// TestRedisKeys checks the keys' lifetime and that a flushed script
// cache is reloaded.
func TestRedisKeys(t *testing.T) {
	addr := startRedis(t)
	raw := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true})
	defer raw.Close()
	ctx := context.Background()
	clock := newFakeClock()
	l := New(Options{Store: NewRedisStore(RedisOptions{Addr: addr, Timeout: 10 * time.Second}), Now: clock.Now}, nil)
	defer l.Close()
	lim := Limits{RequestsPerMinute: 10, TokensPerMinute: 100}

	tk, _, err := l.Admit(ctx, "alice/m", lim, 30)
	if err != nil {
		t.Fatal(err)
	}
	ttl := func(key string) time.Duration {
		d, err := raw.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	// Full again after 6s (requests) and 18s (tokens): that is when the
	// keys go.
	if d := ttl("llamagate:{alice/m}:req"); d <= 5*time.Second || d > 6*time.Second {
		t.Errorf("request key TTL %v, want 6s", d)
	}
	if d := ttl("llamagate:{alice/m}:tok"); d <= 17*time.Second || d > 18*time.Second {
		t.Errorf("token key TTL %v, want 18s", d)
	}
	// Refunding everything makes the token bucket full: its key goes.
	tk.Settle(0)
	if n, err := raw.Exists(ctx, "llamagate:{alice/m}:tok").Result(); err != nil || n != 0 {
		t.Errorf("token key still exists (%d, %v) after a full refund", n, err)
	}

	// After SCRIPT FLUSH, EVALSHA fails with NOSCRIPT and EVAL takes over.
	if err := raw.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	_, st, err := l.Admit(ctx, "alice/m", lim, 30)
	if err != nil {
		t.Fatalf("Admit after SCRIPT FLUSH: %v", err)
	}
	if st.Requests.Remaining != 8 || st.Tokens.Remaining != 70 {
		t.Errorf("status after SCRIPT FLUSH %+v", st)
	}
}

func TestOpen(t *testing.T) {
	t.Setenv("LLAMAGATE_TEST_REDIS_PW", "")
	tests := []struct {
		name    string
		cfg     config.RateLimitStore
		wantErr string
	}{
		{"default memory", config.RateLimitStore{}, ""},
		{"memory", config.RateLimitStore{Type: "memory"}, ""},
		{"redis", config.RateLimitStore{Type: "redis", Addr: "127.0.0.1:1", OnError: "fail_closed"}, ""},
		{"redis password unset", config.RateLimitStore{Type: "redis", Addr: "127.0.0.1:1", PasswordEnv: "LLAMAGATE_TEST_REDIS_PW"}, "LLAMAGATE_TEST_REDIS_PW, which is not set"},
		{"unknown", config.RateLimitStore{Type: "etcd"}, "unknown store type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Open(tt.cfg, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if l.failClosed != (tt.cfg.OnError == "fail_closed") {
				t.Errorf("failClosed = %v for on_error %q", l.failClosed, tt.cfg.OnError)
			}
		})
	}
}
