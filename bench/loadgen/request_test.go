package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Scripted stream pieces, shaped like llamagate's.
func textChunk(text string) string {
	b, _ := json.Marshal(text)
	return `data: {"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"text":` + string(b) + `,"index":0,"logprobs":null,"finish_reason":null}]}` + "\n\n"
}

func finishChunk(reason string) string {
	return `data: {"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"` + reason + `"}]}` + "\n\n"
}

func usageChunk(prompt, completion int) string {
	return fmt.Sprintf(`data: {"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":0}}}`+"\n\n",
		prompt, completion, prompt+completion)
}

const done = "data: [DONE]\n\n"

// goodStream is a correct stream of n one-token chunks.
func goodStream(n int) []string {
	var s []string
	for i := range n {
		s = append(s, textChunk(fmt.Sprintf(" w%d", i)))
	}
	return append(s, finishChunk("length"), usageChunk(7, n), done)
}

// scriptServer answers every completion request with the events of
// script, flushing each and pausing gap between them. It checks the
// request body first.
func scriptServer(t *testing.T, status int, contentType string, gap time.Duration, script []string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model         string   `json:"model"`
			Prompt        string   `json:"prompt"`
			MaxTokens     *int     `json:"max_tokens"`
			Temperature   *float64 `json:"temperature"`
			Stream        bool     `json:"stream"`
			IgnoreEOS     bool     `json:"ignore_eos"`
			StreamOptions struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		if r.URL.Path != "/v1/completions" || r.Method != http.MethodPost {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Errorf("decoding the request: %v", err)
		}
		if req.Model != "m" || req.Prompt == "" || req.MaxTokens == nil || req.Temperature == nil || *req.Temperature != 0 ||
			!req.Stream || !req.IgnoreEOS || !req.StreamOptions.IncludeUsage {
			t.Errorf("unexpected request %+v", req)
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		for i, ev := range script {
			if i > 0 && gap > 0 {
				time.Sleep(gap)
			}
			w.Write([]byte(ev))
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func doScript(t *testing.T, status int, contentType string, gap time.Duration, maxTokens int, script []string) *Result {
	t.Helper()
	srv := scriptServer(t, status, contentType, gap, script)
	q := &requester{client: newLoopbackClient(1, true), url: srv.URL + "/v1/completions", model: "m", timeout: 10 * time.Second, origin: time.Now(), now: time.Now}
	return q.do(context.Background(), "hello", maxTokens)
}

func kinds(r *Result, sev string) []string {
	var k []string
	for _, is := range r.Issues {
		if is.Severity == sev {
			k = append(k, is.Kind)
		}
	}
	return k
}

func TestGoodStreamTiming(t *testing.T) {
	const gap = 15 * time.Millisecond
	r := doScript(t, 200, "text/event-stream", gap, 4, goodStream(4))
	if !r.OK || len(r.Issues) != 0 {
		t.Fatalf("ok %v, issues %+v", r.OK, r.Issues)
	}
	if r.Chunks != 4 || r.Usage == nil || r.Usage.CompletionTokens != 4 || r.Finish != "length" || !r.GotDone {
		t.Fatalf("result %+v", r)
	}
	if r.TTFTMs < 0 || r.TTFTMs > r.E2EMs {
		t.Errorf("TTFT %v ms, e2e %v ms", r.TTFTMs, r.E2EMs)
	}
	if len(r.ITLMs) != 3 || len(r.TokenAtMs) != 4 {
		t.Fatalf("%d ITLs, %d token times", len(r.ITLMs), len(r.TokenAtMs))
	}
	for _, v := range r.ITLMs {
		if v < 0.8*float64(gap/time.Millisecond) {
			t.Errorf("ITL %.2f ms, want about %v (events are stamped on arrival)", v, gap)
		}
	}
	if r.E2EMs < 6*float64(gap/time.Millisecond)*0.8 {
		t.Errorf("e2e %.1f ms shorter than the 6 gaps of the script", r.E2EMs)
	}
}

// TestStreamFakeClock checks the arithmetic of TTFT and ITL with a clock
// that advances 10 ms per reading.
func TestStreamFakeClock(t *testing.T) {
	t0 := time.Unix(0, 0)
	n := 0
	now := func() time.Time { n++; return t0.Add(time.Duration(n) * 10 * time.Millisecond) }
	q := &requester{now: now, origin: t0}
	r := newResult(3, t0, "m")
	r.start = t0
	q.read(strings.NewReader(strings.Join(goodStream(3), "")), r)
	if !r.OK {
		t.Fatalf("issues %+v", r.Issues)
	}
	if r.TTFTMs != 10 {
		t.Errorf("TTFT %v, want 10", r.TTFTMs)
	}
	if fmt.Sprint(r.ITLMs) != "[10 10]" || fmt.Sprint(r.TokenAtMs) != "[10 20 30]" {
		t.Errorf("ITL %v, token times %v", r.ITLMs, r.TokenAtMs)
	}
}

func TestStreamChecks(t *testing.T) {
	good := goodStream(3)
	tests := []struct {
		name      string
		status    int
		ctype     string
		maxTokens int
		script    []string
		ok        bool
		errors    []string
		malformed []string
		warnings  []string
	}{
		{name: "good", maxTokens: 3, script: good, ok: true},
		{name: "comments and CRLF", maxTokens: 1, ok: true, script: []string{
			": ping\r\n\r\n", strings.ReplaceAll(textChunk("a"), "\n", "\r\n"), finishChunk("length"), usageChunk(2, 1), done}},
		{name: "merged chunk is only a warning", maxTokens: 3, ok: true,
			script:   []string{textChunk("ab"), textChunk("c"), finishChunk("length"), usageChunk(7, 3), done},
			warnings: []string{"text chunks != usage.completion_tokens"}},
		{name: "usage on the finish chunk (llama-server) is only a warning", maxTokens: 1, ok: true,
			script: []string{textChunk("a"), strings.Replace(finishChunk("length"), `]}`,
				`],"usage":{"prompt_tokens":2,"completion_tokens":1,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":0}}}`, 1), done},
			warnings: []string{"usage in a chunk that has choices"}},
		{name: "usage mismatch", maxTokens: 4, script: good,
			errors: []string{"usage.completion_tokens != max_tokens"}},
		{name: "finish stop despite ignore_eos", maxTokens: 3,
			script: []string{textChunk("a"), textChunk("b"), textChunk("c"), finishChunk("stop"), usageChunk(7, 3), done},
			errors: []string{"finish_reason is not length despite ignore_eos"}},
		{name: "no [DONE]", maxTokens: 3, script: good[:len(good)-1],
			errors: []string{"stream ended without data: [DONE]"}},
		{name: "no usage", maxTokens: 3, script: append(append([]string{}, good[:4]...), done),
			errors: []string{"no usage chunk despite include_usage"}},
		{name: "no finish", maxTokens: 3, script: append(append([]string{}, good[:3]...), good[4:]...),
			errors: []string{"no chunk with a finish_reason"}, malformed: []string{"usage chunk before the finish_reason chunk"}},
		{name: "bad JSON", maxTokens: 3, ok: true, script: append([]string{"data: {\"id\":\n\n"}, good...),
			malformed: []string{"event is not JSON"}},
		{name: "event after [DONE]", maxTokens: 3, ok: true, script: append(append([]string{}, good...), textChunk("x")),
			malformed: []string{"event after [DONE]"}},
		{name: "text after finish", maxTokens: 3, ok: true,
			script:    []string{textChunk("a"), textChunk("b"), finishChunk("length"), textChunk("c"), usageChunk(7, 3), done},
			malformed: []string{"text after finish_reason"}},
		{name: "wrong object and changing id", maxTokens: 1, ok: true,
			script: []string{strings.Replace(textChunk("a"), `"text_completion"`, `"chat.completion.chunk"`, 1),
				strings.Replace(finishChunk("length"), "cmpl-1", "cmpl-2", 1), usageChunk(1, 1), done},
			malformed: []string{"object is not text_completion", "id changes within a stream"}},
		{name: "bad total", maxTokens: 1, ok: true,
			script:    []string{textChunk("a"), finishChunk("length"), strings.Replace(usageChunk(2, 1), `"total_tokens":3`, `"total_tokens":9`, 1), done},
			malformed: []string{"usage.total_tokens != prompt + completion"}},
		{name: "error event", maxTokens: 3,
			script: []string{textChunk("a"), `data: {"error":{"message":"kv cache full","type":"server_error"}}` + "\n\n"},
			errors: []string{"error event in the stream"}},
		{name: "cut inside an event", maxTokens: 3, script: []string{textChunk("a"), "data: {\"id\""},
			errors:    []string{"stream ended without data: [DONE]"},
			malformed: []string{"stream ended inside an event"}},
		{name: "HTTP error", status: 503, ctype: "application/json", maxTokens: 3,
			script: []string{`{"error":{"message":"overloaded","type":"server_error"}}`},
			errors: []string{"HTTP status 503"}},
		{name: "wrong content type", ctype: "application/json", maxTokens: 3, ok: true, script: good,
			malformed: []string{"Content-Type is not text/event-stream"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ctype := tt.status, tt.ctype
			if status == 0 {
				status = 200
			}
			if ctype == "" {
				ctype = "text/event-stream"
			}
			r := doScript(t, status, ctype, 0, tt.maxTokens, tt.script)
			if r.OK != tt.ok {
				t.Errorf("ok %v, want %v; issues %+v", r.OK, tt.ok, r.Issues)
			}
			check := func(sev string, want []string) {
				got := kinds(r, sev)
				for _, w := range want {
					if !strings.Contains(strings.Join(got, "|"), w) {
						t.Errorf("%s issues %q lack %q", sev, got, w)
					}
				}
				if len(want) == 0 && len(got) > 0 && sev != sevError {
					t.Errorf("unexpected %s issues %q", sev, got)
				}
			}
			check(sevError, tt.errors)
			check(sevMalformed, tt.malformed)
			check(sevWarning, tt.warnings)
			if tt.ok && len(kinds(r, sevError)) > 0 {
				t.Errorf("errors on an ok request: %+v", r.Issues)
			}
		})
	}
}

func TestHTTPErrorDetail(t *testing.T) {
	r := doScript(t, 404, "application/json", 0, 3, []string{`{"error":{"message":"model \"x\" not found"}}`})
	if r.OK || r.Status != 404 || len(r.Issues) != 1 || r.Issues[0].Detail != `model "x" not found` {
		t.Fatalf("result %+v", r)
	}
}
