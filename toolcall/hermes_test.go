package toolcall

func calls(nameArgs ...string) []Call {
	var cs []Call
	for i := 0; i+1 < len(nameArgs); i += 2 {
		cs = append(cs, Call{Name: nameArgs[i], Arguments: nameArgs[i+1]})
	}
	return cs
}

func init() {
	addMarkers("hermes", "<tool_call>", "</tool_call>")
	addMarkers("generic", "<tool_call>", "</tool_call>")
	const one = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
	for _, f := range []string{"hermes", "generic"} {
		addSamples(
			sample{name: "plain", format: f, out: "Hello <there> world.", want: Result{Content: "Hello <there> world."}},
			sample{name: "one call", format: f, out: one, want: Result{Calls: calls("get_weather", `{"city": "Paris"}`)}},
			sample{name: "text before", format: f, out: "Let me check.\n\n" + one, want: Result{Content: "Let me check.", Calls: calls("get_weather", `{"city": "Paris"}`)}},
		)
	}
	addSamples(
		sample{name: "two calls", format: "hermes",
			out:  one + "\n<tool_call>\n{\"name\": \"search\", \"arguments\": {\"query\": \"a \\\"}</tool_call>\\\" b\", \"n\": [1, {\"x\": \"}\"}]}}\n</tool_call>",
			want: Result{Calls: calls("get_weather", `{"city": "Paris"}`, "search", `{"query": "a \"}</tool_call>\" b", "n": [1, {"x": "}"}]}`)}},
		sample{name: "parallel off keeps the first", format: "hermes", opts: Options{Choice: Choice{Mode: ChoiceRequired}},
			out:  one + one,
			want: Result{Calls: calls("get_weather", `{"city": "Paris"}`)}},
		sample{name: "arguments before name", format: "hermes",
			out:  `<tool_call>{"arguments": {"query": "x"}, "name": "search"}</tool_call>`,
			want: Result{Calls: calls("search", `{"query": "x"}`)}},
		sample{name: "arguments as a string", format: "hermes",
			out:  `<tool_call>{"name": "search", "arguments": "{\"query\": \"x\"}"}</tool_call>`,
			want: Result{Calls: calls("search", `{"query": "x"}`)}},
		sample{name: "no close tag at the end", format: "hermes",
			out:  `<tool_call>{"name": "search", "arguments": {}}`,
			want: Result{Calls: calls("search", `{}`)}},
		sample{name: "no tools: text", format: "hermes", noTools: true, out: one, want: Result{Content: one}},
		sample{name: "reasoning and call", format: "hermes", opts: Options{Reasoning: true, Choice: Choice{Parallel: true}},
			out:  "<think>\nThe user wants weather.\n</think>\n\n" + one,
			want: Result{Reasoning: "The user wants weather.", Calls: calls("get_weather", `{"city": "Paris"}`)}},
		sample{name: "reasoning opened by the prompt", format: "hermes", opts: Options{Reasoning: true, ThinkingOpen: true},
			out:  "Hmm, <tool_call> is what I need.\n</think>\n\nSure.",
			want: Result{Reasoning: "Hmm, <tool_call> is what I need.", Content: "Sure."}},
		sample{name: "reasoning kept inline", format: "hermes", opts: Options{Reasoning: false},
			out:  "<think>\nweather\n</think>\n\nOK",
			want: Result{Content: "<think>\nweather\n</think>\n\nOK"}},
		sample{name: "unicode split", format: "hermes", opts: Options{Reasoning: true},
			out:  "<think>日本</think>héllo 🌍" + `<tool_call>{"name": "search", "arguments": {"query": "東京"}}</tool_call>`,
			want: Result{Reasoning: "日本", Content: "héllo 🌍", Calls: calls("search", `{"query": "東京"}`)}},
		sample{name: "malformed JSON", format: "hermes", out: `<tool_call>{"name": "search", "arguments": {"query": x}}</tool_call>`, fail: true},
		sample{name: "not an object", format: "hermes", out: `<tool_call>["search"]</tool_call>`, fail: true},
		sample{name: "unterminated", format: "hermes", out: `Sure <tool_call>{"name": "search", "arguments": {"query": "x`, truncated: true, fail: true},
		sample{name: "junk after body", format: "hermes", out: `<tool_call>{"name": "search", "arguments": {}} and more`,
			want: Result{Content: "and more", Calls: calls("search", `{}`)}},
	)
}

// An answer from which nothing is taken out keeps its whitespace byte for
// byte (a stop string right after a space leaves that space in the answer);
// whitespace next to a removed call or reasoning block goes.
func init() {
	const call = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>\n"
	addSamples(
		sample{name: "plain keeps its spaces", format: "hermes", out: "\n  Here, ", want: Result{Content: "\n  Here, "}},
		sample{name: "space around a call goes", format: "hermes", out: "Checking.\n" + call,
			want: Result{Content: "Checking.", Calls: calls("get_weather", "{}")}},
		sample{name: "space after reasoning goes", format: "hermes", opts: Options{Reasoning: true}, out: "<think>\nhm\n</think>\n\nHi ",
			want: Result{Reasoning: "hm", Content: "Hi"}},
	)
}
