package e2e

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	openaigo "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// The second Go SDK, openai-go, against the same gateway: chat and
// completions, whole and streamed, and its typed API errors.

func newOpenAIGo(g *gateway) openaigo.Client {
	return openaigo.NewClient(option.WithBaseURL(g.srv.URL+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
}

func TestOpenAIGoChat(t *testing.T) {
	g := startChatGateway(t)
	c := newOpenAIGo(g)
	ctx := testContext(t)
	params := openaigo.ChatCompletionNewParams{
		Model:       chatID,
		Messages:    []openaigo.ChatCompletionMessageParamUnion{openaigo.SystemMessage("You tell stories."), openaigo.UserMessage("A story about a dog.")},
		MaxTokens:   openaigo.Int(16),
		Temperature: openaigo.Float(0),
	}
	whole, err := c.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Choices) != 1 || whole.Choices[0].Message.Content == "" || whole.Choices[0].FinishReason != "length" || whole.Usage.CompletionTokens != 16 {
		t.Fatalf("chat response %+v", whole)
	}
	stream := c.Chat.Completions.NewStreaming(ctx, params)
	acc := openaigo.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != whole.Choices[0].Message.Content {
		t.Fatalf("streamed %+v, whole %q", acc.Choices, whole.Choices[0].Message.Content)
	}
}

func TestOpenAIGoCompletions(t *testing.T) {
	g := startGateway(t)
	c := newOpenAIGo(g)
	ctx := testContext(t)
	params := openaigo.CompletionNewParams{
		Model:       storiesID,
		Prompt:      openaigo.CompletionNewParamsPromptUnion{OfString: openaigo.String(storyPrompt)},
		MaxTokens:   openaigo.Int(24),
		Temperature: openaigo.Float(0),
	}
	whole, err := c.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Choices) != 1 || whole.Choices[0].Text == "" || whole.Usage.CompletionTokens != 24 {
		t.Fatalf("completion %+v", whole)
	}
	stream := c.Completions.NewStreaming(ctx, params)
	var text strings.Builder
	for stream.Next() {
		for _, ch := range stream.Current().Choices {
			text.WriteString(ch.Text)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != whole.Choices[0].Text {
		t.Fatalf("streamed %q, whole %q", text.String(), whole.Choices[0].Text)
	}
}

func TestOpenAIGoErrors(t *testing.T) {
	g := startGateway(t)
	c := newOpenAIGo(g)
	ctx := testContext(t)
	_, err := c.Completions.New(ctx, openaigo.CompletionNewParams{Model: "nope", Prompt: openaigo.CompletionNewParamsPromptUnion{OfString: openaigo.String("x")}})
	var apiErr *openaigo.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" {
		t.Fatalf("unknown model: %#v", err)
	}
	_, err = c.Completions.New(ctx, openaigo.CompletionNewParams{Model: storiesID, Prompt: openaigo.CompletionNewParamsPromptUnion{OfString: openaigo.String("x")}, Temperature: openaigo.Float(3)})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Param != "temperature" {
		t.Fatalf("bad temperature: %#v", err)
	}
}
