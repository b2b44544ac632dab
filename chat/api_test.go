package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func raw(s ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(s))
	for i, x := range s {
		out[i] = json.RawMessage(x)
	}
	return out
}

func TestMessagesFromOpenAI(t *testing.T) {
	msgs, err := MessagesFromOpenAI(raw(
		`{"role":"developer","content":"dev"}`,
		`{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}`,
		`{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"z\":1,\"a\":{\"y\":12345678901234567890,\"b\":[1.5]}}"}}]}`,
		`{"role":"assistant","tool_calls":[{"id":"c2","type":"function","function":{"name":"g","arguments":"not json"}}]}`,
		`{"role":"tool","tool_call_id":"c1","name":"f","content":"ok"}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(msgs))
	for i, m := range msgs {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got[i] = string(b)
	}
	want := []string{
		`{"role":"system","content":"dev"}`,
		`{"role":"user","content":"a\nb"}`,
		`{"role":"assistant","content":"","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":{"z":1,"a":{"y":12345678901234567890,"b":[1.5]}}}}]}`,
		`{"role":"assistant","content":"","tool_calls":[{"id":"c2","type":"function","function":{"name":"g","arguments":"not json"}}]}`,
		`{"role":"tool","tool_call_id":"c1","name":"f","content":"ok"}`,
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}

	for _, bad := range []struct{ msg, err string }{
		{`{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}`, "this model does not accept images"},
		{`{"role":"user","content":[{"type":"input_audio"}]}`, "this model does not accept audio"},
		{`{"role":"user","content":[{"type":"video"}]}`, "unknown content part type"},
		{`{"role":"user","content":5}`, "content must be"},
		{`[1]`, "must be an object"},
		{`{"role":"user"`, "invalid JSON"},
	} {
		_, err := MessagesFromOpenAI(raw(bad.msg))
		if err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("%s: error %v, want %q", bad.msg, err, bad.err)
		}
	}
}

// The tools case of the reference, rendered from the OpenAI wire form:
// arguments as a JSON string, content null.
func TestRenderFromOpenAIWire(t *testing.T) {
	tpl, err := Parse(`{% for m in messages %}{{ m.role }}:{{ m.content }}{% for tc in m.tool_calls or [] %}{{ tc.function.arguments | tojson }}{% endfor %}|{% endfor %}{{ tools | tojson }}`)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := MessagesFromOpenAI(raw(
		`{"role":"user","content":"What's the weather in Paris?"}`,
		`{"role":"assistant","content":null,"tool_calls":[{"id":"call12345","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\", \"unit\": \"celsius\"}"}}]}`,
	))
	if err != nil {
		t.Fatal(err)
	}
	out, err := tpl.Render(Input{Messages: msgs, Tools: []any{json.RawMessage(`{"type":"function","function":{"name":"get_weather","parameters":{"b":1,"a":2}}}`)}})
	if err != nil {
		t.Fatal(err)
	}
	want := `user:What's the weather in Paris?|assistant:{"city": "Paris", "unit": "celsius"}|[{"type": "function", "function": {"name": "get_weather", "parameters": {"b": 1, "a": 2}}}]`
	if out != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

