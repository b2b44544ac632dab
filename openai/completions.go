package openai

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
)

// Limits on request values that are not OpenAI's ranges but protect the
// engine from absurd input.
const (
	MaxStopStrings  = 4
	MaxChoices      = 128 // n; a model's parallel setting lowers it further
	MaxLogitBias    = 1024
	MaxStopLength   = 256 // bytes per stop string
	maxTokensCap    = 1 << 24
	maxSeed         = math.MaxInt64
	maxTopK         = 1 << 20
	maxPenaltyValue = 2
)

// Sampling holds the generation parameters both endpoints share. Nil
// pointers are "not given".
type Sampling struct {
	MaxTokens        *int64
	Temperature      *float64
	TopP             *float64
	TopK             *int64
	MinP             *float64
	Seed             *int64
	PresencePenalty  *float64
	FrequencyPenalty *float64
	RepeatPenalty    *float64
	Stop             []string
	IgnoreEOS        bool
	N                int             // choices; 1 when not given
	LogitBias        map[int]float64 // token id → bias in [-100, 100]
	// Logprobs asks for each token's logprob with TopLogprobs alternatives
	// (chat: logprobs and top_logprobs; legacy: logprobs N).
	Logprobs    bool
	TopLogprobs int
	// JSONSchema is the schema response_format holds the output to; nil
	// for text.
	JSONSchema []byte
	// JSONStrict is response_format's json_schema.strict: the answer is
	// checked against the schema before it is returned.
	JSONStrict bool
}

func (s *Sampling) decode(f fields) (err *Error) {
	if f.has("max_completion_tokens") {
		if err := f.integer("max_completion_tokens", &s.MaxTokens, 1, maxTokensCap); err != nil {
			return err
		}
	} else if err := f.integer("max_tokens", &s.MaxTokens, 1, maxTokensCap); err != nil {
		return err
	}
	for _, p := range []struct {
		name   string
		dst    **float64
		lo, hi float64
	}{
		{"temperature", &s.Temperature, 0, 2},
		{"top_p", &s.TopP, 0, 1},
		{"min_p", &s.MinP, 0, 1},
		{"presence_penalty", &s.PresencePenalty, -maxPenaltyValue, maxPenaltyValue},
		{"frequency_penalty", &s.FrequencyPenalty, -maxPenaltyValue, maxPenaltyValue},
		{"repeat_penalty", &s.RepeatPenalty, 0, 10},
	} {
		if err := f.number(p.name, p.dst, p.lo, p.hi); err != nil {
			return err
		}
	}
	if err := f.integer("top_k", &s.TopK, 0, maxTopK); err != nil {
		return err
	}
	if err := f.integer("seed", &s.Seed, math.MinInt64, maxSeed); err != nil {
		return err
	}
	if err := f.stringOrList("stop", &s.Stop, MaxStopStrings); err != nil {
		return err
	}
	for _, st := range s.Stop {
		if len(st) > MaxStopLength {
			return InvalidParam("stop", "invalid_value", "each stop string may be at most %d bytes", MaxStopLength)
		}
	}
	if err := f.logitBias(&s.LogitBias); err != nil {
		return err
	}
	var n *int64
	if err := f.integer("n", &n, 1, MaxChoices); err != nil {
		return err
	}
	s.N = 1
	if n != nil {
		s.N = int(*n)
	}
	if err := f.boolean("ignore_eos", &s.IgnoreEOS); err != nil {
		return err
	}
	if s.JSONSchema, s.JSONStrict, err = f.responseFormat(); err != nil {
		return err
	}
	if s.JSONSchema != nil && s.IgnoreEOS {
		return InvalidParam("ignore_eos", "invalid_value", "ignore_eos cannot be combined with a JSON response_format: the end of the JSON ends the generation")
	}
	return nil
}

// Prompt is one legacy-completions prompt: text, or token ids.
type Prompt struct {
	Text   string
	Tokens []int // non-nil for a token prompt
}

// Limits on legacy prompt arrays.
const (
	MaxPrompts      = 128
	MaxPromptTokens = 1 << 20
)

// CompletionRequest is a decoded POST /v1/completions body.
type CompletionRequest struct {
	Model        string
	Prompts      []Prompt // one or more; each gets N choices
	Echo         bool
	Stream       bool
	IncludeUsage bool // stream_options.include_usage
	User         string
	Sampling
}

