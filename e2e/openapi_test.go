package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

const specPath = "../openapi.yaml"

// loadSpec loads openapi.yaml and checks that it is a valid document.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(specPath)
	if err != nil {
		t.Fatalf("loading %s: %v", specPath, err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("%s is not a valid OpenAPI document: %v", specPath, err)
	}
	return doc
}

// sseDecoderOnce teaches openapi3filter to read text/event-stream bodies as
// plain strings (the spec describes them as such); the events themselves
// are checked by checkStream.
var sseDecoderOnce sync.Once

func registerSSEDecoder() {
	sseDecoderOnce.Do(func() {
		openapi3filter.RegisterBodyDecoder("text/event-stream", func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
			b, err := io.ReadAll(r)
			return string(b), err
		})
	})
}

// specClient sends requests to a test gateway and checks each request and
// response against the spec.
type specClient struct {
	t      *testing.T
	doc    *openapi3.T
	router routers.Router
	base   string
}

func newSpecClient(t *testing.T, g *gateway) *specClient {
	t.Helper()
	registerSSEDecoder()
	doc := loadSpec(t)
	doc.Servers = openapi3.Servers{{URL: g.srv.URL}}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router from spec: %v", err)
	}
	return &specClient{t: t, doc: doc, router: r, base: g.srv.URL}
}

// exchange is one checked request: the request must (or, with
// validRequest false, must not) match the spec, and the response must match
// it whatever its status. It returns the response and its body.
func (c *specClient) exchange(method, path, body string, validRequest bool) (*http.Response, []byte) {
	c.t.Helper()
	ctx := testContext(c.t)
	newReq := func() *http.Request {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
		if err != nil {
			c.t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		return req
	}

	checkReq := newReq()
	route, params, err := c.router.FindRoute(checkReq)
	if err != nil {
		c.t.Fatalf("%s %s: no operation in the spec: %v", method, path, err)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: checkReq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	err = openapi3filter.ValidateRequest(ctx, in)
	switch {
	case validRequest && err != nil:
		c.t.Fatalf("%s %s %s: request does not match the spec: %v", method, path, body, err)
	case !validRequest && err == nil:
		c.t.Fatalf("%s %s %s: the spec accepts a request the test means to be invalid", method, path, body)
	}

	resp, err := http.DefaultClient.Do(newReq())
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(got)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}); err != nil {
		c.t.Fatalf("%s %s %s: response (%d %s) does not match the spec: %v", method, path, body, resp.StatusCode, got, err)
	}
	return resp, got
}

// expect checks the status of an exchange and returns the decoded body.
func (c *specClient) expect(status int, method, path, body string, validRequest bool) map[string]any {
	c.t.Helper()
	resp, got := c.exchange(method, path, body, validRequest)
	if resp.StatusCode != status {
		c.t.Fatalf("%s %s %s: status %d, want %d: %s", method, path, body, resp.StatusCode, status, got)
	}
	var out map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(got, &out); err != nil {
			c.t.Fatalf("%s %s: body is not a JSON object: %q", method, path, got)
		}
	}
	return out
}

