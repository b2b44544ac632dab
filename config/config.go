// Package config is the gateway's typed configuration: defaults, strict
// YAML decoding (an unknown key is an error, reported with its line), and
// validation. It imports no other project package.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration file.
type Config struct {
	Server    Server    `yaml:"server"`
	ModelsDir string    `yaml:"models_dir"`
	Defaults  ModelOpts `yaml:"defaults"`
	Cache     Cache     `yaml:"cache"`
	Models    []Model   `yaml:"models"`
	Auth      Auth      `yaml:"auth"`

	// Dir is the folder of the file the configuration came from; relative
	// model paths are resolved against it. Empty: the working directory.
	Dir string `yaml:"-"`
}

// Server holds the HTTP server settings.
type Server struct {
	Addr         string `yaml:"addr"`
	MaxBodyBytes int64  `yaml:"max_body_bytes"`
	// DrainTimeout is how long a shutdown lets in-flight requests finish.
	DrainTimeout Duration `yaml:"drain_timeout"`
	// RequestTimeout is a request's default total deadline (0: none).
	RequestTimeout Duration `yaml:"request_timeout"`
	// TTFTTimeout bounds the wait for the first token once the model is
	// loaded (slot queue + prefill); StallTimeout the gap between tokens.
	TTFTTimeout  Duration `yaml:"ttft_timeout"`
	StallTimeout Duration `yaml:"stall_timeout"`
	// KeepAlive is the interval of SSE ping comments while a streaming
	// request waits (0: none).
	KeepAlive Duration `yaml:"keepalive_interval"`
	// Metrics serves GET /metrics: "public" (no key needed), "admin"
	// (an admin-scope key once keys are configured) or "off".
	Metrics string `yaml:"metrics"`
}

// ModelOpts are the load settings applied to every model.
type ModelOpts struct {
	Threads int `yaml:"threads"` // 0: the CPU quota or the physical cores, whichever is lower
	// ThreadsBatch are the threads for prompt evaluation; 0: threads.
	ThreadsBatch int `yaml:"threads_batch"`
	// AdaptiveThreads decodes with fewer threads while another process
	// holds cores and that is measurably faster; default true.
	AdaptiveThreads *bool `yaml:"adaptive_threads"`
	// ThreadPool keeps the model's ggml worker threads alive between
	// decode steps instead of starting them per step; default false.
	ThreadPool *bool `yaml:"thread_pool"`
	CtxSize    int   `yaml:"ctx_size"`     // tokens per sequence; 0: trained context capped at max_ctx_size
	MaxCtxSize int   `yaml:"max_ctx_size"` // cap for the automatic ctx_size; 0: 4096
	Parallel   int   `yaml:"parallel"`     // sequences decoded together; 0: 4
	BatchSize  int   `yaml:"batch_size"`   // 0: 512
	// GPU offload (docs/gpu.md): gpu_layers auto (default), all or a
	// number; main_gpu puts the model on one GPU (an index into devices);
	// tensor_split shares the layers among GPUs; devices names the GPUs a
	// model may use (CUDA0, or an index); KV cache f16 (default), q8_0 or
	// q4_0; flash attention auto (default), on or off.
	GPULayers      GPULayers `yaml:"gpu_layers"`
	MainGPU        *int      `yaml:"main_gpu"`
	TensorSplit    []float64 `yaml:"tensor_split"`
	Devices        []string  `yaml:"devices"`
	KVCacheType    string    `yaml:"kv_cache_type"`
	FlashAttention string    `yaml:"flash_attention"`
	// KVUnified shares one KV pool of ctx_size × parallel cells among the
	// sequences; false (the default) gives each its own ctx_size.
	KVUnified *bool `yaml:"kv_unified"`
	// KVOvercommit lets one sequence fill the whole unified pool.
	KVOvercommit  bool  `yaml:"kv_overcommit"`
	QueueSize     int   `yaml:"queue_size"`     // requests waiting for a slot; 0: 4 × parallel
	PrefillBudget int   `yaml:"prefill_budget"` // prompt tokens per step while others generate; 0: auto (about one decode step's time)
	PrefixCache   *bool `yaml:"prefix_cache"`   // reuse finished slots' KV for a shared prompt prefix; default true
}

