package openai

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
)

// MaxEmbeddingInputs bounds the inputs of one embeddings request (OpenAI's
// own limit).
const MaxEmbeddingInputs = 2048

// EmbeddingInput is one input to embed: text, or token ids (the same
// shape as a completions prompt).
type EmbeddingInput = Prompt

// EmbeddingRequest is a decoded POST /v1/embeddings body.
type EmbeddingRequest struct {
	Model  string
	Inputs []EmbeddingInput // at least one, none empty
	// Base64 is encoding_format "base64": each vector as the base64 of its
	// little-endian float32 bytes.
	Base64 bool
	// Dimensions is the requested vector length; 0 when not given.
	Dimensions int
	User       string
}

// DecodeEmbeddingRequest parses and validates a /v1/embeddings body.
// Unknown fields are ignored.
func DecodeEmbeddingRequest(body []byte) (*EmbeddingRequest, *Error) {
	f, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	r := &EmbeddingRequest{}
	if err := decodeModel(f, &r.Model); err != nil {
		return nil, err
	}
	raw, ok := f["input"]
	if !ok {
		return nil, MissingParam("input")
	}
	if r.Inputs, err = decodeEmbeddingInputs(raw); err != nil {
		return nil, err
	}
	var format string
	if err := f.str("encoding_format", &format); err != nil {
		return nil, err
	}
	switch format {
	case "", "float":
	case "base64":
		r.Base64 = true
	default:
		return nil, InvalidParam("encoding_format", "invalid_value", "encoding_format must be \"float\" or \"base64\", not %q", format)
	}
	var dims *int64
	if err := f.integer("dimensions", &dims, 1, math.MaxInt32); err != nil {
		return nil, err
	}
	if dims != nil {
		r.Dimensions = int(*dims)
	}
	if err := f.str("user", &r.User); err != nil {
		return nil, err
	}
	return r, nil
}

// decodeEmbeddingInputs accepts OpenAI's four input forms: a string, an
// array of strings, an array of token ids, or an array of token arrays.
// Empty strings and empty token arrays are refused, as OpenAI does.
func decodeEmbeddingInputs(raw json.RawMessage) ([]EmbeddingInput, *Error) {
	return decodeTextsOrTokens(raw, textsOrTokens{
		param: "input",
		max:   MaxEmbeddingInputs,
		tooMany: func(n int) *Error {
			return InvalidParam("input", "invalid_value", "input may hold at most %d inputs, got %d", MaxEmbeddingInputs, n)
		},
		nonEmpty: true,
	})
}

// UnsupportedDimensions is the 400 for a dimensions value other than the
// model's own: vectors are not shortened.
func UnsupportedDimensions(asked, dims int) *Error {
	return &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Param: "dimensions", Code: "unsupported_parameter",
		Message: fmt.Sprintf("dimensions is %d, but this model's embeddings have %d dimensions and are not shortened; omit dimensions or pass %d", asked, dims, dims)}
}

// EmbeddingList is the POST /v1/embeddings response.
type EmbeddingList struct {
	Object string         `json:"object"` // "list"
	Data   []Embedding    `json:"data"`
	Model  string         `json:"model"`
	Usage  EmbeddingUsage `json:"usage"`
}

// Embedding is one vector of an EmbeddingList. Vector is []float32 for
// encoding_format float and a string for base64 (see EncodeBase64).
type Embedding struct {
	Object string `json:"object"` // "embedding"
	Index  int    `json:"index"`
	Vector any    `json:"embedding"`
}

// EmbeddingUsage counts the input tokens, as OpenAI reports them for
// embeddings (no completion tokens).
type EmbeddingUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

// EncodeBase64 is OpenAI's base64 encoding of a vector: its float32
// values as little-endian bytes, base64 (standard alphabet, padded).
func EncodeBase64(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(b)
}