// checkStream checks an event stream: its content type, every data event
// against the component schema chunkSchema, and the final [DONE]. It
// returns the decoded chunks.
func (c *specClient) checkStream(path, body, chunkSchema string) []map[string]any {
	c.t.Helper()
	resp, got := c.exchange(http.MethodPost, path, body, true)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("%s stream: status %d: %s", path, resp.StatusCode, got)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		c.t.Fatalf("%s stream: content type %q", path, ct)
	}
	ref := c.doc.Components.Schemas[chunkSchema]
	if ref == nil || ref.Value == nil {
		c.t.Fatalf("the spec has no schema %s", chunkSchema)
	}
	opts := []openapi3.SchemaValidationOption{openapi3.MultiErrors()}
	if c.doc.IsOpenAPI31OrLater() {
		opts = append(opts, openapi3.EnableJSONSchema2020())
	}
	text := string(got)
	if !strings.HasSuffix(text, "\n\n") {
		c.t.Fatalf("%s stream does not end with a blank line: %q", path, text)
	}
	events := strings.Split(strings.TrimSuffix(text, "\n\n"), "\n\n")
	var chunks []map[string]any
	done := false
	for i, ev := range events {
		if done {
			c.t.Fatalf("%s stream: event %d after [DONE]: %q", path, i, ev)
		}
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.Contains(data, "\n") {
			c.t.Fatalf("%s stream: event %d is not one data line: %q", path, i, ev)
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var v any
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			c.t.Fatalf("%s stream: event %d is not JSON: %q", path, i, data)
		}
		if err := ref.Value.VisitJSON(v, opts...); err != nil {
			c.t.Fatalf("%s stream: event %d does not match %s: %v\n%s", path, i, chunkSchema, err, data)
		}
		chunks = append(chunks, v.(map[string]any))
	}
	if !done {
		c.t.Fatalf("%s stream does not end with data: [DONE]", path)
	}
	if len(chunks) == 0 {
		c.t.Fatalf("%s stream has no chunks", path)
	}
	return chunks
}

func TestOpenAPISpecIsValid(t *testing.T) {
	doc := loadSpec(t)
	for _, path := range []string{"/v1/completions", "/v1/chat/completions", "/v1/models", "/v1/models/{id}", "/tokenize", "/detokenize", "/apply-template", "/health", "/v1/embeddings"} {
		if doc.Paths.Find(path) == nil {
			t.Errorf("the spec does not describe %s", path)
		}
	}
	for _, name := range []string{"CompletionRequest", "ChatCompletionRequest", "Completion", "CompletionChunk", "ChatCompletion", "ChatCompletionChunk", "Usage", "Model", "ModelList", "ErrorResponse", "EmbeddingRequest", "EmbeddingList"} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("the spec has no component schema %s", name)
		}
	}
}

