package remote

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llamagate/llamagate/openai"
)

const chatBody = `{"model":"alias","messages":[{"role":"user","content":"hi"}]}`
const streamBody = `{"model":"alias","messages":[{"role":"user","content":"hi"}],"stream":true}`

func TestWholeAnswer(t *testing.T) {
	answer := "{\"id\":\"x\", \"object\":\"chat.completion\", \"model\" : \"up\", \"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"a\\udc80b\xff\xfe <&> \\u2028\"},\"finish_reason\":\"stop\"}], \"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12}}"
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answer)
	})
	c := clientFor(t, u)
	rec := newRecorder()
	body := "{\"model\":\"alias\",\"messages\":[{\"role\":\"user\",\"content\":\"\\ud800 <b> \xc3\xa9\"}],\"stream\":false}"
	usage, err := c.Forward(context.Background(), "/chat/completions", []byte(body), "alias", rec)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(body, `"alias"`, `"up"`, 1); u.lastBody() != want {
		t.Errorf("upstream got %q, want %q", u.lastBody(), want)
	}
	if u.auths[0] != "Bearer "+testKey || u.paths[0] != "/v1/chat/completions" {
		t.Errorf("upstream got auth %q path %q", u.auths[0], u.paths[0])
	}
	if want := strings.Replace(answer, `"model" : "up"`, `"model" : "alias"`, 1); rec.String() != want {
		t.Errorf("client got\n%q\nwant\n%q", rec.String(), want)
	}
	if rec.status != 200 || rec.header.Get("Content-Type") != "application/json" || rec.header.Get("Content-Length") != fmt.Sprint(len(answer)+3) {
		t.Errorf("status %d, content type %q", rec.status, rec.header.Get("Content-Type"))
	}
	if usage != (Usage{PromptTokens: 5, CompletionTokens: 7}) {
		t.Errorf("usage %+v", usage)
	}
}

func TestWholeAnswerWithoutUsage(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"object":"text_completion","model":"up","choices":[{"index":0,"text":"x","finish_reason":"stop"}]}`)
	})
	rec := newRecorder()
	usage, err := clientFor(t, u).Forward(context.Background(), "/completions", []byte(`{"model":"alias","prompt":"p"}`), "alias", rec)
	if err != nil {
		t.Fatal(err)
	}
	if !usage.Estimated || u.paths[0] != "/v1/completions" {
		t.Errorf("usage %+v, path %q", usage, u.paths[0])
	}
}

func TestStreamPassThrough(t *testing.T) {
	weird := "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\", \"model\" :\"up\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\\udc80b\xff\xfe <&> \\u2028 \\\"q\\\"\"},\"finish_reason\":null}]}"
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		sse(w, ": ping before any data\n\n", chunk("Hel"), ": ping\n\n", data(weird),
			// one event over two data lines
			"data: {\"id\":\"c1\",\"model\":\"up\",\n"+`data: "choices":[{"index":0,"delta":{"content":"lo"}}]}`+"\n\n",
			finish("stop"), done)
	})
	rec := newRecorder()
	usage, err := clientFor(t, u).Forward(context.Background(), "/chat/completions", []byte(streamBody), "alias", rec)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		strings.TrimSuffix(strings.Replace(chunk("Hel"), `"model":"up"`, `"model":"alias"`, 1), "\n\n"),
		": ping",
		"data: " + strings.Replace(weird, `"model" :"up"`, `"model" :"alias"`, 1),
		`data: {"id":"c1","model":"alias","choices":[{"index":0,"delta":{"content":"lo"}}]}`,
		strings.TrimSuffix(strings.Replace(finish("stop"), `"model":"up"`, `"model":"alias"`, 1), "\n\n"),
		"data: [DONE]",
	}
	got := events(rec.String())
	if len(got) != len(want) {
		t.Fatalf("got %d events:\n%s", len(got), rec.String())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
	if !strings.Contains(u.lastBody(), `"model":"up"`) {
		t.Errorf("upstream got %s", u.lastBody())
	}
	h := rec.header
	if h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-cache" || h.Get("X-Accel-Buffering") != "no" {
		t.Errorf("headers %v", h)
	}
	if rec.flushes < len(want) {
		t.Errorf("%d flushes for %d events", rec.flushes, len(want))
	}
	if usage != (Usage{CompletionTokens: 3, Estimated: true}) {
		t.Errorf("usage %+v", usage)
	}
}

func TestStreamUsage(t *testing.T) {
	usageChunk := data(`{"id":"c1","object":"chat.completion.chunk","model":"up","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":2,"total_tokens":13}}`)
	script := func(w http.ResponseWriter, r *http.Request) {
		sse(w, chunk("a"), chunk("b"), finish("stop"), usageChunk, done)
	}
	t.Run("client asked", func(t *testing.T) {
		u := newUpstream(t, script)
		rec := newRecorder()
		body := `{"model":"alias","stream":true,"stream_options":{"include_usage":true}}`
		usage, err := clientFor(t, u).Forward(context.Background(), "/chat/completions", []byte(body), "alias", rec)
		if err != nil {
			t.Fatal(err)
		}
		if usage != (Usage{PromptTokens: 11, CompletionTokens: 2}) {
			t.Errorf("usage %+v", usage)
		}
		if !strings.Contains(rec.String(), `"usage":{"prompt_tokens":11`) {
			t.Errorf("usage chunk missing:\n%s", rec.String())
		}
	})
	t.Run("asked for the client, hidden from it", func(t *testing.T) {
		u := newUpstream(t, script)
		rec := newRecorder()
		c := clientFor(t, u, func(c *Config) { c.StreamUsage = true })
		usage, err := c.Forward(context.Background(), "/chat/completions", []byte(streamBody), "alias", rec)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(u.lastBody(), `"stream_options":{"include_usage":true}`) {
			t.Errorf("upstream got %s", u.lastBody())
		}
		if usage != (Usage{PromptTokens: 11, CompletionTokens: 2}) {
			t.Errorf("usage %+v", usage)
		}
		if strings.Contains(rec.String(), `usage`) || len(events(rec.String())) != 4 {
			t.Errorf("client got:\n%s", rec.String())
		}
	})
	t.Run("usage in the final chunk (llama-server)", func(t *testing.T) {
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			sse(w, chunk("a"), data(`{"model":"up","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}`), done)
		})
		usage, err := clientFor(t, u).Forward(context.Background(), "/chat/completions", []byte(streamBody), "alias", newRecorder())
		if err != nil || usage != (Usage{PromptTokens: 3, CompletionTokens: 1}) {
			t.Errorf("usage %+v, err %v", usage, err)
		}
	})
}

