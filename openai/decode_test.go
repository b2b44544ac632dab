package openai

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodeCompletionRequest(t *testing.T) {
	for _, tc := range []struct {
		name, body  string
		param, code string // empty code: no error
		check       func(t *testing.T, r *CompletionRequest)
	}{
		{name: "minimal", body: `{"model":"m","prompt":"hi"}`, check: func(t *testing.T, r *CompletionRequest) {
			if r.Model != "m" || len(r.Prompts) != 1 || r.Prompts[0].Text != "hi" || r.Stream || r.MaxTokens != nil || r.Temperature != nil {
				t.Fatalf("%+v", r)
			}
		}},
		{name: "full", body: `{"model":"m","prompt":"hi","stream":true,"stream_options":{"include_usage":true},"max_tokens":5,"temperature":0.5,"top_p":0.9,"seed":-3,"stop":"x","presence_penalty":-2,"frequency_penalty":2,"user":"u","top_k":40,"min_p":0.05,"repeat_penalty":1.1,"ignore_eos":true,"unknown":{"deep":[1]}}`,
			check: func(t *testing.T, r *CompletionRequest) {
				if !r.Stream || !r.IncludeUsage || *r.MaxTokens != 5 || *r.Temperature != 0.5 || *r.TopP != 0.9 || *r.Seed != -3 ||
					len(r.Stop) != 1 || r.Stop[0] != "x" || *r.PresencePenalty != -2 || *r.FrequencyPenalty != 2 || r.User != "u" ||
					*r.TopK != 40 || *r.MinP != 0.05 || *r.RepeatPenalty != 1.1 || !r.IgnoreEOS {
					t.Fatalf("%+v", r)
				}
			}},
		{name: "nulls are absent", body: `{"model":"m","prompt":"hi","temperature":null,"stop":null,"n":null}`, check: func(t *testing.T, r *CompletionRequest) {
			if r.Temperature != nil || r.Stop != nil {
				t.Fatalf("%+v", r)
			}
		}},
		{name: "max_completion_tokens wins", body: `{"model":"m","prompt":"hi","max_tokens":3,"max_completion_tokens":9}`, check: func(t *testing.T, r *CompletionRequest) {
			if *r.MaxTokens != 9 {
				t.Fatalf("max tokens %d", *r.MaxTokens)
			}
		}},
		{name: "integral float is an integer", body: `{"model":"m","prompt":"hi","max_tokens":5.0}`, check: func(t *testing.T, r *CompletionRequest) {
			if *r.MaxTokens != 5 {
				t.Fatalf("max tokens %d", *r.MaxTokens)
			}
		}},
		{name: "stop list", body: `{"model":"m","prompt":"hi","stop":["a","b"]}`, check: func(t *testing.T, r *CompletionRequest) {
			if len(r.Stop) != 2 {
				t.Fatalf("%v", r.Stop)
			}
		}},
		{name: "n=1 is fine", body: `{"model":"m","prompt":"hi","n":1,"echo":false,"logprobs":0}`},
		{name: "echo type", body: `{"model":"m","prompt":"hi","echo":"yes"}`, param: "echo", code: "invalid_type"},
		{name: "empty body", body: ``, code: "invalid_json"},
		{name: "syntax", body: "{\n\"model\": \"m\",\n\"prompt\": x}", code: "invalid_json"},
		{name: "array body", body: `[]`, code: "invalid_json"},
		{name: "trailing garbage", body: `{"model":"m","prompt":"x"} {`, code: "invalid_json"},
		{name: "missing model", body: `{"prompt":"x"}`, param: "model", code: "missing_required_parameter"},
		{name: "empty model", body: `{"model":"","prompt":"x"}`, param: "model", code: "invalid_value"},
		{name: "model number", body: `{"model":5,"prompt":"x"}`, param: "model", code: "invalid_type"},
		{name: "missing prompt", body: `{"model":"m"}`, param: "prompt", code: "missing_required_parameter"},
		{name: "prompt array", body: `{"model":"m","prompt":["a","b"],"echo":true}`, check: func(t *testing.T, r *CompletionRequest) {
			if len(r.Prompts) != 2 || r.Prompts[1].Text != "b" || !r.Echo {
				t.Fatalf("%+v", r)
			}
		}},
		{name: "token prompt", body: `{"model":"m","prompt":[1,2,3]}`, check: func(t *testing.T, r *CompletionRequest) {
			if len(r.Prompts) != 1 || len(r.Prompts[0].Tokens) != 3 {
				t.Fatalf("%+v", r)
			}
		}},
		{name: "token prompts", body: `{"model":"m","prompt":[[1,2],[3]]}`, check: func(t *testing.T, r *CompletionRequest) {
			if len(r.Prompts) != 2 || r.Prompts[1].Tokens[0] != 3 {
				t.Fatalf("%+v", r)
			}
		}},
		{name: "empty prompt array", body: `{"model":"m","prompt":[]}`, param: "prompt", code: "invalid_value"},
		{name: "negative token", body: `{"model":"m","prompt":[1,-2]}`, param: "prompt", code: "invalid_value"},
		{name: "mixed prompt", body: `{"model":"m","prompt":["a",{}]}`, param: "prompt", code: "invalid_type"},
		{name: "prompt object", body: `{"model":"m","prompt":{}}`, param: "prompt", code: "invalid_type"},
		{name: "stream string", body: `{"model":"m","prompt":"x","stream":"yes"}`, param: "stream", code: "invalid_type"},
		{name: "stream_options type", body: `{"model":"m","prompt":"x","stream_options":3}`, param: "stream_options", code: "invalid_type"},
		{name: "include_usage type", body: `{"model":"m","prompt":"x","stream_options":{"include_usage":1}}`, param: "stream_options.include_usage", code: "invalid_type"},
		{name: "max_tokens zero", body: `{"model":"m","prompt":"x","max_tokens":0}`, param: "max_tokens", code: "invalid_value"},
		{name: "max_tokens fraction", body: `{"model":"m","prompt":"x","max_tokens":1.5}`, param: "max_tokens", code: "invalid_value"},
		{name: "max_tokens huge", body: `{"model":"m","prompt":"x","max_tokens":1e300}`, param: "max_tokens", code: "invalid_value"},
		{name: "temperature high", body: `{"model":"m","prompt":"x","temperature":2.5}`, param: "temperature", code: "invalid_value"},
		{name: "temperature negative", body: `{"model":"m","prompt":"x","temperature":-1}`, param: "temperature", code: "invalid_value"},
		{name: "temperature overflow", body: `{"model":"m","prompt":"x","temperature":1e999}`, param: "temperature", code: "invalid_value"},
		{name: "top_p bool", body: `{"model":"m","prompt":"x","top_p":true}`, param: "top_p", code: "invalid_type"},
		{name: "seed float", body: `{"model":"m","prompt":"x","seed":0.5}`, param: "seed", code: "invalid_value"},
		{name: "stop too many", body: `{"model":"m","prompt":"x","stop":["a","b","c","d","e"]}`, param: "stop", code: "invalid_value"},
		{name: "stop wrong", body: `{"model":"m","prompt":"x","stop":[1]}`, param: "stop", code: "invalid_type"},
		{name: "stop too long", body: `{"model":"m","prompt":"x","stop":"` + strings.Repeat("s", 300) + `"}`, param: "stop", code: "invalid_value"},
		{name: "n=3", body: `{"model":"m","prompt":"x","n":3}`, check: func(t *testing.T, r *CompletionRequest) {
			if r.N != 3 {
				t.Fatalf("n %d", r.N)
			}
		}},
		{name: "n=0", body: `{"model":"m","prompt":"x","n":0}`, param: "n", code: "invalid_value"},
		{name: "n huge", body: `{"model":"m","prompt":"x","n":100000}`, param: "n", code: "invalid_value"},
		{name: "best_of", body: `{"model":"m","prompt":"x","best_of":2}`, param: "best_of", code: "unsupported_parameter"},
		{name: "logprobs", body: `{"model":"m","prompt":"x","logprobs":3}`, check: func(t *testing.T, r *CompletionRequest) {
			if !r.Logprobs || r.TopLogprobs != 3 {
				t.Fatalf("%+v", r)
			}
		}},
		{name: "logprobs 0 still asks for the sampled tokens", body: `{"model":"m","prompt":"x","logprobs":0}`, check: func(t *testing.T, r *CompletionRequest) {
			if !r.Logprobs || r.TopLogprobs != 0 {
				t.Fatalf("%+v", r)
			}
		}},
		{name: "logprobs null", body: `{"model":"m","prompt":"x","logprobs":null}`, check: func(t *testing.T, r *CompletionRequest) {
			if r.Logprobs {
				t.Fatalf("%+v", r)
			}
		}},
		{name: "logprobs above 5", body: `{"model":"m","prompt":"x","logprobs":6}`, param: "logprobs", code: "invalid_value"},
		{name: "logprobs bool", body: `{"model":"m","prompt":"x","logprobs":true}`, param: "logprobs", code: "invalid_type"},
		{name: "logprobs with echo", body: `{"model":"m","prompt":"x","logprobs":1,"echo":true}`, param: "logprobs", code: "unsupported_parameter"},
		{name: "json_object", body: `{"model":"m","prompt":"x","response_format":{"type":"json_object"}}`, check: func(t *testing.T, r *CompletionRequest) {
			if string(r.JSONSchema) != `{"type":"object"}` {
				t.Fatalf("schema %s", r.JSONSchema)
			}
		}},
		{name: "json_object with ignore_eos", body: `{"model":"m","prompt":"x","ignore_eos":true,"response_format":{"type":"json_object"}}`, param: "ignore_eos", code: "invalid_value"},
		{name: "logit_bias", body: `{"model":"m","prompt":"x","logit_bias":{"50256":-100,"7":2.5}}`, check: func(t *testing.T, r *CompletionRequest) {
			if len(r.LogitBias) != 2 || r.LogitBias[50256] != -100 || r.LogitBias[7] != 2.5 {
				t.Fatalf("%v", r.LogitBias)
			}
		}},
		{name: "logit_bias key", body: `{"model":"m","prompt":"x","logit_bias":{"abc":1}}`, param: "logit_bias", code: "invalid_value"},
		{name: "logit_bias range", body: `{"model":"m","prompt":"x","logit_bias":{"1":101}}`, param: "logit_bias", code: "invalid_value"},
		{name: "logit_bias type", body: `{"model":"m","prompt":"x","logit_bias":[1]}`, param: "logit_bias", code: "invalid_type"},
		{name: "suffix", body: `{"model":"m","prompt":"x","suffix":"y"}`, param: "suffix", code: "unsupported_parameter"},
		{name: "invalid utf8", body: "{\"model\":\"m\",\"prompt\":\"\xff\"}", code: "invalid_encoding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := DecodeCompletionRequest([]byte(tc.body))
			if tc.code == "" {
				if err != nil {
					t.Fatalf("unexpected error %+v", err)
				}
				if tc.check != nil {
					tc.check(t, r)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %s", tc.code)
			}
			if err.Code != tc.code || err.Param != tc.param || err.Status != 400 || err.Message == "" {
				t.Fatalf("error %+v, want code %q param %q", err, tc.code, tc.param)
			}
		})
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	_, err := DecodeCompletionRequest([]byte("{\n  \"model\": \"m\",\n  \"prompt\": x\n}"))
	if err == nil || !strings.Contains(err.Message, "line 3, column 13") {
		t.Fatalf("error %+v, want line 3 column 13", err)
	}
}

func TestErrorBodyShape(t *testing.T) {
	b, _ := json.Marshal(ModelNotFound("x").Body())
	want := `{"error":{"message":"the model \"x\" does not exist; GET /v1/models lists the available models","type":"invalid_request_error","param":"model","code":"model_not_found"}}`
	if string(b) != want {
		t.Fatalf("%s", b)
	}
	b, _ = json.Marshal((&Error{Message: "m", Type: TypeServer}).Body())
	if string(b) != `{"error":{"message":"m","type":"server_error","param":null,"code":null}}` {
		t.Fatalf("null param/code: %s", b)
	}
}

func FuzzDecodeCompletionRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","prompt":"hi"}`,
		`{"model":"m","prompt":"hi","max_tokens":5,"temperature":0.5,"stop":["a"],"stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"m","prompt":"hi","seed":1e20,"top_k":-1}`,
		`{"model":null,"prompt":[1,2,3]}`,
		`[`, ``, `{"a":{"b":{"c":[[[[[]]]]]}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeCompletionRequest(body)
		if err != nil {
			if err.Status != 400 || err.Message == "" || err.Type != TypeInvalidRequest {
				t.Fatalf("bad error %+v", err)
			}
			return
		}
		if r.Model == "" {
			t.Fatal("accepted an empty model")
		}
		if r.MaxTokens != nil && (*r.MaxTokens < 1 || *r.MaxTokens > maxTokensCap) {
			t.Fatalf("max_tokens %d out of range", *r.MaxTokens)
		}
		if r.Temperature != nil && (*r.Temperature < 0 || *r.Temperature > 2) {
			t.Fatalf("temperature %v out of range", *r.Temperature)
		}
		if len(r.Stop) > MaxStopStrings {
			t.Fatalf("%d stop strings", len(r.Stop))
		}
	})
}

func TestNestingDepthIsBounded(t *testing.T) {
	deep := `{"model":"m","prompt":"x","user":` + strings.Repeat("[", MaxNesting) + strings.Repeat("]", MaxNesting) + `}`
	if _, err := DecodeCompletionRequest([]byte(deep)); err == nil || err.Code != "nesting_too_deep" {
		t.Fatalf("err = %v", err)
	}
	// Brackets inside strings do not count, nor do escaped quotes end them.
	ok := `{"model":"m","prompt":"` + strings.Repeat(`[{\"`, 200) + `"}`
	if _, err := DecodeCompletionRequest([]byte(ok)); err != nil {
		t.Fatalf("err = %v", err)
	}
	fine := `{"model":"m","prompt":"x","user":"u","logit_bias":{}}`
	if _, err := DecodeCompletionRequest([]byte(fine)); err != nil {
		t.Fatalf("err = %v", err)
	}
}

func TestNumbersWrittenAsStringsAreRefused(t *testing.T) {
	for _, body := range []string{
		`{"model":"m","prompt":"x","max_tokens":"5"}`,
		`{"model":"m","prompt":"x","seed":"1"}`,
		`{"model":"m","prompt":"x","n":"2"}`,
		`{"model":"m","prompt":"x","temperature":"0.5"}`,
	} {
		_, err := DecodeCompletionRequest([]byte(body))
		if err == nil || err.Code != "invalid_type" || err.Param == "" {
			t.Errorf("%s: err = %+v, want invalid_type naming the param", body, err)
		}
	}
}
