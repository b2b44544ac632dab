package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readmeCurls returns the curl commands of the README's sh blocks that talk
// to the local gateway.
func readmeCurls(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, block := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		cmd := strings.TrimSpace(block[1])
		if strings.HasPrefix(cmd, "curl ") && strings.Contains(cmd, "127.0.0.1:8080") {
			out = append(out, cmd)
		}
	}
	return out
}

// TestReadmeCurlExamples runs the gateway as make run does (an empty models
// folder gets the demo model) and executes the README's curl examples
// against it.
func TestReadmeCurlExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed to run the README's examples")
	}
	cmds := readmeCurls(t)
	if len(cmds) < 3 {
		t.Fatalf("found %d curl examples in the README, expected at least 3", len(cmds))
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--models-dir", dir, "--demo-model-if-empty", "--log-level", "warn", "--threads", "1"}, hooks{ready: ready})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("gateway did not start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("gateway did not start within 60s")
	}
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway exited with %v", err)
		}
	}()
	for _, c := range cmds {
		c = strings.ReplaceAll(c, "127.0.0.1:8080", addr)
		out, err := exec.Command("bash", "-c", c).Output()
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		text := string(out)
		if strings.Contains(c, `"stream": true`) {
			if !strings.HasPrefix(text, "data: {") || !strings.HasSuffix(text, "data: [DONE]\n\n") {
				t.Fatalf("%s: not an event stream: %q", c, text)
			}
			continue
		}
		var body map[string]any
		if err := json.Unmarshal(out, &body); err != nil || body["error"] != nil {
			t.Fatalf("%s: %q", c, text)
		}
		if _, ok := body["choices"]; !ok && body["object"] != "list" {
			t.Fatalf("%s: unexpected answer %q", c, text)
		}
	}
}
