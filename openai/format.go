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
// a grammar is the engine's to say (also a 400 on response_format). strict is
// accepted either way: the output is always held to the schema.
func (f fields) responseFormat() ([]byte, *Error) {
	raw, ok := f["response_format"]
	if !ok {
		return nil, nil
	}
	rf, err := decodeObject(raw)
	if err != nil {
		return nil, typeError("response_format", "an object", raw)
	}
	var typ string
	if !rf.has("type") {
		return nil, MissingParam("response_format.type")
	}
	if err := rf.str("type", &typ); err != nil {
		err.Param = "response_format.type"
		return nil, err
	}
	switch typ {
	case "text":
		return nil, nil
	case "json_object":
		return anyJSONObject, nil
	case "json_schema":
	default:
		return nil, InvalidParam("response_format.type", "invalid_value", "response_format.type must be text, json_object or json_schema, got %q", typ)
	}
	raw, ok = rf["json_schema"]
	if !ok {
		return nil, MissingParam("response_format.json_schema")
	}
	js, err := decodeObject(raw)
	if err != nil {
		return nil, typeError("response_format.json_schema", "an object", raw)
	}
	var name, description string
	var strict bool
	if !js.has("name") {
		return nil, MissingParam("response_format.json_schema.name")
	}
	for _, p := range []struct {
		key string
		dst *string
	}{{"name", &name}, {"description", &description}} {
		if err := js.str(p.key, p.dst); err != nil {
			err.Param = "response_format.json_schema." + p.key
			return nil, err
		}
	}
	if !schemaName.MatchString(name) {
		return nil, InvalidParam("response_format.json_schema.name", "invalid_value",
			"response_format.json_schema.name must be 1 to 64 letters, digits, underscores or dashes, got %q", name)
	}
	if err := js.boolean("strict", &strict); err != nil {
		err.Param = "response_format.json_schema.strict"
		return nil, err
	}
	schema, ok := js["schema"]
	if !ok {
		return []byte(`{}`), nil // no schema: any JSON value
	}
	if jsonKind(schema) != "an object" {
		return nil, typeError("response_format.json_schema.schema", "a JSON Schema object", schema)
	}
	return append([]byte(nil), schema...), nil
}
