package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	goopenai "github.com/sashabaranov/go-openai"
)

func intp(v int) *int { return &v }

func TestCompletionWholeAndStreamAgree(t *testing.T) {
	g := startGateway(t)
	c := g.client()
	ctx := testContext(t)
	req := goopenai.CompletionRequest{Model: storiesID, Prompt: storyPrompt, MaxTokens: 40, Temperature: 0.7, Seed: intp(7)}
	resp, err := c.CreateCompletion(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Object != "text_completion" || !strings.HasPrefix(resp.ID, "cmpl-") || len(resp.Choices) != 1 || resp.Choices[0].Text == "" {
		t.Fatalf("unexpected response %+v", resp)
	}
	if resp.Choices[0].FinishReason != "length" || resp.Usage.CompletionTokens != 40 {
		t.Fatalf("finish %q, usage %+v; want length after 40 tokens", resp.Choices[0].FinishReason, resp.Usage)
	}
	want, err := g.engine(storiesID).Tokenize(storyPrompt, true)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Usage.PromptTokens != len(want) || resp.Usage.TotalTokens != len(want)+40 {
		t.Fatalf("usage %+v, tokenizer counts %d prompt tokens", resp.Usage, len(want))
	}

	req.Stream = true
	stream, err := c.CreateCompletionStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var text strings.Builder
	var finish string
	chunks := 0
	for {
		ch, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		chunks++
		if len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Text)
			if ch.Choices[0].FinishReason != "" {
				finish = ch.Choices[0].FinishReason
			}
		}
	}
	if text.String() != resp.Choices[0].Text {
		t.Fatalf("stream text %q differs from whole text %q", text.String(), resp.Choices[0].Text)
	}
	if finish != "length" || chunks < 10 {
		t.Fatalf("finish %q after %d chunks", finish, chunks)
	}
}

// rawPost sends a body as is and decodes the answer.
func rawPost(t *testing.T, url, body string) (int, http.Header, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("status %d, body is not JSON: %q", resp.StatusCode, b)
	}
	return resp.StatusCode, resp.Header, out
}

