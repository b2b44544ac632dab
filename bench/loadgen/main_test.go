package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeGateway streams max_tokens one-word chunks for every request, with
// prompt_tokens about 1.5 per word; when short > 0 it answers that many
// tokens fewer than asked (a usage bug to catch).
func fakeGateway(t *testing.T, short int) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			w.Write([]byte(`{"status":"ok"}`))
			return
		case "/v1/completions":
		default:
			http.NotFound(w, r)
			return
		}
		n.Add(1)
		var req completionRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		prompt := len(strings.Fields(req.Prompt))*3/2 + 1
		out := max(req.MaxTokens-short, 1)
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range out {
			io.WriteString(w, textChunk(fmt.Sprintf(" t%d", i)))
			w.(http.Flusher).Flush()
			time.Sleep(200 * time.Microsecond)
		}
		io.WriteString(w, finishChunk("length"))
		io.WriteString(w, usageChunk(prompt, out))
		io.WriteString(w, done)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr strings.Builder
	code := realMain(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestSweepEndToEnd(t *testing.T) {
	srv, n := fakeGateway(t, 0)
	dir := t.TempDir()
	code, out, errOut := runMain(t, "-url", srv.URL, "-model", "m", "-concurrency", "1,2,3", "-requests", "2",
		"-prompt-tokens", "30", "-max-tokens", "5", "-label", "sw", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	// calibration + warm-up + (1+2+3)×2
	if got := n.Load(); got != 2+12 {
		t.Errorf("%d requests, want 14", got)
	}
	if !strings.Contains(out, "| 3 | 6/6 |") || !strings.Contains(out, "None: all 14 responses passed") {
		t.Errorf("table:\n%s", out)
	}
	if !strings.Contains(errOut, "c=3") {
		t.Errorf("no progress line on stderr: %q", errOut)
	}
	var rep Report
	readJSON(t, filepath.Join(dir, "sw.json"), &rep)
	if len(rep.Levels) != 3 || rep.Levels[2].Stats.OutputTokens != 30 || rep.NProc < 1 || rep.Command == "" || rep.Date == "" {
		t.Errorf("report %+v", rep)
	}
	// 1.5 tokens per word: a 30-token prompt is about 20 words.
	if p := rep.Levels[0].Stats.PromptTokens; p < 25 || p > 36 {
		t.Errorf("mean prompt tokens %v, want about 30", p)
	}
	checkSVG(t, filepath.Join(dir, "sw.svg"))
	if md, err := os.ReadFile(filepath.Join(dir, "sw.md")); err != nil || string(md) != out {
		t.Errorf("sw.md differs from stdout (%v)", err)
	}
}

func TestSweepReportsUsageMismatch(t *testing.T) {
	srv, _ := fakeGateway(t, 1)
	dir := t.TempDir()
	code, out, _ := runMain(t, "-url", srv.URL, "-model", "m", "-concurrency", "2", "-requests", "1",
		"-max-tokens", "4", "-calibrate=false", "-warmup", "0", "-label", "bad", "-out", dir, "-progress=false")
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if !strings.Contains(out, "usage.completion_tokens != max_tokens") || !strings.Contains(out, "| 2 | 0/2 |") {
		t.Errorf("output:\n%s", out)
	}
}

func TestMixedEndToEnd(t *testing.T) {
	srv, _ := fakeGateway(t, 0)
	dir := t.TempDir()
	code, out, errOut := runMain(t, "-url", srv.URL, "-model", "m", "-mode", "mixed", "-concurrency", "3",
		"-prompt-tokens", "10", "-max-tokens", "4", "-long-prompt-tokens", "100", "-long-delay", "30ms",
		"-label", "mx", "-out", dir, "-progress=false")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var rep Report
	readJSON(t, filepath.Join(dir, "mx.json"), &rep)
	m := rep.Mixed
	if m == nil || m.Long == nil || !m.Long.OK || m.Short.Requests == 0 || m.Outside.N == 0 {
		t.Fatalf("mixed %+v", m)
	}
	if m.WindowToMs <= m.WindowFromMs {
		t.Errorf("window %v..%v", m.WindowFromMs, m.WindowToMs)
	}
	if !strings.Contains(out, "during the long prefill") {
		t.Errorf("output:\n%s", out)
	}
	checkSVG(t, filepath.Join(dir, "mx.svg"))
}

func TestWaitHealthAndFreePort(t *testing.T) {
	srv, _ := fakeGateway(t, 0)
	if code, _, e := runMain(t, "-url", srv.URL, "-wait-health", "2s"); code != 0 {
		t.Errorf("wait-health exit %d: %s", code, e)
	}
	code, out, _ := runMain(t, "-free-port")
	var port int
	if _, err := fmt.Sscan(out, &port); code != 0 || err != nil || port <= 0 {
		t.Errorf("free-port printed %q (exit %d)", out, code)
	}
}

func TestPrompts(t *testing.T) {
	pm := promptMaker{seed: 42, tokensPerWord: 2}
	if got := pm.words(100); got != 50 {
		t.Errorf("words(100) = %d, want 50", got)
	}
	a, b := pm.prompt(0, 100, 0, 0, 0), pm.prompt(0, 100, 0, 1, 0)
	if a == b || len(strings.Fields(a)) != 50 {
		t.Errorf("prompts %q / %q", a, b)
	}
	if a != pm.prompt(0, 100, 0, 0, 0) {
		t.Error("prompts are not deterministic")
	}
	if strings.Fields(a)[0] == strings.Fields(b)[0] && strings.Fields(a)[1] == strings.Fields(b)[1] {
		t.Error("distinct prompts share their first two words")
	}
	s1, s2 := pm.prompt(200, 10, 0, 0, 0), pm.prompt(200, 10, 3, 1, 5)
	prefix := pm.sharedPrefix(200)
	if !strings.HasPrefix(s1, prefix+" ") || !strings.HasPrefix(s2, prefix+" ") || s1 == s2 {
		t.Errorf("shared prefix missing or suffixes equal")
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// checkSVG checks that the file is well-formed XML with an svg root.
func checkSVG(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(strings.NewReader(string(data)))
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" || !strings.Contains(string(data), "<polyline") && !strings.Contains(string(data), "<circle") {
		t.Errorf("%s: root %q, no data drawn", path, root)
	}
}
