package toolcall

// Samples for helper A's families (Hermes is in hermes_test.go); they run
// through the streaming harness in split_test.go.

import (
	"encoding/json"
	"sort"
	"testing"
	"time"
)

func init() {
	addMarkers("qwen3coder", "<tool_call>", "</tool_call>", "<function=", "<parameter=")
	addMarkers("llama3", "<|python_tag|>")
	addMarkers("firefunction", "functools")
	addMarkers("mistral", "[TOOL_CALLS]", "[ARGS]")
	addMarkers("mistral-nemo", "[TOOL_CALLS]")
	addMarkers("functionary-v3.1", "<function=", "</function>", "<|python_tag|>")
	addMarkers("functionary-v3.2", ">>>")
	addMarkers("granite", "<|tool_call|>", "<response>", "</response>")
	reasoning := Options{Reasoning: true, Choice: Choice{Parallel: true}}

	const qc = "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=days>\n3\n</parameter>\n<parameter=metric>\ntrue\n</parameter>\n<parameter=opts>\n{\"a\": [1, \"</x>\"]}\n</parameter>\n</function>\n</tool_call>"
	addSamples(
		sample{name: "typed parameters", format: "qwen3coder", out: "Checking.\n" + qc,
			want: Result{Content: "Checking.", Calls: calls("get_weather", `{"city": "Paris", "days": 3, "metric": true, "opts": {"a": [1, "</x>"]}}`)}},
		sample{name: "string stays string", format: "qwen3coder",
			out:  "<tool_call>\n<function=search>\n<parameter=query>\n42\n\"quoted\" <b>\n</parameter>\n</function>\n</tool_call>",
			want: Result{Calls: calls("search", `{"query": "42\n\"quoted\" <b>"}`)}},
		sample{name: "no parameters, two calls", format: "qwen3coder",
			out:  "<tool_call>\n<function=search>\n</function>\n</tool_call>\n<tool_call>\n<function=get_weather>\n<parameter=days>\nsoon\n</parameter>\n</function>\n</tool_call>",
			want: Result{Calls: calls("search", `{}`, "get_weather", `{"days": "soon"}`)}},
		sample{name: "reasoning then call", format: "qwen3coder", opts: reasoning, out: "<think>\nneed weather\n</think>\n\n" + qc,
			want: Result{Reasoning: "need weather", Calls: calls("get_weather", `{"city": "Paris", "days": 3, "metric": true, "opts": {"a": [1, "</x>"]}}`)}},
		sample{name: "unterminated", format: "qwen3coder", out: "<tool_call>\n<function=search>\n<parameter=query>\nabc", truncated: true, fail: true},
		sample{name: "not XML", format: "qwen3coder", out: "<tool_call>\n{\"name\": \"search\"}\n</tool_call>", fail: true},

		sample{name: "bare JSON call", format: "llama3", out: "\n{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}",
			want: Result{Calls: calls("get_weather", `{"city": "Paris"}`)}},
		sample{name: "typed JSON call", format: "llama3", out: `{"type": "function", "name": "search", "parameters": {"query": "{x}"}}`,
			want: Result{Calls: calls("search", `{"query": "{x}"}`)}},
		sample{name: "two calls", format: "llama3", out: `{"name": "search", "parameters": {"query": "a"}}; {"name": "search", "parameters": {"query": "b"}}`,
			want: Result{Calls: calls("search", `{"query": "a"}`, "search", `{"query": "b"}`)}},
		sample{name: "text with braces", format: "llama3", out: "The set {1, 2} is small.", want: Result{Content: "The set {1, 2} is small."}},
		sample{name: "python tag JSON", format: "llama3", out: "Let me look.<|python_tag|>{\"name\": \"search\", \"parameters\": {\"query\": \"x\"}}",
			want: Result{Content: "Let me look.", Calls: calls("search", `{"query": "x"}`)}},
		sample{name: "builtin", format: "llama3", out: `<|python_tag|>brave_search.call(query="weather \"Paris\"", n=3, safe=True)`,
			want: Result{Calls: calls("brave_search", `{"query": "weather \"Paris\"", "n": 3, "safe": true}`)}},
		sample{name: "malformed", format: "llama3", out: `{"name": "search", "parameters": {"query": }}`, fail: true},
		sample{name: "JSON that is no call", format: "llama3", out: `{"answer": 42}`, fail: true},
		sample{name: "unterminated", format: "llama3", out: `{"name": "search", "parameters": {"query": "x`, truncated: true, fail: true},

		sample{name: "list", format: "firefunction", out: ` functools[{"name": "search", "arguments": {"query": "a"}}, {"name": "get_weather", "arguments": {"city": "b"}}]`,
			want: Result{Calls: calls("search", `{"query": "a"}`, "get_weather", `{"city": "b"}`)}},

		sample{name: "nemo list keeps ids", format: "mistral-nemo", wantIDs: true,
			out:  `[TOOL_CALLS][{"name": "search", "arguments": {"query": "a"}, "id": "abcDEF123"}, {"name": "get_weather", "arguments": {"city": "b"}}]`,
			want: Result{Calls: []Call{{ID: "abcDEF123", Name: "search", Arguments: `{"query": "a"}`}, {ID: "call_1", Name: "get_weather", Arguments: `{"city": "b"}`}}}},
		sample{name: "name args", format: "mistral", out: `Sure.[TOOL_CALLS]search[ARGS]{"query": "a"}[TOOL_CALLS]get_weather[ARGS]{"city": "[ARGS]"}`,
			want: Result{Content: "Sure.", Calls: calls("search", `{"query": "a"}`, "get_weather", `{"city": "[ARGS]"}`)}},
		sample{name: "think then call", format: "mistral", opts: reasoning, out: `[THINK]Use search.[/THINK][TOOL_CALLS]search[ARGS]{"query": "a"}`,
			want: Result{Reasoning: "Use search.", Calls: calls("search", `{"query": "a"}`)}},
		sample{name: "bad args", format: "mistral", out: `[TOOL_CALLS]search[ARGS]{"query": a}`, fail: true},
		sample{name: "unterminated", format: "mistral", out: `[TOOL_CALLS]search[ARGS]{"query": "a`, truncated: true, fail: true},

		sample{name: "function tags", format: "functionary-v3.1", out: `Hi.<function=search>{"query": "a"}</function><function=get_weather>{"city": "b"}</function>`,
			want: Result{Content: "Hi.", Calls: calls("search", `{"query": "a"}`, "get_weather", `{"city": "b"}`)}},
		sample{name: "python code", format: "functionary-v3.1", out: "<|python_tag|>print(\"é\")\nx = 1",
			want: Result{Calls: calls("python", `{"code": "print(\"é\")\nx = 1"}`)}},
		sample{name: "unterminated", format: "functionary-v3.1", out: `<function=search>{"query": "a`, truncated: true, fail: true},

		sample{name: "text then call", format: "functionary-v3.2", out: "all\nLet me search.>>>search\n{\"query\": \"a\"}>>>get_weather\n{\"city\": \"b\"}",
			want: Result{Content: "Let me search.", Calls: calls("search", `{"query": "a"}`, "get_weather", `{"city": "b"}`)}},
		sample{name: "text only", format: "functionary-v3.2", out: "all\nHello there.", want: Result{Content: "Hello there."}},
		sample{name: "malformed", format: "functionary-v3.2", out: "search\n{\"query\" \"a\"}", fail: true},

		sample{name: "list", format: "granite", out: `<|tool_call|>[{"name": "search", "arguments": {"query": "a"}}]`,
			want: Result{Calls: calls("search", `{"query": "a"}`)}},
		sample{name: "think and response", format: "granite", opts: reasoning, out: "<think>hmm</think><response>Hello.</response>",
			want: Result{Reasoning: "hmm", Content: "Hello."}},
		sample{name: "unterminated", format: "granite", out: `<|tool_call|>[{"name": "search", "arguments": {`, truncated: true, fail: true},
	)
}

func TestFirefunctionTemplateVars(t *testing.T) {
	f := Lookup("firefunction")
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 3600))
	tools := []json.RawMessage{json.RawMessage(`{"type":"function","function":{"name":"get_weather","description":"a <b> & c","parameters":{"type":"object","properties":{"z":{},"a":{}}}}}`)}
	vars := f.TemplateVars(tools, now)
	want := `[
    {
        "name": "get_weather",
        "description": "a <b> & c",
        "parameters": {
            "type": "object",
            "properties": {
                "z": {},
                "a": {}
            }
        }
    }
]`
	if vars["functions"] != want || vars["datetime"] != "Mar 04 2026" {
		t.Fatalf("vars %q", vars)
	}
	if vars := f.TemplateVars(nil, now); vars["functions"] != "" || vars["datetime"] == nil {
		t.Fatalf("without tools: %q", vars)
	}
	for _, name := range Formats() {
		if Lookup(name) == nil {
			t.Errorf("Formats lists %q, which Lookup does not know", name)
		}
	}
	if names := Formats(); !sort.StringsAreSorted(names) || len(names) != len(formats)+1 || names[0] != "apriel" {
		t.Fatalf("Formats() = %q", names)
	}
}