// TestStreamIsIncremental proves nothing is buffered: the upstream holds the
// rest of its answer until the client has read the first chunk through a
// real HTTP proxy.
func TestStreamIsIncremental(t *testing.T) {
	release := make(chan struct{})
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		sse(w, chunk("first"))
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		sse(w, chunk("second"), finish("stop"), done)
	})
	proxy := newProxy(t, clientFor(t, u))

	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	resp := post(t, ctx, proxy.URL+"/v1/chat/completions", streamBody)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("first line: %v", err) // a buffering proxy would end here, at the guard
	}
	if !strings.Contains(line, `"content":"first"`) || !strings.Contains(line, `"model":"alias"`) {
		t.Fatalf("first line %q", line)
	}
	close(release)
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rest), `"content":"second"`) || !strings.HasSuffix(string(rest), done) {
		t.Errorf("rest %q", rest)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
}

func TestCancellation(t *testing.T) {
	t.Run("after the first chunk", func(t *testing.T) {
		sawCancel := make(chan struct{})
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			sse(w, chunk("first"))
			<-r.Context().Done()
			close(sawCancel)
		})
		c := clientFor(t, u)
		rec := newRecorder()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errc := make(chan error, 1)
		go func() {
			_, err := c.Forward(ctx, "/chat/completions", []byte(streamBody), "alias", rec)
			errc <- err
		}()
		select {
		case <-rec.wrote:
		case <-time.After(guard):
			t.Fatal("no first chunk")
		}
		cancel()
		waitClosed(t, sawCancel, "the upstream to see the cancellation")
		err := <-errc
		var ue *UpstreamError
		if !errors.As(err, &ue) || !ue.Started() || ue.Retryable() || !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
		var oe *openai.Error
		if errors.As(err, &oe) || ue.APIError() != nil {
			t.Error("a cancellation mapped to an upstream error")
		}
		if got := events(rec.String()); len(got) != 1 {
			t.Errorf("wrote after the cancellation: %q", got)
		}
	})
	t.Run("before the first byte", func(t *testing.T) {
		entered, sawCancel := make(chan struct{}), make(chan struct{})
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-r.Context().Done()
			close(sawCancel)
		})
		c := clientFor(t, u)
		rec := newRecorder()
		ctx, cancel := context.WithCancelCause(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := c.Forward(ctx, "/chat/completions", []byte(streamBody), "alias", rec)
			errc <- err
		}()
		waitClosed(t, entered, "the request to reach the upstream")
		shutdown := errors.New("shutting down")
		cancel(shutdown)
		waitClosed(t, sawCancel, "the upstream to see the cancellation")
		err := <-errc
		var ue *UpstreamError
		if !errors.As(err, &ue) || ue.Started() || ue.Retryable() || !errors.Is(err, shutdown) {
			t.Fatalf("err %v", err)
		}
		if !rec.untouched() {
			t.Error("response written")
		}
	})
	t.Run("the client hangs up on the proxy", func(t *testing.T) {
		sawCancel := make(chan struct{})
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			sse(w, chunk("first"))
			<-r.Context().Done()
			close(sawCancel)
		})
		proxy := newProxy(t, clientFor(t, u))
		ctx, cancel := context.WithCancel(context.Background())
		resp := post(t, ctx, proxy.URL+"/v1/chat/completions", streamBody)
		if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		cancel()
		resp.Body.Close()
		waitClosed(t, sawCancel, "the upstream to see the hang-up")
	})
}

