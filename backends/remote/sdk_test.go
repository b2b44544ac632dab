package remote

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	goai "github.com/sashabaranov/go-openai"
)

// TestGoOpenAISDK drives the pass-through with a real OpenAI SDK: an
// upstream that speaks OpenAI, a minimal gateway calling Forward, and
// go-openai in front, streamed and whole, chat and legacy completions, and
// its typed errors.
func TestGoOpenAISDK(t *testing.T) {
	const content = "Hello, w\u00f6rld <&> \u2028 \"quoted\" \U0001F600"
	pieces := []string{"Hello, w", "\u00f6rld <&> ", "\u2028 \"quoted\" ", "\U0001F600"}
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/chat/completions") && strings.Contains(r.Header.Get("Accept"), "event-stream"):
			var evs []string
			for _, p := range pieces {
				evs = append(evs, chunk(p))
			}
			sse(w, append(evs, finish("stop"), done)...)
		case strings.HasSuffix(r.URL.Path, "/chat/completions"):
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"up","choices":[{"index":0,"message":{"role":"assistant","content":"`+
				strings.ReplaceAll(content, `"`, `\"`)+`"},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":6,"total_tokens":10}}`)
		case strings.HasSuffix(r.URL.Path, "/completions"):
			sse(w,
				data(`{"id":"cmpl-1","object":"text_completion","created":1,"model":"up","choices":[{"index":0,"text":"once","finish_reason":null}]}`),
				data(`{"id":"cmpl-1","object":"text_completion","created":1,"model":"up","choices":[{"index":0,"text":" upon","finish_reason":"length"}]}`),
				done)
		}
	})
	proxy := newProxy(t, clientFor(t, u))
	sdk := newSDK(t, proxy.URL)
	ctx := context.Background()
	msgs := []goai.ChatCompletionMessage{{Role: goai.ChatMessageRoleUser, Content: "hi"}}

	t.Run("chat stream", func(t *testing.T) {
		stream, err := sdk.CreateChatCompletionStream(ctx, goai.ChatCompletionRequest{Model: "alias", Messages: msgs, Stream: true})
		if err != nil {
			t.Fatal(err)
		}
		defer stream.Close()
		var got strings.Builder
		var finish goai.FinishReason
		for {
			resp, err := stream.Recv()
			if errors.Is(err, io.EOF) { // [DONE]
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Model != "alias" {
				t.Errorf("chunk model %q", resp.Model)
			}
			if len(resp.Choices) > 0 {
				got.WriteString(resp.Choices[0].Delta.Content)
				if resp.Choices[0].FinishReason != "" {
					finish = resp.Choices[0].FinishReason
				}
			}
		}
		if got.String() != content || finish != goai.FinishReasonStop {
			t.Errorf("content %q finish %q", got.String(), finish)
		}
		if !strings.Contains(u.lastBody(), `"model":"up"`) {
			t.Errorf("upstream got %s", u.lastBody())
		}
	})
	t.Run("chat whole", func(t *testing.T) {
		resp, err := sdk.CreateChatCompletion(ctx, goai.ChatCompletionRequest{Model: "alias", Messages: msgs})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Model != "alias" || resp.Choices[0].Message.Content != content || resp.Usage.TotalTokens != 10 {
			t.Errorf("got %+v", resp)
		}
	})
	t.Run("completions stream", func(t *testing.T) {
		stream, err := sdk.CreateCompletionStream(ctx, goai.CompletionRequest{Model: "alias", Prompt: "x", Stream: true})
		if err != nil {
			t.Fatal(err)
		}
		defer stream.Close()
		var got strings.Builder
		for {
			resp, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Model != "alias" {
				t.Errorf("chunk model %q", resp.Model)
			}
			got.WriteString(resp.Choices[0].Text)
		}
		if got.String() != "once upon" {
			t.Errorf("text %q", got.String())
		}
	})
}

// TestGoOpenAISDKErrors checks that errors reach the SDK as its typed
// errors: before the first byte with their HTTP status, after it as the
// stream's error event.
func TestGoOpenAISDKErrors(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.Header.Get("Accept"), "event-stream"):
			sse(w, chunk("partial"), data(`{"error":{"message":"model unloaded","type":"server_error","param":null,"code":"model_unloaded"}}`))
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":{"message":"temperature too high","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}`)
		}
	})
	sdk := newSDK(t, newProxy(t, clientFor(t, u)).URL)
	ctx := context.Background()
	msgs := []goai.ChatCompletionMessage{{Role: goai.ChatMessageRoleUser, Content: "hi"}}

	_, err := sdk.CreateChatCompletion(ctx, goai.ChatCompletionRequest{Model: "alias", Messages: msgs})
	var apiErr *goai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 400 || apiErr.Code != "invalid_value" || apiErr.Message != "temperature too high" ||
		apiErr.Param == nil || *apiErr.Param != "temperature" {
		t.Errorf("whole: %#v", err)
	}

	stream, err := sdk.CreateChatCompletionStream(ctx, goai.ChatCompletionRequest{Model: "alias", Messages: msgs, Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	first, err := stream.Recv()
	if err != nil || first.Choices[0].Delta.Content != "partial" {
		t.Fatalf("first chunk %+v, %v", first, err)
	}
	_, err = stream.Recv()
	if !errors.As(err, &apiErr) || apiErr.Code != "model_unloaded" || apiErr.Message != "model unloaded" {
		t.Errorf("stream: %#v", err)
	}
}

// newSDK is a go-openai client for a gateway at url, on its own transport.
func newSDK(t *testing.T, url string) *goai.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	cfg := goai.DefaultConfig("gateway-key")
	cfg.BaseURL = url + "/v1"
	cfg.HTTPClient = &http.Client{Transport: tr}
	return goai.NewClientWithConfig(cfg)
}
