package router

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/internal/testmodels"
	"github.com/llamagate/llamagate/models"
)

// chatEngine is a scripted engine with a chat template and llama.cpp's
// place as schema converter. It records the requests it was given.
type chatEngine struct {
	fakeEngine
	template string
	mu       sync.Mutex
	reqs     []engine.Request
}

func (e *chatEngine) Info() engine.ModelInfo {
	return engine.ModelInfo{CtxSize: 4096, Parallel: 2, VocabSize: 100, ChatTemplate: e.template}
}

func (e *chatEngine) Generate(ctx context.Context, req engine.Request) (engine.Stream, error) {
	e.mu.Lock()
	e.reqs = append(e.reqs, req)
	e.mu.Unlock()
	return e.fakeEngine.Generate(ctx, req)
}

// Tokenize counts one token per word, so reasoning tokens are checkable.
func (e *chatEngine) Tokenize(text string, _ bool) ([]int, error) {
	return make([]int, len(strings.Fields(text))), nil
}

func (e *chatEngine) SchemaToGrammar([]byte) (string, error) {
	return `root ::= "{" [^}]* "}"`, nil
}

func (e *chatEngine) last(t *testing.T) engine.Request {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.reqs) == 0 {
		t.Fatal("the engine got no request")
	}
	return e.reqs[len(e.reqs)-1]
}

