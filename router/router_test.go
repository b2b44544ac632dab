package router

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/models"
)

// fakeEngine is a scripted engine: Generate returns genErr, or a stream of
// the scripted events.
type fakeEngine struct {
	genErr error
	events []engine.Event
	panics bool
}

type fakeStream struct{ events []engine.Event }

func (s *fakeStream) Next(ctx context.Context) (engine.Event, error) {
	if len(s.events) == 0 {
		return engine.Event{}, io.EOF
	}
	ev := s.events[0]
	s.events = s.events[1:]
	return ev, nil
}

func (f *fakeEngine) Generate(ctx context.Context, req engine.Request) (engine.Stream, error) {
	if f.panics {
		panic("scripted panic")
	}
	if f.genErr != nil {
		return nil, f.genErr
	}
	return &fakeStream{events: append([]engine.Event(nil), f.events...)}, nil
}
func (f *fakeEngine) Tokenize(string, bool) ([]int, error) { return []int{1}, nil }
func (f *fakeEngine) Detokenize([]int) (string, error)     { return "", nil }
func (f *fakeEngine) Info() engine.ModelInfo               { return engine.ModelInfo{CtxSize: 128, Parallel: 2} }
func (f *fakeEngine) Close() error                         { return nil }

func serve(t *testing.T, eng engine.Engine, loadErr error) *httptest.Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mgr := models.NewManager([]models.Spec{{ID: "m", TTL: -1}}, models.Options{Logger: log, Loader: func(context.Context, models.Spec, func(float64)) (engine.Engine, error) {
		if loadErr != nil {
			return nil, loadErr
		}
		return eng, nil
	}})
	t.Cleanup(func() { mgr.Close() })
	srv := httptest.NewServer(New(Config{Logger: log}, mgr))
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, srv *httptest.Server, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(srv.URL+"/v1/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func errorCode(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message, Type string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("not an error envelope: %q", body)
	}
	return e.Error.Code
}

func TestErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		name       string
		eng        *fakeEngine
		loadErr    error
		status     int
		code       string
		retryAfter bool
	}{
		{"overloaded", &fakeEngine{genErr: engine.ErrOverloaded}, nil, 503, "server_overloaded", true},
		{"unloaded", &fakeEngine{genErr: engine.ErrClosed}, nil, 503, "model_unloaded", true},
		{"context length", &fakeEngine{genErr: &engine.ContextLengthError{PromptTokens: 200, CtxSize: 128}}, nil, 400, "context_length_exceeded", false},
		{"load failure", nil, errors.New("bad magic"), 500, "model_load_failed", false},
		{"unknown error", &fakeEngine{genErr: errors.New("boom")}, nil, 500, "internal_error", false},
		{"panic", &fakeEngine{panics: true}, nil, 500, "internal_error", false},
		{"error before first token", &fakeEngine{events: []engine.Event{{Err: engine.ErrOverloaded}}}, nil, 503, "server_overloaded", true},
		{"n above parallel", &fakeEngine{}, nil, 400, "invalid_value", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var eng engine.Engine
			if tc.eng != nil {
				eng = tc.eng
			}
			srv := serve(t, eng, tc.loadErr)
			body := `{"model":"m","prompt":"x","stream":true}`
			if tc.name == "n above parallel" {
				body = `{"model":"m","prompt":"x","n":3}`
			}
			resp, out := post(t, srv, body)
			if resp.StatusCode != tc.status || errorCode(t, out) != tc.code {
				t.Fatalf("status %d body %s, want %d %s", resp.StatusCode, out, tc.status, tc.code)
			}
			if got := resp.Header.Get("Retry-After") != ""; got != tc.retryAfter {
				t.Fatalf("Retry-After present %v, want %v", got, tc.retryAfter)
			}
			if tc.loadErr != nil && !strings.Contains(out, "bad magic") {
				t.Fatalf("load failure does not carry its cause: %s", out)
			}
		})
	}
}

func TestErrorInsideStream(t *testing.T) {
	srv := serve(t, &fakeEngine{events: []engine.Event{{Text: "a"}, {Err: errors.New("decode failed")}}}, nil)
	resp, out := post(t, srv, `{"model":"m","prompt":"x","stream":true}`)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	events := strings.Split(strings.TrimSpace(out), "\n\n")
	last := events[len(events)-1]
	if len(events) != 2 || !strings.HasPrefix(last, `data: {"error":`) || strings.Contains(out, "[DONE]") {
		t.Fatalf("stream %q: want a text chunk then an error event and no [DONE]", out)
	}
}

func TestMultipleChoices(t *testing.T) {
	events := []engine.Event{
		{Index: 0, Text: "a"}, {Index: 1, Text: "b"}, {Index: 1, Text: "c"},
		{Index: 1, Done: true, Finish: engine.FinishStop, Usage: engine.Usage{PromptTokens: 3, CompletionTokens: 2}},
		{Index: 0, Done: true, Finish: engine.FinishLength, Usage: engine.Usage{PromptTokens: 3, CompletionTokens: 1}},
	}
	srv := serve(t, &fakeEngine{events: events}, nil)
	_, out := post(t, srv, `{"model":"m","prompt":"x","n":2}`)
	var resp struct {
		Choices []struct {
			Index        int
			Text         string
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
			TotalTokens      int `json:"total_tokens"`
		}
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 2 || resp.Choices[0].Text != "a" || resp.Choices[1].Text != "bc" ||
		resp.Choices[0].FinishReason != "length" || resp.Choices[1].FinishReason != "stop" || resp.Choices[1].Index != 1 {
		t.Fatalf("choices %+v", resp.Choices)
	}
	if resp.Usage.PromptTokens != 3 || resp.Usage.CompletionTokens != 3 || resp.Usage.TotalTokens != 6 {
		t.Fatalf("usage %+v", resp.Usage)
	}
}
