// Package engine is the contract between the gateway and an inference
// backend: what a generation request carries, the events a backend sends
// back, and the typed errors the API layer maps to HTTP statuses. It also owns
// the backend-independent part of turning tokens into text (stop strings and
// UTF-8 hold-back, see textstream.go), so every backend streams the same way.
//
// It imports no other project package and no cgo.
package engine

import (
	"context"
	"errors"
	"fmt"
)

// FinishReason says why a generation ended, in OpenAI's words.
type FinishReason string

const (
	FinishStop   FinishReason = "stop"   // end-of-generation token or a stop string
	FinishLength FinishReason = "length" // max_tokens or the context window
)

// Sampling holds the sampler settings of one sequence. The zero value is
// greedy decoding with no penalties.
type Sampling struct {
	Temperature      float32 // <= 0 means greedy
	TopK             int     // <= 0 disables
	TopP             float32 // <= 0 or >= 1 disables
	MinP             float32 // <= 0 disables
	Seed             uint32
	SeedSet          bool    // false: a random seed per request
	RepeatPenalty    float32 // 1 or 0 disables
	RepeatLastN      int     // tokens considered by the penalties; 0 means 64
	PresencePenalty  float32
	FrequencyPenalty float32
	LogitBias        map[int]float32 // token id → added to its logit
}

// Request is one generation: a prompt already rendered to text (chat
// templates are applied above the engine) or given as tokens.
type Request struct {
	Prompt       string
	PromptTokens []int // used instead of Prompt when non-nil
	MaxTokens    int   // <= 0 means up to the context window
	Stop         []string
	Sampling     Sampling
	IgnoreEOS    bool // never sample an end-of-generation token (benchmarks)
	// N is the number of choices sampled independently from the same
	// prompt (OpenAI's n); 0 means 1. The prompt is evaluated once.
	N int
	// Logprobs asks for a TokenLogprob of every generated token (on the
	// events, see Event.Logprobs), with the TopLogprobs most likely tokens
	// at each position.
	Logprobs    bool
	TopLogprobs int
	// JSONSchema, when non-nil, constrains sampling so that the output is
	// JSON the schema accepts (a grammar made from it); the schema {} allows
	// any JSON value and {"type":"object"} any object. A schema the backend
	// cannot turn into a grammar fails Generate with an
	// *InvalidRequestError naming "response_format".
	JSONSchema []byte
	// Grammar, when non-nil, constrains sampling with a GBNF grammar (tool
	// calls: see Grammar). At most one of JSONSchema and Grammar is set. A
	// grammar the backend refuses fails Generate with an
	// *InvalidRequestError naming "tools", the field it is made from.
	Grammar *Grammar
}

// Grammar is a GBNF constraint on the output, with start rule "root".
type Grammar struct {
	GBNF string
	// Lazy grammars constrain nothing until the generated text matches one
	// of Triggers (regular expressions in the ECMAScript syntax llama.cpp's
	// std::regex uses, matched against the whole text generated so far);
	// the grammar then applies from the first capture group of the match
	// (or the match start), replaying the text from there.
	Lazy     bool
	Triggers []string
}

// SchemaConverter is implemented by engines that turn a JSON schema into a
// GBNF grammar (start rule "root") the way their JSONSchema constraint
// does, so grammars for tool arguments can be built above the engine. It is
// optional: a model whose engine lacks it cannot constrain tool calls.
type SchemaConverter interface {
	SchemaToGrammar(schema []byte) (string, error)
}

// TokenLogprob is the log-probability of one generated token and the most
// likely tokens at its position. The distribution is the model's own: a
// log-softmax over the whole vocabulary of the logits plus the request's
// logit biases, before penalties, grammar, temperature and truncation
// (docs/decisions.md says why).
type TokenLogprob struct {
	Token   string  // the token's bytes as it was emitted; may be part of a UTF-8 character
	Logprob float32 // -Inf where a bias banned the token
	Top     []TopLogprob
}

// TopLogprob is one of the most likely tokens at a position, most likely
// first. Its text renders special tokens (such as "</s>") as text.
type TopLogprob struct {
	Token   string
	Logprob float32
}

// Usage counts tokens the way OpenAI reports them.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
	CachedTokens     int // prompt tokens whose KV was reused, not evaluated
}

// Event is one item of a generation's result stream. For each choice the
// stream carries zero or more text events followed by exactly one final
// event: Done with Finish and Usage (that choice's). The stream ends after
// the last choice's final event, or at the first Err event, which ends every
// choice.
type Event struct {
	Index int    // the choice, 0..N-1
	Text  string // may hold any bytes; never a split UTF-8 sequence unless the model emitted invalid UTF-8
	// Logprobs (with Request.Logprobs) holds the tokens whose text this
	// event completes, in order: a token is reported once all of its bytes
	// have been sent, so text held back (a possible stop string, a partial
	// UTF-8 character) delays its tokens too. See LogprobQueue for the
	// tokens of a stop string and of the end of generation.
	Logprobs []TokenLogprob
	Done     bool
	Finish   FinishReason
	Usage    Usage
	Err      error
}

// Stream delivers the events of one generation.
type Stream interface {
	// Next blocks for the next event. It returns ctx.Err() when ctx ends
	// first; the backend still frees the sequence once the request's own
	// context is cancelled.
	Next(ctx context.Context) (Event, error)
}

// Engine is a loaded model that can generate.
type Engine interface {
	// Generate starts a generation. Cancelling ctx stops it within one decode
	// step and frees its sequence; the stream then ends with an Err event.
	Generate(ctx context.Context, req Request) (Stream, error)
	// Tokenize turns text into token ids, adding BOS when the model wants
	// it and addSpecial is true.
	Tokenize(text string, addSpecial bool) ([]int, error)
	// Detokenize turns token ids back into text.
	Detokenize(tokens []int) (string, error)
	// Info describes the loaded model.
	Info() ModelInfo
	// Close stops generation (ending open streams with ErrClosed) and
	// frees the model.
	Close() error
}

// ModelInfo is what the API layer needs to know about a loaded model.
type ModelInfo struct {
	CtxSize      int // tokens available to one sequence (prompt + completion)
	CtxTrain     int
	Parallel     int
	VocabSize    int
	ChatTemplate string
	BOS, EOS     string // token texts, for chat templates
}

var (
	// ErrClosed ends streams of a model that is being unloaded.
	ErrClosed = errors.New("model was unloaded")
	// ErrOverloaded means every slot is busy and the wait queue is full.
	ErrOverloaded = errors.New("model is overloaded: all slots busy and the queue is full")
)

// ContextLengthError says a prompt does not fit the context window.
type ContextLengthError struct {
	PromptTokens int
	CtxSize      int
}

func (e *ContextLengthError) Error() string {
	return fmt.Sprintf("this model's context window is %d tokens, but the prompt has %d tokens; shorten the prompt", e.CtxSize, e.PromptTokens)
}

// InvalidRequestError is a request the backend cannot serve as given
// (an unknown token id, say). Param names the offending field if known.
type InvalidRequestError struct {
	Param   string
	Message string
}

func (e *InvalidRequestError) Error() string { return e.Message }