func TestOpenAPIConformance(t *testing.T) {
	g := startChatGateway(t)
	c := newSpecClient(t, g)

	t.Run("health", func(t *testing.T) {
		c.t = t
		c.expect(200, "GET", "/health", "", true)
	})
	t.Run("models", func(t *testing.T) {
		c.t = t
		list := c.expect(200, "GET", "/v1/models", "", true)
		if n := len(list["data"].([]any)); n != 2 {
			t.Fatalf("%d models listed, want 2", n)
		}
		m := c.expect(200, "GET", "/v1/models/"+storiesID, "", true)
		if m["id"] != storiesID {
			t.Fatalf("model %v", m)
		}
		e := c.expect(404, "GET", "/v1/models/no-such-model", "", true)
		if e["error"].(map[string]any)["code"] != "model_not_found" {
			t.Fatalf("error %v", e)
		}
	})
	t.Run("completion", func(t *testing.T) {
		c.t = t
		out := c.expect(200, "POST", "/v1/completions",
			`{"model":"stories260K","prompt":"Once upon a time","max_tokens":12,"temperature":0.7,"top_k":40,"min_p":0.05,"repeat_penalty":1.1,"seed":3,"stop":["\n\n"],"user":"u","some_unknown_field":{"x":1}}`, true)
		if out["object"] != "text_completion" {
			t.Fatalf("completion %v", out)
		}
	})
	t.Run("completion stream", func(t *testing.T) {
		c.t = t
		chunks := c.checkStream("/v1/completions",
			`{"model":"stories260K","prompt":"Once upon a time","max_tokens":12,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}`,
			"CompletionChunk")
		if last := chunks[len(chunks)-1]; last["usage"] == nil {
			t.Fatalf("last chunk has no usage: %v", last)
		}
	})
	chatBody := `{"model":"stories-chat","messages":[{"role":"developer","content":"You tell stories."},{"role":"user","content":[{"type":"text","text":"Tell me a story."}]},{"role":"assistant","content":null,"tool_calls":[]},{"role":"user","content":"Go on."}],"max_completion_tokens":10,"temperature":0.5,"seed":5`
	t.Run("chat completion", func(t *testing.T) {
		c.t = t
		out := c.expect(200, "POST", "/v1/chat/completions", chatBody+`}`, true)
		if out["object"] != "chat.completion" {
			t.Fatalf("chat completion %v", out)
		}
	})
	t.Run("chat completion stream", func(t *testing.T) {
		c.t = t
		chunks := c.checkStream("/v1/chat/completions", chatBody+`,"stream":true,"stream_options":{"include_usage":true}}`, "ChatCompletionChunk")
		first := chunks[0]["choices"].([]any)[0].(map[string]any)["delta"].(map[string]any)
		if first["role"] != "assistant" {
			t.Fatalf("first chunk %v", chunks[0])
		}
	})
	t.Run("completion logprobs", func(t *testing.T) {
		c.t = t
		body := `{"model":"stories260K","prompt":"Once upon a time","max_tokens":8,"temperature":0,"logprobs":3,"logit_bias":{"229":50}`
		out := c.expect(200, "POST", "/v1/completions", body+`}`, true)
		if out["choices"].([]any)[0].(map[string]any)["logprobs"] == nil {
			t.Fatalf("no logprobs: %v", out)
		}
		c.checkStream("/v1/completions", body+`,"stream":true}`, "CompletionChunk")
	})
	t.Run("chat logprobs and json_schema", func(t *testing.T) {
		c.t = t
		body := `{"model":"stories-chat","messages":[{"role":"user","content":"Yes or no?"}],"max_tokens":32,"logprobs":true,"top_logprobs":2,` +
			`"response_format":{"type":"json_schema","json_schema":{"name":"yes_no","schema":{"type":"object","properties":{"yes":{"type":"boolean"}},"required":["yes"]},"strict":true}}`
		out := c.expect(200, "POST", "/v1/chat/completions", body+`}`, true)
		if out["choices"].([]any)[0].(map[string]any)["logprobs"] == nil {
			t.Fatalf("no logprobs: %v", out)
		}
		chunks := c.checkStream("/v1/chat/completions", body+`,"stream":true}`, "ChatCompletionChunk")
		if len(chunks) < 3 || chunks[1]["choices"].([]any)[0].(map[string]any)["logprobs"] == nil {
			t.Fatalf("chunks %v", chunks)
		}
		c.expect(200, "POST", "/v1/chat/completions", `{"model":"stories-chat","messages":[{"role":"user","content":"x"}],"max_tokens":4,"response_format":{"type":"json_object"}}`, true)
	})
	t.Run("embeddings", func(t *testing.T) {
		c.t = t
		out := c.expect(200, "POST", "/v1/embeddings", `{"model":"stories260K","input":["Once upon a time","The cat"],"encoding_format":"float","user":"u"}`, true)
		if data := out["data"].([]any); len(data) != 2 || len(data[0].(map[string]any)["embedding"].([]any)) == 0 {
			t.Fatalf("embeddings %v", out)
		}
		out = c.expect(200, "POST", "/v1/embeddings", `{"model":"stories260K","input":[[1,2,3]],"encoding_format":"base64"}`, true)
		if _, ok := out["data"].([]any)[0].(map[string]any)["embedding"].(string); !ok {
			t.Fatalf("base64 embeddings %v", out)
		}
		e := c.expect(400, "POST", "/v1/embeddings", `{"model":"stories260K","input":""}`, false)
		if e["error"].(map[string]any)["param"] != "input" {
			t.Fatalf("error %v", e)
		}
		c.expect(400, "POST", "/v1/embeddings", `{"model":"stories260K","input":"x","dimensions":3}`, true)
	})
	t.Run("apply-template", func(t *testing.T) {
		c.t = t
		out := c.expect(200, "POST", "/apply-template", `{"model":"stories-chat","messages":[{"role":"user","content":"hi"}]}`, true)
		if !strings.HasSuffix(out["prompt"].(string), "<|im_start|>assistant\n") {
			t.Fatalf("prompt %v", out)
		}
	})
	t.Run("tokenize and detokenize", func(t *testing.T) {
		c.t = t
		out := c.expect(200, "POST", "/tokenize", `{"model":"stories260K","content":"Once upon a time","add_special":false}`, true)
		toks, _ := json.Marshal(out["tokens"])
		out = c.expect(200, "POST", "/detokenize", `{"model":"stories260K","tokens":`+string(toks)+`}`, true)
		if out["content"] != "Once upon a time" {
			t.Fatalf("detokenized %v", out)
		}
	})
	t.Run("errors", func(t *testing.T) {
		c.t = t
		for _, tc := range []struct {
			name, path, body string
			validRequest     bool
			status           int
			code             string
		}{
			{"unknown model", "/v1/completions", `{"model":"no-such-model","prompt":"x"}`, true, 404, "model_not_found"},
			{"unknown chat model", "/v1/chat/completions", `{"model":"no-such-model","messages":[{"role":"user","content":"x"}]}`, true, 404, "model_not_found"},
			{"malformed JSON", "/v1/completions", `{"model":"stories260K","prompt":`, false, 400, "invalid_json"},
			{"missing prompt", "/v1/completions", `{"model":"stories260K"}`, false, 400, "missing_required_parameter"},
			{"bad role", "/v1/chat/completions", `{"model":"stories-chat","messages":[{"role":"wizard","content":"hi"}]}`, false, 400, "invalid_value"},
			{"no chat template", "/v1/chat/completions", `{"model":"stories260K","messages":[{"role":"user","content":"hi"}]}`, true, 400, "chat_template_missing"},
			{"tokenize without model", "/tokenize", `{"content":"x"}`, false, 400, "missing_required_parameter"},
			{"detokenize unknown model", "/detokenize", `{"model":"no-such-model","tokens":[1]}`, true, 404, "model_not_found"},
			{"top_logprobs above 20", "/v1/chat/completions", `{"model":"stories-chat","messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":21}`, false, 400, "invalid_value"},
			{"legacy logprobs above 5", "/v1/completions", `{"model":"stories260K","prompt":"x","logprobs":6}`, false, 400, "invalid_value"},
			{"schema the converter rejects", "/v1/chat/completions", `{"model":"stories-chat","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"wizard"}}}}`, true, 400, "invalid_value"},
			{"json_schema without its object", "/v1/chat/completions", `{"model":"stories-chat","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema"}}`, false, 400, "missing_required_parameter"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c.t = t
				out := c.expect(tc.status, "POST", tc.path, tc.body, tc.validRequest)
				if got := out["error"].(map[string]any)["code"]; got != tc.code {
					t.Fatalf("code %v, want %s", got, tc.code)
				}
			})
		}
	})
}

