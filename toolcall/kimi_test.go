package toolcall

func kimiCall(id, name, args string) Call { return Call{ID: id, Name: name, Arguments: args} }

func init() {
	const f = "kimi-k2"
	addMarkers(f, "<|tool_calls_section_begin|>", "<|tool_call_begin|>", "<|tool_call_argument_begin|>", "<|tool_call_end|>", "<|tool_calls_section_end|>")
	const one = "<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{\"city\": \"Paris\"}<|tool_call_end|><|tool_calls_section_end|>"
	addSamples(
		sample{name: "plain", format: f, out: "Hello <|there|>.", want: Result{Content: "Hello <|there|>."}},
		sample{name: "one call keeps the model's id", format: f, out: one, wantIDs: true,
			want: Result{Calls: []Call{kimiCall("functions.get_weather:0", "get_weather", `{"city": "Paris"}`)}}},
		sample{name: "text, reasoning, two calls", format: f, opts: Options{Reasoning: true, Choice: Choice{Parallel: true}}, wantIDs: true,
			out: "<think>need both</think>On it. <|tool_calls_section_begin|>\n<|tool_call_begin|> functions.get_weather:0 <|tool_call_argument_begin|>{\"city\": \"Paris\", \"metric\": true}<|tool_call_end|>\n" +
				"<|tool_call_begin|>functions.search:1<|tool_call_argument_begin|>{\"query\": \"<|tool_call_end|>\"}<|tool_call_end|><|tool_calls_section_end|>",
			want: Result{Reasoning: "need both", Content: "On it.", Calls: []Call{
				kimiCall("functions.get_weather:0", "get_weather", `{"city": "Paris", "metric": true}`),
				kimiCall("functions.search:1", "search", `{"query": "<|tool_call_end|>"}`)}}},
		sample{name: "bare name gets an id", format: f, out: "<|tool_calls_section_begin|><|tool_call_begin|>search<|tool_call_argument_begin|>{}<|tool_call_end|><|tool_calls_section_end|>", wantIDs: true,
			want: Result{Calls: []Call{kimiCall("call_1", "search", `{}`)}}},
		sample{name: "text after the section", format: f, out: one + " Done.", want: Result{Content: "Done.", Calls: calls("get_weather", `{"city": "Paris"}`)}},
		sample{name: "no tools: text", format: f, noTools: true, out: one, want: Result{Content: one}},
		sample{name: "malformed arguments", format: f, out: "<|tool_calls_section_begin|><|tool_call_begin|>functions.search:0<|tool_call_argument_begin|>{query}<|tool_call_end|>", fail: true},
		sample{name: "junk after arguments", format: f, out: "<|tool_calls_section_begin|><|tool_call_begin|>functions.search:0<|tool_call_argument_begin|>{} x<|tool_call_end|>", fail: true},
		sample{name: "truncated", format: f, truncated: true, out: "<|tool_calls_section_begin|><|tool_call_begin|>functions.search:0<|tool_call_argument_begin|>{\"query\": \"", fail: true},
		sample{name: "truncated in header", format: f, truncated: true, out: "<|tool_calls_section_begin|><|tool_call_begin|>functions.sea", fail: true},
	)
}
