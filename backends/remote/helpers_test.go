package remote

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const testKey = "sk-test-SECRET-4711"

// guard bounds a wait that must end quickly; it never synchronizes.
const guard = 10 * time.Second

// upstream is a scripted OpenAI-compatible server. It records what it
// received.
type upstream struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
	auths  []string
	paths  []string
}

func newUpstream(t *testing.T, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.bodies = append(u.bodies, string(b))
		u.auths = append(u.auths, r.Header.Get("Authorization"))
		u.paths = append(u.paths, r.URL.Path)
		u.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) lastBody() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.bodies) == 0 {
		return ""
	}
	return u.bodies[len(u.bodies)-1]
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// clientFor is a client for u with the test key and upstream model "up".
func clientFor(t *testing.T, u *upstream, tweak ...func(*Config)) *Client {
	cfg := Config{BaseURL: u.URL + "/v1", APIKey: testKey, Model: "up"}
	for _, f := range tweak {
		f(&cfg)
	}
	return newClient(t, cfg)
}

// sse writes events as an upstream stream, flushing after each.
func sse(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, e := range events {
		io.WriteString(w, e)
		w.(http.Flusher).Flush()
	}
}

// data is one "data:" event.
func data(s string) string { return "data: " + s + "\n\n" }

// chunk is a chat chunk of the upstream's model with one content delta.
func chunk(content string) string {
	return data(fmt.Sprintf(`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"up","choices":[{"index":0,"delta":{"content":%q},"finish_reason":null}]}`, content))
}

func finish(reason string) string {
	return data(fmt.Sprintf(`{"id":"c1","object":"chat.completion.chunk","created":1,"model":"up","choices":[{"index":0,"delta":{},"finish_reason":%q}]}`, reason))
}

const done = "data: [DONE]\n\n"

// recorder is a ResponseWriter safe to read while Forward writes to it.
type recorder struct {
	mu      sync.Mutex
	header  http.Header
	status  int
	body    bytes.Buffer
	flushes int
	wrote   chan struct{} // one signal per Write, dropped when nobody reads
}

func newRecorder() *recorder {
	return &recorder{header: http.Header{}, wrote: make(chan struct{}, 1)}
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.body.Write(b)
	r.mu.Unlock()
	select {
	case r.wrote <- struct{}{}:
	default:
	}
	return n, err
}

func (r *recorder) Flush() {
	r.mu.Lock()
	r.flushes++
	r.mu.Unlock()
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.body.String()
}

// untouched reports that nothing at all was written.
func (r *recorder) untouched() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status == 0 && r.body.Len() == 0 && len(r.header) == 0
}

// events splits a recorded stream into its events.
func events(s string) []string {
	var out []string
	for _, e := range strings.Split(s, "\n\n") {
		if e != "" {
			out = append(out, e)
		}
	}
	return out
}

// waitClosed fails the test if ch is not closed within the guard.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(guard):
		t.Fatalf("timed out waiting for %s", what)
	}
}