// TestOpenAPICatchesDrift makes sure the checks above can fail: a response
// that differs from the spec is rejected.
func TestOpenAPICatchesDrift(t *testing.T) {
	doc := loadSpec(t)
	opts := []openapi3.SchemaValidationOption{openapi3.EnableJSONSchema2020()}
	for name, bad := range map[string]string{
		"ErrorResponse":         `{"error":{"message":"m","type":"invalid_request_error","param":"x"}}`,
		"Completion":            `{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"text":"t","index":0,"logprobs":null,"finish_reason":null}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`,
		"ChatCompletionChunk":   `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[]}`,
		"Usage":                 `{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2,"prompt_tokens_details":{}}`,
		"ChatCompletionRequest": `{"model":"m","messages":[{"role":"user"}]}`,
		"CompletionRequest":     `{"model":"m","prompt":"p","top_k":-1}`,
		"ChatLogprobs":          `{"content":[{"token":"a","logprob":0.5,"bytes":[97],"top_logprobs":[]}],"refusal":null}`,
		"CompletionLogprobs":    `{"tokens":["a"],"token_logprobs":[-1],"top_logprobs":[{"a":-1}]}`,
		"ResponseFormat":        `{"type":"json_schema","json_schema":{"name":"a b"}}`,
	} {
		var v any
		if err := json.Unmarshal([]byte(bad), &v); err != nil {
			t.Fatal(err)
		}
		if doc.Components.Schemas[name].Value.VisitJSON(v, opts...) == nil {
			t.Errorf("schema %s accepts %s", name, bad)
		}
	}
}