func TestGreedyStreamEqualsWhole(t *testing.T) {
	g := startGateway(t)
	url := g.srv.URL + "/v1/completions"
	_, _, whole := rawPost(t, url, `{"model":"stories260K","prompt":"Once upon a time","max_tokens":48,"temperature":0}`)
	wholeText := whole["choices"].([]any)[0].(map[string]any)["text"].(string)

	resp, err := http.Post(url, "application/json", strings.NewReader(`{"model":"stories260K","prompt":"Once upon a time","max_tokens":48,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for h, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	body, _ := io.ReadAll(resp.Body)
	events := strings.Split(strings.TrimSuffix(string(body), "\n\n"), "\n\n")
	if events[len(events)-1] != "data: [DONE]" {
		t.Fatalf("stream does not end with [DONE]: %q", events[len(events)-1])
	}
	var text strings.Builder
	var usage map[string]any
	for i, ev := range events[:len(events)-1] {
		var chunk map[string]any
		if err := json.Unmarshal([]byte(strings.TrimPrefix(ev, "data: ")), &chunk); err != nil {
			t.Fatalf("event %d is not a data event with JSON: %q", i, ev)
		}
		choices := chunk["choices"].([]any)
		if len(choices) == 0 {
			usage = chunk["usage"].(map[string]any)
			continue
		}
		text.WriteString(choices[0].(map[string]any)["text"].(string))
	}
	if text.String() != wholeText {
		t.Fatalf("greedy stream %q != whole %q", text.String(), wholeText)
	}
	if usage == nil || usage["completion_tokens"].(float64) != 48 {
		t.Fatalf("usage chunk missing or wrong: %v", usage)
	}
}

func TestErrorShapes(t *testing.T) {
	g := startGateway(t)
	url := g.srv.URL + "/v1/completions"
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
		param      any
	}{
		{"unknown model", `{"model":"nope","prompt":"x"}`, 404, "model_not_found", "model"},
		{"malformed JSON", `{"model":"stories260K",`, 400, "invalid_json", nil},
		{"missing prompt", `{"model":"stories260K"}`, 400, "missing_required_parameter", "prompt"},
		{"missing model", `{"prompt":"x"}`, 400, "missing_required_parameter", "model"},
		{"wrong type", `{"model":"stories260K","prompt":"x","max_tokens":"ten"}`, 400, "invalid_type", "max_tokens"},
		{"out of range", `{"model":"stories260K","prompt":"x","temperature":3}`, 400, "invalid_value", "temperature"},
		{"huge number", `{"model":"stories260K","prompt":"x","top_p":1e308}`, 400, "invalid_value", "top_p"},
		{"negative max_tokens", `{"model":"stories260K","prompt":"x","max_tokens":-1}`, 400, "invalid_value", "max_tokens"},
		{"max_tokens beyond context", `{"model":"stories260K","prompt":"x","max_tokens":100000}`, 400, "invalid_value", "max_tokens"},
		{"too many stops", `{"model":"stories260K","prompt":"x","stop":["a","b","c","d","e"]}`, 400, "invalid_value", "stop"},
		{"not an object", `[1,2]`, 400, "invalid_json", nil},
		{"prompt too long", `{"model":"stories260K","prompt":"` + strings.Repeat("Once upon a time. ", 200) + `"}`, 400, "context_length_exceeded", "prompt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := rawPost(t, url, tc.body)
			e, ok := body["error"].(map[string]any)
			if status != tc.status || !ok {
				t.Fatalf("status %d body %v, want %d with an error envelope", status, body, tc.status)
			}
			if e["code"] != tc.code || e["param"] != tc.param || e["type"] != "invalid_request_error" || e["message"] == "" {
				t.Fatalf("error %v, want code %q param %v", e, tc.code, tc.param)
			}
		})
	}
	// The SDK surfaces the envelope as its typed error.
	_, err := g.client().CreateCompletion(testContext(t), goopenai.CompletionRequest{Model: "nope", Prompt: "x"})
	var apiErr *goopenai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 404 || apiErr.Code != "model_not_found" {
		t.Fatalf("go-openai error %#v, want APIError 404 model_not_found", err)
	}
}

func TestBodyTooLarge(t *testing.T) {
	g := startGateway(t)
	body := `{"model":"stories260K","prompt":"` + strings.Repeat("a", 9<<20) + `"}`
	status, _, out := rawPost(t, g.srv.URL+"/v1/completions", body)
	if status != 413 || out["error"].(map[string]any)["code"] != "request_too_large" {
		t.Fatalf("status %d body %v", status, out)
	}
}

func TestModelsAndHealth(t *testing.T) {
	g := startGateway(t)
	list, err := g.client().ListModels(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Models) != 1 || list.Models[0].ID != storiesID || list.Models[0].Object != "model" || list.Models[0].OwnedBy == "" {
		t.Fatalf("models %+v", list)
	}
	resp, err := http.Get(g.srv.URL + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v %v", resp, err)
	}
	resp.Body.Close()
	status, _, body := rawPost(t, g.srv.URL+"/v1/nothing", `{}`)
	if status != 404 || body["error"] == nil {
		t.Fatalf("unknown route: %d %v", status, body)
	}
}

func TestClientDisconnectStopsGeneration(t *testing.T) {
	g := startGateway(t)
	c := g.client()
	ctx := testContext(t)
	stream, err := c.CreateCompletionStream(ctx, goopenai.CompletionRequest{Model: storiesID, Prompt: storyPrompt, MaxTokens: 500, Temperature: 1, Seed: intp(3)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	stream.Close() // the client goes away mid-stream
	g.waitIdle(storiesID)
	st := g.engine(storiesID).Stats()
	if st.Cancelled != 1 || st.Generated >= 500 || st.ActiveTokens != 0 {
		t.Fatalf("generation was not stopped by the disconnect: %+v", st)
	}
}

func TestInvalidUTF8Body(t *testing.T) {
	g := startGateway(t)
	status, _, body := rawPost(t, g.srv.URL+"/v1/completions", string(bytes.Join([][]byte{[]byte(`{"model":"stories260K","prompt":"`), {0xff, 0xfe}, []byte(`"}`)}, nil)))
	if status != 400 || body["error"].(map[string]any)["code"] != "invalid_encoding" {
		t.Fatalf("status %d body %v", status, body)
	}
}

func TestMultipleChoicesThroughSDK(t *testing.T) {
	g := startGateway(t)
	ctx := testContext(t)
	resp, err := g.client().CreateCompletion(ctx, goopenai.CompletionRequest{Model: storiesID, Prompt: storyPrompt, MaxTokens: 12, N: 2, Temperature: 1, Seed: intp(5)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 2 || resp.Choices[0].Index != 0 || resp.Choices[1].Index != 1 || resp.Usage.CompletionTokens != 24 {
		t.Fatalf("response %+v", resp)
	}
	stream, err := g.client().CreateCompletionStream(ctx, goopenai.CompletionRequest{Model: storiesID, Prompt: storyPrompt, MaxTokens: 12, N: 2, Temperature: 1, Seed: intp(5), Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	texts := make([]string, 2)
	finished := 0
	for {
		ch, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range ch.Choices {
			texts[c.Index] += c.Text
			if c.FinishReason != "" {
				finished++
			}
		}
	}
	if finished != 2 || texts[0] != resp.Choices[0].Text || texts[1] != resp.Choices[1].Text {
		t.Fatalf("streamed choices %q (finished %d), whole %q / %q", texts, finished, resp.Choices[0].Text, resp.Choices[1].Text)
	}
}

// completionUsage posts a greedy completion and returns its usage.
func completionUsage(t *testing.T, url, prompt string) (text string, promptTokens, cached int) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": storiesID, "prompt": prompt, "max_tokens": 8, "temperature": 0})
	status, _, out := rawPost(t, url, string(body))
	if status != 200 {
		t.Fatalf("status %d: %v", status, out)
	}
	u := out["usage"].(map[string]any)
	details := u["prompt_tokens_details"].(map[string]any)
	return out["choices"].([]any)[0].(map[string]any)["text"].(string), int(u["prompt_tokens"].(float64)), int(details["cached_tokens"].(float64))
}

func TestSharedPrefixHitsTheCache(t *testing.T) {
	g := startGateway(t)
	url := g.srv.URL + "/v1/completions"
	system := "You are a storyteller. Tell short, happy stories about animals in the forest, with a moral at the end. "
	completionUsage(t, url, system+"Tell me about a fox.")
	sysTokens, err := g.engine(storiesID).Tokenize(system, true)
	if err != nil {
		t.Fatal(err)
	}
	// A different question after the same system prompt reuses its KV.
	_, n, cached := completionUsage(t, url, system+"Tell me about an owl.")
	if cached < len(sysTokens)-1 || cached >= n {
		t.Fatalf("cached %d of %d prompt tokens; the shared prefix has %d", cached, n, len(sysTokens))
	}
	// A conversation that continues (the old prompt plus its answer plus
	// more) reuses everything before the new part.
	first := system + "Tell me about an owl."
	answer, _, _ := completionUsage(t, url, first)
	_, n2, cached2 := completionUsage(t, url, first+answer+" And then?")
	if cached2 < n-1 || cached2 >= n2 {
		t.Fatalf("follow-up cached %d of %d tokens, want at least the %d of the previous turn", cached2, n2, n-1)
	}
}

func TestLogitBias(t *testing.T) {
	g := startGateway(t)
	url := g.srv.URL + "/v1/completions"
	// A +100 bias on one token makes greedy decoding repeat it.
	completionUsage(t, url, storyPrompt) // loads the model
	var toks []int
	var word string
	// SentencePiece adds a leading space, so "the" is the piece " the".
	for _, w := range []string{"the", "a", "and", "e"} {
		if toks, _ = g.engine(storiesID).Tokenize(w, false); len(toks) == 1 {
			word = w
			break
		}
	}
	if word == "" {
		t.Fatal("no single-token word found in the vocabulary")
	}
	body := fmt.Sprintf(`{"model":"stories260K","prompt":"Once upon a time","max_tokens":3,"temperature":0,"logit_bias":{"%d":100}}`, toks[0])
	status, _, out := rawPost(t, url, body)
	if status != 200 || out["choices"].([]any)[0].(map[string]any)["text"] != strings.Repeat(" "+word, 3) {
		t.Fatalf("status %d: %v", status, out)
	}
	status, _, out = rawPost(t, url, `{"model":"stories260K","prompt":"x","logit_bias":{"100000":1}}`)
	if status != 400 || out["error"].(map[string]any)["param"] != "logit_bias" {
		t.Fatalf("out-of-vocabulary bias: %d %v", status, out)
	}
}

func TestPromptArraysTokensAndEcho(t *testing.T) {
	g := startGateway(t)
	url := g.srv.URL + "/v1/completions"
	one := func(prompt string) string {
		body, _ := json.Marshal(map[string]any{"model": storiesID, "prompt": prompt, "max_tokens": 10, "temperature": 0})
		_, _, out := rawPost(t, url, string(body))
		return out["choices"].([]any)[0].(map[string]any)["text"].(string)
	}
	a, b := one("Once upon a time"), one("The cat")
	// Two prompts, two choices each: choices 0-1 belong to the first prompt.
	status, _, out := rawPost(t, url, `{"model":"stories260K","prompt":["Once upon a time","The cat"],"n":2,"max_tokens":10,"temperature":0}`)
	if status != 200 {
		t.Fatalf("%d %v", status, out)
	}
	choices := out["choices"].([]any)
	if len(choices) != 4 {
		t.Fatalf("%d choices", len(choices))
	}
	for i, want := range []string{a, a, b, b} {
		c := choices[i].(map[string]any)
		if int(c["index"].(float64)) != i || c["text"] != want {
			t.Fatalf("choice %d = %v, want %q", i, c, want)
		}
	}
	usage := out["usage"].(map[string]any)
	ta, _ := g.engine(storiesID).Tokenize("Once upon a time", true)
	tb, _ := g.engine(storiesID).Tokenize("The cat", true)
	if int(usage["prompt_tokens"].(float64)) != len(ta)+len(tb) || int(usage["completion_tokens"].(float64)) != 40 {
		t.Fatalf("usage %v, prompts have %d + %d tokens", usage, len(ta), len(tb))
	}
	// A token prompt is the same as its text; echo puts the prompt first,
	// as /detokenize renders it (BOS included).
	toks, _ := json.Marshal(ta)
	detok, _ := g.engine(storiesID).Detokenize(ta)
	status, _, out = rawPost(t, url, `{"model":"stories260K","prompt":`+string(toks)+`,"max_tokens":10,"temperature":0,"echo":true}`)
	if status != 200 || out["choices"].([]any)[0].(map[string]any)["text"] != detok+a {
		t.Fatalf("token prompt with echo: %d %v", status, out)
	}
	// Streamed with echo: the first event carries the prompt.
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"model":"stories260K","prompt":["Once upon a time","The cat"],"max_tokens":10,"temperature":0,"echo":true,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	texts := map[int]string{}
	for _, ev := range strings.Split(strings.TrimSpace(string(raw)), "\n\n") {
		data := strings.TrimPrefix(ev, "data: ")
		if data == "[DONE]" {
			continue
		}
		var chunk struct {
			Choices []struct {
				Index int
				Text  string
			}
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			t.Fatalf("event %q: %v", ev, err)
		}
		for _, c := range chunk.Choices {
			texts[c.Index] += c.Text
		}
	}
	if texts[0] != "Once upon a time"+a || texts[1] != "The cat"+b {
		t.Fatalf("streamed %v", texts)
	}
	// Out-of-vocabulary token ids are a 400 naming prompt.
	status, _, out = rawPost(t, url, `{"model":"stories260K","prompt":[1,99999]}`)
	if status != 400 || out["error"].(map[string]any)["param"] != "prompt" {
		t.Fatalf("bad token: %d %v", status, out)
	}
}
