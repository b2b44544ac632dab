package router

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llamagate/llamagate/auth"
	"github.com/llamagate/llamagate/config"
	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/internal/testredis"
	"github.com/llamagate/llamagate/metrics"
	"github.com/llamagate/llamagate/models"
	"github.com/llamagate/llamagate/ratelimit"
)

const (
	userSecret  = "user-secret-0123456789"
	adminSecret = "admin-secret-0123456789"
	otherSecret = "other-secret-0123456789"
)

func intp(v int) *int { return &v }

func testKeyring(t *testing.T, lim config.Limits) *auth.Keyring {
	t.Helper()
	kr, err := auth.NewKeyring(config.Auth{Keys: []config.APIKey{
		{ID: "user", Hash: auth.HashSecret(userSecret), Scope: "inference", Limits: lim},
		{ID: "admin", Hash: auth.HashSecret(adminSecret), Scope: "admin"},
		{ID: "other", Hash: auth.HashSecret(otherSecret), Scope: "inference", Models: []string{"elsewhere"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// serveWith serves one model "m" backed by eng with the given router
// settings; loader, if set, replaces the default (which returns eng).
func serveWith(t *testing.T, cfg Config, eng engine.Engine, loader models.Loader) *httptest.Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if loader == nil {
		loader = func(context.Context, models.Spec, func(float64)) (engine.Engine, error) { return eng, nil }
	}
	mgr := models.NewManager([]models.Spec{{ID: "m", TTL: -1}}, models.Options{Logger: log, Loader: loader})
	t.Cleanup(func() { mgr.Close() })
	if cfg.Logger == nil {
		cfg.Logger = log
	}
	srv := httptest.NewServer(New(cfg, mgr))
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, srv *httptest.Server, method, path, key, body string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

var okEvents = []engine.Event{{Text: "hi"}, {Done: true, Finish: engine.FinishStop, Usage: engine.Usage{PromptTokens: 1, CompletionTokens: 2}}}

func TestKeysAndScopes(t *testing.T) {
	srv := serveWith(t, Config{Keys: testKeyring(t, config.Limits{})}, &fakeEngine{events: okEvents}, nil)
	body := `{"model":"m","prompt":"x","max_tokens":4}`
	for _, tc := range []struct {
		name, method, path, key, body string
		header                        []string
		status                        int
		code                          string
	}{
		{"no key", "POST", "/v1/completions", "", body, nil, 401, "invalid_api_key"},
		{"unknown key", "POST", "/v1/completions", "wrong-secret-0123456789", body, nil, 401, "invalid_api_key"},
		{"user key", "POST", "/v1/completions", userSecret, body, nil, 200, ""},
		{"x-api-key", "POST", "/v1/completions", "", body, []string{"x-api-key", userSecret}, 200, ""},
		{"model not allowed looks absent", "POST", "/v1/completions", otherSecret, body, nil, 404, "model_not_found"},
		{"model not allowed on tokenize", "POST", "/tokenize", otherSecret, `{"model":"m","content":"x"}`, nil, 404, "model_not_found"},
		{"admin endpoint with inference key", "GET", "/admin/models", userSecret, "", nil, 403, "insufficient_scope"},
		{"admin endpoint with admin key", "GET", "/admin/models", adminSecret, "", nil, 200, ""},
		{"admin key may infer", "POST", "/v1/completions", adminSecret, body, nil, 200, ""},
		{"health is public", "GET", "/health", "", "", nil, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := call(t, srv, tc.method, tc.path, tc.key, tc.body, tc.header...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, out, tc.status)
			}
			if tc.code != "" && errorCode(t, out) != tc.code {
				t.Fatalf("code in %s, want %s", out, tc.code)
			}
			if strings.Contains(out, userSecret) || strings.Contains(out, otherSecret) {
				t.Fatal("a secret leaked into a response")
			}
		})
	}
	_, list := call(t, srv, "GET", "/v1/models", otherSecret, "")
	if strings.Contains(list, `"id":"m"`) {
		t.Fatalf("a key sees a model it may not use: %s", list)
	}
	_, list = call(t, srv, "GET", "/v1/models", userSecret, "")
	if !strings.Contains(list, `"id":"m"`) {
		t.Fatalf("model missing for an allowed key: %s", list)
	}
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestRateLimitsAndHeaders(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	lim := ratelimit.New(ratelimit.Options{Store: ratelimit.NewMemoryStore(), Now: clock.Now}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer lim.Close()
	srv := serveWith(t, Config{Keys: testKeyring(t, config.Limits{RequestsPerMinute: intp(2), TokensPerMinute: intp(100)}), Limiter: lim},
		&fakeEngine{events: okEvents}, nil)
	body := `{"model":"m","prompt":"x","max_tokens":10}`
	// The fake tokenizes any prompt as 1 token: a request reserves 1 + 10
	// tokens and settles at its usage, 1 + 2.
	resp, _ := call(t, srv, "POST", "/v1/completions", userSecret, body)
	if resp.StatusCode != 200 || resp.Header.Get("x-ratelimit-limit-requests") != "2" || resp.Header.Get("x-ratelimit-remaining-requests") != "1" ||
		resp.Header.Get("x-ratelimit-limit-tokens") != "100" || resp.Header.Get("x-ratelimit-remaining-tokens") != "89" {
		t.Fatalf("first: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = call(t, srv, "POST", "/v1/completions", userSecret, body)
	// 100 - 3 (the first, settled) - 11 (this one, reserved).
	if resp.StatusCode != 200 || resp.Header.Get("x-ratelimit-remaining-tokens") != "86" || resp.Header.Get("x-ratelimit-reset-requests") == "" {
		t.Fatalf("second: %d %v", resp.StatusCode, resp.Header)
	}
	resp, out := call(t, srv, "POST", "/v1/completions", userSecret, body)
	if resp.StatusCode != 429 || errorCode(t, out) != "rate_limit_exceeded" || resp.Header.Get("Retry-After") != "30" {
		t.Fatalf("third: %d %s %v", resp.StatusCode, out, resp.Header)
	}
	clock.Advance(30 * time.Second)
	if resp, out := call(t, srv, "POST", "/v1/completions", userSecret, body); resp.StatusCode != 200 {
		t.Fatalf("after 30s: %d %s", resp.StatusCode, out)
	}
	// A reservation beyond the whole per-minute budget can never pass.
	resp, out = call(t, srv, "POST", "/v1/completions", adminSecret, body) // admin has no limits
	if resp.StatusCode != 200 {
		t.Fatalf("unlimited key: %d %s", resp.StatusCode, out)
	}
	clock.Advance(time.Minute)
	resp, out = call(t, srv, "POST", "/v1/completions", userSecret, `{"model":"m","prompt":"x","max_tokens":120}`)
	if resp.StatusCode != 429 || !strings.Contains(out, "lower max_tokens") || resp.Header.Get("Retry-After") != "" {
		t.Fatalf("too large: %d %s %v", resp.StatusCode, out, resp.Header)
	}
}

// TestSharedLimitAcrossReplicas runs two gateways on one Redis: together
// they admit the key's requests per minute once, not twice.
func TestSharedLimitAcrossReplicas(t *testing.T) {
	addr := testredis.Start(t)
	clock := &testClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var srvs []*httptest.Server
	for range 2 {
		lim := ratelimit.New(ratelimit.Options{Store: ratelimit.NewRedisStore(ratelimit.RedisOptions{Addr: addr, Prefix: "t:", Timeout: 10 * time.Second}), FailClosed: true, Now: clock.Now},
			slog.New(slog.NewTextHandler(io.Discard, nil)))
		t.Cleanup(func() { lim.Close() })
		srvs = append(srvs, serveWith(t, Config{Keys: testKeyring(t, config.Limits{RequestsPerMinute: intp(10)}), Limiter: lim}, &fakeEngine{events: okEvents}, nil))
	}
	var ok, limited atomic.Int32
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			resp, _ := call(t, srvs[i%2], "POST", "/v1/completions", userSecret, `{"model":"m","prompt":"x","max_tokens":2}`)
			switch resp.StatusCode {
			case 200:
				ok.Add(1)
			case 429:
				limited.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() < 10 || ok.Load() > 11 || ok.Load()+limited.Load() != 50 {
		t.Fatalf("admitted %d, limited %d of 50 with a shared limit of 10/min", ok.Load(), limited.Load())
	}
}

// blockingEngine streams its scripted events, then blocks until the
// request's context ends; cancelled is closed when Generate's context
// ends (the engine would free the sequence then).
type blockingEngine struct {
	fakeEngine
	before    []engine.Event
	cancelled chan struct{} // closed when the first generation's context ends
	once      sync.Once
}

type blockingStream struct {
	events []engine.Event
}

func (s *blockingStream) Next(ctx context.Context) (engine.Event, error) {
	if len(s.events) > 0 {
		ev := s.events[0]
		s.events = s.events[1:]
		return ev, nil
	}
	<-ctx.Done()
	return engine.Event{}, ctx.Err()
}

func (b *blockingEngine) Generate(ctx context.Context, _ engine.Request) (engine.Stream, error) {
	go func() {
		<-ctx.Done()
		b.once.Do(func() { close(b.cancelled) })
	}()
	return &blockingStream{events: b.before}, nil
}

func TestDeadlines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		before []engine.Event
		body   string
		header []string
		status int
		inBody string
	}{
		{"first token, whole", Config{TTFTTimeout: 20 * time.Millisecond}, nil, `{"model":"m","prompt":"x"}`, nil, 504, "time-to-first-token"},
		{"first token, stream", Config{TTFTTimeout: 20 * time.Millisecond}, nil, `{"model":"m","prompt":"x","stream":true}`, nil, 504, "time-to-first-token"},
		{"stall, stream", Config{StallTimeout: 20 * time.Millisecond}, []engine.Event{{Text: "a"}}, `{"model":"m","prompt":"x","stream":true}`, nil, 200, "stall timeout"},
		{"stall, whole", Config{StallTimeout: 20 * time.Millisecond}, []engine.Event{{Text: "a"}}, `{"model":"m","prompt":"x"}`, nil, 504, "stall timeout"},
		{"total from header", Config{}, []engine.Event{{Text: "a"}}, `{"model":"m","prompt":"x","stream":true}`, []string{"X-Request-Timeout", "0.05"}, 200, "request timeout"},
		{"total from config", Config{RequestTimeout: 30 * time.Millisecond}, nil, `{"model":"m","prompt":"x"}`, nil, 504, "request timeout"},
		{"bad header", Config{}, nil, `{"model":"m","prompt":"x"}`, []string{"X-Request-Timeout", "soon"}, 400, "X-Request-Timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := &blockingEngine{before: tc.before, cancelled: make(chan struct{})}
			srv := serveWith(t, tc.cfg, eng, nil)
			resp, out := call(t, srv, "POST", "/v1/completions", "", tc.body, tc.header...)
			if resp.StatusCode != tc.status || !strings.Contains(out, tc.inBody) {
				t.Fatalf("%d %s, want %d with %q", resp.StatusCode, out, tc.status, tc.inBody)
			}
			if tc.status == 200 {
				events := strings.Split(strings.TrimSpace(out), "\n\n")
				if last := events[len(events)-1]; !strings.Contains(last, `"code":"timeout"`) {
					t.Fatalf("stream does not end with a timeout error event: %q", out)
				}
			}
			if tc.status != 400 {
				<-eng.cancelled // the generation was stopped, so its slot is freed
			}
		})
	}
}

func TestKeepAlivePingsWhileTheModelLoads(t *testing.T) {
	gate := make(chan struct{})
	eng := &fakeEngine{events: okEvents}
	loader := func(context.Context, models.Spec, func(float64)) (engine.Engine, error) {
		<-gate
		return eng, nil
	}
	srv := serveWith(t, Config{KeepAlive: 5 * time.Millisecond}, nil, loader)
	resp, err := http.Post(srv.URL+"/v1/completions", "application/json", strings.NewReader(`{"model":"m","prompt":"x","stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && sc.Text() != ": ping" {
	}
	close(gate) // the model is ready: the stream goes on
	var rest []string
	for sc.Scan() {
		if l := sc.Text(); l != "" && l != ": ping" {
			rest = append(rest, l)
		}
	}
	if len(rest) == 0 || rest[len(rest)-1] != "data: [DONE]" || !strings.Contains(strings.Join(rest, "\n"), `"text":"hi"`) {
		t.Fatalf("after the pings: %q", rest)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	// A scrape sees the request counter with the model and key labels.
	srv := serveWith(t, Config{Metrics: newTestMetrics(), Keys: testKeyring(t, config.Limits{})}, &fakeEngine{events: okEvents}, nil)
	call(t, srv, "POST", "/v1/completions", userSecret, `{"model":"m","prompt":"x","max_tokens":2}`)
	_, out := call(t, srv, "GET", "/metrics", "", "")
	for _, want := range []string{
		`llamagate_requests_total{key="user",model="m",route="/v1/completions",status="200"} 1`,
		`llamagate_tokens_total{key="user",kind="completion",model="m"} 2`,
		`llamagate_time_to_first_token_seconds_count{model="m"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(out, userSecret) {
		t.Fatal("secret in metrics")
	}
}

func newTestMetrics() *metrics.Metrics { return metrics.New() }

func hashOf(secret string) string { return auth.HashSecret(secret) }

func mustKeyring(keys ...config.APIKey) (*auth.Keyring, error) {
	return auth.NewKeyring(config.Auth{Keys: keys})
}

// TestUnfinishedRequestsKeepTheirReservation: a stream that ends without
// its usage (here a stall timeout after one token) is charged its whole
// reservation, so dropping a stream is no way around a token limit.
func TestUnfinishedRequestsKeepTheirReservation(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	lim := ratelimit.New(ratelimit.Options{Store: ratelimit.NewMemoryStore(), Now: clock.Now}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer lim.Close()
	eng := &blockingEngine{before: []engine.Event{{Text: "a"}}, cancelled: make(chan struct{})}
	srv := serveWith(t, Config{Keys: testKeyring(t, config.Limits{TokensPerMinute: intp(100)}), Limiter: lim, StallTimeout: 20 * time.Millisecond}, eng, nil)
	resp, out := call(t, srv, "POST", "/v1/completions", userSecret, `{"model":"m","prompt":"x","max_tokens":30,"stream":true}`)
	if resp.StatusCode != 200 || !strings.Contains(out, "stall") {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	<-eng.cancelled
	// The next request sees 100 - 31 (kept) - 31 (its own reservation).
	resp, _ = call(t, srv, "POST", "/v1/completions", userSecret, `{"model":"m","prompt":"x","max_tokens":30,"stream":true}`)
	if got := resp.Header.Get("x-ratelimit-remaining-tokens"); got != "38" {
		t.Fatalf("remaining tokens %q, want 38 (the unfinished request keeps its 31)", got)
	}
}
