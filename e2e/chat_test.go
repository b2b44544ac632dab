package e2e

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/llamagate/llamagate/internal/testmodels"
	"github.com/llamagate/llamagate/models"
)

const chatID = "stories-chat"

// startChatGateway serves stories260K twice: as is (no chat template) and
// as stories-chat with Qwen 2.5's real chat template as an override.
func startChatGateway(t *testing.T) *gateway {
	t.Helper()
	tmpl, err := os.ReadFile(filepath.Join(testmodels.SharedDir(), "chat-templates", "templates", "Qwen-Qwen2.5-7B-Instruct.jinja"))
	if err != nil {
		testmodels.Path(t, "chat-templates/templates/Qwen-Qwen2.5-7B-Instruct.jinja")
		t.Fatal(err)
	}
	return startGateway(t, models.Spec{ID: chatID, Path: testmodels.Stories260K(t), Threads: 2, Parallel: 2, CtxSize: 512, ChatTemplate: string(tmpl)})
}

func TestChatCompletionWholeAndStream(t *testing.T) {
	g := startChatGateway(t)
	c := g.client()
	ctx := testContext(t)
	req := goopenai.ChatCompletionRequest{
		Model: chatID, MaxTokens: 20, Temperature: 0.5, Seed: intp(11),
		Messages: []goopenai.ChatCompletionMessage{
			{Role: "system", Content: "You tell stories."},
			{Role: "user", Content: "Tell me a story about a cat."},
		},
	}
	resp, err := c.CreateChatCompletion(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Object != "chat.completion" || !strings.HasPrefix(resp.ID, "chatcmpl-") || len(resp.Choices) != 1 ||
		resp.Choices[0].Message.Role != "assistant" || resp.Choices[0].Message.Content == "" || resp.Choices[0].FinishReason != "length" {
		t.Fatalf("response %+v", resp)
	}
	// The prompt is the template's rendering, as /apply-template shows it.
	status, _, applied := rawPost(t, g.srv.URL+"/apply-template", `{"model":"stories-chat","messages":[{"role":"system","content":"You tell stories."},{"role":"user","content":"Tell me a story about a cat."}]}`)
	if status != 200 {
		t.Fatalf("apply-template: %d %v", status, applied)
	}
	prompt := applied["prompt"].(string)
	if !strings.HasPrefix(prompt, "<|im_start|>system\nYou tell stories.<|im_end|>\n<|im_start|>user\n") || !strings.HasSuffix(prompt, "<|im_start|>assistant\n") {
		t.Fatalf("rendered prompt %q", prompt)
	}
	toks, _ := g.engine(chatID).Tokenize(prompt, true)
	if resp.Usage.PromptTokens != len(toks) || resp.Usage.CompletionTokens != 20 {
		t.Fatalf("usage %+v, the rendered prompt has %d tokens", resp.Usage, len(toks))
	}

	req.Stream = true
	req.StreamOptions = &goopenai.StreamOptions{IncludeUsage: true}
	stream, err := c.CreateChatCompletionStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var text strings.Builder
	var first = true
	var finish goopenai.FinishReason
	var usage *goopenai.Usage
	for {
		ch, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ch.Object != "chat.completion.chunk" {
			t.Fatalf("chunk object %q", ch.Object)
		}
		if ch.Usage != nil {
			usage = ch.Usage
		}
		if len(ch.Choices) == 0 {
			continue
		}
		d := ch.Choices[0]
		if first && d.Delta.Role != "assistant" {
			t.Fatalf("first delta has no role: %+v", d)
		}
		first = false
		text.WriteString(d.Delta.Content)
		if d.FinishReason != "" {
			finish = d.FinishReason
		}
	}
	if text.String() != resp.Choices[0].Message.Content || finish != "length" || usage == nil || usage.CompletionTokens != 20 {
		t.Fatalf("stream %q finish %q usage %+v; whole %q", text.String(), finish, usage, resp.Choices[0].Message.Content)
	}
}

func TestChatErrors(t *testing.T) {
	g := startChatGateway(t)
	url := g.srv.URL + "/v1/chat/completions"
	for _, tc := range []struct{ name, body, code, param string }{
		{"no template", `{"model":"stories260K","messages":[{"role":"user","content":"hi"}]}`, "chat_template_missing", "model"},
		{"image", `{"model":"stories-chat","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, "invalid_value", "messages[0].content[0]"},
		{"bad role", `{"model":"stories-chat","messages":[{"role":"wizard","content":"hi"}]}`, "invalid_value", "messages[0].role"},
		{"no messages", `{"model":"stories-chat","messages":[]}`, "invalid_value", "messages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, out := rawPost(t, url, tc.body)
			e, _ := out["error"].(map[string]any)
			if status != 400 || e["code"] != tc.code || e["param"] != tc.param {
				t.Fatalf("status %d body %v", status, out)
			}
		})
	}
	_, err := g.client().CreateChatCompletion(testContext(t), goopenai.ChatCompletionRequest{Model: "stories260K", Messages: []goopenai.ChatCompletionMessage{{Role: "user", Content: "x"}}})
	var apiErr *goopenai.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 400 {
		t.Fatalf("go-openai error %#v", err)
	}
}

func TestMultiTurnChatHitsPrefixCache(t *testing.T) {
	g := startChatGateway(t)
	c := g.client()
	ctx := testContext(t)
	msgs := []goopenai.ChatCompletionMessage{
		{Role: "system", Content: "You are a storyteller who writes short stories for children about animals."},
		{Role: "user", Content: "Tell me about a brave little fox."},
	}
	first, err := c.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: chatID, Messages: msgs, MaxTokens: 16, Seed: intp(1)})
	if err != nil {
		t.Fatal(err)
	}
	msgs = append(msgs, first.Choices[0].Message, goopenai.ChatCompletionMessage{Role: "user", Content: "And then what happened?"})
	second, err := c.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{Model: chatID, Messages: msgs, MaxTokens: 16, Seed: intp(1)})
	if err != nil {
		t.Fatal(err)
	}
	// Everything up to the first turn's prompt is reused: the second prompt
	// repeats it and adds the answer and the new question.
	if second.Usage.PromptTokensDetails == nil || second.Usage.PromptTokensDetails.CachedTokens < first.Usage.PromptTokens-1 {
		t.Fatalf("second turn cached %+v of %d tokens; the first turn's prompt had %d", second.Usage.PromptTokensDetails, second.Usage.PromptTokens, first.Usage.PromptTokens)
	}
}
