package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"
)

// Cache limits how many models stay loaded and how much memory they take.
type Cache struct {
	// MaxLoadedModels caps the models loaded at once; 0: 3.
	MaxLoadedModels int `yaml:"max_loaded_models"`
	// MemoryBudget caps the estimated memory of loaded models; bytes
	// ("12GiB") or a share of RAM ("80%"). Zero: 80%.
	MemoryBudget Size `yaml:"memory_budget"`
	// TTL is the idle time after which a model unloads; per-model ttl wins.
	// 0 in the file means the default (5m); write -1 for never.
	TTL *Duration `yaml:"ttl"`
	// MaxWaiting caps requests waiting for room to load their model; 0: 64.
	MaxWaiting int `yaml:"max_waiting"`
	// MaxWait bounds how long a request waits for room; 0: 60s.
	MaxWait Duration `yaml:"max_wait"`
	// LoadRetryBackoff is the first pause after a failed load before the
	// model is tried again (doubling per failure up to 1m); 0: 2s.
	LoadRetryBackoff Duration `yaml:"load_retry_backoff"`
	// GPUHeadroom is the memory left free on every GPU: bytes ("1GiB") or
	// a share of the GPU's total memory ("5%"). Zero: 1GiB.
	GPUHeadroom Size `yaml:"gpu_headroom"`
}

// Cache defaults.
const (
	DefaultMaxLoadedModels  = 3
	DefaultMemoryPercent    = 80
	DefaultTTL              = 5 * time.Minute
	DefaultMaxWaiting       = 64
	DefaultMaxWait          = 60 * time.Second
	DefaultLoadRetryBackoff = 2 * time.Second
)

// Model is one entry of the `models:` list. Zero load settings inherit
// `defaults:`.
type Model struct {
	ID               string   `yaml:"id"`
	Path             string   `yaml:"path"` // relative paths are relative to the config file
	Aliases          []string `yaml:"aliases"`
	ModelOpts        `yaml:",inline"`
	ChatTemplate     string `yaml:"chat_template"`      // inline Jinja overriding the GGUF's
	ChatTemplateFile string `yaml:"chat_template_file"` // or a file holding it
	// ToolFormat names the tool-call format (docs/api.md lists them); empty:
	// detected from the chat template.
	ToolFormat string `yaml:"tool_format"`
	// ReasoningFormat is the default of the request's reasoning_format:
	// none (reasoning stays in content), auto or deepseek (separated).
	ReasoningFormat string    `yaml:"reasoning_format"`
	Sampling        Sampling  `yaml:"sampling"` // defaults for fields a request omits
	TTL             *Duration `yaml:"ttl"`      // idle time before unload; 0: when idle; -1: never
	Pinned          bool      `yaml:"pinned"`   // load at start, never unload
	// Fallbacks are other model ids tried, in order, when this model fails
	// before its first token (load failure, no room, overload, upstream
	// error); never after tokens were sent.
	Fallbacks []string `yaml:"fallbacks"`
	// Backend is "llamacpp" (default: a local GGUF file) or "openai" (an
	// OpenAI-compatible server the requests are forwarded to).
	Backend string   `yaml:"backend"`
	Remote  Upstream `yaml:",inline"`

	Line int `yaml:"-"` // where the entry starts in the file, for messages
}

// Upstream is where a `backend: openai` model's requests go.
type Upstream struct {
	BaseURL        string   `yaml:"base_url"`           // e.g. https://api.example.com/v1
	APIKeyEnv      string   `yaml:"api_key_env"`        // environment variable holding the upstream key
	UpstreamModel  string   `yaml:"upstream_model"`     // the model name upstream; default: the id
	ConnectTimeout Duration `yaml:"connect_timeout"`    // dial + TLS; 0: 10s
	FirstByte      Duration `yaml:"first_byte_timeout"` // until the first data event (whole answer when not streamed); 0: none
	Timeout        Duration `yaml:"upstream_timeout"`   // whole request; 0: none (the request's own deadline bounds it)
}

// Sampling holds per-model defaults for request fields left out. Nil
// means OpenAI's default.
type Sampling struct {
	MaxTokens        *int     `yaml:"max_tokens"`
	Temperature      *float64 `yaml:"temperature"`
	TopP             *float64 `yaml:"top_p"`
	TopK             *int     `yaml:"top_k"`
	MinP             *float64 `yaml:"min_p"`
	RepeatPenalty    *float64 `yaml:"repeat_penalty"`
	PresencePenalty  *float64 `yaml:"presence_penalty"`
	FrequencyPenalty *float64 `yaml:"frequency_penalty"`
	Stop             []string `yaml:"stop"`
}

var modelIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$`)

func (c *Cache) validate() []error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.MaxLoadedModels >= 0 && c.MaxLoadedModels <= 1024, "cache.max_loaded_models must be between 0 and 1024")
	check(c.MemoryBudget.Bytes >= 0, "cache.memory_budget must not be negative")
	check(c.TTL == nil || *c.TTL >= -1, "cache.ttl must be a duration or -1")
	check(c.MaxWaiting >= 0 && c.MaxWaiting <= 1<<16, "cache.max_waiting must be between 0 and 65536")
	check(c.MaxWait >= 0, "cache.max_wait must not be negative")
	check(c.LoadRetryBackoff >= 0, "cache.load_retry_backoff must not be negative")
	return errs
}

// validateModels checks the models list: ids and aliases unique and well
// formed, values in range. Messages name the entry's line.
func validateModels(ms []Model) []error {
	var errs []error
	names := map[string]int{} // id or alias → line
	for i := range ms {
		m := &ms[i]
		where := fmt.Sprintf("line %d: models[%d]", m.Line, i)
		if m.ID != "" {
			where += fmt.Sprintf(" (%s)", m.ID)
		}
		add := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
		}
		if !modelIDPattern.MatchString(m.ID) {
			add("id must be 1-128 letters, digits or ._:/@+- and start with a letter or digit")
		}
		switch m.Backend {
		case "", "llamacpp":
			if m.Path == "" {
				add("path is required")
			}
			if m.Remote != (Upstream{}) {
				add("base_url, api_key_env, upstream_model and the upstream timeouts need backend: openai")
			}
		case "openai":
			if m.Remote.BaseURL == "" {
				add("backend: openai needs base_url")
			} else if u, err := url.Parse(m.Remote.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add("base_url must be an http:// or https:// URL")
			}
			if m.Path != "" {
				add("path is for local models; a backend: openai model has base_url")
			}
			if m.Remote.ConnectTimeout < 0 || m.Remote.Timeout < 0 || m.Remote.FirstByte < 0 {
				add("upstream timeouts must not be negative")
			}
		default:
			add("backend must be llamacpp or openai, not %q", m.Backend)
		}
		for _, f := range m.Fallbacks {
			if f == m.ID {
				add("fallbacks must not name the model itself")
			}
		}
		for _, name := range append([]string{m.ID}, m.Aliases...) {
			if name == "" {
				continue
			}
			if !modelIDPattern.MatchString(name) {
				add("alias %q is not a valid model name", name)
			}
			if line, dup := names[name]; dup {
				add("%q is already used by the entry at line %d", name, line)
			}
			names[name] = m.Line
		}
		if m.ChatTemplate != "" && m.ChatTemplateFile != "" {
			add("give chat_template or chat_template_file, not both")
		}
		switch m.ReasoningFormat {
		case "", "none", "auto", "deepseek":
		default:
			add("reasoning_format must be none, auto or deepseek, not %q", m.ReasoningFormat)
		}
		if m.TTL != nil && *m.TTL < -1 {
			add("ttl must be a duration, 0 or -1")
		}
		for _, err := range m.ModelOpts.validate("") {
			add("%v", err)
		}
		for _, err := range m.Sampling.validate() {
			add("%v", err)
		}
	}
	return errs
}

func (s *Sampling) validate() []error {
	var errs []error
	between := func(name string, v *float64, lo, hi float64) {
		if v != nil && !(*v >= lo && *v <= hi) {
			errs = append(errs, fmt.Errorf("sampling.%s must be between %g and %g", name, lo, hi))
		}
	}
	between("temperature", s.Temperature, 0, 2)
	between("top_p", s.TopP, 0, 1)
	between("min_p", s.MinP, 0, 1)
	between("repeat_penalty", s.RepeatPenalty, 0, 10)
	between("presence_penalty", s.PresencePenalty, -2, 2)
	between("frequency_penalty", s.FrequencyPenalty, -2, 2)
	if s.MaxTokens != nil && *s.MaxTokens < 1 {
		errs = append(errs, errors.New("sampling.max_tokens must be at least 1"))
	}
	if s.TopK != nil && *s.TopK < 0 {
		errs = append(errs, errors.New("sampling.top_k must not be negative"))
	}
	if len(s.Stop) > 4 {
		errs = append(errs, errors.New("sampling.stop may hold at most 4 strings"))
	}
	return errs
}
