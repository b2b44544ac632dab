package config

import (
	"strings"
	"testing"
	"time"
)

func TestDecodeModelsAndCache(t *testing.T) {
	src := `
models_dir: /m
cache:
  max_loaded_models: 2
  memory_budget: 6GiB
  ttl: 10m
models:
  - id: tiny
    path: tiny.gguf
    aliases: [small, t]
    ctx_size: 512
    parallel: 2
    ttl: -1
    pinned: true
    sampling: {temperature: 0.2, max_tokens: 64, stop: ["\n"]}
  - id: other
    path: /abs/other.gguf
    ttl: 0
`
	cfg := Default()
	if err := Decode([]byte(src), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Cache.MaxLoadedModels != 2 || cfg.Cache.MemoryBudget.Bytes != 6<<30 || cfg.Cache.TTL.Std() != 10*time.Minute {
		t.Fatalf("cache = %+v", cfg.Cache)
	}
	m := cfg.Models[0]
	if m.ID != "tiny" || len(m.Aliases) != 2 || m.CtxSize != 512 || m.Parallel != 2 || *m.TTL != -1 || !m.Pinned || m.Line != 8 {
		t.Fatalf("model = %+v", m)
	}
	if *m.Sampling.Temperature != 0.2 || *m.Sampling.MaxTokens != 64 || m.Sampling.Stop[0] != "\n" {
		t.Fatalf("sampling = %+v", m.Sampling)
	}
	if o := cfg.Models[1]; o.TTL == nil || *o.TTL != 0 || o.Line != 16 {
		t.Fatalf("second model = %+v", o)
	}
}

func TestDecodeErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"unknown key", "models:\n  - id: a\n    path: a.gguf\n    ctx: 5\n", "line 4: field ctx not found"},
		{"duplicate alias", "models:\n  - id: a\n    path: a.gguf\n  - id: b\n    path: b.gguf\n    aliases: [a]\n", `line 4: models[1] (b): "a" is already used by the entry at line 2`},
		{"missing path", "models:\n  - id: a\n", "line 2: models[0] (a): path is required"},
		{"bad id", "models:\n  - id: ' x'\n    path: a\n", "id must be"},
		{"bad range", "models:\n  - id: a\n    path: a\n    parallel: 999\n", "line 2: models[0] (a): parallel must be between 0 and 256"},
		{"bad sampling", "models:\n  - id: a\n    path: a\n    sampling: {temperature: 9}\n", "sampling.temperature must be between 0 and 2"},
		{"bad ttl", "models:\n  - id: a\n    path: a\n    ttl: soon\n", `line 4: "soon" is not a duration`},
		{"bad size", "cache:\n  memory_budget: lots\n", `line 2: "lots" is not a size`},
		{"bad percent", "cache:\n  memory_budget: 150%\n", "not a percentage"},
		{"both templates", "models:\n  - id: a\n    path: a\n    chat_template: x\n    chat_template_file: y\n", "not both"},
		{"defaults range", "defaults:\n  threads: -1\n", "defaults.threads must be between"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default()
			err := Decode([]byte(tc.src), &cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in      string
		bytes   int64
		percent float64
	}{
		{"1048576", 1 << 20, 0}, {"8GiB", 8 << 30, 0}, {"512 MiB", 512 << 20, 0}, {"2GB", 2e9, 0},
		{"1.5g", 3 << 29, 0}, {"80%", 0, 80},
	} {
		z, err := ParseSize(tc.in)
		if err != nil || z.Bytes != tc.bytes || z.Percent != tc.percent {
			t.Errorf("ParseSize(%q) = %+v, %v", tc.in, z, err)
		}
	}
	for _, bad := range []string{"", "-1", "x", "0%", "101%", "NaN", "1e30GiB"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) succeeded", bad)
		}
	}
	if got := (Size{Percent: 50}).Resolve(1000); got != 500 {
		t.Errorf("50%% of 1000 = %d", got)
	}
}
