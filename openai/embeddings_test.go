package openai

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeEmbeddingRequest(t *testing.T) {
	for _, tc := range []struct {
		name, body  string
		param, code string // empty code: no error
		want        *EmbeddingRequest
	}{
		{name: "string", body: `{"model":"m","input":"hello"}`,
			want: &EmbeddingRequest{Model: "m", Inputs: []EmbeddingInput{{Text: "hello"}}}},
		{name: "strings", body: `{"model":"m","input":["a","b"],"encoding_format":"base64","dimensions":64,"user":"u"}`,
			want: &EmbeddingRequest{Model: "m", Inputs: []EmbeddingInput{{Text: "a"}, {Text: "b"}}, Base64: true, Dimensions: 64, User: "u"}},
		{name: "tokens", body: `{"model":"m","input":[1,2,3],"encoding_format":"float"}`,
			want: &EmbeddingRequest{Model: "m", Inputs: []EmbeddingInput{{Tokens: []int{1, 2, 3}}}}},
		{name: "token arrays", body: `{"model":"m","input":[[1],[2,3]]}`,
			want: &EmbeddingRequest{Model: "m", Inputs: []EmbeddingInput{{Tokens: []int{1}}, {Tokens: []int{2, 3}}}}},
		{name: "nulls are absent", body: `{"model":"m","input":"x","encoding_format":null,"dimensions":null,"user":null,"extra":{"a":1}}`,
			want: &EmbeddingRequest{Model: "m", Inputs: []EmbeddingInput{{Text: "x"}}}},
		{name: "missing model", body: `{"input":"x"}`, param: "model", code: "missing_required_parameter"},
		{name: "missing input", body: `{"model":"m"}`, param: "input", code: "missing_required_parameter"},
		{name: "empty string", body: `{"model":"m","input":""}`, param: "input", code: "invalid_value"},
		{name: "empty string in array", body: `{"model":"m","input":["a",""]}`, param: "input", code: "invalid_value"},
		{name: "empty array", body: `{"model":"m","input":[]}`, param: "input", code: "invalid_value"},
		{name: "empty token array", body: `{"model":"m","input":[[1],[]]}`, param: "input", code: "invalid_value"},
		{name: "negative token", body: `{"model":"m","input":[1,-2]}`, param: "input", code: "invalid_value"},
		{name: "number", body: `{"model":"m","input":5}`, param: "input", code: "invalid_type"},
		{name: "object item", body: `{"model":"m","input":[{"a":1}]}`, param: "input", code: "invalid_type"},
		{name: "mixed token array", body: `{"model":"m","input":[1,"a"]}`, param: "input", code: "invalid_type"},
		{name: "too many", body: `{"model":"m","input":[` + strings.TrimSuffix(strings.Repeat(`"a",`, MaxEmbeddingInputs+1), ",") + `]}`, param: "input", code: "invalid_value"},
		{name: "format", body: `{"model":"m","input":"x","encoding_format":"int8"}`, param: "encoding_format", code: "invalid_value"},
		{name: "format type", body: `{"model":"m","input":"x","encoding_format":1}`, param: "encoding_format", code: "invalid_type"},
		{name: "dimensions zero", body: `{"model":"m","input":"x","dimensions":0}`, param: "dimensions", code: "invalid_value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeEmbeddingRequest([]byte(tc.body))
			if tc.code != "" {
				if err == nil || err.Code != tc.code || err.Param != tc.param || err.Status != 400 {
					t.Fatalf("error %+v, want param %q code %q", err, tc.param, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %+v", err)
			}
			if !reflect.DeepEqual(r, tc.want) {
				t.Fatalf("got %+v, want %+v", r, tc.want)
			}
		})
	}
	// Exactly the limit is fine.
	body := `{"model":"m","input":[` + strings.TrimSuffix(strings.Repeat(`"a",`, MaxEmbeddingInputs), ",") + `]}`
	if r, err := DecodeEmbeddingRequest([]byte(body)); err != nil || len(r.Inputs) != MaxEmbeddingInputs {
		t.Fatalf("%d inputs: %+v", MaxEmbeddingInputs, err)
	}
}

func TestEncodeBase64(t *testing.T) {
	v := []float32{0, 1, -0.5, 3.25e-7, float32(math.Pi)}
	b, err := base64.StdEncoding.DecodeString(EncodeBase64(v))
	if err != nil || len(b) != 4*len(v) {
		t.Fatalf("%d bytes, %v", len(b), err)
	}
	for i := range v {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])); got != v[i] {
			t.Fatalf("value %d: %g, want %g", i, got, v[i])
		}
	}
	// 1.0 is 00 00 80 3f little-endian.
	if got := EncodeBase64([]float32{1}); got != "AACAPw==" {
		t.Fatalf("EncodeBase64(1) = %q", got)
	}
}