func TestErrorsBeforeTheFirstByte(t *testing.T) {
	envelope := func(msg, typ, code string) string {
		return fmt.Sprintf(`{"error":{"message":%q,"type":%q,"param":null,"code":%q}}`, msg, typ, code)
	}
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		stream     bool
		wantStatus int
		wantCode   string
		wantType   string
		wantMsg    string
		retryable  bool
		retryAfter int
	}{
		{name: "500", status: 500, body: envelope("boom", "server_error", "x"),
			wantStatus: 502, wantCode: "upstream_error", wantType: "server_error", wantMsg: "boom", retryable: true},
		{name: "503 with Retry-After", status: 503, header: map[string]string{"Retry-After": "7"}, body: envelope("busy", "server_error", "server_overloaded"),
			wantStatus: 503, wantCode: "upstream_overloaded", wantType: "server_error", wantMsg: "busy", retryable: true, retryAfter: 7},
		{name: "429", status: 429, body: envelope("slow down", "rate_limit_error", "rate_limit_exceeded"), stream: true,
			wantStatus: 503, wantCode: "upstream_overloaded", wantType: "server_error", retryable: true},
		{name: "400 passed through", status: 400, body: `{"error":{"message":"bad temperature","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}`,
			wantStatus: 400, wantCode: "invalid_value", wantType: "invalid_request_error", wantMsg: "bad temperature"},
		{name: "400 llama-server numeric code", status: 400, body: `{"error":{"code":400,"message":"context too long","type":"invalid_request_error"}}`, stream: true,
			wantStatus: 400, wantCode: "", wantType: "invalid_request_error", wantMsg: "context too long"},
		{name: "422 FastAPI detail", status: 422, body: `{"detail":[{"loc":["body","messages"],"msg":"field required"}]}`,
			wantStatus: 422, wantType: "upstream_error", wantMsg: "field required"},
		{name: "413 plain text wrapped", status: 413, body: "request body too large\n",
			wantStatus: 413, wantType: "upstream_error", wantMsg: "request body too large"},
		{name: "400 {error: string}", status: 400, body: `{"error":"unknown field"}`,
			wantStatus: 400, wantType: "upstream_error", wantMsg: "unknown field"},
		{name: "502 HTML page", status: 502, body: "<html><body><h1>nginx error</h1></body></html>", stream: true,
			wantStatus: 502, wantCode: "upstream_error", wantType: "server_error", wantMsg: "Bad Gateway", retryable: true},
		{name: "401: the gateway's key", status: 401, body: envelope("Incorrect API key", "authentication_error", "invalid_api_key"),
			wantStatus: 502, wantCode: "upstream_auth_failed", wantType: "server_error", retryable: true},
		{name: "404: the upstream lacks the model", status: 404, body: envelope("model up not found", "invalid_request_error", "model_not_found"),
			wantStatus: 502, wantCode: "upstream_error", wantType: "server_error", wantMsg: "not found", retryable: true},
		{name: "504", status: 504, body: "gateway timeout",
			wantStatus: 504, wantCode: "upstream_timeout", wantType: "timeout_error", retryable: true},
		{name: "200 but an error body", status: 200, body: envelope("no slot", "server_error", "x"),
			wantStatus: 502, wantCode: "upstream_error", wantMsg: "no slot", wantType: "server_error", retryable: true},
		{name: "200 not JSON", status: 200, body: "hello",
			wantStatus: 502, wantCode: "upstream_error", wantType: "server_error", retryable: true},
		{name: "stream answered with JSON", status: 200, header: map[string]string{"Content-Type": "application/json"}, body: `{"choices":[]}`, stream: true,
			wantStatus: 502, wantCode: "upstream_error", wantType: "server_error", retryable: true},
		{name: "stream ends before any event", status: 200, header: map[string]string{"Content-Type": "text/event-stream"}, body: ": ping\n\n", stream: true,
			wantStatus: 502, wantCode: "upstream_error", wantType: "server_error", retryable: true},
		{name: "stream's first event is an error", status: 200, header: map[string]string{"Content-Type": "text/event-stream"}, stream: true,
			body:       ": ping\n\n" + data(envelope("model failed to load", "server_error", "model_load_failed")),
			wantStatus: 502, wantCode: "upstream_error", wantType: "server_error", wantMsg: "model failed to load", retryable: true},
		{name: "stream's first event is a client error", status: 200, header: map[string]string{"Content-Type": "text/event-stream"}, stream: true,
			body:       data(envelope("prompt too long", "invalid_request_error", "context_length_exceeded")),
			wantStatus: 400, wantCode: "context_length_exceeded", wantType: "invalid_request_error", wantMsg: "prompt too long"},
		{name: "llama-server error field", status: 200, header: map[string]string{"Content-Type": "text/event-stream"}, stream: true,
			body:       `error: {"code":503,"message":"Loading model","type":"unavailable_error"}` + "\n\n",
			wantStatus: 503, wantCode: "upstream_overloaded", wantType: "server_error", wantMsg: "Loading model", retryable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			body := chatBody
			if tt.stream {
				body = streamBody
			}
			rec := newRecorder()
			_, err := clientFor(t, u).Forward(context.Background(), "/chat/completions", []byte(body), "alias", rec)
			var ue *UpstreamError
			if !errors.As(err, &ue) {
				t.Fatalf("err %v", err)
			}
			if !rec.untouched() {
				t.Errorf("response written: %d %q", rec.status, rec.String())
			}
			if ue.Started() || ue.Retryable() != tt.retryable {
				t.Errorf("started %v retryable %v", ue.Started(), ue.Retryable())
			}
			var oe *openai.Error
			if !errors.As(err, &oe) {
				t.Fatal("no *openai.Error through errors.As")
			}
			if oe.Status != tt.wantStatus || oe.Code != tt.wantCode || oe.Type != tt.wantType || !strings.Contains(oe.Message, tt.wantMsg) || oe.RetryAfter != tt.retryAfter {
				t.Errorf("got %+v", oe)
			}
			for _, s := range []string{err.Error(), oe.Message, rec.String()} {
				if strings.Contains(s, testKey) || strings.Contains(oe.Message, u.Listener.Addr().String()) {
					t.Errorf("leaks the key or the upstream's address: %q", s)
				}
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := newClient(t, Config{BaseURL: "http://user:pw@" + addr + "/v1?api-version=x", APIKey: testKey})
	rec := newRecorder()
	_, err = c.Forward(context.Background(), "/chat/completions", []byte(streamBody), "alias", rec)
	var ue *UpstreamError
	if !errors.As(err, &ue) || !ue.Retryable() || ue.Started() || !rec.untouched() {
		t.Fatalf("err %v", err)
	}
	if oe := ue.APIError(); oe.Status != 502 || oe.Code != "upstream_unavailable" {
		t.Errorf("got %+v", oe)
	}
	if msg := err.Error(); strings.Contains(msg, testKey) || strings.Contains(msg, "pw") || strings.Contains(msg, "api-version") || !strings.Contains(msg, addr) {
		t.Errorf("message %q", msg)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	var mu sync.Mutex
	var elsewhere int
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		elsewhere++
		mu.Unlock()
	}))
	defer other.Close()
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	rec := newRecorder()
	_, err := clientFor(t, u).Forward(context.Background(), "/chat/completions", []byte(chatBody), "alias", rec)
	var ue *UpstreamError
	if !errors.As(err, &ue) || !ue.Retryable() || !rec.untouched() {
		t.Fatalf("err %v", err)
	}
	if oe := ue.APIError(); oe.Status != 502 || !strings.Contains(err.Error(), "base_url") {
		t.Errorf("got %+v, %v", oe, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if elsewhere != 0 {
		t.Error("the redirect was followed")
	}
}

func TestTimeouts(t *testing.T) {
	t.Run("no first event: pings do not count", func(t *testing.T) {
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			sse(w, ": ping\n\n")
			<-r.Context().Done()
		})
		c := clientFor(t, u, func(c *Config) { c.FirstByteTimeout = 50 * time.Millisecond })
		rec := newRecorder()
		_, err := c.Forward(context.Background(), "/chat/completions", []byte(streamBody), "alias", rec)
		var ue *UpstreamError
		if !errors.As(err, &ue) || !ue.Retryable() || !rec.untouched() {
			t.Fatalf("err %v, wrote %q", err, rec.String())
		}
		if oe := ue.APIError(); oe.Status != 504 || oe.Code != "upstream_timeout" {
			t.Errorf("got %+v", oe)
		}
	})
	t.Run("first-byte timeout does not cut a started stream", func(t *testing.T) {
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			sse(w, chunk("a"))
			<-time.After(400 * time.Millisecond) // a slow token, well past the timeout
			sse(w, finish("stop"), done)
		})
		c := clientFor(t, u, func(c *Config) { c.FirstByteTimeout = 200 * time.Millisecond })
		rec := newRecorder()
		if _, err := c.Forward(context.Background(), "/chat/completions", []byte(streamBody), "alias", rec); err != nil {
			t.Fatalf("err %v after %q", err, rec.String())
		}
	})
	t.Run("whole-request timeout after the first byte", func(t *testing.T) {
		u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			sse(w, chunk("a"))
			<-r.Context().Done()
		})
		c := clientFor(t, u, func(c *Config) { c.Timeout = 300 * time.Millisecond })
		rec := newRecorder()
		_, err := c.Forward(context.Background(), "/chat/completions", []byte(streamBody), "alias", rec)
		var ue *UpstreamError
		if !errors.As(err, &ue) || !ue.Started() || ue.Retryable() {
			t.Fatalf("err %v", err)
		}
		got := events(rec.String())
		if len(got) != 2 || !strings.HasPrefix(got[1], `data: {"error":{`) || !strings.Contains(got[1], "upstream_timeout") {
			t.Errorf("events %q", got)
		}
	})
}

