package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"unicode/utf8"
)

// Logprob limits, as OpenAI sets them.
const (
	MaxTopLogprobs        = 20 // chat top_logprobs
	MaxCompletionLogprobs = 5  // legacy completions logprobs
	unlikelyLogprob       = -9999.0
)

// ChatLogprobs is a chat choice's logprobs: one entry per token of the
// content (in a chunk: of the chunk's delta).
type ChatLogprobs struct {
	Content []ChatTokenLogprob `json:"content"`
	Refusal []ChatTokenLogprob `json:"refusal"` // always null: no refusals here
}

// ChatTokenLogprob is one token of a chat answer.
type ChatTokenLogprob struct {
	Token       string           `json:"token"`
	Logprob     float32          `json:"logprob"`
	Bytes       []int            `json:"bytes"`
	TopLogprobs []ChatTopLogprob `json:"top_logprobs"`
}

// ChatTopLogprob is one of the most likely tokens at a position.
type ChatTopLogprob struct {
	Token   string  `json:"token"`
	Logprob float32 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// CompletionLogprobs is a legacy completion choice's logprobs, in columns.
type CompletionLogprobs struct {
	Tokens        []string     `json:"tokens"`
	TokenLogprobs []float32    `json:"token_logprobs"`
	TopLogprobs   []OrderedTop `json:"top_logprobs"`
	TextOffset    []int        `json:"text_offset"`
}

// OrderedTop is a legacy top_logprobs entry: an object from token text to
// logprob, written most likely first (a Go map would sort the keys). When
// two alternatives render as the same text, the first (more likely) wins.
type OrderedTop []TokenValue

// TokenValue is one member of an OrderedTop.
type TokenValue struct {
	Token   string
	Logprob float32
}

// MarshalJSON writes the object in order, without duplicate keys.
func (o OrderedTop) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	seen := make(map[string]bool, len(o))
	for _, tv := range o {
		if seen[tv.Token] {
			continue
		}
		if len(seen) > 0 {
			b.WriteByte(',')
		}
		seen[tv.Token] = true
		k, err := json.Marshal(tv.Token)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(tv.Logprob)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Logprob makes a logprob representable in JSON: a token that a bias made
// impossible (-Inf) gets -9999, the value OpenAI uses for "very unlikely".
func Logprob(v float32) float32 {
	if math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) || v < unlikelyLogprob {
		return unlikelyLogprob
	}
	return v
}

// TokenText renders a token's bytes as a JSON-safe string. A token can be a
// piece of a UTF-8 character; its bytes that are not valid UTF-8 are written
// as \xNN escapes (the exact bytes are in the entry's bytes array).
func TokenText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b bytes.Buffer
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			fmt.Fprintf(&b, `\x%02x`, s[i])
			i++
			continue
		}
		b.WriteString(s[i : i+n])
		i += n
	}
	return b.String()
}

// TokenBytes is a token's bytes as the array of integers OpenAI sends.
func TokenBytes(s string) []int {
	out := make([]int, len(s))
	for i := range len(s) {
		out[i] = int(s[i])
	}
	return out
}
