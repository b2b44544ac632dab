package toolcall

// DeepSeek samples: the R1 form (fenced arguments) and the V3.1 form, both
// read by one parser, registered under both format names.

const (
	dsR1One = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>"
	dsV3One = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"city\": \"Paris\"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>"
)

func init() {
	for _, f := range []string{"deepseek-r1", "deepseek-v3.1"} {
		addMarkers(f, "<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", "<｜tool▁call▁end｜>", "<｜tool▁calls▁end｜>")
		addSamples(
			sample{name: "plain", format: f, out: "Hi there, `code` and ``` fences.", want: Result{Content: "Hi there, `code` and ``` fences."}},
			sample{name: "r1 one call", format: f, out: dsR1One, want: Result{Calls: calls("get_weather", `{"city": "Paris"}`)}},
			sample{name: "v3.1 one call", format: f, out: dsV3One, want: Result{Calls: calls("get_weather", `{"city": "Paris"}`)}},
			sample{name: "r1 text, reasoning opened by prompt, two calls", format: f, opts: Options{Reasoning: true, ThinkingOpen: true, Choice: Choice{Parallel: true}},
				out: "I should look it up.\n</think>\n\nChecking.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": \"Paris\", \"days\": 2}\n```<｜tool▁call▁end｜>\n" +
					"<｜tool▁call▁begin｜>function<｜tool▁sep｜>search\n```json\n{\"query\": \"a ``` b <｜tool▁call▁end｜>\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
				want: Result{Reasoning: "I should look it up.", Content: "Checking.", Calls: calls("get_weather", `{"city": "Paris", "days": 2}`, "search", `{"query": "a `+"```"+` b <｜tool▁call▁end｜>"}`)}},
			sample{name: "v3.1 closed think, text then calls", format: f, opts: Options{Reasoning: true},
				out:  "<think>hmm</think>Let me see.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>search<｜tool▁sep｜>{\"query\": \"東京\"}<｜tool▁call▁end｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{}<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
				want: Result{Reasoning: "hmm", Content: "Let me see.", Calls: calls("search", `{"query": "東京"}`, "get_weather", `{}`)}},
			sample{name: "distill text spelling", format: f,
				out:  "<｜tool_calls_begin｜><｜tool_call_begin｜>function<｜tool_sep｜>search\n```json\n{\"query\": \"x\"}\n```<｜tool_call_end｜><｜tool_calls_end｜>",
				want: Result{Calls: calls("search", `{"query": "x"}`)}},
			sample{name: "section end missing at end of output", format: f, out: "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>search<｜tool▁sep｜>{\"query\": \"x\"}<｜tool▁call▁end｜>",
				want: Result{Calls: calls("search", `{"query": "x"}`)}},
			sample{name: "reasoning kept inline", format: f, opts: Options{Reasoning: false}, out: "<think>x</think>y", want: Result{Content: "<think>x</think>y"}},
			sample{name: "no tools: markup is text", format: f, noTools: true, out: dsV3One, want: Result{Content: dsV3One}},
			sample{name: "malformed arguments", format: f, out: "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>search<｜tool▁sep｜>{\"query\": nope}<｜tool▁call▁end｜>", fail: true},
			sample{name: "junk in section", format: f, out: "<｜tool▁calls▁begin｜>oops", fail: true},
			sample{name: "missing call end", format: f, out: "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>search<｜tool▁sep｜>{\"query\": \"x\"} junk", fail: true},
			sample{name: "truncated in arguments", format: f, truncated: true, out: "Sure.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>search\n```json\n{\"query\": \"x", fail: true},
			sample{name: "truncated before call end", format: f, truncated: true, out: "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>search<｜tool▁sep｜>{\"query\": \"x\"}", fail: true},
			sample{name: "truncated in header", format: f, truncated: true, out: "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>sea", fail: true},
			sample{name: "parallel off keeps the first", format: f, opts: Options{Choice: Choice{Mode: ChoiceRequired}},
				out:  "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>search<｜tool▁sep｜>{\"query\": \"x\"}<｜tool▁call▁end｜><｜tool▁call▁begin｜>search<｜tool▁sep｜>{\"query\": \"y\"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
				want: Result{Calls: calls("search", `{"query": "x"}`)}},
		)
	}
}
