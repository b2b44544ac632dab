package e2e

import (
	"encoding/json"
	"testing"
)

func TestTokenizeDetokenize(t *testing.T) {
	g := startGateway(t)
	status, _, out := rawPost(t, g.srv.URL+"/tokenize", `{"model":"stories260K","content":"Once upon a time"}`)
	if status != 200 {
		t.Fatalf("tokenize: %d %v", status, out)
	}
	raw := out["tokens"].([]any)
	want, _ := g.engine(storiesID).Tokenize("Once upon a time", true)
	if len(raw) != len(want) || int(raw[0].(float64)) != want[0] {
		t.Fatalf("tokens %v, engine says %v", raw, want)
	}
	status, _, out = rawPost(t, g.srv.URL+"/tokenize", `{"model":"stories260K","content":"Once upon a time","add_special":false}`)
	if status != 200 || len(out["tokens"].([]any)) != len(want)-1 {
		t.Fatalf("add_special false: %d %v", status, out)
	}
	body, _ := json.Marshal(map[string]any{"model": storiesID, "tokens": want[1:]})
	status, _, out = rawPost(t, g.srv.URL+"/detokenize", string(body))
	if status != 200 || out["content"] != "Once upon a time" {
		t.Fatalf("detokenize: %d %v", status, out)
	}
	for _, tc := range []struct{ path, body, param string }{
		{"/detokenize", `{"model":"stories260K","tokens":[99999]}`, "tokens"},
		{"/detokenize", `{"model":"stories260K","tokens":"x"}`, "tokens"},
		{"/tokenize", `{"content":"x"}`, "model"},
	} {
		status, _, out := rawPost(t, g.srv.URL+tc.path, tc.body)
		if status != 400 || out["error"].(map[string]any)["param"] != tc.param {
			t.Fatalf("%s %s: %d %v", tc.path, tc.body, status, out)
		}
	}
	status, _, _ = rawPost(t, g.srv.URL+"/tokenize", `{"model":"nope","content":"x"}`)
	if status != 404 {
		t.Fatalf("unknown model: %d", status)
	}
}