// Default returns the built-in configuration.
func Default() Config {
	return Config{
		Server: Server{Addr: "127.0.0.1:8080", MaxBodyBytes: 8 << 20, DrainTimeout: Duration(30 * time.Second), Metrics: "public",
			RequestTimeout: Duration(10 * time.Minute), TTFTTimeout: Duration(2 * time.Minute), StallTimeout: Duration(time.Minute),
			KeepAlive: Duration(15 * time.Second)},
		ModelsDir: "./models",
	}
}

// Load reads a YAML file over the defaults. An empty file is valid.
func Load(path string) (Config, error) {
	cfg := Default()
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	if err := Decode(b, &cfg); err != nil {
		return cfg, fmt.Errorf("config %s: %w", path, err)
	}
	cfg.Dir = filepath.Dir(path)
	return cfg, nil
}

// Decode decodes YAML into cfg strictly and validates the result.
func Decode(b []byte, cfg *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	markModelLines(b, cfg.Models)
	return cfg.Validate()
}

// Validate checks value ranges.
func (c *Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.Server.Addr != "", "server.addr must not be empty")
	check(c.Server.MaxBodyBytes > 0, "server.max_body_bytes must be positive")
	check(c.Server.DrainTimeout > 0, "server.drain_timeout must be positive")
	check(c.Server.RequestTimeout >= 0 && c.Server.TTFTTimeout >= 0 && c.Server.StallTimeout >= 0 && c.Server.KeepAlive >= 0,
		"server timeouts and keepalive_interval must not be negative (0 turns them off)")
	check(c.Server.Metrics == "public" || c.Server.Metrics == "admin" || c.Server.Metrics == "off", "server.metrics must be public, admin or off")
	errs = append(errs, c.Defaults.validate("defaults.")...)
	errs = append(errs, c.Cache.validate()...)
	errs = append(errs, validateModels(c.Models)...)
	errs = append(errs, validateOffloadCombined(c)...)
	errs = append(errs, c.Auth.validate()...)
	return errors.Join(errs...)
}

// validate checks the load settings; prefix names where they sit.
func (d *ModelOpts) validate(prefix string) []error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(prefix+format, args...))
		}
	}
	check(d.Threads >= 0 && d.Threads <= 1024, "threads must be between 0 and 1024")
	check(d.ThreadsBatch >= 0 && d.ThreadsBatch <= 1024, "threads_batch must be between 0 and 1024")
	check(d.CtxSize >= 0 && d.CtxSize <= 1<<20, "ctx_size must be between 0 and 1048576")
	check(d.MaxCtxSize >= 0 && d.MaxCtxSize <= 1<<20, "max_ctx_size must be between 0 and 1048576")
	check(d.Parallel >= 0 && d.Parallel <= 256, "parallel must be between 0 and 256")
	check(d.BatchSize >= 0 && d.BatchSize <= 1<<16, "batch_size must be between 0 and 65536")
	d.validateOffload(check)
	check(!d.KVOvercommit || (d.KVUnified != nil && *d.KVUnified), "kv_overcommit needs kv_unified: true")
	check(d.QueueSize >= 0 && d.QueueSize <= 1<<16, "queue_size must be between 0 and 65536")
	check(d.PrefillBudget >= 0 && d.PrefillBudget <= 1<<16, "prefill_budget must be between 0 and 65536")
	return errs
}

// markModelLines records where each `models:` entry starts, so validation
// messages can point at it. The strict decode already succeeded, so the
// document parses.
func markModelLines(b []byte, ms []Model) {
	var doc yaml.Node
	if yaml.Unmarshal(b, &doc) != nil || len(doc.Content) == 0 {
		return
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "models" {
			continue
		}
		for j, item := range root.Content[i+1].Content {
			if j < len(ms) {
				ms[j].Line = item.Line
			}
		}
	}
}
