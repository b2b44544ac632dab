package router

import (
	"encoding/json"
	"testing"

	"github.com/llamagate/llamagate/engine"
)

func TestTextOffsetsCountCharacters(t *testing.T) {
	var o textOffsets
	// "a", then "€" split over three byte tokens, then "b", then an
	// invalid byte, then "c".
	var got []int
	for _, tok := range []string{"a", "\xe2", "\x82", "\xacb", "\xff", "c"} {
		got = append(got, o.next(tok))
	}
	want := []int{0, 1, 1, 1, 3, 4}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("offsets %v, want %v", got, want)
		}
	}
}

func TestCompletionLogprobsAddTheSampledToken(t *testing.T) {
	lps := []engine.TokenLogprob{
		{Token: " a", Logprob: -0.1, Top: []engine.TopLogprob{{Token: " a", Logprob: -0.1}, {Token: " b", Logprob: -2}}},
		{Token: " c", Logprob: -3, Top: []engine.TopLogprob{{Token: " d", Logprob: -0.5}}},
	}
	b, err := json.Marshal(completionLogprobs(lps, &textOffsets{}))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"tokens":[" a"," c"],"token_logprobs":[-0.1,-3],"top_logprobs":[{" a":-0.1," b":-2},{" d":-0.5," c":-3}],"text_offset":[0,2]}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(chatLogprobs(nil))
	if string(b) != `{"content":[],"refusal":null}` {
		t.Fatalf("empty chat logprobs %s", b)
	}
}