func sharedTemplate(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(testmodels.Path(t, "chat-templates/templates/"+name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// textEvents splits each choice's text into events at every few bytes, so
// markers arrive split, then ends each choice.
func textEvents(finish engine.FinishReason, texts ...string) []engine.Event {
	var evs []engine.Event
	for i, text := range texts {
		for len(text) > 0 {
			n := min(3, len(text))
			evs = append(evs, engine.Event{Index: i, Text: text[:n]})
			text = text[n:]
		}
	}
	for i := range texts {
		evs = append(evs, engine.Event{Index: i, Done: true, Finish: finish, Usage: engine.Usage{PromptTokens: 5, CompletionTokens: 20}})
	}
	return evs
}

func serveChat(t *testing.T, e *chatEngine, spec models.Spec) *httptest.Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	spec.ID, spec.TTL = "m", -1
	mgr := models.NewManager([]models.Spec{spec}, models.Options{Logger: log, Loader: func(context.Context, models.Spec, func(float64)) (engine.Engine, error) {
		return e, nil
	}})
	t.Cleanup(func() { mgr.Close() })
	srv := httptest.NewServer(New(Config{Logger: log}, mgr))
	t.Cleanup(srv.Close)
	return srv
}

func postChat(t *testing.T, srv *httptest.Server, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const weatherTools = `"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather of a city",
	"parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]`

type wholeAnswer struct {
	Choices []struct {
		Index   int
		Message struct {
			Content          *string
			ReasoningContent string `json:"reasoning_content"`
			ToolCalls        []struct {
				ID       string
				Type     string
				Function struct{ Name, Arguments string }
			} `json:"tool_calls"`
		}
		FinishReason string `json:"finish_reason"`
	}
	Usage struct {
		CompletionTokensDetails *struct {
			ReasoningTokens int `json:"reasoning_tokens"`
		} `json:"completion_tokens_details"`
	}
}

func decodeWhole(t *testing.T, body string) wholeAnswer {
	t.Helper()
	var a wholeAnswer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return a
}

// streamed is a streamed answer put back together per choice.
type streamed struct {
	content, reasoning map[int]string
	calls              map[int][]streamedCall
	finish             map[int]string
	reasoningTokens    int
	errBody            string
}

type streamedCall struct{ id, typ, name, args string }

// readStream accumulates a chat stream the way SDKs do, checking the
// shape of each tool-call delta.
func readStream(t *testing.T, body string) streamed {
	t.Helper()
	s := streamed{content: map[int]string{}, reasoning: map[int]string{}, calls: map[int][]streamedCall{}, finish: map[int]string{}}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || line == "[DONE]" {
			continue
		}
		if strings.HasPrefix(line, `{"error"`) {
			s.errBody = line
			continue
		}
		var ch struct {
			Choices []struct {
				Index int
				Delta struct {
					Content          *string
					ReasoningContent *string `json:"reasoning_content"`
					ToolCalls        []struct {
						Index    *int
						ID       string
						Type     string
						Function struct {
							Name      string
							Arguments *string
						}
					} `json:"tool_calls"`
				}
				FinishReason *string `json:"finish_reason"`
			}
			Usage *struct {
				CompletionTokensDetails *struct {
					ReasoningTokens int `json:"reasoning_tokens"`
				} `json:"completion_tokens_details"`
			}
		}
		if err := json.Unmarshal([]byte(line), &ch); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if ch.Usage != nil && ch.Usage.CompletionTokensDetails != nil {
			s.reasoningTokens = ch.Usage.CompletionTokensDetails.ReasoningTokens
		}
		for _, c := range ch.Choices {
			d := c.Delta
			if d.Content != nil {
				s.content[c.Index] += *d.Content
			}
			if d.ReasoningContent != nil {
				s.reasoning[c.Index] += *d.ReasoningContent
			}
			for _, tc := range d.ToolCalls {
				if tc.Index == nil || tc.Function.Arguments == nil {
					t.Fatalf("a tool-call delta without index or arguments: %s", line)
				}
				calls := s.calls[c.Index]
				switch {
				case *tc.Index == len(calls):
					if tc.ID == "" || tc.Type != "function" || tc.Function.Name == "" || *tc.Function.Arguments != "" {
						t.Fatalf("a call's first delta must carry id, type, name and empty arguments: %s", line)
					}
					s.calls[c.Index] = append(calls, streamedCall{id: tc.ID, typ: tc.Type, name: tc.Function.Name})
				case *tc.Index == len(calls)-1:
					if tc.ID != "" || tc.Function.Name != "" {
						t.Fatalf("a later delta of a call repeats its id or name: %s", line)
					}
					calls[*tc.Index].args += *tc.Function.Arguments
				default:
					t.Fatalf("tool-call delta with index %d after %d calls: %s", *tc.Index, len(calls), line)
				}
			}
			if c.FinishReason != nil {
				s.finish[c.Index] = *c.FinishReason
			}
		}
	}
	return s
}

func TestChatToolCalls(t *testing.T) {
	qwen3 := sharedTemplate(t, "Qwen-Qwen3-0.6B.jinja")
	const answer = "<think>\nThe user wants weather.\n</think>\n\nLet me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
	e := &chatEngine{template: qwen3, fakeEngine: fakeEngine{events: textEvents(engine.FinishStop, answer, answer)}}
	srv := serveChat(t, e, models.Spec{})
	msgs := `"messages":[{"role":"user","content":"Weather in Paris?"}]`

	status, body := postChat(t, srv, `{"model":"m",`+msgs+`,`+weatherTools+`,"n":2}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	a := decodeWhole(t, body)
	for _, ch := range a.Choices {
		m := ch.Message
		if ch.FinishReason != "tool_calls" || len(m.ToolCalls) != 1 || m.ToolCalls[0].Function.Name != "get_weather" ||
			m.ToolCalls[0].Type != "function" || !strings.HasPrefix(m.ToolCalls[0].ID, "call_") ||
			m.ReasoningContent != "The user wants weather." || m.Content == nil || *m.Content != "Let me check." {
			t.Fatalf("choice %d: %s", ch.Index, body)
		}
		var args map[string]string
		if json.Unmarshal([]byte(m.ToolCalls[0].Function.Arguments), &args) != nil || args["city"] != "Paris" {
			t.Fatalf("arguments %q", m.ToolCalls[0].Function.Arguments)
		}
	}
	if d := a.Usage.CompletionTokensDetails; d == nil || d.ReasoningTokens != 2*4 {
		t.Fatalf("usage details %+v, want 4 reasoning tokens per choice", d)
	}
	req := e.last(t)
	if !strings.Contains(req.Prompt, "<tools>") || !strings.Contains(req.Prompt, "get_weather") {
		t.Fatalf("the prompt lacks the tools: %q", req.Prompt)
	}
	if req.Grammar == nil || !req.Grammar.Lazy || len(req.Grammar.Triggers) == 0 {
		t.Fatalf("tool_choice auto: grammar %+v, want a lazy one with triggers", req.Grammar)
	}

	// Streamed, the deltas add up to the whole answer.
	status, body = postChat(t, srv, `{"model":"m",`+msgs+`,`+weatherTools+`,"n":2,"stream":true,"stream_options":{"include_usage":true}}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	s := readStream(t, body)
	for i, ch := range a.Choices {
		calls := s.calls[i]
		want := ch.Message
		if s.finish[i] != "tool_calls" || s.content[i] != *want.Content || s.reasoning[i] != want.ReasoningContent ||
			len(calls) != 1 || calls[0].name != "get_weather" || calls[0].args != want.ToolCalls[0].Function.Arguments {
			t.Fatalf("choice %d streamed as %+v, whole %+v", i, s, want)
		}
	}
	if s.reasoningTokens != 8 {
		t.Fatalf("streamed reasoning tokens %d, want 8", s.reasoningTokens)
	}
}

func TestChatToolChoices(t *testing.T) {
	qwen3 := sharedTemplate(t, "Qwen-Qwen3-0.6B.jinja")
	const call = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
	msgs := `"messages":[{"role":"user","content":"Weather in Paris?"}]`
	for _, tc := range []struct {
		name, choice string
		lazy         bool
	}{
		{"required", `"required"`, false},
		{"named", `{"type":"function","function":{"name":"get_weather"}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &chatEngine{template: qwen3, fakeEngine: fakeEngine{events: textEvents(engine.FinishStop, call)}}
			srv := serveChat(t, e, models.Spec{})
			status, body := postChat(t, srv, `{"model":"m",`+msgs+`,`+weatherTools+`,"tool_choice":`+tc.choice+`}`)
			a := decodeWhole(t, body)
			if status != 200 || len(a.Choices[0].Message.ToolCalls) != 1 || a.Choices[0].Message.Content != nil {
				t.Fatalf("status %d: %s (want one call and null content)", status, body)
			}
			if g := e.last(t).Grammar; g == nil || g.Lazy {
				t.Fatalf("grammar %+v, want one from the first token", g)
			}
		})
	}

	t.Run("none", func(t *testing.T) {
		e := &chatEngine{template: qwen3, fakeEngine: fakeEngine{events: textEvents(engine.FinishStop, call)}}
		srv := serveChat(t, e, models.Spec{})
		status, body := postChat(t, srv, `{"model":"m",`+msgs+`,`+weatherTools+`,"tool_choice":"none"}`)
		a := decodeWhole(t, body)
		req := e.last(t)
		if status != 200 || len(a.Choices[0].Message.ToolCalls) != 0 || *a.Choices[0].Message.Content != call || a.Choices[0].FinishReason != "stop" {
			t.Fatalf("status %d: %s (want the text as content)", status, body)
		}
		if req.Grammar != nil || strings.Contains(req.Prompt, "get_weather") {
			t.Fatalf("tool_choice none rendered the tools or constrained the output: %+v", req)
		}
	})

	t.Run("arguments off schema", func(t *testing.T) {
		bad := "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": 5}}\n</tool_call>"
		e := &chatEngine{template: qwen3, fakeEngine: fakeEngine{events: textEvents(engine.FinishStop, bad)}}
		srv := serveChat(t, e, models.Spec{})
		status, body := postChat(t, srv, `{"model":"m",`+msgs+`,`+weatherTools+`,"tool_choice":"required"}`)
		if status != 500 || errorCode(t, body) != "invalid_model_output" || !strings.Contains(body, "get_weather") {
			t.Fatalf("status %d: %s", status, body)
		}
		_, body = postChat(t, srv, `{"model":"m",`+msgs+`,`+weatherTools+`,"tool_choice":"required","stream":true}`)
		if s := readStream(t, body); !strings.Contains(s.errBody, "invalid_model_output") || strings.Contains(body, "[DONE]") {
			t.Fatalf("streamed: %s", body)
		}
		// Not forced, the same call is returned as the model wrote it.
		status, body = postChat(t, srv, `{"model":"m",`+msgs+`,`+weatherTools+`}`)
		if a := decodeWhole(t, body); status != 200 || len(a.Choices[0].Message.ToolCalls) != 1 {
			t.Fatalf("auto: %d %s", status, body)
		}
	})

	t.Run("cut short", func(t *testing.T) {
		cut := "<tool_call>\n{\"name\": \"get_weather\", \"argum"
		e := &chatEngine{template: qwen3, fakeEngine: fakeEngine{events: textEvents(engine.FinishLength, cut)}}
		srv := serveChat(t, e, models.Spec{})
		status, body := postChat(t, srv, `{"model":"m",`+msgs+`,`+weatherTools+`,"tool_choice":"required"}`)
		a := decodeWhole(t, body)
		if status != 200 || a.Choices[0].FinishReason != "length" || len(a.Choices[0].Message.ToolCalls) != 0 || *a.Choices[0].Message.Content != cut {
			t.Fatalf("status %d: %s (want the raw text, finish length)", status, body)
		}
		_, body = postChat(t, srv, `{"model":"m",`+msgs+`,`+weatherTools+`,"tool_choice":"required","stream":true}`)
		if s := readStream(t, body); s.finish[0] != "length" || s.content[0] != cut || s.errBody != "" {
			t.Fatalf("streamed: %+v", s)
		}
	})
}

func TestChatReasoning(t *testing.T) {
	qwen3 := sharedTemplate(t, "Qwen-Qwen3-0.6B.jinja")
	const answer = "<think>\nHmm.\n</think>\n\nHello."
	e := &chatEngine{template: qwen3, fakeEngine: fakeEngine{events: textEvents(engine.FinishStop, answer)}}
	srv := serveChat(t, e, models.Spec{})
	msgs := `"messages":[{"role":"user","content":"Hi"}]`

	_, body := postChat(t, srv, `{"model":"m",`+msgs+`}`)
	if m := decodeWhole(t, body).Choices[0].Message; m.ReasoningContent != "Hmm." || *m.Content != "Hello." {
		t.Fatalf("reasoning not separated: %s", body)
	}
	_, body = postChat(t, srv, `{"model":"m",`+msgs+`,"reasoning_format":"none"}`)
	if m := decodeWhole(t, body).Choices[0].Message; m.ReasoningContent != "" || *m.Content != answer {
		t.Fatalf("reasoning_format none: %s", body)
	}
	// A model configured for inline reasoning keeps it unless asked.
	srvNone := serveChat(t, &chatEngine{template: qwen3, fakeEngine: fakeEngine{events: textEvents(engine.FinishStop, answer)}}, models.Spec{ReasoningFormat: "none"})
	_, body = postChat(t, srvNone, `{"model":"m",`+msgs+`}`)
	if m := decodeWhole(t, body).Choices[0].Message; *m.Content != answer {
		t.Fatalf("model reasoning_format none: %s", body)
	}

	// chat_template_kwargs reach the template: Qwen 3 closes an empty
	// think block when enable_thinking is false.
	postChat(t, srv, `{"model":"m",`+msgs+`,"chat_template_kwargs":{"enable_thinking":false}}`)
	if p := e.last(t).Prompt; !strings.HasSuffix(p, "<think>\n\n</think>\n\n") {
		t.Fatalf("enable_thinking false not rendered: %q", p)
	}

	// The reasoning of an assistant turn after the last user message is
	// rendered back (Qwen 3 drops it for earlier turns by design).
	postChat(t, srv, `{"model":"m","messages":[{"role":"user","content":"Weather?"},
		{"role":"assistant","content":"","reasoning_content":"Need the tool.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
		{"role":"tool","tool_call_id":"call_1","content":"sunny"}],`+weatherTools+`}`)
	if p := e.last(t).Prompt; !strings.Contains(p, "<think>\nNeed the tool.\n</think>") || !strings.Contains(p, `"city": "Paris"`) {
		t.Fatalf("previous reasoning or call not rendered: %q", p)
	}
}

func TestChatToolFormatOverride(t *testing.T) {
	// A template of no known family gets the configured format.
	const tmpl = "{% for m in messages %}{{ m.content }}{% endfor %}"
	const call = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
	e := &chatEngine{template: tmpl, fakeEngine: fakeEngine{events: textEvents(engine.FinishStop, call)}}
	srv := serveChat(t, e, models.Spec{ToolFormat: "hermes"})
	_, body := postChat(t, srv, `{"model":"m","messages":[{"role":"user","content":"x"}],`+weatherTools+`}`)
	if a := decodeWhole(t, body); len(a.Choices[0].Message.ToolCalls) != 1 {
		t.Fatalf("%s", body)
	}
}

// TestChatTemplateVars: a family's own template variables reach its
// template (Firefunction v2's needs functions and datetime, and fails
// without them), and the request's chat_template_kwargs win over them.
func TestChatTemplateVars(t *testing.T) {
	const call = ` functools[{"name": "get_weather", "arguments": {"city": "Paris"}}]`
	e := &chatEngine{template: sharedTemplate(t, "fireworks-ai-llama-3-firefunction-v2.jinja"), fakeEngine: fakeEngine{events: textEvents(engine.FinishStop, call)}}
	srv := serveChat(t, e, models.Spec{})
	msgs := `"model":"m","messages":[{"role":"user","content":"Weather in Paris?"}]`

	status, body := postChat(t, srv, `{`+msgs+`,`+weatherTools+`,"tool_choice":"required"}`)
	if a := decodeWhole(t, body); status != 200 || len(a.Choices[0].Message.ToolCalls) != 1 {
		t.Fatalf("status %d: %s", status, body)
	}
	p := e.last(t).Prompt
	if !strings.Contains(p, "Available functions as JSON spec:\n[\n    {\n        \"name\": \"get_weather\"") || !strings.Contains(p, "\nToday is ") || strings.Contains(p, `"type": "function"`) {
		t.Fatalf("functions or datetime not rendered: %q", p)
	}
	if status, body := postChat(t, srv, `{`+msgs+`,`+weatherTools+`,"tool_choice":"none"}`); status != 200 || strings.Contains(e.last(t).Prompt, "get_weather") {
		t.Fatalf("tool_choice none: %d %s, prompt %q", status, body, e.last(t).Prompt)
	}
	postChat(t, srv, `{`+msgs+`,`+weatherTools+`,"chat_template_kwargs":{"functions":"MINE","datetime":"then"}}`)
	if p := e.last(t).Prompt; !strings.Contains(p, "JSON spec:\nMINE\nToday is then.") {
		t.Fatalf("chat_template_kwargs did not win: %q", p)
	}
}

func TestChatToolErrors(t *testing.T) {
	e := &chatEngine{template: "{{ messages[0].content }}", fakeEngine: fakeEngine{events: textEvents(engine.FinishStop, "x")}}
	srv := serveChat(t, e, models.Spec{})
	msgs := `"model":"m","messages":[{"role":"user","content":"x"}]`
	for _, tc := range []struct{ body, param string }{
		{`{` + msgs + `,"tools":[{"type":"function","function":{"name":"bad name"}}]}`, "tools[0].function.name"},
		{`{` + msgs + `,"tools":[{"type":"retrieval"}]}`, "tools[0].type"},
		{`{` + msgs + `,"tools":[{"type":"function","function":{"name":"f","parameters":[]}}]}`, "tools[0].function.parameters"},
		{`{` + msgs + `,` + weatherTools + `,"tool_choice":{"type":"function","function":{"name":"nope"}}}`, "tool_choice"},
		{`{` + msgs + `,` + weatherTools + `,"tool_choice":"sometimes"}`, "tool_choice"},
		{`{` + msgs + `,"tool_choice":"required"}`, "tool_choice"},
		{`{` + msgs + `,` + weatherTools + `,"tool_choice":"required","response_format":{"type":"json_object"}}`, "response_format"},
		{`{` + msgs + `,"reasoning_effort":"extreme"}`, "reasoning_effort"},
		{`{` + msgs + `,"chat_template_kwargs":[1]}`, "chat_template_kwargs"},
	} {
		status, body := postChat(t, srv, tc.body)
		var env struct {
			Error struct{ Param string } `json:"error"`
		}
		if json.Unmarshal([]byte(body), &env); status != 400 || env.Error.Param != tc.param {
			t.Errorf("%s: status %d %s, want 400 naming %s", tc.body, status, body, tc.param)
		}
	}
}
