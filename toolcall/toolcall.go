// Package toolcall turns a chat model's raw output into OpenAI's structured
// answer: text content, reasoning (reasoning_content) and tool calls
// (message.tool_calls), whole or as a stream of deltas. It also builds the
// grammar that constrains decoding when a request forces a tool call
// (tool_choice "required" or a named function) or, lazily, once a call
// starts (tool_choice "auto").
//
// Each model family writes calls in its own syntax (Hermes' <tool_call>,
// Llama 3.1's {"name":...}, Mistral's [TOOL_CALLS], gpt-oss' harmony
// channels, ...). A Format describes one family: how to recognise its chat
// template, how to parse its output and how to constrain it. Adding a family
// is one file that calls Register from an init function.
//
// The package is pure Go: no cgo, no HTTP. Grammars are GBNF text; the JSON
// schema → GBNF conversion is llama.cpp's and is passed in as a
// SchemaConverter by the caller.
package toolcall

import (
	"encoding/json"
	"sort"
	"sync"
	"time"
)

// Tool is one function a request offers (OpenAI's tools[].function).
type Tool struct {
	Name        string
	Description string
	Parameters  json.RawMessage // a JSON schema; nil means {"type":"object"}
}

// ChoiceMode is OpenAI's tool_choice.
type ChoiceMode int

const (
	ChoiceAuto     ChoiceMode = iota // the model decides; a call that starts is constrained (lazy grammar)
	ChoiceNone                       // no tools: rendered without them, output is text
	ChoiceRequired                   // at least one call, constrained from the first token
	ChoiceNamed                      // exactly the function Choice.Name, constrained
)

// Choice is a request's tool_choice and parallel_tool_calls.
type Choice struct {
	Mode     ChoiceMode
	Name     string // with ChoiceNamed
	Parallel bool   // false: at most one call
}

// Call is one parsed tool call.
type Call struct {
	ID        string // unique per call in a response ("call_" + random)
	Name      string
	Arguments string // JSON text of an object, as OpenAI sends it
}

// Result is a whole parsed answer.
type Result struct {
	Content   string // text besides calls and reasoning ("" when none)
	Reasoning string // reasoning_content ("" when none)
	Calls     []Call
}

// DeltaKind says what a Delta carries.
type DeltaKind int

const (
	DeltaContent   DeltaKind = iota // Text is content
	DeltaReasoning                  // Text is reasoning_content
	DeltaCallStart                  // a new call: Index, ID, Name (Text empty)
	DeltaCallArgs                   // Text is a fragment of call Index's arguments
)

// Delta is one piece of streamed output. For every call, a DeltaCallStart
// comes before its DeltaCallArgs, and the concatenation of a call's
// argument fragments equals Result.Calls[Index].Arguments byte for byte.
// The concatenated content and reasoning deltas equal Result.Content and
// Result.Reasoning.
type Delta struct {
	Kind  DeltaKind
	Index int // the call's index among this answer's calls
	ID    string
	Name  string
	Text  string
}

// Parser parses one answer as it is generated. It is not safe for
// concurrent use.
type Parser interface {
	// Feed takes the next piece of generated text (any split: a marker may
	// arrive over several pieces, a piece may hold invalid UTF-8) and
	// returns what is now certain. Text that might still turn out to be
	// part of a marker is held back, never emitted as content.
	Feed(text string) []Delta
	// Finish ends the answer. truncated says generation stopped for
	// max_tokens or the context window. It returns the remaining deltas and
	// the whole result. ok is false when the output held a call that does
	// not parse (cut short, malformed): the caller then returns the raw
	// generated text as content (Result.Content holds it) and no calls.
	Finish(truncated bool) (rest []Delta, res Result, ok bool)
}

// Options configure a parser for one request.
type Options struct {
	Tools  []Tool
	Choice Choice
	// Reasoning: false keeps reasoning inline in content
	// (reasoning_format "none").
	Reasoning bool
	// ThinkingOpen says the rendered prompt already opened a reasoning
	// block (it ends with "<think>\n", say), so output starts as
	// reasoning.
	ThinkingOpen bool
	// NewID makes call ids; nil means a random "call_" + 24 characters.
	NewID func() string
}

// SchemaConverter turns a JSON schema into a GBNF grammar whose start rule
// is "root" (llama.cpp's json-schema-to-grammar).
type SchemaConverter func(schema []byte) (string, error)

// Grammar constrains decoding.
type Grammar struct {
	GBNF string // start rule "root"
	// Lazy grammars apply only from the first match of a trigger pattern
	// (a regular expression over the generated text, as llama.cpp's
	// llama_sampler_init_grammar_lazy_patterns takes them: the grammar is
	// fed the text from the first capture group, or from the match start
	// when there is none).
	Lazy     bool
	Triggers []string
}

// Format is one family's tool-call and reasoning syntax.
type Format struct {
	Name string // short, stable: "hermes", "llama3", "mistral", ...
	// Priority orders detection: higher first (more specific formats).
	Priority int
	// Detect reports whether a chat template (its Jinja source) writes
	// this family's syntax.
	Detect func(template string) bool
	// NewParser returns a parser for one answer.
	NewParser func(opts Options) Parser
	// Grammar builds the constraint for opts.Choice (never called with
	// ChoiceNone). For ChoiceAuto it returns a lazy grammar, or nil when the
	// family has no reliable trigger.
	Grammar func(opts Options, conv SchemaConverter) (*Grammar, error)
	// ReasoningOpen reports whether a rendered prompt ends inside an open
	// reasoning block (for Options.ThinkingOpen); nil means never.
	ReasoningOpen func(prompt string) bool
	// TemplateVars, when set, returns variables the family's chat
	// templates need beyond messages, tools and the usual ones
	// (firefunction's functions and datetime). tools are the request's
	// tool objects as the template gets them (nil when it gets none), now
	// the time of rendering. The caller merges them into the template's
	// variables; a request's own template variables win.
	TemplateVars func(tools []json.RawMessage, now time.Time) map[string]any
}

var (
	regMu   sync.Mutex
	formats []*Format
)

// Register adds a family. It is called from init functions only.
func Register(f *Format) {
	regMu.Lock()
	defer regMu.Unlock()
	formats = append(formats, f)
	sort.SliceStable(formats, func(i, j int) bool { return formats[i].Priority > formats[j].Priority })
}

// Detect returns the format of a chat template, or the generic format
// (reasoning in <think> tags, no tool-call syntax) when no family matches.
func Detect(template string) *Format {
	regMu.Lock()
	defer regMu.Unlock()
	for _, f := range formats {
		if f.Detect(template) {
			return f
		}
	}
	return Generic
}

// Lookup returns the registered format with this name (for a model's
// configured override), or nil.
func Lookup(name string) *Format {
	regMu.Lock()
	defer regMu.Unlock()
	for _, f := range formats {
		if f.Name == name {
			return f
		}
	}
	if name == Generic.Name {
		return Generic
	}
	return nil
}

// Formats returns the names of the registered formats and of the generic
// one, sorted: the values a model's tool_format may take.
func Formats() []string {
	regMu.Lock()
	defer regMu.Unlock()
	names := []string{Generic.Name}
	for _, f := range formats {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return names
}

// Generic is used for templates of no known family: <think> reasoning is
// separated, tool calls are parsed in the Hermes form when tools were
// given. It is set by generic.go.
var Generic *Format
