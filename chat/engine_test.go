package chat

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"
)

// renderString compiles and renders tpl with vars (a JSON object, "" for
// none) as template variables.
func renderString(tpl string, vars json.RawMessage) (string, error) {
	t, err := Parse(tpl)
	if err != nil {
		return "", err
	}
	in := Input{Now: time.Date(2024, 7, 26, 12, 0, 0, 0, time.UTC), Extra: map[string]any{}}
	if len(vars) > 0 {
		v, err := ParseJSON(vars)
		if err != nil {
			return "", err
		}
		obj := v.(*Object)
		for _, k := range obj.Keys() {
			x, _ := obj.Get(k)
			if k == "messages" {
				for _, m := range x.([]any) {
					in.Messages = append(in.Messages, m.(*Object))
				}
				continue
			}
			in.Extra[k] = x
		}
	}
	return t.Render(in)
}

// TestJinjaSemantics checks small templates against what Python's Jinja2
// 3.1 renders for them in transformers' sandbox: testdata/jinja_cases.json,
// whose expectations testdata/jinja_oracle.py refreshes.
func TestJinjaSemantics(t *testing.T) {
	data, err := os.ReadFile("testdata/jinja_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Tpl  string          `json:"tpl"`
		Vars json.RawMessage `json:"vars"`
		Want *string         `json:"want"`
		Err  string          `json:"err"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		out, err := renderString(c.Tpl, c.Vars)
		name := fmt.Sprintf("case %d %q", i, c.Tpl)
		if c.Want == nil {
			if err == nil {
				t.Errorf("%s: rendered %q, want %s", name, out, c.Err)
			} else if got := errorKind(err); got != c.Err {
				t.Errorf("%s: error %v, want %s", name, err, c.Err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if out != *c.Want {
			t.Errorf("%s:\n got %q\nwant %q", name, out, *c.Want)
		}
	}
	t.Logf("%d cases", len(cases))
}
