package toolcall

func init() {
	const n = "nemotron-v2"
	addMarkers(n, "<TOOLCALL>", "</TOOLCALL>")
	reason := Options{Reasoning: true, ThinkingOpen: true, Choice: Choice{Parallel: true}}
	addSamples(
		sample{name: "reasoning then text", format: n, opts: reason, out: "Greet back.\n</think>\n\nHello!", want: Result{Reasoning: "Greet back.", Content: "Hello!"}},
		sample{name: "call as the template renders it", format: n, out: `<TOOLCALL>[{"name": "get_weather", "arguments": {"city": "Paris"}}]</TOOLCALL>`,
			want: Result{Calls: calls("get_weather", `{"city": "Paris"}`)}},
		sample{name: "reasoning and two calls", format: n, opts: reason,
			out:  "Both.</think>\n<TOOLCALL>[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}, {\"name\": \"search\", \"arguments\": \"{\\\"query\\\": \\\"q\\\"}\"}]</TOOLCALL>",
			want: Result{Reasoning: "Both.", Calls: calls("get_weather", `{"city": "Oslo"}`, "search", `{"query": "q"}`)}},
		sample{name: "malformed", format: n, out: `<TOOLCALL>[{"name": "search", "arguments": {]</TOOLCALL>`, fail: true},
		sample{name: "truncated", format: n, truncated: true, out: `<TOOLCALL>[{"name": "search", "arguments": {"query": "`, fail: true},
	)

	const a = "apriel"
	addMarkers(a, "<tool_calls>", "</tool_calls>", "[BEGIN FINAL RESPONSE]", "[END FINAL RESPONSE]")
	ar := Options{Reasoning: true, Choice: Choice{Parallel: true}}
	addSamples(
		sample{name: "reasoning and answer", format: a, opts: ar, out: "Here are my reasoning steps:\nSay hi.\n[BEGIN FINAL RESPONSE]\nHi!\n[END FINAL RESPONSE]\n",
			want: Result{Reasoning: "Here are my reasoning steps:\nSay hi.", Content: "Hi!"}},
		sample{name: "reasoning and call", format: a, opts: ar, out: "Need weather.\n[BEGIN FINAL RESPONSE]\n<tool_calls>[{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}]</tool_calls>",
			want: Result{Reasoning: "Need weather.", Calls: calls("get_weather", `{"city": "Paris"}`)}},
		sample{name: "no tools", format: a, opts: ar, noTools: true, out: "x[BEGIN FINAL RESPONSE]<tool_calls>[]</tool_calls>[END FINAL RESPONSE]",
			want: Result{Reasoning: "x", Content: "<tool_calls>[]</tool_calls>"}},
		sample{name: "truncated", format: a, opts: ar, truncated: true, out: "x[BEGIN FINAL RESPONSE]<tool_calls>[{\"name\": \"search\"", fail: true},
	)
}
