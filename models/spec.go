package models

import (
	"reflect"
	"time"
)

// Spec is one servable model and the settings it is loaded with. Zero
// load settings mean the backend's defaults.
type Spec struct {
	ID      string
	Aliases []string
	Path    string
	Created time.Time // the file's modification time
	Size    int64     // the file's size, with Created used to notice a replaced file
	Source  string    // "dir" (found in the models folder) or "config"

	Threads int
	// ThreadsBatch are the threads for prompt evaluation (0: Threads).
	ThreadsBatch int
	// AdaptiveThreads: fewer threads while that is faster (contention).
	AdaptiveThreads bool
	// ThreadPool: ggml's worker threads live between steps.
	ThreadPool bool
	CtxSize    int
	Parallel   int
	BatchSize  int
	GPULayers  int // a count, GPULayersAll or GPULayersAuto (fit.go)

	Offload   Offload   // GPUs, split, KV cache type, flash attention
	Placement Placement // where the current load goes; set by the manager

	ChatTemplate string // Jinja source overriding the GGUF's tokenizer.chat_template
	// ToolFormat names the toolcall format of the model's tool calls and
	// reasoning ("" : detected from the chat template).
	ToolFormat string
	// ReasoningFormat is the default of the request field reasoning_format
	// ("": auto, reasoning separated).
	ReasoningFormat string

	KVUnified     bool
	KVOvercommit  bool
	QueueSize     int
	PrefillBudget int
	NoPrefixCache bool

	// TTL is how long the model may stay loaded and idle: 0 unloads it as
	// soon as its last request ends, a negative value never.
	TTL    time.Duration
	Pinned bool // loaded at start and never unloaded by the cache

	Sampling Sampling // defaults for request fields left out
	Meta     Meta     // read from the GGUF header without loading

	// Remote, when set, makes this a model served by another
	// OpenAI-compatible server: the manager never loads it and the router
	// forwards its requests.
	Remote *Remote
	// Fallbacks are model ids tried in order when this one fails before
	// its first token.
	Fallbacks []string
}

// Remote says where a remote model's requests go.
type Remote struct {
	BaseURL        string
	APIKey         string        // read from the environment at registry build; never logged
	Model          string        // the upstream's model name
	ConnectTimeout time.Duration // dial + TLS
	FirstByte      time.Duration // until the first data event
	Timeout        time.Duration // whole request
}

// Sampling holds a model's defaults for request fields left out; nil
// fields keep OpenAI's defaults.
type Sampling struct {
	MaxTokens        *int
	Temperature      *float64
	TopP             *float64
	TopK             *int
	MinP             *float64
	RepeatPenalty    *float64
	PresencePenalty  *float64
	FrequencyPenalty *float64
	Stop             []string
}

// Names returns the id followed by the aliases.
func (s Spec) Names() []string { return append([]string{s.ID}, s.Aliases...) }

// needsReload reports whether a loaded model must be reloaded to follow
// the change from s to o: a different file or different load settings.
// Aliases, TTL, pinning and sampling defaults apply without a reload.
func (s Spec) needsReload(o Spec) bool {
	strip := func(x Spec) Spec {
		x.Aliases, x.TTL, x.Pinned, x.Sampling, x.Meta, x.Source, x.Fallbacks = nil, 0, false, Sampling{}, Meta{}, "", nil
		x.Placement = Placement{}
		return x
	}
	return !reflect.DeepEqual(strip(s), strip(o))
}
