package e2e

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	openaigo "github.com/openai/openai-go/v3"
)

// Logprobs through the openai-go SDK (chat) and raw HTTP (legacy
// completions), whole and streamed.

func chatLogprobParams() openaigo.ChatCompletionNewParams {
	return openaigo.ChatCompletionNewParams{
		Model:       chatID,
		Messages:    []openaigo.ChatCompletionMessageParamUnion{openaigo.UserMessage("Tell me a story.")},
		MaxTokens:   openaigo.Int(24),
		Temperature: openaigo.Float(0),
		Logprobs:    openaigo.Bool(true),
		TopLogprobs: openaigo.Int(3),
	}
}

func TestChatLogprobs(t *testing.T) {
	g := startChatGateway(t)
	c := newOpenAIGo(g)
	ctx := testContext(t)
	whole, err := c.Chat.Completions.New(ctx, chatLogprobParams())
	if err != nil {
		t.Fatal(err)
	}
	ch := whole.Choices[0]
	content := ch.Logprobs.Content
	if ch.FinishReason != "length" || len(content) != int(whole.Usage.CompletionTokens) {
		t.Fatalf("finish %s, %d logprob entries for %d tokens", ch.FinishReason, len(content), whole.Usage.CompletionTokens)
	}
	var spelled []byte
	for i, e := range content {
		for _, b := range e.Bytes {
			spelled = append(spelled, byte(b))
		}
		if utf8.ValidString(e.Token) && e.Token != string(bytesOf(e.Bytes)) {
			t.Fatalf("entry %d: token %q, bytes %v", i, e.Token, e.Bytes)
		}
		// Greedy: the token is the most likely one of 3 alternatives.
		if len(e.TopLogprobs) != 3 || e.Logprob > 0 || e.TopLogprobs[0].Logprob != e.Logprob || e.TopLogprobs[0].Token != e.Token {
			t.Fatalf("entry %d: %s", i, e.RawJSON())
		}
	}
	if string(spelled) != ch.Message.Content {
		t.Fatalf("the tokens' bytes spell %q, the content is %q", spelled, ch.Message.Content)
	}

	// The stream carries the same entries, each with the delta it completes.
	stream := c.Chat.Completions.NewStreaming(ctx, chatLogprobParams())
	var streamed []openaigo.ChatCompletionTokenLogprob
	var text strings.Builder
	for stream.Next() {
		chunk := stream.Current()
		for _, sc := range chunk.Choices {
			text.WriteString(sc.Delta.Content)
			streamed = append(streamed, sc.Logprobs.Content...)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != ch.Message.Content || len(streamed) != len(content) {
		t.Fatalf("streamed %q with %d entries, whole %q with %d", text.String(), len(streamed), ch.Message.Content, len(content))
	}
	// The second request reuses the prompt's KV from the prefix cache, so
	// its logits may differ in the last digits.
	for i := range streamed {
		if streamed[i].Token != content[i].Token || math.Abs(streamed[i].Logprob-content[i].Logprob) > 1e-3 {
			t.Fatalf("entry %d: streamed %s, whole %s", i, streamed[i].RawJSON(), content[i].RawJSON())
		}
	}

	// Without logprobs the field is null.
	_, _, out := rawPost(t, g.srv.URL+"/v1/chat/completions", `{"model":"stories-chat","messages":[{"role":"user","content":"hi"}],"max_tokens":2}`)
	if lp, ok := out["choices"].([]any)[0].(map[string]any)["logprobs"]; !ok || lp != nil {
		t.Fatalf("logprobs without asking: %v", out)
	}
}

func bytesOf(v []int64) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

type legacyLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float64            `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

func TestCompletionLogprobs(t *testing.T) {
	g := startGateway(t)
	url := g.srv.URL + "/v1/completions"
	body := `{"model":"stories260K","prompt":"Once upon a time","max_tokens":24,"temperature":0,"logprobs":2`
	resp, err := http.Post(url, "application/json", strings.NewReader(body+`}`))
	if err != nil {
		t.Fatal(err)
	}
	var whole struct {
		Choices []struct {
			Text     string          `json:"text"`
			Logprobs *legacyLogprobs `json:"logprobs"`
		} `json:"choices"`
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&whole); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	text, lp := whole.Choices[0].Text, whole.Choices[0].Logprobs
	n := whole.Usage.CompletionTokens
	if lp == nil || len(lp.Tokens) != n || len(lp.TokenLogprobs) != n || len(lp.TopLogprobs) != n || len(lp.TextOffset) != n {
		t.Fatalf("logprobs %+v for %d tokens", lp, n)
	}
	if strings.Join(lp.Tokens, "") != text {
		t.Fatalf("tokens %q do not spell %q", lp.Tokens, text)
	}
	offset := 0
	for i, tok := range lp.Tokens {
		top := lp.TopLogprobs[i]
		// Two alternatives, and the sampled token (here the first of them).
		if len(top) < 1 || len(top) > 3 || top[tok] != lp.TokenLogprobs[i] || lp.TextOffset[i] != offset {
			t.Fatalf("token %d %q: logprob %v, top %v, offset %d (want %d)", i, tok, lp.TokenLogprobs[i], top, lp.TextOffset[i], offset)
		}
		offset += utf8.RuneCountInString(tok)
	}

	// Streamed: the same columns, chunk by chunk, offsets continuing.
	chunks := streamChunks(t, url, body+`,"stream":true}`)
	var streamed legacyLogprobs
	for _, c := range chunks {
		var chunk struct {
			Choices []struct {
				Logprobs *legacyLogprobs `json:"logprobs"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(c), &chunk); err != nil {
			t.Fatal(err)
		}
		if l := chunk.Choices[0].Logprobs; l != nil {
			streamed.Tokens = append(streamed.Tokens, l.Tokens...)
			streamed.TextOffset = append(streamed.TextOffset, l.TextOffset...)
			streamed.TokenLogprobs = append(streamed.TokenLogprobs, l.TokenLogprobs...)
		}
	}
	a, _ := json.Marshal(streamed.Tokens)
	b, _ := json.Marshal(lp.Tokens)
	ao, _ := json.Marshal(streamed.TextOffset)
	bo, _ := json.Marshal(lp.TextOffset)
	if string(a) != string(b) || string(ao) != string(bo) {
		t.Fatalf("streamed tokens %s offsets %s, whole %s %s", a, ao, b, bo)
	}
}

