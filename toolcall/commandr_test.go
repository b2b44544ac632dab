package toolcall

func init() {
	const r7 = "command-r7b"
	addMarkers(r7, "<|START_ACTION|>", "<|END_ACTION|>", "<|START_THINKING|>", "<|END_THINKING|>", "<|START_RESPONSE|>", "<|END_RESPONSE|>", "tool_name")
	reason := Options{Reasoning: true, Choice: Choice{Parallel: true}}
	const r7one = "<|START_THINKING|><|END_THINKING|><|START_ACTION|>[\n    {\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}\n]<|END_ACTION|>"
	addSamples(
		sample{name: "response", format: r7, opts: reason, out: "<|START_RESPONSE|>Hello <b>!</b><|END_RESPONSE|>", want: Result{Content: "Hello <b>!</b>"}},
		sample{name: "one call as the template renders it", format: r7, opts: reason, out: r7one, want: Result{Calls: calls("get_weather", `{"city": "Paris"}`)}},
		sample{name: "plan and two calls", format: r7, opts: reason,
			out: "<|START_THINKING|>I will look up both.<|END_THINKING|><|START_ACTION|>[{\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\", \"days\": 1}},\n" +
				"{\"tool_call_id\": \"1\", \"tool_name\": \"search\", \"parameters\": {\"query\": \"]<|END_ACTION|>\"}}]<|END_ACTION|>",
			want: Result{Reasoning: "I will look up both.", Calls: calls("get_weather", `{"city": "Paris", "days": 1}`, "search", `{"query": "]<|END_ACTION|>"}`)}},
		sample{name: "plan inline without reasoning", format: r7, opts: Options{Choice: Choice{Parallel: true}},
			out: "<|START_THINKING|>Plan.<|END_THINKING|><|START_RESPONSE|>Answer.<|END_RESPONSE|>", want: Result{Content: "Plan.Answer."}},
		sample{name: "end of action missing at the end", format: r7, out: "<|START_ACTION|>[{\"tool_name\": \"search\", \"parameters\": {}}]", want: Result{Calls: calls("search", `{}`)}},
		sample{name: "no tools: action is dropped markup", format: r7, noTools: true, out: "<|START_RESPONSE|>Hi<|END_RESPONSE|>", want: Result{Content: "Hi"}},
		sample{name: "malformed parameters", format: r7, out: "<|START_ACTION|>[{\"tool_name\": \"search\", \"parameters\": {x}}]<|END_ACTION|>", fail: true},
		sample{name: "not a list", format: r7, out: "<|START_ACTION|>{\"tool_name\": \"search\"}<|END_ACTION|>", fail: true},
		sample{name: "truncated", format: r7, truncated: true, out: "<|START_ACTION|>[{\"tool_name\": \"search\", \"parameters\": {\"query\": \"x", fail: true},
	)

	const rp = "command-r-plus"
	addMarkers(rp, "```json", "tool_name")
	addSamples(
		sample{name: "plain", format: rp, out: "The Action: is here, not a call.", want: Result{Content: "The Action: is here, not a call."}},
		sample{name: "one call as the template renders it", format: rp,
			out:  "\nAction:\n```json\n[\n    {\n        \"tool_name\": \"get_weather\",\n        \"parameters\": {\n            \"city\": \"Paris\"\n        }\n    }\n]```\n",
			want: Result{Calls: calls("get_weather", "{\n            \"city\": \"Paris\"\n        }")}},
		sample{name: "text and two calls", format: rp,
			out:  "I will search.\nAction: ```json\n[{\"tool_name\": \"search\", \"parameters\": {\"query\": \"```\"}}, {\"tool_name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}]\n```",
			want: Result{Content: "I will search.", Calls: calls("search", "{\"query\": \"```\"}", "get_weather", `{"city": "Oslo"}`)}},
		sample{name: "directly-answer is not a call", format: rp,
			out:  "Action: ```json\n[{\"tool_name\": \"directly-answer\", \"parameters\": {}}, {\"tool_name\": \"search\", \"parameters\": {\"query\": \"q\"}}]\n```",
			want: Result{Calls: calls("search", `{"query": "q"}`)}},
		sample{name: "Action: at the very end", format: rp, out: "Next Action:", want: Result{Content: "Next Action:"}},
		sample{name: "malformed", format: rp, out: "Action: ```json\n[{\"tool_name\": \"search\", \"parameters\": {]\n```", fail: true},
		sample{name: "truncated", format: rp, truncated: true, out: "Action: ```json\n[{\"tool_name\": \"search\", \"parameters\": {\"query\"", fail: true},
	)
}
