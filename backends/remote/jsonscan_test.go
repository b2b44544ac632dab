package remote

import (
	"strings"
	"testing"
)

func TestMembersOffsets(t *testing.T) {
	for _, body := range []string{
		`{"a":1,"b":"x","c":[1,2],"d":{"e":null},"f":true,"g":-1.5e3}`,
		" { \"a\" :\t1 ,\n \"b\" : \"x\\\"y\" , \"c\" : [ 1 , 2 ] ,\"g\":12 } ",
		"{\"s\":\"\xff\xfe raw invalid \\udc80 escaped\",\"n\":0}",
		`{}`,
	} {
		ms, err := members([]byte(body))
		if err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		for _, m := range ms {
			if got := body[m.start:m.end]; got != string(m.val) || strings.TrimSpace(got) != got {
				t.Errorf("%q: member %q at [%d:%d] = %q, value %q", body, m.key, m.start, m.end, got, m.val)
			}
		}
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{"a":}`, `{"a":1} {"b":2}`, `{"a":1`} {
		if _, err := members([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestPrepare(t *testing.T) {
	tests := []struct {
		name        string
		cfg         Config
		body, want  string
		stream, drp bool
	}{
		{"model replaced, the rest byte for byte", Config{Model: "up"},
			"{ \"model\" : \"alias\", \"messages\":[{\"role\":\"user\",\"content\":\"\\ud800 <b>&amp; \xc3\xa9\"}],\"temperature\":0.50 }",
			"{ \"model\" : \"up\", \"messages\":[{\"role\":\"user\",\"content\":\"\\ud800 <b>&amp; \xc3\xa9\"}],\"temperature\":0.50 }", false, false},
		{"no model configured: untouched", Config{},
			`{"model":"alias","stream":true}`, `{"model":"alias","stream":true}`, true, false},
		{"missing model inserted", Config{Model: "up"},
			`{"prompt":"x"}`, `{"model":"up","prompt":"x"}`, false, false},
		{"stream usage asked for", Config{Model: "up", StreamUsage: true},
			`{"model":"a","stream":true}`, `{"stream_options":{"include_usage":true},"model":"up","stream":true}`, true, true},
		{"stream usage merged into the client's options", Config{StreamUsage: true},
			`{"model":"a","stream":true,"stream_options":{"include_usage":false,"x":1}}`,
			`{"model":"a","stream":true,"stream_options":{"include_usage":true,"x":1}}`, true, true},
		{"client asked for usage itself", Config{StreamUsage: true},
			`{"model":"a","stream":true,"stream_options":{"include_usage":true}}`,
			`{"model":"a","stream":true,"stream_options":{"include_usage":true}}`, true, false},
		{"not a stream: no usage option", Config{StreamUsage: true},
			`{"model":"a","stream":false}`, `{"model":"a","stream":false}`, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Client{cfg: tt.cfg}
			out, stream, drop, err := c.prepare([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want || stream != tt.stream || drop != tt.drp {
				t.Errorf("got %q stream=%v drop=%v, want %q stream=%v drop=%v", out, stream, drop, tt.want, tt.stream, tt.drp)
			}
		})
	}
	if _, _, _, err := (&Client{}).prepare([]byte(`[1]`)); err == nil {
		t.Error("an array body was accepted")
	}
}

func TestParseChoices(t *testing.T) {
	for _, tt := range []struct {
		in       string
		content  int
		finished bool
	}{
		{`[{"index":0,"delta":{"role":"assistant","content":""}}]`, 0, false},
		{`[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]`, 1, false},
		{`[{"index":0,"delta":{},"finish_reason":"stop"}]`, 0, true},
		{`[{"index":0,"text":"a"},{"index":1,"text":"b"}]`, 2, false},
		{`[{"index":0,"delta":{"tool_calls":[{"index":0}]}}]`, 1, false},
		{`[]`, 0, false},
	} {
		ci := parseChoices([]byte(tt.in))
		if ci.content != tt.content || ci.finished != tt.finished {
			t.Errorf("%s: got %+v", tt.in, ci)
		}
	}
}