// DecodeCompletionRequest parses and validates a /v1/completions body.
// Unknown fields are ignored; fields whose behaviour llamagate does not
// implement get a 400 rather than a silently different answer.
func DecodeCompletionRequest(body []byte) (*CompletionRequest, *Error) {
	f, err := decodeObject(body)
	if err != nil {
		return nil, err
	}
	r := &CompletionRequest{}
	if err := decodeModel(f, &r.Model); err != nil {
		return nil, err
	}
	raw, ok := f["prompt"]
	if !ok {
		return nil, MissingParam("prompt")
	}
	prompts, err := decodePrompts(raw)
	if err != nil {
		return nil, err
	}
	r.Prompts = prompts
	if err := f.boolean("echo", &r.Echo); err != nil {
		return nil, err
	}
	if err := decodeStreamFlags(f, &r.Stream, &r.IncludeUsage); err != nil {
		return nil, err
	}
	if err := f.str("user", &r.User); err != nil {
		return nil, err
	}
	if err := r.Sampling.decode(f); err != nil {
		return nil, err
	}
	var logprobs *int64
	if err := f.integer("logprobs", &logprobs, 0, MaxCompletionLogprobs); err != nil {
		return nil, err
	}
	if logprobs != nil {
		if r.Echo {
			return nil, &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Param: "logprobs", Code: "unsupported_parameter",
				Message: "logprobs together with echo (the prompt's logprobs) is not supported"}
		}
		r.Logprobs, r.TopLogprobs = true, int(*logprobs)
	}
	if err := unsupported(f); err != nil {
		return nil, err
	}
	return r, nil
}

func decodeModel(f fields, dst *string) *Error {
	if !f.has("model") {
		return MissingParam("model")
	}
	if err := f.str("model", dst); err != nil {
		return err
	}
	if *dst == "" {
		return InvalidParam("model", "invalid_value", "model must not be empty")
	}
	return nil
}

func decodeStreamFlags(f fields, stream, includeUsage *bool) *Error {
	if err := f.boolean("stream", stream); err != nil {
		return err
	}
	raw, ok := f["stream_options"]
	if !ok {
		return nil
	}
	opts, err := decodeObject(raw)
	if err != nil {
		return typeError("stream_options", "an object", raw)
	}
	if err := opts.boolean("include_usage", includeUsage); err != nil {
		err.Param = "stream_options.include_usage"
		return err
	}
	return nil
}

// unsupported rejects parameters whose effect llamagate does not provide
// yet, when they ask for something other than the default.
func unsupported(f fields) *Error {
	if raw, ok := f["best_of"]; ok && string(raw) != "1" {
		return &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Param: "best_of", Code: "unsupported_parameter",
			Message: "best_of is not supported by this server yet"}
	}
	if _, ok := f["suffix"]; ok {
		return &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Param: "suffix", Code: "unsupported_parameter",
			Message: "suffix (insertion) is not supported"}
	}
	return nil
}

// Usage is OpenAI's token accounting.
type Usage struct {
	PromptTokens        int                  `json:"prompt_tokens"`
	CompletionTokens    int                  `json:"completion_tokens"`
	TotalTokens         int                  `json:"total_tokens"`
	PromptTokensDetails *PromptTokensDetails `json:"prompt_tokens_details,omitempty"`
	// CompletionTokensDetails is set on chat answers of requests that
	// could reason (not for plain completions).
	CompletionTokensDetails *CompletionTokensDetails `json:"completion_tokens_details,omitempty"`
}

// CompletionTokensDetails splits completion tokens.
type CompletionTokensDetails struct {
	// ReasoningTokens counts the tokens of reasoning_content.
	ReasoningTokens int `json:"reasoning_tokens"`
}

// PromptTokensDetails reports prompt tokens served from the prefix cache.
type PromptTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

// Completion is a /v1/completions response, and (with Object
// "text_completion" too, as OpenAI does) each of its stream chunks.
type Completion struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	SystemFingerprint string             `json:"system_fingerprint,omitempty"`
	Choices           []CompletionChoice `json:"choices"`
	Usage             *Usage             `json:"usage,omitempty"`
}

// CompletionChoice is one choice; FinishReason is null until the end.
type CompletionChoice struct {
	Text         string              `json:"text"`
	Index        int                 `json:"index"`
	Logprobs     *CompletionLogprobs `json:"logprobs"`
	FinishReason *string             `json:"finish_reason"`
}

// Model is one entry of GET /v1/models.
type Model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// ModelList is the GET /v1/models response.
type ModelList struct {
	Object string  `json:"object"`
	Data   []Model `json:"data"`
}

