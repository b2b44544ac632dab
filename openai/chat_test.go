package openai

import (
	"encoding/json"
	"math"
	"testing"
)

func TestDecodeChatRequest(t *testing.T) {
	for _, tc := range []struct {
		name, body, param, code string
	}{
		{"minimal", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, "", ""},
		{"parts", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`, "", ""},
		{"assistant tool call", `{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"r"}],"tools":[{"type":"function","function":{"name":"f"}}]}`, "", ""},
		{"developer", `{"model":"m","messages":[{"role":"developer","content":"be brief"},{"role":"user","content":"x"}]}`, "", ""},
		{"text format", `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"text"}}`, "", ""},
		{"missing messages", `{"model":"m"}`, "messages", "missing_required_parameter"},
		{"empty messages", `{"model":"m","messages":[]}`, "messages", "invalid_value"},
		{"messages object", `{"model":"m","messages":{}}`, "messages", "invalid_type"},
		{"bad role", `{"model":"m","messages":[{"role":"robot","content":"x"}]}`, "messages[0].role", "invalid_value"},
		{"missing role", `{"model":"m","messages":[{"content":"x"}]}`, "messages[0].role", "missing_required_parameter"},
		{"missing content", `{"model":"m","messages":[{"role":"user"}]}`, "messages[0].content", "missing_required_parameter"},
		{"content number", `{"model":"m","messages":[{"role":"user","content":5}]}`, "messages[0].content", "invalid_type"},
		{"image", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:"}}]}]}`, "messages[0].content[0]", "invalid_value"},
		{"message not object", `{"model":"m","messages":["hi"]}`, "messages[0]", "invalid_type"},
		{"tools not array", `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":{}}`, "tools", "invalid_type"},
		{"json_object", `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}}`, "", ""},
		{"json_schema", `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"a-b_1","schema":{"type":"boolean"},"strict":true}}}`, "", ""},
		{"json_schema without schema", `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"x"}}}`, "", ""},
		{"json_schema missing", `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema"}}`, "response_format.json_schema", "missing_required_parameter"},
		{"json_schema name missing", `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"schema":{}}}}`, "response_format.json_schema.name", "missing_required_parameter"},
		{"json_schema bad name", `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"a b"}}}`, "response_format.json_schema.name", "invalid_value"},
		{"json_schema schema not object", `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":"x"}}}`, "response_format.json_schema.schema", "invalid_type"},
		{"json_schema strict type", `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"a","strict":"yes"}}}`, "response_format.json_schema.strict", "invalid_type"},
		{"format type unknown", `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"yaml"}}`, "response_format.type", "invalid_value"},
		{"format type missing", `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{}}`, "response_format.type", "missing_required_parameter"},
		{"format not object", `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":"json"}`, "response_format", "invalid_type"},
		{"logprobs", `{"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":20}`, "", ""},
		{"logprobs type", `{"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":1}`, "logprobs", "invalid_type"},
		{"top_logprobs above 20", `{"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":21}`, "top_logprobs", "invalid_value"},
		{"top_logprobs negative", `{"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":-1}`, "top_logprobs", "invalid_value"},
		{"top_logprobs without logprobs", `{"model":"m","messages":[{"role":"user","content":"x"}],"top_logprobs":2}`, "top_logprobs", "invalid_value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeChatRequest([]byte(tc.body))
			if tc.code == "" {
				if err != nil || r.Model != "m" || len(r.Messages) == 0 {
					t.Fatalf("%+v %+v", r, err)
				}
				return
			}
			if err == nil || err.Code != tc.code || err.Param != tc.param || err.Status != 400 {
				t.Fatalf("error %+v, want %s %s", err, tc.param, tc.code)
			}
		})
	}
}

func TestDecodeChatLogprobsAndFormat(t *testing.T) {
	r, err := DecodeChatRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":4,"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object","properties":{"a":{"type":"integer"}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Logprobs || r.TopLogprobs != 4 || string(r.JSONSchema) != `{"type":"object","properties":{"a":{"type":"integer"}}}` {
		t.Fatalf("%+v (schema %s)", r, r.JSONSchema)
	}
	r, err = DecodeChatRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":false,"top_logprobs":null,"response_format":{"type":"text"}}`))
	if err != nil || r.Logprobs || r.JSONSchema != nil {
		t.Fatalf("%+v %v", r, err)
	}
	r, err = DecodeChatRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"n"}}}`))
	if err != nil || string(r.JSONSchema) != `{}` {
		t.Fatalf("a json_schema without schema allows any JSON: %+v %v", r, err)
	}
}

func TestTokenText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"abc", "abc"},
		{"é", "é"},
		{"a\xe2\x82", `a\xe2\x82`},
		{"\xff€", `\xff€`},
	} {
		if got := TokenText(tc.in); got != tc.want {
			t.Errorf("TokenText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if b := TokenBytes("\xe2a"); len(b) != 2 || b[0] != 0xe2 || b[1] != 'a' {
		t.Errorf("TokenBytes = %v", b)
	}
	for in, want := range map[float32]float32{-1.5: -1.5, float32(math.Inf(-1)): -9999, -1e6: -9999, float32(math.NaN()): -9999} {
		if got := Logprob(in); got != want {
			t.Errorf("Logprob(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestOrderedTopKeepsOrder(t *testing.T) {
	b, err := json.Marshal(OrderedTop{{"b", -0.5}, {"a", -1}, {"b", -2}, {"\xe2", -3}})
	if err != nil || string(b) != `{"b":-0.5,"a":-1,"\ufffd":-3}` {
		t.Fatalf("%s %v", b, err)
	}
}

func FuzzDecodeChatRequest(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"}]}],"tools":[{}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeChatRequest(body)
		if err != nil {
			if err.Status != 400 || err.Message == "" {
				t.Fatalf("bad error %+v", err)
			}
			return
		}
		if r.Model == "" || len(r.Messages) == 0 || len(r.Messages) > MaxMessages {
			t.Fatalf("accepted %+v", r)
		}
	})
}
