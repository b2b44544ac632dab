package router

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/llamagate/llamagate/config"
	"github.com/llamagate/llamagate/ratelimit"
)

// fakeEmbedder embeds input i as a 3-vector that encodes its first token
// and its length; texts tokenize as one token (fakeEngine). Embed waits for
// gate when it is set, and records the inputs it got.
type fakeEmbedder struct {
	fakeEngine
	gate   chan struct{}
	inputs chan [][]int
}

func (f *fakeEmbedder) EmbeddingSize() int    { return 3 }
func (f *fakeEmbedder) EmbeddingContext() int { return 8 }
func (f *fakeEmbedder) Embed(ctx context.Context, inputs [][]int) ([][]float32, error) {
	if f.inputs != nil {
		f.inputs <- inputs
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	out := make([][]float32, len(inputs))
	for i, in := range inputs {
		out[i] = []float32{float32(in[0]), float32(len(in)), 0.5}
	}
	return out, nil
}

type embeddingBody struct {
	Object string `json:"object"`
	Model  string `json:"model"`
	Data   []struct {
		Object    string          `json:"object"`
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Usage map[string]int `json:"usage"`
}

func TestEmbeddings(t *testing.T) {
	m := newTestMetrics()
	srv := serveWith(t, Config{Metrics: m, Keys: testKeyring(t, config.Limits{})}, &fakeEmbedder{}, nil)
	embed := func(key, body string) (int, string) {
		resp, out := call(t, srv, "POST", "/v1/embeddings", key, body)
		return resp.StatusCode, out
	}

	status, out := embed(userSecret, `{"model":"m","input":["a",[7,8,9]],"user":"u"}`)
	var got embeddingBody
	if status != 200 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("%d %s", status, out)
	}
	if got.Object != "list" || got.Model != "m" || len(got.Data) != 2 || got.Data[1].Index != 1 || got.Data[0].Object != "embedding" ||
		got.Usage["prompt_tokens"] != 4 || got.Usage["total_tokens"] != 4 || len(got.Usage) != 2 {
		t.Fatalf("response %s", out)
	}
	if string(got.Data[1].Embedding) != `[7,3,0.5]` {
		t.Fatalf("vector %s", got.Data[1].Embedding)
	}

	status, out = embed(userSecret, `{"model":"m","input":[7,8],"encoding_format":"base64","dimensions":3}`)
	if status != 200 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("%d %s", status, out)
	}
	var s string
	if err := json.Unmarshal(got.Data[0].Embedding, &s); err != nil {
		t.Fatalf("base64 embedding is not a string: %s", got.Data[0].Embedding)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) != 12 {
		t.Fatalf("base64 %q: %v", s, err)
	}
	for i, want := range []float32{7, 2, 0.5} {
		if v := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); v != want {
			t.Fatalf("value %d: %g, want %g", i, v, want)
		}
	}

	for _, tc := range []struct {
		name, key, body     string
		status              int
		param, code, reason string
	}{
		{"dimensions", userSecret, `{"model":"m","input":"a","dimensions":2}`, 400, "dimensions", "unsupported_parameter", ""},
		{"too long", userSecret, `{"model":"m","input":[[1],[1,2,3,4,5,6,7,8,9]]}`, 400, "input", "context_length_exceeded", "input 1 has 9 tokens"},
		{"empty string", userSecret, `{"model":"m","input":["a",""]}`, 400, "input", "invalid_value", ""},
		{"unknown model", userSecret, `{"model":"nope","input":"a"}`, 404, "model", "model_not_found", ""},
		{"model the key may not use", otherSecret, `{"model":"m","input":"a"}`, 404, "model", "model_not_found", ""},
		{"no key", "", `{"model":"m","input":"a"}`, 401, "", "invalid_api_key", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := embed(tc.key, tc.body)
			var e struct {
				Error struct {
					Param   *string `json:"param"`
					Code    string  `json:"code"`
					Message string  `json:"message"`
				} `json:"error"`
			}
			if status != tc.status || json.Unmarshal([]byte(out), &e) != nil || e.Error.Code != tc.code ||
				(tc.param != "" && (e.Error.Param == nil || *e.Error.Param != tc.param)) || !strings.Contains(e.Error.Message, tc.reason) {
				t.Fatalf("%d %s, want %d param %q code %q", status, out, tc.status, tc.param, tc.code)
			}
		})
	}

	_, metrics := call(t, srv, "GET", "/metrics", "", "")
	for _, want := range []string{
		`llamagate_requests_total{key="user",model="m",route="/v1/embeddings",status="200"} 2`,
		`llamagate_tokens_total{key="user",kind="prompt",model="m"} 6`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestEmbeddingsNeedAnEmbedder(t *testing.T) {
	srv := serveWith(t, Config{}, &fakeEngine{}, nil)
	resp, out := call(t, srv, "POST", "/v1/embeddings", "", `{"model":"m","input":"a"}`)
	if resp.StatusCode != 400 || errorCode(t, out) != "model_not_supported" {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
}

// Embeddings count against the key's tokens per minute at their input
// tokens.
func TestEmbeddingsRateLimit(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	lim := ratelimit.New(ratelimit.Options{Store: ratelimit.NewMemoryStore(), Now: clock.Now}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer lim.Close()
	srv := serveWith(t, Config{Keys: testKeyring(t, config.Limits{TokensPerMinute: intp(10)}), Limiter: lim}, &fakeEmbedder{}, nil)
	resp, out := call(t, srv, "POST", "/v1/embeddings", userSecret, `{"model":"m","input":[[1,2,3,4,5,6]]}`)
	if resp.StatusCode != 200 || resp.Header.Get("x-ratelimit-remaining-tokens") != "4" {
		t.Fatalf("first: %d %s %v", resp.StatusCode, out, resp.Header)
	}
	resp, out = call(t, srv, "POST", "/v1/embeddings", userSecret, `{"model":"m","input":[[1,2,3,4,5]]}`)
	if resp.StatusCode != 429 || errorCode(t, out) != "rate_limit_exceeded" {
		t.Fatalf("second: %d %s", resp.StatusCode, out)
	}
}

// The request's deadline ends an embedding that takes too long, with 504.
func TestEmbeddingsDeadline(t *testing.T) {
	f := &fakeEmbedder{gate: make(chan struct{}), inputs: make(chan [][]int, 1)}
	defer close(f.gate)
	srv := serveWith(t, Config{}, f, nil)
	resp, out := call(t, srv, "POST", "/v1/embeddings", "", `{"model":"m","input":"a"}`, "X-Request-Timeout", "0.05")
	if resp.StatusCode != 504 || errorCode(t, out) != "timeout" {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	if in := <-f.inputs; len(in) != 1 || len(in[0]) != 1 {
		t.Fatalf("engine got %v", in)
	}
}
