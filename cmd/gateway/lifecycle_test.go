package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llamagate/llamagate/auth"
	"github.com/llamagate/llamagate/internal/testmodels"
)

// startMain runs the gateway as the binary does (realMain, with its own
// signal handling) on the given config, and returns its base URL and a
// channel with its exit status.
func startMain(t *testing.T, cfg string, extra ...string) (string, chan int) {
	return startMainHooks(t, cfg, hooks{}, extra...)
}

func startMainHooks(t *testing.T, cfg string, h hooks, extra ...string) (string, chan int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "llamagate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	code := make(chan int, 1)
	args := append([]string{"--addr", "127.0.0.1:0", "--config", path, "--log-level", "error", "--models-dir", t.TempDir()}, extra...)
	h.ready = ready
	go func() { code <- realMain(args, nil, io.Discard, h) }()
	select {
	case addr := <-ready:
		return "http://" + addr, code
	case c := <-code:
		t.Fatalf("gateway exited with %d before listening", c)
	}
	return "", nil
}

func storiesConfig(t *testing.T, extra string) string {
	return fmt.Sprintf(`
defaults: {threads: 1, parallel: 2}
models:
  - id: stories
    path: %s
    ctx_size: 2048
%s`, testmodels.Stories260K(t), extra)
}

// openStream starts a long streamed completion and returns a reader of
// its events' data, after the first one arrived.
func openStream(t *testing.T, base string, maxTokens int) (*bufio.Scanner, func()) {
	t.Helper()
	resp, err := http.Post(base+"/v1/completions", "application/json", strings.NewReader(
		fmt.Sprintf(`{"model":"stories","prompt":"Once upon a time","max_tokens":%d,"ignore_eos":true,"stream":true}`, maxTokens)))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: ") {
			break
		}
	}
	return sc, func() { resp.Body.Close() }
}

// restOfStream reads the remaining events: their count, the last data
// line, and whether [DONE] came.
func restOfStream(sc *bufio.Scanner) (n int, last string, done bool) {
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "data: ") {
			continue
		}
		if l == "data: [DONE]" {
			done = true
			continue
		}
		n++
		last = l
	}
	return n, last, done
}

func waitExit(t *testing.T, code chan int) int {
	t.Helper()
	select {
	case c := <-code:
		return c
	case <-time.After(60 * time.Second):
		t.Fatal("the gateway did not exit within 60s of SIGTERM")
	}
	return -1
}

// TestSIGTERMLetsStreamsFinish sends the process SIGTERM while a stream
// runs: the stream completes normally and the gateway exits 0.
func TestSIGTERMLetsStreamsFinish(t *testing.T) {
	base, code := startMain(t, storiesConfig(t, ""))
	sc, closeBody := openStream(t, base, 600)
	defer closeBody()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	n, last, done := restOfStream(sc)
	if !done || !strings.Contains(last, `"finish_reason":"length"`) {
		t.Fatalf("stream after SIGTERM: %d more events, last %q, [DONE] %v", n, last, done)
	}
	if c := waitExit(t, code); c != 0 {
		t.Fatalf("exit status %d", c)
	}
}

// TestDrainTimeoutEndsStreamsWithAnError: a stream that outlasts the
// drain timeout ends with a server_shutting_down error event, not a cut
// connection, and the gateway still exits 0.
func TestDrainTimeoutEndsStreamsWithAnError(t *testing.T) {
	base, code := startMain(t, storiesConfig(t, "server: {drain_timeout: 50ms}"))
	sc, closeBody := openStream(t, base, 2000)
	defer closeBody()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_, last, done := restOfStream(sc)
	if done || !strings.Contains(last, `"code":"server_shutting_down"`) {
		t.Fatalf("last event %q, [DONE] %v: want a server_shutting_down error event", last, done)
	}
	if c := waitExit(t, code); c != 0 {
		t.Fatalf("exit status %d", c)
	}
}

func TestReadinessReportsAFailedPinnedModel(t *testing.T) {
	started := make(chan struct{})
	base, code := startMainHooks(t, `
models:
  - id: broken
    path: /nonexistent/broken.gguf
    pinned: true
`, hooks{started: func() { close(started) }})
	defer func() {
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
		waitExit(t, code)
	}()
	<-started
	resp, err := http.Get(base + "/health/ready")
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Status, Reason string }
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(body.Reason, "pinned model failed") {
		t.Fatalf("ready %d %+v with a failed pinned model", resp.StatusCode, body)
	}
	if resp, err := http.Get(base + "/health"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("liveness: %v %v", resp, err)
	}
}

func TestRefusesPublicAddressWithoutKeys(t *testing.T) {
	err := run(context.Background(), []string{"--addr", "0.0.0.0:0", "--models-dir", t.TempDir(), "--log-level", "error"}, hooks{})
	if err == nil || !strings.Contains(err.Error(), "--insecure-no-auth") {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "0.0.0.0:0", "--insecure-no-auth", "--models-dir", t.TempDir(), "--log-level", "error"}, hooks{ready: ready})
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("with --insecure-no-auth: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestHashKeyAndConfigCommands(t *testing.T) {
	var out bytes.Buffer
	if c := realMain([]string{"hash-key"}, strings.NewReader("my-long-secret-0123456789\n"), &out, hooks{}); c != 0 {
		t.Fatalf("hash-key exit %d", c)
	}
	hash := strings.TrimSpace(out.String())
	if hash != auth.HashSecret("my-long-secret-0123456789") {
		t.Fatalf("hash-key printed %q", hash)
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("server:\n  addr: x\nmodels:\n  - id: a\n"), 0o644)
	if c := realMain([]string{"config", "check", bad}, nil, io.Discard, hooks{}); c != 1 {
		t.Fatalf("config check of a bad file exit %d", c)
	}
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte(fmt.Sprintf("auth:\n  keys:\n    - {id: alice, hash: %s}\n", hash)), 0o644)
	out.Reset()
	if c := realMain([]string{"config", "check", good}, nil, &out, hooks{}); c != 0 {
		t.Fatalf("config check of a good file exit %d", c)
	}

	t.Setenv("LLAMAGATE_MODELS_DIR", "/from/env")
	out.Reset()
	if c := realMain([]string{"config", "print", "--config", good}, nil, &out, hooks{}); c != 0 {
		t.Fatalf("config print exit %d", c)
	}
	printed := out.String()
	if !strings.Contains(printed, "models_dir: /from/env") || strings.Contains(printed, hash) || !strings.Contains(printed, "id: alice") {
		t.Fatalf("config print:\n%s", printed)
	}
	out.Reset()
	realMain([]string{"config", "print", "--config", good, "--models-dir", "/from/flag"}, nil, &out, hooks{})
	if !strings.Contains(out.String(), "models_dir: /from/flag") {
		t.Fatalf("a flag does not win over the environment:\n%s", out.String())
	}
}
