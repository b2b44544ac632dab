package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	openaigo "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"
)

// response_format: grammar-constrained JSON through the openai-go SDK.

var okSchema = map[string]any{
	"type":                 "object",
	"properties":           map[string]any{"ok": map[string]any{"type": "boolean"}, "animal": map[string]any{"enum": []string{"cat", "dog"}}},
	"required":             []string{"ok", "animal"},
	"additionalProperties": false,
}

func schemaParams(schema any) openaigo.ChatCompletionNewParams {
	return openaigo.ChatCompletionNewParams{
		Model:       chatID,
		Messages:    []openaigo.ChatCompletionMessageParamUnion{openaigo.UserMessage("Is the cat happy? Answer in JSON.")},
		MaxTokens:   openaigo.Int(64),
		Temperature: openaigo.Float(0.8),
		Seed:        openaigo.Int(4),
		N:           openaigo.Int(2),
		ResponseFormat: openaigo.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
			JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "answer", Schema: schema, Strict: openaigo.Bool(true)},
		}},
	}
}

func checkOKAnswer(t *testing.T, content string, finish string) {
	t.Helper()
	var v struct {
		OK     *bool  `json:"ok"`
		Animal string `json:"animal"`
	}
	dec := json.NewDecoder(strings.NewReader(content))
	dec.DisallowUnknownFields()
	if finish != "stop" || dec.Decode(&v) != nil || v.OK == nil || (v.Animal != "cat" && v.Animal != "dog") {
		t.Fatalf("answer %q (finish %s) does not follow the schema", content, finish)
	}
}

func TestResponseFormatJSONSchema(t *testing.T) {
	g := startChatGateway(t)
	c := newOpenAIGo(g)
	ctx := testContext(t)
	whole, err := c.Chat.Completions.New(ctx, schemaParams(okSchema))
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range whole.Choices {
		checkOKAnswer(t, ch.Message.Content, string(ch.FinishReason))
	}

	stream := c.Chat.Completions.NewStreaming(ctx, schemaParams(okSchema))
	acc := openaigo.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	for _, ch := range acc.Choices {
		checkOKAnswer(t, ch.Message.Content, string(ch.FinishReason))
	}

	// The same request without response_format writes no such JSON: the
	// constraint is what made the answers above.
	p := schemaParams(okSchema)
	p.ResponseFormat = openaigo.ChatCompletionNewParamsResponseFormatUnion{}
	free, err := c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if json.Valid([]byte(free.Choices[0].Message.Content)) {
		t.Fatalf("unconstrained answer is JSON already: %q", free.Choices[0].Message.Content)
	}
}

func TestResponseFormatJSONObject(t *testing.T) {
	g := startChatGateway(t)
	// Each choice is an object; one that ends (stop) is a whole object.
	_, _, out := rawPost(t, g.srv.URL+"/v1/chat/completions",
		`{"model":"stories-chat","messages":[{"role":"user","content":"JSON please"}],"max_tokens":200,"n":2,"temperature":1,"seed":1,"response_format":{"type":"json_object"}}`)
	choices, _ := out["choices"].([]any)
	if len(choices) != 2 {
		t.Fatalf("response %v", out)
	}
	for _, c := range choices {
		ch := c.(map[string]any)
		content := ch["message"].(map[string]any)["content"].(string)
		if !strings.HasPrefix(content, "{") {
			t.Fatalf("json_object answer %q", content)
		}
		var obj map[string]any
		if ch["finish_reason"] == "stop" && json.Unmarshal([]byte(content), &obj) != nil {
			t.Fatalf("finished json_object answer does not parse: %q", content)
		}
	}
	// The model rarely closes an object by itself within a few hundred
	// tokens; with "}" made likely, the answer ends (stop) and parses.
	toks, err := g.engine(chatID).Tokenize("}", false)
	if err != nil || len(toks) == 0 {
		t.Fatalf("tokenize: %v %v", toks, err)
	}
	closeBrace := toks[len(toks)-1]
	_, _, out = rawPost(t, g.srv.URL+"/v1/chat/completions", fmt.Sprintf(
		`{"model":"stories-chat","messages":[{"role":"user","content":"JSON please"}],"max_tokens":200,"temperature":0,"logit_bias":{"%d":30},"response_format":{"type":"json_object"}}`, closeBrace))
	ch := out["choices"].([]any)[0].(map[string]any)
	var obj map[string]any
	if content := ch["message"].(map[string]any)["content"].(string); ch["finish_reason"] != "stop" || json.Unmarshal([]byte(content), &obj) != nil {
		t.Fatalf("json_object answer with a likely \"}\": %v", out)
	}

	// Legacy completions take response_format too (as llama-server does).
	_, _, out = rawPost(t, g.srv.URL+"/v1/completions",
		`{"model":"stories260K","prompt":"Once","max_tokens":40,"response_format":{"type":"json_schema","json_schema":{"name":"b","schema":{"type":"boolean"}}}}`)
	ch = out["choices"].([]any)[0].(map[string]any)
	var b bool
	if ch["finish_reason"] != "stop" || json.Unmarshal([]byte(ch["text"].(string)), &b) != nil {
		t.Fatalf("completion %v", out)
	}
}

func TestResponseFormatErrors(t *testing.T) {
	g := startChatGateway(t)
	c := newOpenAIGo(g)
	ctx := testContext(t)
	_, err := c.Chat.Completions.New(ctx, schemaParams(map[string]any{"type": "wizard"}))
	var apiErr *openaigo.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "response_format" {
		t.Fatalf("invalid schema: %v", err)
	}
	for body, param := range map[string]string{
		`"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"$ref":"#/nowhere"}}}`:                 "response_format",
		`"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"string","maxLength":100000}}}`: "response_format",
		`"response_format":{"type":"json_schema","json_schema":{"schema":{}}}`:                                              "response_format.json_schema.name",
		`"response_format":{"type":"xml"}`:                           "response_format.type",
		`"response_format":{"type":"json_object"},"ignore_eos":true`: "ignore_eos",
	} {
		status, _, out := rawPost(t, g.srv.URL+"/v1/chat/completions", `{"model":"stories-chat","messages":[{"role":"user","content":"x"}],`+body+`}`)
		if e, _ := out["error"].(map[string]any); status != 400 || e["param"] != param || e["type"] != "invalid_request_error" {
			t.Errorf("%s: %d %v", body, status, out)
		}
	}
}