func TestStreamEndings(t *testing.T) {
	errEvent := data(`{"error": {"message": "model unloaded", "type": "server_error", "code": "model_unloaded"}}`)
	tests := []struct {
		name     string
		script   []string
		wantErr  bool
		wantLast string
	}{
		{"[DONE] passes", []string{chunk("a"), finish("stop"), done}, false, "data: [DONE]"},
		{"no [DONE] after a finish: added", []string{chunk("a"), finish("length")}, false, "data: [DONE]"},
		{"[DONE] without its blank line", []string{chunk("a"), finish("stop"), "data: [DONE]"}, false, "data: [DONE]"},
		{"cut before a finish: error event", []string{chunk("a")}, true, `"code":"upstream_error"`},
		{"error event passed normalized", []string{chunk("a"), errEvent, chunk("never")}, true,
			`data: {"error":{"message":"model unloaded","type":"server_error","param":null,"code":"model_unloaded"}}`},
		{"event: error", []string{chunk("a"), "event: error\ndata: {\"message\":\"oops\"}\n\n"}, true, `"message":"{\"message\":\"oops\"}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { sse(w, tt.script...) })
			rec := newRecorder()
			_, err := clientFor(t, u).Forward(context.Background(), "/chat/completions", []byte(streamBody), "alias", rec)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v", err)
			}
			if err != nil {
				var ue *UpstreamError
				if !errors.As(err, &ue) || !ue.Started() || ue.Retryable() {
					t.Errorf("err %v", err)
				}
			}
			got := events(rec.String())
			if last := got[len(got)-1]; !strings.Contains(last, tt.wantLast) {
				t.Errorf("last event %q, want %q", last, tt.wantLast)
			}
			if strings.Contains(rec.String(), "never") {
				t.Error("passed events after an error")
			}
		})
	}
}

func TestConcurrentForwards(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		sse(w, chunk("x"), chunk("y"), finish("stop"), done)
	})
	c := clientFor(t, u)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := newRecorder()
			model := fmt.Sprintf("alias-%d", i)
			usage, err := c.Forward(context.Background(), "/chat/completions", []byte(streamBody), model, rec)
			if err != nil || usage.CompletionTokens != 2 || strings.Count(rec.String(), `"model":"`+model+`"`) != 3 {
				t.Errorf("%d: err %v usage %+v\n%s", i, err, usage, rec.String())
			}
		}()
	}
	wg.Wait()
}

func TestNew(t *testing.T) {
	for _, bad := range []string{"", "peer:8080", "ftp://x/v1", "http:///v1", "http://a b/"} {
		if _, err := New(Config{BaseURL: bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := New(Config{BaseURL: "http://x/v1", Timeout: -1}); err == nil {
		t.Error("negative timeout accepted")
	}
	_, err := New(Config{BaseURL: "http://u:secretpw@[::1", APIKey: testKey})
	if err == nil || strings.Contains(err.Error(), "secretpw") {
		t.Errorf("err %v", err)
	}
	if _, err := (&Client{}).Forward(context.Background(), "/x", []byte("[]"), "m", newRecorder()); err == nil {
		t.Error("a non-object body was accepted")
	}
}

// newProxy is a minimal gateway: it forwards every request and answers
// errors before the first byte the way the package doc suggests.
func newProxy(t *testing.T, c *Client) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ms, err := members(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var model string
		if v := lookup(ms, "model"); v != nil {
			model = strings.Trim(string(v), `"`)
		}
		_, err = c.Forward(r.Context(), strings.TrimPrefix(r.URL.Path, "/v1"), body, model, w)
		var oe *openai.Error
		if ue := (*UpstreamError)(nil); errors.As(err, &ue) && !ue.Started() && errors.As(err, &oe) {
			b, _ := openai.Marshal(oe.Body())
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(oe.Status)
			w.Write(b)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// post sends body with its own transport, closed with the test.
func post(t *testing.T, ctx context.Context, url, body string) *http.Response {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// committedRecorder is a writer that, like gin's, tells whether the
// response was already committed.
type committedRecorder struct{ *recorder }

func (r committedRecorder) Written() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status != 0
}

func (r committedRecorder) WriteHeader(status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status != 0 {
		panic("superfluous WriteHeader")
	}
	r.status = status
}

// TestCallerCommittedStream covers a caller that already started the event
// stream with its own keep-alives (a fallback after a local model pinged):
// upstream pings pass before the first data, no second status line is
// written, and an error before the first data still allows a fallback.
func TestCallerCommittedStream(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		sse(w, ": upstream ping\n\n", data(`{"error":{"message":"load failed","type":"server_error","param":null,"code":"model_load_failed"}}`))
	})
	rec := committedRecorder{newRecorder()}
	rec.WriteHeader(http.StatusOK)
	io.WriteString(rec, ": caller ping\n\n")
	_, err := clientFor(t, u).Forward(context.Background(), "/chat/completions", []byte(streamBody), "alias", rec)
	var ue *UpstreamError
	if !errors.As(err, &ue) || ue.Started() || !ue.Retryable() {
		t.Fatalf("err %v", err)
	}
	if got := rec.String(); got != ": caller ping\n\n: upstream ping\n\n" {
		t.Errorf("wrote %q", got)
	}

	u2 := newUpstream(t, func(w http.ResponseWriter, r *http.Request) { sse(w, chunk("a"), finish("stop"), done) })
	if _, err := clientFor(t, u2).Forward(context.Background(), "/chat/completions", []byte(streamBody), "alias", rec); err != nil {
		t.Fatal(err)
	}
	if got := events(rec.String()); len(got) != 5 || got[4] != "data: [DONE]" {
		t.Errorf("events %q", got)
	}
}
