package router

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/llamagate/llamagate/config"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAccessLogLine checks the one JSON line a request leaves: request id
// (the client's), key id (never the secret), model, status, tokens, TTFT,
// duration and finish reason.
func TestAccessLogLine(t *testing.T) {
	var buf syncBuffer
	srv := serveWith(t, Config{Keys: testKeyring(t, config.Limits{}), Logger: slog.New(slog.NewJSONHandler(&buf, nil))}, &fakeEngine{events: okEvents}, nil)
	resp, _ := call(t, srv, "POST", "/v1/completions", userSecret, `{"model":"m","prompt":"x","max_tokens":4}`, "X-Request-Id", "client-id-1")
	if resp.Header.Get("X-Request-Id") != "client-id-1" {
		t.Fatalf("request id not echoed: %v", resp.Header)
	}
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
			line = m
		}
	}
	if line == nil {
		t.Fatalf("no access line in %q", buf.String())
	}
	want := map[string]any{"request_id": "client-id-1", "key_id": "user", "model": "m", "status": float64(200),
		"tokens_in": float64(1), "tokens_out": float64(2), "finish_reason": "stop", "path": "/v1/completions"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v (line %v)", k, line[k], v, line)
		}
	}
	for _, k := range []string{"ttft", "duration"} {
		if _, ok := line[k]; !ok {
			t.Errorf("no %s in %v", k, line)
		}
	}
	if strings.Contains(buf.String(), userSecret) {
		t.Fatal("the secret is in the log")
	}
}