// logitBias decodes OpenAI's logit_bias: an object from token id (as a
// string) to a bias between -100 and 100.
func (f fields) logitBias(dst *map[int]float64) *Error {
	raw, ok := f["logit_bias"]
	if !ok {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return typeError("logit_bias", "an object mapping token ids to numbers", raw)
	}
	if len(m) > MaxLogitBias {
		return InvalidParam("logit_bias", "invalid_value", "logit_bias may hold at most %d tokens", MaxLogitBias)
	}
	out := make(map[int]float64, len(m))
	for k, v := range m {
		id, err := strconv.Atoi(k)
		if err != nil || id < 0 {
			return InvalidParam("logit_bias", "invalid_value", "logit_bias keys must be token ids, got %q", k)
		}
		var b *float64
		if err := (fields{"logit_bias": v}).number("logit_bias", &b, -100, 100); err != nil {
			return err
		}
		out[id] = *b
	}
	*dst = out
	return nil
}

// decodePrompts accepts OpenAI's four prompt forms: a string, an array of
// strings, an array of token ids, or an array of token arrays.
func decodePrompts(raw json.RawMessage) ([]Prompt, *Error) {
	return decodeTextsOrTokens(raw, textsOrTokens{
		param: "prompt",
		max:   MaxPrompts,
		tooMany: func(int) *Error {
			return InvalidParam("prompt", "invalid_value", "prompt may hold at most %d prompts", MaxPrompts)
		},
	})
}

// textsOrTokens are the rules of one field in OpenAI's four text-or-token
// forms (completions' prompt, embeddings' input).
type textsOrTokens struct {
	param   string
	max     int // items in an array of strings or of token arrays
	tooMany func(n int) *Error
	// nonEmpty refuses empty strings and empty token arrays with
	// invalid_value (embeddings, as OpenAI does); otherwise an empty string
	// is allowed and an empty token array is a type error.
	nonEmpty bool
}

// decodeTextsOrTokens decodes a string, an array of strings, an array of
// token ids (one item) or an array of token arrays.
func decodeTextsOrTokens(raw json.RawMessage, r textsOrTokens) ([]Prompt, *Error) {
	bad := func() *Error {
		return typeError(r.param, "a string, an array of strings, an array of token ids or an array of token arrays", raw)
	}
	switch jsonKind(raw) {
	case "a string":
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, bad()
		}
		if r.nonEmpty && s == "" {
			return nil, InvalidParam(r.param, "invalid_value", "%s must not be an empty string", r.param)
		}
		return []Prompt{{Text: s}}, nil
	case "an array":
	default:
		return nil, bad()
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil, bad()
	}
	if len(items) == 0 {
		return nil, InvalidParam(r.param, "invalid_value", "%s must not be an empty array", r.param)
	}
	if jsonKind(items[0]) == "a number" { // one token array
		var toks []int
		if json.Unmarshal(raw, &toks) != nil {
			return nil, bad()
		}
		if err := checkTokens(toks, r.param); err != nil {
			return nil, err
		}
		return []Prompt{{Tokens: toks}}, nil
	}
	if len(items) > r.max {
		return nil, r.tooMany(len(items))
	}
	out := make([]Prompt, len(items))
	for i, it := range items {
		switch jsonKind(it) {
		case "a string":
			if json.Unmarshal(it, &out[i].Text) != nil {
				return nil, bad()
			}
			if r.nonEmpty && out[i].Text == "" {
				return nil, InvalidParam(r.param, "invalid_value", "%s %d is an empty string", r.param, i)
			}
		case "an array":
			var toks []int
			if json.Unmarshal(it, &toks) != nil {
				return nil, bad()
			}
			if len(toks) == 0 {
				if !r.nonEmpty {
					return nil, bad()
				}
				return nil, InvalidParam(r.param, "invalid_value", "%s %d is an empty token array", r.param, i)
			}
			if err := checkTokens(toks, r.param); err != nil {
				return nil, err
			}
			out[i].Tokens = toks
		default:
			return nil, bad()
		}
	}
	return out, nil
}

func checkTokens(toks []int, param string) *Error {
	if len(toks) > MaxPromptTokens {
		return InvalidParam(param, "invalid_value", "a token prompt may hold at most %d tokens", MaxPromptTokens)
	}
	for _, t := range toks {
		if t < 0 {
			return InvalidParam(param, "invalid_value", "token ids must not be negative, got %d", t)
		}
	}
	return nil
}
