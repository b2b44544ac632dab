package toolcall

func init() {
	const f = "harmony"
	addMarkers(f, "<|channel|>", "<|message|>", "<|end|>", "<|start|>", "<|call|>", "<|return|>", "<|constrain|>", "to=functions")
	reason := Options{Reasoning: true, Choice: Choice{Parallel: true}}
	addSamples(
		sample{name: "analysis then final", format: f, opts: reason,
			out:  "<|channel|>analysis<|message|>User says hi.<|end|><|start|>assistant<|channel|>final<|message|>Hello! <b>x</b><|return|>",
			want: Result{Reasoning: "User says hi.", Content: "Hello! <b>x</b>"}},
		sample{name: "final without return token", format: f, opts: reason,
			out:  "<|channel|>final<|message|>Hi.",
			want: Result{Content: "Hi."}},
		sample{name: "call, channel first", format: f, opts: reason,
			out:  "<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\": \"Paris\"}<|call|>",
			want: Result{Reasoning: "Need weather.", Calls: calls("get_weather", `{"city": "Paris"}`)}},
		sample{name: "call, recipient first (as the template renders)", format: f, opts: reason,
			out:  " to=functions.search<|channel|>commentary json<|message|>{\"query\": \"<|call|>\"}",
			want: Result{Calls: calls("search", `{"query": "<|call|>"}`)}},
		sample{name: "preamble then call", format: f, opts: reason,
			out:  "<|channel|>commentary<|message|>Looking it up.<|end|><|start|>assistant<|channel|>commentary to=functions.search <|constrain|>json<|message|>{}<|call|>",
			want: Result{Content: "Looking it up.", Calls: calls("search", `{}`)}},
		sample{name: "reasoning off: analysis is content", format: f, opts: Options{Choice: Choice{Parallel: true}},
			out:  "<|channel|>analysis<|message|>Think.<|end|><|start|>assistant<|channel|>final<|message|>Done.<|return|>",
			want: Result{Content: "Think.Done."}},
		sample{name: "no harmony markup", format: f, out: "Just text <|oops|>.", want: Result{Content: "Just text <|oops|>."}},
		sample{name: "no tools: call body is text", format: f, noTools: true,
			out:  "<|channel|>commentary to=functions.search <|constrain|>json<|message|>{}<|call|>",
			want: Result{Content: "{}"}},
		sample{name: "malformed arguments", format: f, out: "<|channel|>commentary to=functions.search <|constrain|>json<|message|>{query}<|call|>", fail: true},
		sample{name: "junk after arguments", format: f, out: "<|channel|>commentary to=functions.search<|message|>{} x<|call|>", fail: true},
		sample{name: "truncated arguments", format: f, truncated: true, out: "<|channel|>commentary to=functions.search <|constrain|>json<|message|>{\"query\": \"", fail: true},
		sample{name: "truncated after whole arguments", format: f, truncated: true, out: "<|channel|>commentary to=functions.search <|constrain|>json<|message|>{}", fail: true},
		sample{name: "truncated call header", format: f, truncated: true, out: "<|channel|>analysis<|message|>x<|end|><|start|>assistant<|channel|>commentary to=functions.sea", fail: true},
	)
}
