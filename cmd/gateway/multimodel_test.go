package main

import (
	"bufio"
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

	"github.com/llamagate/llamagate/ggufgen"
	"github.com/llamagate/llamagate/internal/testmodels"
)

// multiGateway runs the whole gateway with three real models and room for
// two: stories260K and two random-weight models from the GGUF writer.
type multiGateway struct {
	t        *testing.T
	base     string
	dir      string
	reloaded chan struct{}
}

func startMultiGateway(t *testing.T) *multiGateway {
	t.Helper()
	dir := t.TempDir()
	modelsDir := filepath.Join(dir, "models")
	if err := os.MkdirAll(modelsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"gen-b", "gen-c"} {
		if err := ggufgen.WriteFile(filepath.Join(dir, id+".gguf"), ggufgen.Options{Shape: ggufgen.ShapeDemo, Type: ggufgen.Q8_0, Seed: uint64(i + 2)}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf(`
models_dir: %s
defaults: {threads: 1, parallel: 2, ctx_size: 512}
cache: {max_loaded_models: 2}
models:
  - id: stories
    path: %s
    aliases: [a]
    ctx_size: 2048
  - id: gen-b
    path: gen-b.gguf
    aliases: [b]
  - id: gen-c
    path: gen-c.gguf
    aliases: [c]
`, modelsDir, testmodels.Stories260K(t))
	cfgPath := filepath.Join(dir, "llamagate.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	g := &multiGateway{t: t, dir: modelsDir, reloaded: make(chan struct{}, 16)}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--config", cfgPath, "--log-level", "warn"},
			hooks{ready: ready, reloaded: func() { g.reloaded <- struct{}{} }})
	}()
	select {
	case addr := <-ready:
		g.base = "http://" + addr
	case err := <-done:
		t.Fatalf("gateway did not start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway exited with %v", err)
		}
	})
	return g
}

func (g *multiGateway) complete(model string) {
	g.t.Helper()
	resp, err := http.Post(g.base+"/v1/completions", "application/json",
		strings.NewReader(`{"model":"`+model+`","prompt":"Once","max_tokens":4}`))
	if err != nil {
		g.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		g.t.Fatalf("%s: %d %s", model, resp.StatusCode, b)
	}
}

type adminState struct {
	Status string
	Leases int
}

// admin returns each model's status and leases, from the admin view.
func (g *multiGateway) admin() map[string]adminState {
	g.t.Helper()
	resp, err := http.Get(g.base + "/admin/models")
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Data []struct {
			ID     string
			Status string
			Leases int
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		g.t.Fatal(err)
	}
	out := map[string]adminState{}
	for _, m := range v.Data {
		out[m.ID] = adminState{m.Status, m.Leases}
	}
	return out
}

// states returns each model's status.
func (g *multiGateway) states() map[string]string {
	out := map[string]string{}
	for id, st := range g.admin() {
		out[id] = st.Status
	}
	return out
}

func (g *multiGateway) leases(id string) int { return g.admin()[id].Leases }

// residents returns the models that are loaded (unloading counts as gone:
// its memory is being freed and it takes no requests).
func (g *multiGateway) residents() []string {
	var out []string
	states := g.states()
	for _, id := range []string{"gen-b", "gen-c", "stories"} {
		if states[id] == "loaded" {
			out = append(out, id)
		}
	}
	return out
}

func TestRoundRobinEvictsLeastRecentlyUsed(t *testing.T) {
	g := startMultiGateway(t)
	for _, step := range []struct {
		model string
		want  string
	}{
		{"a", "stories"},
		{"b", "gen-b stories"},
		{"c", "gen-b gen-c"}, // stories was the least recent
		{"b", "gen-b gen-c"}, // a hit evicts nothing
		{"a", "gen-b stories"},
		{"c", "gen-c stories"},
	} {
		g.complete(step.model)
		if got := strings.Join(g.residents(), " "); got != step.want {
			t.Fatalf("after %s: loaded %q, want %q (states %v)", step.model, got, step.want, g.states())
		}
	}
}

// TestStreamSurvivesEvictionsOfOthers streams from one model while the two
// others are loaded and evicted in turn: the leased model is never the
// victim, and its stream arrives whole.
func TestStreamSurvivesEvictionsOfOthers(t *testing.T) {
	g := startMultiGateway(t)
	// Long enough (seconds on this model) to outlast the requests below;
	// the loop checks that it does.
	const n = 2000
	resp, err := http.Post(g.base+"/v1/completions", "application/json", strings.NewReader(
		fmt.Sprintf(`{"model":"stories","prompt":"Once upon a time","max_tokens":%d,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}`, n)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	events, finish, completion := 0, "", 0
	readEvent := func() bool {
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "data: ") {
				continue
			}
			data := strings.TrimPrefix(line, "data: ")
			if data == "[DONE]" {
				return false
			}
			var chunk struct {
				Choices []struct {
					FinishReason *string `json:"finish_reason"`
				}
				Usage *struct {
					CompletionTokens int `json:"completion_tokens"`
				}
				Error any
			}
			if err := json.Unmarshal([]byte(data), &chunk); err != nil || chunk.Error != nil {
				t.Fatalf("bad event %q: %v", data, err)
			}
			events++
			if len(chunk.Choices) > 0 && chunk.Choices[0].FinishReason != nil {
				finish = *chunk.Choices[0].FinishReason
			}
			if chunk.Usage != nil {
				completion = chunk.Usage.CompletionTokens
			}
			return true
		}
		return false
	}
	if !readEvent() {
		t.Fatal("stream ended at once")
	}
	for _, m := range []string{"b", "c", "b", "c"} {
		if g.leases("stories") == 0 {
			t.Fatal("the stream ended before the other models were switched; the test needs a longer stream")
		}
		g.complete(m)
		if st := g.states()["stories"]; st != "loaded" {
			t.Fatalf("streaming model is %s after a request to %s", st, m)
		}
	}
	for readEvent() {
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if finish != "length" || completion != n {
		t.Fatalf("stream ended with finish %q after %d events and %d tokens, want length after %d", finish, events, completion, n)
	}
}

func TestSIGHUPPicksUpANewFile(t *testing.T) {
	g := startMultiGateway(t)
	if err := ggufgen.WriteFile(filepath.Join(g.dir, "fresh.gguf.tmp"), ggufgen.Options{Shape: ggufgen.ShapeDemo, Type: ggufgen.Q8_0, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(g.dir, "fresh.gguf.tmp"), filepath.Join(g.dir, "fresh.gguf")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.reloaded:
	case <-time.After(30 * time.Second):
		t.Fatal("no reload after SIGHUP")
	}
	g.complete("fresh")
	if g.states()["fresh"] != "loaded" {
		t.Fatalf("states %v", g.states())
	}
}
