package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/llamagate/llamagate/config"
	"github.com/llamagate/llamagate/models"
	"github.com/llamagate/llamagate/toolcall"
)

// buildSpecs returns every servable model: the models folder's files, then
// the config's `models:` list, whose entries win over files with the same
// id. Each spec carries its GGUF metadata and memory estimate.
func buildSpecs(cfg config.Config, log *slog.Logger) ([]models.Spec, error) {
	found, err := models.ScanDir(cfg.ModelsDir)
	if err != nil {
		return nil, err
	}
	ttl := config.DefaultTTL
	if cfg.Cache.TTL != nil && *cfg.Cache.TTL != 0 {
		ttl = cfg.Cache.TTL.Std()
	}
	byID := map[string]models.Spec{}
	for _, s := range found {
		applyOpts(&s, cfg.Defaults)
		s.TTL = ttl
		byID[s.ID] = s
	}
	for _, m := range cfg.Models {
		s, err := configSpec(cfg, m, ttl)
		if err != nil {
			return nil, err
		}
		if old, ok := byID[s.ID]; ok && old.Source == "dir" {
			log.Info("config entry overrides a file in the models folder", "model", s.ID, "file", old.Path)
		}
		byID[s.ID] = s
	}
	specs := make([]models.Spec, 0, len(byID))
	for _, s := range byID {
		for _, f := range s.Fallbacks {
			if _, ok := byID[f]; !ok {
				return nil, fmt.Errorf("model %s: fallback %q is not a known model id", s.ID, f)
			}
		}
		if s.Remote != nil {
			specs = append(specs, s)
			continue
		}
		for _, a := range s.Aliases {
			if other, ok := byID[a]; ok {
				log.Warn("alias names another model; the model wins", "alias", a, "of", s.ID, "model", other.ID)
			}
		}
		meta, err := models.ReadMeta(s, cfg.Defaults.MaxCtxSize)
		if err != nil {
			log.Warn("cannot read the GGUF header; a load will fail", "model", s.ID, "err", err)
		}
		s.Meta = meta
		specs = append(specs, s)
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].ID < specs[j].ID })
	return specs, nil
}

// configSpec turns one `models:` entry into a spec: its own settings over
// `defaults:`, its path relative to the config file.
func configSpec(cfg config.Config, m config.Model, defaultTTL time.Duration) (models.Spec, error) {
	if m.Backend == "openai" {
		r := m.Remote
		s := models.Spec{ID: m.ID, Aliases: m.Aliases, Source: "config", Fallbacks: m.Fallbacks, TTL: -1,
			Remote: &models.Remote{BaseURL: r.BaseURL, Model: r.UpstreamModel, ConnectTimeout: r.ConnectTimeout.Std(), FirstByte: r.FirstByte.Std(), Timeout: r.Timeout.Std()}}
		if s.Remote.Model == "" {
			s.Remote.Model = m.ID
		}
		if r.APIKeyEnv != "" {
			key, ok := os.LookupEnv(r.APIKeyEnv)
			if !ok {
				return s, fmt.Errorf("line %d: models[%s]: api_key_env %s is not set in the environment", m.Line, m.ID, r.APIKeyEnv)
			}
			s.Remote.APIKey = key
		}
		s.Sampling = samplingDefaults(m.Sampling)
		return s, nil
	}
	path := m.Path
	if !filepath.IsAbs(path) && cfg.Dir != "" {
		path = filepath.Join(cfg.Dir, path)
	}
	s := models.Spec{ID: m.ID, Aliases: m.Aliases, Path: path, Source: "config", Pinned: m.Pinned, TTL: defaultTTL}
	if info, err := os.Stat(path); err == nil {
		s.Created, s.Size = info.ModTime(), info.Size()
	}
	o := cfg.Defaults
	pick := func(v, d int) int {
		if v != 0 {
			return v
		}
		return d
	}
	o.Threads, o.CtxSize, o.Parallel = pick(m.Threads, o.Threads), pick(m.CtxSize, o.CtxSize), pick(m.Parallel, o.Parallel)
	o.BatchSize, o.ThreadsBatch = pick(m.BatchSize, o.BatchSize), pick(m.ThreadsBatch, o.ThreadsBatch)
	config.InheritOffload(&o, m.ModelOpts)
	o.QueueSize, o.PrefillBudget = pick(m.QueueSize, o.QueueSize), pick(m.PrefillBudget, o.PrefillBudget)
	if m.KVUnified != nil {
		o.KVUnified = m.KVUnified
	}
	if m.PrefixCache != nil {
		o.PrefixCache = m.PrefixCache
	}
	if m.AdaptiveThreads != nil {
		o.AdaptiveThreads = m.AdaptiveThreads
	}
	if m.ThreadPool != nil {
		o.ThreadPool = m.ThreadPool
	}
	o.KVOvercommit = o.KVOvercommit || m.KVOvercommit
	applyOpts(&s, o)
	if m.TTL != nil {
		s.TTL = m.TTL.Std()
	}
	s.ChatTemplate = m.ChatTemplate
	if m.ChatTemplateFile != "" {
		p := m.ChatTemplateFile
		if !filepath.IsAbs(p) && cfg.Dir != "" {
			p = filepath.Join(cfg.Dir, p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return s, fmt.Errorf("line %d: models[%s].chat_template_file: %w", m.Line, m.ID, err)
		}
		s.ChatTemplate = string(b)
	}
	if m.ToolFormat != "" && toolcall.Lookup(m.ToolFormat) == nil {
		return s, fmt.Errorf("line %d: models[%s].tool_format: unknown format %q (one of %s)", m.Line, m.ID, m.ToolFormat, strings.Join(toolcall.Formats(), ", "))
	}
	s.ToolFormat, s.ReasoningFormat = m.ToolFormat, m.ReasoningFormat
	s.Sampling = samplingDefaults(m.Sampling)
	s.Fallbacks = m.Fallbacks
	return s, nil
}

func samplingDefaults(sm config.Sampling) models.Sampling {
	return models.Sampling{
		MaxTokens: sm.MaxTokens, Temperature: sm.Temperature, TopP: sm.TopP, TopK: sm.TopK, MinP: sm.MinP,
		RepeatPenalty: sm.RepeatPenalty, PresencePenalty: sm.PresencePenalty, FrequencyPenalty: sm.FrequencyPenalty, Stop: sm.Stop,
	}
}

// applyOpts gives a spec the load settings o.
func applyOpts(s *models.Spec, o config.ModelOpts) {
	s.Threads, s.CtxSize, s.Parallel, s.BatchSize = o.Threads, o.CtxSize, o.Parallel, o.BatchSize
	s.ThreadsBatch = o.ThreadsBatch
	s.AdaptiveThreads = o.AdaptiveThreads == nil || *o.AdaptiveThreads
	s.ThreadPool = o.ThreadPool != nil && *o.ThreadPool
	applyOffload(s, o)
	s.KVUnified = o.KVUnified != nil && *o.KVUnified
	s.KVOvercommit = o.KVOvercommit
	s.QueueSize, s.PrefillBudget = o.QueueSize, o.PrefillBudget
	s.NoPrefixCache = o.PrefixCache != nil && !*o.PrefixCache
}

// totalMemory returns the machine's RAM in bytes (0 if unknown).
func totalMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	var kb int64
	if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err != nil {
		return 0
	}
	return kb << 10
}
