package chat

import (
	"encoding/json"
	"fmt"
	"strings"
)

// MessagesFromOpenAI maps OpenAI chat messages (the request's "messages"
// array, one raw JSON object each) onto template input, the way llama.cpp's
// server does for templates that expect string content:
//
//   - role "developer" becomes "system";
//   - content null or missing becomes "" (many templates fail on None);
//   - content given as an array of parts becomes one string: the text
//     parts joined with "\n"; an image part fails with "this model does
//     not accept images" and an audio part with "this model does not
//     accept audio";
//   - tool_calls[].function.arguments given as a JSON string is parsed into
//     an object (key order kept), as templates expect a mapping; a string
//     that is not a JSON object is kept as it is;
//   - every other field (name, tool_call_id on tool results,
//     reasoning_content, ...) is kept unchanged, in its order.
func MessagesFromOpenAI(raw []json.RawMessage) ([]*Object, error) {
	out := make([]*Object, len(raw))
	for i, r := range raw {
		m, err := messageFromOpenAI(r)
		if err != nil {
			return nil, fmt.Errorf("messages[%d]: %w", i, err)
		}
		out[i] = m
	}
	return out, nil
}

func messageFromOpenAI(raw json.RawMessage) (*Object, error) {
	v, err := ParseJSON(raw)
	if err != nil {
		return nil, err
	}
	m, ok := v.(*Object)
	if !ok {
		return nil, fmt.Errorf("a message must be an object")
	}
	if role, _ := m.Get("role"); role == "developer" {
		m.Set("role", "system")
	}
	content, ok := m.Get("content")
	switch c := content.(type) {
	case nil:
		if !ok && m.Len() > 0 {
			// Keep "content" right after "role", where clients put it.
			m = withKeyAfter(m, "role", "content", "")
		} else {
			m.Set("content", "")
		}
	case string:
	case []any:
		text, err := joinTextParts(c)
		if err != nil {
			return nil, err
		}
		m.Set("content", text)
	default:
		return nil, fmt.Errorf("content must be a string, null or an array of parts")
	}
	if calls, ok := m.Get("tool_calls"); ok {
		list, ok := calls.([]any)
		if !ok {
			if calls != nil {
				return nil, fmt.Errorf("tool_calls must be an array")
			}
		}
		for _, c := range list {
			call, ok := c.(*Object)
			if !ok {
				return nil, fmt.Errorf("tool_calls must hold objects")
			}
			fn, _ := call.Get("function")
			f, ok := fn.(*Object)
			if !ok {
				continue
			}
			if args, ok := f.Get("arguments"); ok {
				if s, isStr := args.(string); isStr {
					if parsed, err := ParseJSON([]byte(s)); err == nil {
						if obj, isObj := parsed.(*Object); isObj {
							f.Set("arguments", obj)
						}
					}
				}
			}
		}
	}
	return m, nil
}

// withKeyAfter returns a copy of m with key set to v right after the key
// after (or first when after is missing).
func withKeyAfter(m *Object, after, key string, v any) *Object {
	out := NewObject()
	if _, ok := m.Get(after); !ok {
		out.Set(key, v)
	}
	for _, k := range m.Keys() {
		val, _ := m.Get(k)
		out.Set(k, val)
		if k == after {
			out.Set(key, v)
		}
	}
	return out
}

func joinTextParts(parts []any) (string, error) {
	var texts []string
	for j, p := range parts {
		part, ok := p.(*Object)
		if !ok {
			return "", fmt.Errorf("content[%d] must be an object", j)
		}
		typ, _ := part.Get("type")
		switch typ {
		case "text":
			t, _ := part.Get("text")
			s, ok := t.(string)
			if !ok {
				return "", fmt.Errorf("content[%d].text must be a string", j)
			}
			texts = append(texts, s)
		case "image_url", "input_image", "image":
			return "", fmt.Errorf("content[%d]: this model does not accept images", j)
		case "input_audio", "audio":
			return "", fmt.Errorf("content[%d]: this model does not accept audio", j)
		default:
			return "", fmt.Errorf("content[%d]: unknown content part type %v", j, typ)
		}
	}
	return strings.Join(texts, "\n"), nil
}
