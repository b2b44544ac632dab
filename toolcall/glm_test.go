package toolcall

func init() {
	const f = "glm"
	addMarkers(f, "<tool_call>", "</tool_call>", "<arg_key>", "<arg_value>")
	const one = "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>"
	addSamples(
		sample{name: "plain", format: f, out: "\nHello <b>there</b>.", want: Result{Content: "\nHello <b>there</b>."}},
		sample{name: "one call as the template renders it", format: f, out: "\n<think></think>\n" + one, opts: Options{Reasoning: true, Choice: Choice{Parallel: true}},
			want: Result{Calls: calls("get_weather", `{"city": "Paris"}`)}},
		sample{name: "typed values by schema", format: f, opts: Options{Reasoning: true, Choice: Choice{Parallel: true}},
			out: "\n<think>Two lookups.</think>\nSure.\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>New \"York\"\n2</arg_value>\n<arg_key>days</arg_key>\n<arg_value> 3 </arg_value>\n" +
				"<arg_key>metric</arg_key>\n<arg_value>true</arg_value>\n<arg_key>opts</arg_key>\n<arg_value>{\"a\": [1]}</arg_value>\n</tool_call>\n" +
				"<tool_call>search\n<arg_key>query</arg_key>\n<arg_value>42</arg_value>\n<arg_key>extra</arg_key>\n<arg_value>[1]</arg_value>\n</tool_call>",
			want: Result{Reasoning: "Two lookups.", Content: "Sure.", Calls: calls(
				"get_weather", `{"city": "New \"York\"\n2", "days": 3, "metric": true, "opts": {"a": [1]}}`,
				"search", `{"query": "42", "extra": "[1]"}`)}},
		sample{name: "non-JSON value of a typed parameter stays a string", format: f,
			out:  "<tool_call>get_weather<arg_key>days</arg_key><arg_value>three</arg_value></tool_call>",
			want: Result{Calls: calls("get_weather", `{"days": "three"}`)}},
		sample{name: "no arguments", format: f, out: "<tool_call>search\n</tool_call>", want: Result{Calls: calls("search", `{}`)}},
		sample{name: "no arguments, no newline", format: f, out: "<tool_call>search</tool_call> ok", want: Result{Content: "ok", Calls: calls("search", `{}`)}},
		sample{name: "close tag missing at the end", format: f, out: one[:len(one)-len("</tool_call>")], want: Result{Calls: calls("get_weather", `{"city": "Paris"}`)}},
		sample{name: "no tools: text", format: f, noTools: true, out: one, want: Result{Content: one}},
		sample{name: "junk between arguments", format: f, out: "<tool_call>search\n<arg_key>query</arg_key>\nx<arg_value>a</arg_value></tool_call>", fail: true},
		sample{name: "junk after arguments", format: f, out: "<tool_call>search\n<arg_key>query</arg_key><arg_value>a</arg_value> oops</tool_call>", fail: true},
		sample{name: "truncated in value", format: f, truncated: true, out: "<tool_call>search\n<arg_key>query</arg_key>\n<arg_value>wea", fail: true},
		sample{name: "truncated between arguments", format: f, truncated: true, out: "<tool_call>search\n<arg_key>query</arg_key>\n<arg_value>a</arg_value>\n", fail: true},
		sample{name: "truncated name", format: f, truncated: true, out: "<tool_call>sea", fail: true},
	)
}
