package remote

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// The proxy edits JSON by splicing: it finds a top-level member's value by
// its byte range and replaces only those bytes. Everything else (key order,
// whitespace, escapes, invalid UTF-8 inside strings) reaches the other side
// exactly as it came, which decoding and re-encoding would not guarantee.

var errNotObject = errors.New("not a JSON object")

// member is one top-level member of a JSON object: its key, its raw value
// and the value's byte range in the object.
type member struct {
	key        string
	val        []byte
	start, end int
}

// members returns the top-level members of the JSON object b, in order.
func members(b []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errNotObject
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string) // the decoder accepts only strings as keys
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		end := int(dec.InputOffset())
		start := end - len(raw)
		if start < 0 || !bytes.Equal(b[start:end], raw) {
			// The decoder's offsets did not match its value: never splice blind.
			return nil, fmt.Errorf("member %q: value not found at its offset", key)
		}
		ms = append(ms, member{key: key, val: b[start:end], start: start, end: end})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("data after the JSON object")
	}
	return ms, nil
}

// lookup returns the value of the last member named key (the one Go's
// decoder would keep), or nil.
func lookup(ms []member, key string) []byte {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].key == key {
			return ms[i].val
		}
	}
	return nil
}

// edit replaces b[start:end] with repl; start == end inserts.
type edit struct {
	start, end int
	repl       []byte
}

// apply returns b with the non-overlapping edits applied; b is not modified.
func apply(b []byte, edits []edit) []byte {
	if len(edits) == 0 {
		return b
	}
	slices.SortFunc(edits, func(x, y edit) int { return x.start - y.start })
	out := make([]byte, 0, len(b)+64)
	at := 0
	for _, e := range edits {
		out = append(out, b[at:e.start]...)
		out = append(out, e.repl...)
		at = e.end
	}
	return append(out, b[at:]...)
}

// replaceAll returns the edits that set every top-level member named key to
// the JSON value v.
func replaceAll(ms []member, key string, v []byte) []edit {
	var edits []edit
	for _, m := range ms {
		if m.key == key {
			edits = append(edits, edit{m.start, m.end, v})
		}
	}
	return edits
}

// quote encodes s as a JSON string without HTML escaping.
func quote(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// isNull reports whether a raw value is absent or JSON null.
func isNull(v []byte) bool {
	return len(v) == 0 || string(v) == "null"
}

// Usage is what a request cost, for rate-limit accounting.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
	// Estimated is true when the upstream reported no usage: a stream's
	// CompletionTokens is then the number of content deltas it carried (one
	// per token on every common server) and PromptTokens is 0 (unknown).
	Estimated bool
}

// parseUsage reads an OpenAI usage object; ok is false when v is null or
// not a usage object.
func parseUsage(v []byte) (u Usage, ok bool) {
	if isNull(v) {
		return Usage{}, false
	}
	var w struct {
		Prompt     *int `json:"prompt_tokens"`
		Completion *int `json:"completion_tokens"`
	}
	if json.Unmarshal(v, &w) != nil || (w.Prompt == nil && w.Completion == nil) {
		return Usage{}, false
	}
	if w.Prompt != nil {
		u.PromptTokens = *w.Prompt
	}
	if w.Completion != nil {
		u.CompletionTokens = *w.Completion
	}
	return u, true
}

// choiceInfo is what the proxy needs from a chunk's choices: how many
// carried generated content, and whether any finished. Values stay raw, so
// their strings are never decoded.
type choiceInfo struct {
	content  int
	finished bool
}

func parseChoices(v []byte) choiceInfo {
	var cs []struct {
		Delta *struct {
			Content   json.RawMessage `json:"content"`
			Reasoning json.RawMessage `json:"reasoning_content"`
			ToolCalls json.RawMessage `json:"tool_calls"`
		} `json:"delta"`
		Text         json.RawMessage `json:"text"`
		FinishReason json.RawMessage `json:"finish_reason"`
	}
	var ci choiceInfo
	if json.Unmarshal(v, &cs) != nil {
		return ci
	}
	for _, c := range cs {
		has := nonEmpty(c.Text)
		if d := c.Delta; d != nil {
			has = has || nonEmpty(d.Content) || nonEmpty(d.Reasoning) || nonEmpty(d.ToolCalls)
		}
		if has {
			ci.content++
		}
		if nonEmpty(c.FinishReason) {
			ci.finished = true
		}
	}
	return ci
}

// nonEmpty reports whether a raw value holds something: not absent, null,
// "" or [].
func nonEmpty(v []byte) bool {
	switch string(bytes.TrimSpace(v)) {
	case "", "null", `""`, "[]":
		return false
	}
	return true
}
