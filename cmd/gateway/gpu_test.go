package main

import (
	"io"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/llamagate/llamagate/backends/llamacpp"
	"github.com/llamagate/llamagate/config"
	"github.com/llamagate/llamagate/models"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestGPUBudgets(t *testing.T) {
	const gib = 1 << 30
	devs := []llamacpp.Device{
		{Name: "CPU", Type: "cpu", Free: 60 * gib, Total: 64 * gib},
		{Name: "CUDA0", Type: "gpu", Description: "NVIDIA H100 80GB HBM3", Free: 79 * gib, Total: 80 * gib},
		{Name: "CUDA1", Type: "gpu", Free: 40 * gib, Total: 80 * gib},
		{Name: "Vulkan0", Type: "igpu", Free: 8 * gib, Total: 8 * gib},
		{Name: "BLAS", Type: "accel"},
	}
	got := gpuBudgets(devs, config.Size{}, quiet)
	want := []models.GPU{{Name: "CUDA0", Description: "NVIDIA H100 80GB HBM3", Budget: 78 * gib}, {Name: "CUDA1", Budget: 39 * gib}}
	if !slices.Equal(got, want) {
		t.Fatalf("default headroom: %+v, want %+v", got, want)
	}
	got = gpuBudgets(devs, config.Size{Percent: 5}, quiet)
	if got[0].Budget != 75*gib || got[1].Budget != 36*gib {
		t.Fatalf("5%% headroom: %+v", got)
	}
	// No discrete GPU: the integrated one, as llama.cpp does.
	got = gpuBudgets([]llamacpp.Device{devs[0], devs[3]}, config.Size{Bytes: gib / 2}, quiet)
	if len(got) != 1 || got[0].Name != "Vulkan0" || got[0].Budget != 8*gib-gib/2 {
		t.Fatalf("integrated only: %+v", got)
	}
	if got := gpuBudgets(devs[:1], config.Size{}, quiet); len(got) != 0 {
		t.Fatalf("CPU only: %+v", got)
	}
}

// The offload settings of `defaults:` and of a models entry reach the
// spec: unset gpu_layers is auto, a model's own settings win.
func TestOffloadSettingsReachTheSpec(t *testing.T) {
	src := `
defaults:
  kv_cache_type: q8_0
  devices: [CUDA0, CUDA1]
  tensor_split: [1, 1]
models:
  - id: a
    path: a.gguf
    gpu_layers: 7
    main_gpu: 1
  - id: b
    path: b.gguf
    gpu_layers: all
    flash_attention: on
    kv_cache_type: f16
`
	cfg := config.Default()
	if err := config.Decode([]byte(src), &cfg); err != nil {
		t.Fatal(err)
	}
	var dir models.Spec
	applyOpts(&dir, cfg.Defaults)
	if dir.GPULayers != models.GPULayersAuto || dir.Offload.KVCacheType != "q8_0" || !slices.Equal(dir.Offload.TensorSplit, []float64{1, 1}) {
		t.Fatalf("a models-folder spec: %d %+v", dir.GPULayers, dir.Offload)
	}
	a, err := configSpec(cfg, cfg.Models[0], time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if a.GPULayers != 7 || a.Offload.MainGPU == nil || *a.Offload.MainGPU != 1 || a.Offload.TensorSplit != nil ||
		!slices.Equal(a.Offload.Devices, []string{"CUDA0", "CUDA1"}) || a.Offload.KVCacheType != "q8_0" {
		t.Fatalf("a: %d %+v", a.GPULayers, a.Offload)
	}
	b, err := configSpec(cfg, cfg.Models[1], time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if b.GPULayers != models.GPULayersAll || b.Offload.FlashAttention != "on" || b.Offload.KVCacheType != "f16" {
		t.Fatalf("b: %d %+v", b.GPULayers, b.Offload)
	}
}

func TestOffloadOptionsFollowThePlacement(t *testing.T) {
	gpus := []models.GPU{{Name: "CUDA0"}, {Name: "CUDA1"}}
	s := models.Spec{
		Offload: models.Offload{KVCacheType: "q8_0", FlashAttention: "on"},
		Placement: models.Placement{GPULayers: 11, Layers: 11, Devices: []string{"CUDA1", "CUDA0"}, Split: []float32{5, 6},
			GPU: []int64{850 << 20, 800 << 20}, RAM: 100 << 20},
	}
	o := offloadOptions(s, gpus, quiet)
	if o.GPULayers != 11 || !slices.Equal(o.Devices, []string{"CUDA1", "CUDA0"}) || !slices.Equal(o.TensorSplit, []float32{5, 6}) ||
		!maps.Equal(o.Need, map[string]int64{"CUDA0": 850 << 20, "CUDA1": 800 << 20}) || o.KVCacheType != "q8_0" || o.FlashAttention != "on" {
		t.Fatalf("offload = %+v", o)
	}
	// A CPU placement uses no GPU at all.
	s.Placement = models.Placement{RAM: 1 << 30}
	if o := offloadOptions(s, gpus, quiet); o.GPULayers != 0 || o.Devices != nil || o.Need != nil || o.KVCacheType != "q8_0" {
		t.Fatalf("CPU offload = %+v", o)
	}
}
