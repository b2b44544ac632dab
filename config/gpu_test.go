package config

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestDecodeOffloadSettings(t *testing.T) {
	src := `
defaults:
  gpu_layers: auto
  kv_cache_type: q8_0
  flash_attention: on
cache:
  gpu_headroom: 5%
models:
  - id: a
    path: a.gguf
    gpu_layers: 12
    devices: [CUDA1, 0]
    tensor_split: [3, 1]
  - id: b
    path: b.gguf
    gpu_layers: -1
    main_gpu: 1
    kv_cache_type: f16
    flash_attention: off
  - id: c
    path: c.gguf
    gpu_layers: all
`
	cfg := Default()
	if err := Decode([]byte(src), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Defaults.GPULayers != GPULayersAuto || cfg.Defaults.KVCacheType != "q8_0" || cfg.Defaults.FlashAttention != "on" {
		t.Fatalf("defaults = %+v", cfg.Defaults)
	}
	if cfg.Cache.GPUHeadroom.Percent != 5 {
		t.Fatalf("gpu_headroom = %+v", cfg.Cache.GPUHeadroom)
	}
	a, b, c := cfg.Models[0], cfg.Models[1], cfg.Models[2]
	if n, ok := a.GPULayers.Count(); !ok || n != 12 {
		t.Fatalf("a.gpu_layers = %q", a.GPULayers)
	}
	// An index in devices is kept as written; the registry resolves it.
	if len(a.Devices) != 2 || a.Devices[0] != "CUDA1" || a.Devices[1] != "0" || len(a.TensorSplit) != 2 || a.TensorSplit[0] != 3 {
		t.Fatalf("a = %+v", a.ModelOpts)
	}
	if b.GPULayers != GPULayersAll || b.MainGPU == nil || *b.MainGPU != 1 || b.FlashAttention != "off" {
		t.Fatalf("b = %+v", b.ModelOpts)
	}
	if c.GPULayers != GPULayersAll {
		t.Fatalf("c.gpu_layers = %q", c.GPULayers)
	}

	// A model inherits what it does not set.
	o := cfg.Defaults
	InheritOffload(&o, a.ModelOpts)
	if n, _ := o.GPULayers.Count(); n != 12 || o.KVCacheType != "q8_0" || o.FlashAttention != "on" || len(o.Devices) != 2 {
		t.Fatalf("a merged = %+v", o)
	}
	o = Default().Defaults
	o.TensorSplit = []float64{1, 1}
	InheritOffload(&o, b.ModelOpts)
	if o.TensorSplit != nil || *o.MainGPU != 1 {
		t.Fatalf("main_gpu must replace an inherited tensor_split: %+v", o)
	}
}

func TestOffloadErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"bad gpu_layers", "models:\n  - id: a\n    path: a\n    gpu_layers: most\n", `line 4: gpu_layers must be auto, all or a number of layers, not "most"`},
		{"negative gpu_layers", "defaults:\n  gpu_layers: -2\n", `line 2: gpu_layers must be auto`},
		{"kv type", "models:\n  - id: a\n    path: a\n    kv_cache_type: q5_1\n", "line 2: models[0] (a): kv_cache_type must be f16, q8_0 or q4_0"},
		{"flash attention", "defaults:\n  flash_attention: maybe\n", "defaults.flash_attention must be auto, on or off"},
		{"quantized V without FA", "models:\n  - id: a\n    path: a\n    kv_cache_type: q4_0\n    flash_attention: off\n", "line 2: models[0] (a): kv_cache_type q4_0 needs flash attention"},
		{"quantized V without FA, inherited", "defaults:\n  flash_attention: off\nmodels:\n  - id: a\n    path: a\n    kv_cache_type: q8_0\n", "line 4: models[0] (a): kv_cache_type q8_0 needs flash attention"},
		{"quantized V without FA in defaults", "defaults:\n  kv_cache_type: q8_0\n  flash_attention: off\n", "defaults.kv_cache_type q8_0 needs flash attention"},
		{"main_gpu and tensor_split", "models:\n  - id: a\n    path: a\n    main_gpu: 0\n    tensor_split: [1, 1]\n", "give main_gpu (the model on one GPU) or tensor_split"},
		{"main_gpu outside devices", "models:\n  - id: a\n    path: a\n    main_gpu: 2\n    devices: [CUDA0, CUDA1]\n", "main_gpu 2 is not an index into devices"},
		{"negative share", "defaults:\n  tensor_split: [1, -1]\n", "defaults.tensor_split must be shares that are not negative"},
		{"zero shares", "defaults:\n  tensor_split: [0, 0]\n", "at least one above 0"},
		{"split length", "defaults:\n  tensor_split: [1, 1]\n  devices: [CUDA0]\n", "tensor_split has 2 shares but devices lists 1 GPUs"},
		{"duplicate device", "defaults:\n  devices: [CUDA0, cuda0]\n", `devices lists "cuda0" twice`},
		{"bad headroom", "cache:\n  gpu_headroom: plenty\n", `line 2: "plenty" is not a size`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default()
			err := Decode([]byte(tc.src), &cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// The combinations that are fine.
	for _, ok := range []string{
		"defaults:\n  kv_cache_type: q8_0\n",                        // auto flash attention
		"defaults:\n  kv_cache_type: q4_0\n  flash_attention: on\n", // explicit
		"defaults:\n  kv_cache_type: f16\n  flash_attention: off\n", // unquantized V needs no FA
		"defaults:\n  flash_attention: off\nmodels:\n  - id: a\n    path: a\n    kv_cache_type: q8_0\n    flash_attention: auto\n",
	} {
		cfg := Default()
		if err := Decode([]byte(ok), &cfg); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
}

// `config print` output reads back: unset offload settings included.
func TestOffloadSettingsPrintAndReadBack(t *testing.T) {
	cfg := Default()
	if err := Decode([]byte("defaults:\n  gpu_layers: 4\nmodels:\n  - id: a\n    path: a\n    kv_cache_type: q8_0\n"), &cfg); err != nil {
		t.Fatal(err)
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	back := Default()
	if err := Decode(b, &back); err != nil {
		t.Fatalf("%v in\n%s", err, b)
	}
	if back.Defaults.GPULayers != "4" || back.Models[0].GPULayers != "" || back.Models[0].KVCacheType != "q8_0" {
		t.Fatalf("read back: defaults %q, model %q %q", back.Defaults.GPULayers, back.Models[0].GPULayers, back.Models[0].KVCacheType)
	}
}

func TestGPULayersRoundTrip(t *testing.T) {
	for in, want := range map[string]string{"auto": "auto", "ALL": "all", "-1": "all", "0": "0", "33": "33"} {
		g, err := ParseGPULayers(in)
		if err != nil || string(g) != want {
			t.Errorf("ParseGPULayers(%q) = %q, %v", in, g, err)
		}
		b, err := yaml.Marshal(struct {
			G GPULayers `yaml:"g"`
		}{g})
		if err != nil {
			t.Fatal(err)
		}
		var back struct {
			G GPULayers `yaml:"g"`
		}
		if err := yaml.Unmarshal(b, &back); err != nil || back.G != g {
			t.Errorf("%q: round trip gave %q (%s), %v", in, back.G, b, err)
		}
	}
}
