package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/llamagate/llamagate/internal/testmodels"
	"github.com/llamagate/llamagate/internal/testredis"
)

// startRun runs a gateway on the given config until the test ends.
func startRun(t *testing.T, cfg string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "llamagate.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--config", path, "--log-level", "error", "--models-dir", t.TempDir()}, hooks{ready: ready})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("gateway did not start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway exited with %v", err)
		}
	})
	return "http://" + addr
}

// TestRemoteUpstreamAndFallback runs two gateways: the front one serves
// "remote" by forwarding to the back one, and "down" (an upstream nobody
// listens on) falls back to a local model.
func TestRemoteUpstreamAndFallback(t *testing.T) {
	stories := testmodels.Stories260K(t)
	back := startRun(t, fmt.Sprintf(`
defaults: {threads: 1, parallel: 2, ctx_size: 512}
models:
  - id: stories
    path: %s
`, stories))
	port, err := testredis.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_UPSTREAM_KEY", "upstream-secret")
	front := startRun(t, fmt.Sprintf(`
defaults: {threads: 1, parallel: 2, ctx_size: 512}
models:
  - id: remote
    backend: openai
    base_url: %s/v1
    upstream_model: stories
    api_key_env: TEST_UPSTREAM_KEY
  - id: down
    backend: openai
    base_url: http://127.0.0.1:%d/v1
    fallbacks: [local]
  - id: local
    path: %s
`, back, port, stories))
	cfg := goopenai.DefaultConfig("unused")
	cfg.BaseURL = front + "/v1"
	client := goopenai.NewClientWithConfig(cfg)
	ctx := context.Background()
	req := goopenai.CompletionRequest{Model: "remote", Prompt: "Once upon a time", MaxTokens: 12}

	// Whole: the answer names the front's model and carries usage.
	resp, err := client.CreateCompletion(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Model != "remote" || resp.Choices[0].Text == "" || resp.Usage.CompletionTokens != 12 {
		t.Fatalf("whole: %+v", resp)
	}
	// The same seeded request to the back directly gives the same text.
	// (go-openai omits temperature 0, so greedy is not expressible here.)
	seed := 7
	direct := goopenai.DefaultConfig("unused")
	direct.BaseURL = back + "/v1"
	dresp, err := goopenai.NewClientWithConfig(direct).CreateCompletion(ctx, goopenai.CompletionRequest{Model: "stories", Prompt: "Once upon a time", MaxTokens: 12, Seed: &seed})
	if err != nil {
		t.Fatal(err)
	}
	req.Seed = &seed
	resp, err = client.CreateCompletion(ctx, req)
	if err != nil || resp.Choices[0].Text != dresp.Choices[0].Text {
		t.Fatalf("forwarded %q, direct %q (%v)", resp.Choices[0].Text, dresp.Choices[0].Text, err)
	}

	// Streamed, chunk by chunk.
	req.Stream = true
	stream, err := client.CreateCompletionStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	chunks := 0
	for {
		c, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if c.Model != "remote" {
			t.Fatalf("chunk model %q", c.Model)
		}
		if len(c.Choices) > 0 {
			text.WriteString(c.Choices[0].Text)
		}
		chunks++
	}
	stream.Close()
	if text.String() != dresp.Choices[0].Text || chunks < 2 {
		t.Fatalf("stream %q in %d chunks, want %q", text.String(), chunks, dresp.Choices[0].Text)
	}

	// The upstream is down: the local fallback answers.
	resp, err = client.CreateCompletion(ctx, goopenai.CompletionRequest{Model: "down", Prompt: "Once upon a time", MaxTokens: 4})
	if err != nil || resp.Model != "local" {
		t.Fatalf("fallback: %+v %v", resp, err)
	}

	// A client error found upstream (max_tokens beyond its context) passes through as 400.
	_, err = client.CreateCompletion(ctx, goopenai.CompletionRequest{Model: "remote", Prompt: "x", MaxTokens: 70000})
	var apiErr *goopenai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 400 {
		t.Fatalf("upstream 400 should pass through: %v", err)
	}
}