// streamChunks posts a streaming request and returns its data events up to
// [DONE].
func streamChunks(t *testing.T, url, body string) []string {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range strings.Split(strings.TrimSpace(string(raw)), "\n\n") {
		data := strings.TrimPrefix(ev, "data: ")
		if data == "[DONE]" {
			return out
		}
		out = append(out, data)
	}
	t.Fatalf("stream without [DONE]: %q", raw)
	return nil
}

func TestLogprobsBounds(t *testing.T) {
	g := startChatGateway(t)
	c := newOpenAIGo(g)
	ctx := testContext(t)
	p := chatLogprobParams()
	p.TopLogprobs = openaigo.Int(21)
	_, err := c.Chat.Completions.New(ctx, p)
	var apiErr *openaigo.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "top_logprobs" {
		t.Fatalf("top_logprobs 21: %v", err)
	}
	for body, param := range map[string]string{
		`{"model":"stories260K","prompt":"x","logprobs":6}`:                                    `logprobs`,
		`{"model":"stories260K","prompt":"x","logprobs":1,"echo":true}`:                        `logprobs`,
		`{"model":"stories-chat","messages":[{"role":"user","content":"x"}],"top_logprobs":2}`: `top_logprobs`,
	} {
		path := "/v1/completions"
		if strings.Contains(body, "messages") {
			path = "/v1/chat/completions"
		}
		status, _, out := rawPost(t, g.srv.URL+path, body)
		if e, _ := out["error"].(map[string]any); status != 400 || e["param"] != param {
			t.Errorf("%s: %d %v", body, status, out)
		}
	}
}

// A token that is part of a UTF-8 character (stories260K's byte token
// <0xE2>, forced by logit_bias) still gives valid JSON: the token text
// escapes the byte and bytes carries it as is.
func TestLogprobsOfPartialCharacter(t *testing.T) {
	g := startChatGateway(t)
	for path, body := range map[string]string{
		"/v1/chat/completions": `{"model":"stories-chat","messages":[{"role":"user","content":"x"}],"max_tokens":1,"logit_bias":{"229":100},"logprobs":true,"top_logprobs":1}`,
		"/v1/completions":      `{"model":"stories260K","prompt":"x","max_tokens":1,"logit_bias":{"229":100},"logprobs":1}`,
	} {
		resp, err := http.Post(g.srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !json.Valid(raw) || !utf8.Valid(raw) {
			t.Fatalf("%s: %d %q", path, resp.StatusCode, raw)
		}
		var out struct {
			Choices []struct {
				Logprobs struct {
					Content []struct {
						Token string `json:"token"`
						Bytes []int  `json:"bytes"`
					} `json:"content"`
					Tokens []string `json:"tokens"`
				} `json:"logprobs"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		lp := out.Choices[0].Logprobs
		if path == "/v1/completions" {
			if len(lp.Tokens) != 1 || lp.Tokens[0] != `\xe2` {
				t.Fatalf("%s: %s", path, raw)
			}
			continue
		}
		if len(lp.Content) != 1 || lp.Content[0].Token != `\xe2` || len(lp.Content[0].Bytes) != 1 || lp.Content[0].Bytes[0] != 0xe2 {
			t.Fatalf("%s: %s", path, raw)
		}
	}
}
