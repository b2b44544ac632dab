package openai

import "regexp"

// anyJSONObject is the schema of response_format json_object: any object.
var anyJSONObject = []byte(`{"type":"object"}`)

// schemaName is OpenAI's rule for json_schema.name.
var schemaName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// decodeResponseFormat reads response_format: {"type":"text"} (the
// default), {"type":"json_object"}, or {"type":"json_schema","json_schema":
// {"name","description","schema","strict"}}. It returns the JSON schema the
// output must satisfy, or nil for text. Whether the schema can be turned into
// a grammar is the engine's to say (also a 400 on response_format). The
// output is always held to the schema by a grammar; with strict it is also
// validated before it is returned.
func (f fields) responseFormat() (schema []byte, strict bool, _ *Error) {
	raw, ok := f["response_format"]
	if !ok {
		return nil, false, nil
	}
	rf, err := decodeObject(raw)
	if err != nil {
		return nil, false, typeError("response_format", "an object", raw)
	}
	var typ string
	if !rf.has("type") {
		return nil, false, MissingParam("response_format.type")
	}
	if err := rf.str("type", &typ); err != nil {
		err.Param = "response_format.type"
		return nil, false, err
	}
	switch typ {
	case "text":
		return nil, false, nil
	case "json_object":
		return anyJSONObject, false, nil
	case "json_schema":
	default:
		return nil, false, InvalidParam("response_format.type", "invalid_value", "response_format.type must be text, json_object or json_schema, got %q", typ)
	}
	raw, ok = rf["json_schema"]
	if !ok {
		return nil, false, MissingParam("response_format.json_schema")
	}
	js, err := decodeObject(raw)
	if err != nil {
		return nil, false, typeError("response_format.json_schema", "an object", raw)
	}
	var name, description string
	if !js.has("name") {
		return nil, false, MissingParam("response_format.json_schema.name")
	}
	for _, p := range []struct {
		key string
		dst *string
	}{{"name", &name}, {"description", &description}} {
		if err := js.str(p.key, p.dst); err != nil {
			err.Param = "response_format.json_schema." + p.key
			return nil, false, err
		}
	}
	if !schemaName.MatchString(name) {
		return nil, false, InvalidParam("response_format.json_schema.name", "invalid_value",
			"response_format.json_schema.name must be 1 to 64 letters, digits, underscores or dashes, got %q", name)
	}
	if err := js.boolean("strict", &strict); err != nil {
		err.Param = "response_format.json_schema.strict"
		return nil, false, err
	}
	raw, ok = js["schema"]
	if !ok {
		return []byte(`{}`), strict, nil // no schema: any JSON value
	}
	if jsonKind(raw) != "an object" {
		return nil, false, typeError("response_format.json_schema.schema", "a JSON Schema object", raw)
	}
	return append([]byte(nil), raw...), strict, nil
}