func TestRenderInput(t *testing.T) {
	tpl, err := Parse(`{{ bos_token }}{{ messages | length }}{{ add_generation_prompt }}{{ tools is defined }}{{ flag }}{{ eos_token }}{{ strftime_now('%Y') }}`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tpl.Render(Input{
		Messages: []*Object{NewObject("role", "user", "content", "hi")},
		BOS:      "<s>", EOS: "</s>",
		Now:   time.Date(1999, 1, 2, 3, 4, 5, 0, time.UTC),
		Extra: map[string]any{"flag": map[string]any{"b": []int{1}, "a": nil}, "bos_token": "ignored"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "<s>1FalseFalse{'a': None, 'b': [1]}</s>1999"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	// Zero Now reads the clock.
	out, err = tpl.Render(Input{})
	if err != nil || !strings.HasSuffix(out, fmt.Sprint(time.Now().Year())) {
		t.Errorf("got %q, %v", out, err)
	}
	// Unsupported input types are an error, not a panic.
	if _, err := tpl.Render(Input{Extra: map[string]any{"x": make(chan int)}}); err == nil {
		t.Error("a channel in Extra rendered")
	}
}

func TestErrors(t *testing.T) {
	tpl, err := Parse(`{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{{ messages[0].content + messages[0] }}`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tpl.Render(Input{Messages: []*Object{NewObject("role", "system", "content", "x")}})
	var re *RaiseError
	if !errors.As(err, &re) || re.Message != "System role not supported" {
		t.Errorf("got %v, want RaiseError", err)
	}
	_, err = tpl.Render(Input{Messages: []*Object{NewObject("role", "user", "content", "x")}})
	var te *Error
	if !errors.As(err, &te) || te.Kind != "TypeError" || te.Line != 1 {
		t.Errorf("got %#v, want a TypeError on line 1", err)
	}
	_, err = Parse("line 1\n{{ x |nofilter }}")
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 2 {
		t.Errorf("got %v, want a SyntaxError on line 2", err)
	}
}

// Templates that would run away or overflow the stack fail cleanly.
func TestLimits(t *testing.T) {
	defer func(steps, output int) { maxSteps, maxOutput = steps, output }(maxSteps, maxOutput)
	maxSteps, maxOutput = 100_000, 1<<20
	for name, src := range map[string]string{
		"recursion":    `{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}`,
		"steps":        `{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}`,
		"output":       `{% for a in range(1000) %}{{ 'x' * 1000000 }}{% endfor %}`,
		"repeat":       `{{ 'x' * 10000000000 }}`,
		"deep parens":  "{{ " + strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000) + " }}",
		"deep ifs":     strings.Repeat("{% if true %}", 5000) + strings.Repeat("{% endif %}", 5000),
		"deep nots":    "{{ " + strings.Repeat("not ", 5000) + "1 }}",
		"deep lists":   "{{ " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + " }}",
		"deep filters": "{{ 1" + strings.Repeat("|abs", 100000) + " }}",
		"format width": `{{ '{:>999999999}'.format(1) }}`,
		"range":        `{{ range(-9223372036854775807, 9223372036854775807) }}`,
	} {
		t.Run(name, func(t *testing.T) {
			tpl, err := Parse(src)
			if err != nil {
				return // refused at parse time: fine
			}
			if out, err := tpl.Render(Input{}); err == nil && len(out) > maxOutput {
				t.Errorf("rendered %d bytes", len(out))
			}
		})
	}
}

func TestConcurrentRender(t *testing.T) {
	tpl, err := Parse(`{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{{ m.content }}{% endfor %}{{ ns.n }}`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				s := fmt.Sprintf("%d-%d", i, j)
				out, err := tpl.Render(Input{Messages: []*Object{NewObject("content", s)}})
				if err != nil || out != s+"1" {
					t.Errorf("got %q, %v", out, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestObject(t *testing.T) {
	var o Object
	if err := json.Unmarshal([]byte(`{"b":1,"a":{"d":2,"c":[true,null]},"b":3}`), &o); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(&o)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"b":3,"a":{"d":2,"c":[true,null]}}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	o.Delete("b")
	if o.Len() != 1 || o.Keys()[0] != "a" {
		t.Errorf("after Delete: %v", o.Keys())
	}
	if _, err := ParseJSON([]byte(`{"a":1} x`)); err == nil {
		t.Error("trailing data accepted")
	}
}

// FuzzRender renders message contents through real templates: whatever the
// text, Render returns (an output or an error) and never panics.
func FuzzRender(f *testing.F) {
	templates := []string{
		// Qwen-like: ChatML with tool calls and think-tag splitting.
		`{%- for message in messages %}{%- if message.role == "assistant" and '</think>' in message.content %}{%- set c = message.content.split('</think>')[-1].lstrip('\n') %}{%- else %}{%- set c = message.content %}{%- endif %}<|im_start|>{{ message.role }}
{{ c }}<|im_end|>
{% endfor %}{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}`,
		// Llama-like: trims, tojson, slicing, string methods.
		`{{- bos_token }}{%- set ns = namespace(sys='') %}{%- for m in messages %}{%- if m['role'] == 'system' %}{%- set ns.sys = m['content'] | trim %}{%- else %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>

{{ m['content'] | trim }}{{ m['content'] | tojson }}{{ m['content'][::-1] }}{{ m['content'].upper().split()|length }}<|eot_id|>{%- endif %}{%- endfor %}{{ ns.sys }}`,
		// Gemma-like: alternation checks and raise_exception.
		`{%- for message in messages %}{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate') }}{%- endif %}<start_of_turn>{{ message['role'] }}
{{ message['content'] | replace('<', '&lt;') | indent(2) }}{{ ('x'|safe) + message['content'] }}<end_of_turn>
{% endfor %}`,
	}
	f.Add("Hello", "Hi there")
	f.Add("", "</think>answer")
	f.Add("{{ not a tag }}", "{% raw %}")
	f.Add("\x00\xff\xfe invalid utf8", "é😀\u2028")
	compiled := make([]*Template, len(templates))
	for i, src := range templates {
		tpl, err := Parse(src)
		if err != nil {
			f.Fatalf("template %d: %v", i, err)
		}
		compiled[i] = tpl
	}
	f.Fuzz(func(t *testing.T, user, assistant string) {
		in := Input{
			Messages: []*Object{
				NewObject("role", "system", "content", assistant+user),
				NewObject("role", "user", "content", user),
				NewObject("role", "assistant", "content", assistant),
			},
			AddGenerationPrompt: true,
			BOS:                 "<s>",
		}
		for i, tpl := range compiled {
			out, err := tpl.Render(in)
			if err != nil && strings.Contains(err.Error(), "internal error") {
				t.Fatalf("template %d panicked: %v", i, err)
			}
			// The first template prints the user's text as it is.
			if i == 0 && (err != nil || !strings.Contains(out, "<|im_start|>user\n"+user+"<|im_end|>")) {
				t.Errorf("template 0: %q, %v", out, err)
			}
		}
		// The template source itself is fuzzed too: parsing and rendering
		// arbitrary text must not panic either.
		tpl, err := Parse(user)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("panic parsing %q: %v", user, err)
			}
			return
		}
		if _, err := tpl.Render(in); err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("panic rendering %q: %v", user, err)
		}
	})
}
