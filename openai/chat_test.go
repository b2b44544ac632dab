package openai

import "testing"

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
		{"json_schema", `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema"}}`, "response_format", "unsupported_parameter"},
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
