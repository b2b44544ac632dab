package llamacpp

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/ggufgen"
	"github.com/llamagate/llamagate/internal/testmodels"
)

func TestDevicesListTheCPU(t *testing.T) {
	devs := Devices()
	var cpu *Device
	for i := range devs {
		if devs[i].Type == "cpu" {
			cpu = &devs[i]
		}
	}
	if cpu == nil || cpu.Name == "" || cpu.Total <= 0 || cpu.Free <= 0 || cpu.Free > cpu.Total {
		t.Fatalf("devices = %+v, want the CPU with its memory", devs)
	}
}

// logCapture collects llama.cpp's log lines (routed through slog.Default)
// while a test runs.
type logCapture struct {
	mu    sync.Mutex
	lines []string
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	c.lines = append(c.lines, r.Message)
	c.mu.Unlock()
	return nil
}
func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCapture) WithGroup(string) slog.Handler      { return c }

func (c *logCapture) find(sub string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.lines {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func captureLlamaLog(t *testing.T) *logCapture {
	c := &logCapture{}
	old := slog.Default()
	slog.SetDefault(slog.New(c))
	t.Cleanup(func() { slog.SetDefault(old) })
	return c
}

// kv_cache_type reaches llama.cpp's context as the K and V types, and a
// quantized cache under flash_attention auto turns flash attention on.
func TestQuantizedKVCache(t *testing.T) {
	// Heads of 32 values: one q8_0 block per row.
	path := writeModel(t, ggufgen.Options{Shape: ggufgen.Shape{NEmbd: 64, NLayer: 2, NHead: 2, NHeadKV: 2, NFF: 128, NCtx: 256, NVocab: 1000}, Type: ggufgen.Q8_0, Seed: 5})
	logs := captureLlamaLog(t)
	f16 := load(t, Options{Path: path, Parallel: 2, CtxSize: 128})
	q8 := load(t, Options{Path: path, Parallel: 2, CtxSize: 128, Offload: Offload{KVCacheType: "q8_0"}})
	if l := logs.find("K (q8_0)"); l == "" || !strings.Contains(l, "V (q8_0)") {
		t.Fatalf("llama.cpp did not report a q8_0 KV cache; log: %q", logs.lines)
	}
	if l := logs.find("flash_attn    = enabled"); l == "" {
		t.Fatalf("flash attention was not turned on for the quantized cache; log: %q", logs.lines)
	}
	// q8_0: 34 bytes per 32 values instead of 64.
	kvF16, kvQ8 := f16.MemoryBytes(), q8.MemoryBytes()
	if kvQ8 >= kvF16 {
		t.Fatalf("memory with q8_0 KV %d, f16 %d", kvQ8, kvF16)
	}
	_, final := generate(t, q8, engine.Request{Prompt: storyPrompt, MaxTokens: 8, IgnoreEOS: true})
	if final.Usage.CompletionTokens != 8 {
		t.Fatalf("generation with a q8_0 cache: %+v", final)
	}
}

// A quantized cache for heads smaller than a quantization block fails the
// load with a reason (ggml would abort the process).
func TestQuantizedKVCacheNeedsWholeBlocks(t *testing.T) {
	_, err := Load(context.Background(), Options{Path: testmodels.Stories260K(t), Threads: 2, Parallel: 1, CtxSize: 64, Offload: Offload{KVCacheType: "q4_0"}})
	if err == nil || !strings.Contains(err.Error(), "kv_cache_type q4_0 stores blocks of 32 values, but this model's attention heads hold 8 (keys) and 8 (values)") {
		t.Fatalf("err = %v", err)
	}
}

func TestOffloadErrors(t *testing.T) {
	path := testmodels.Stories260K(t)
	for _, tc := range []struct {
		name string
		o    Offload
		want string
	}{
		{"quantized V without flash attention", Offload{KVCacheType: "q8_0", FlashAttention: "off"}, "kv_cache_type q8_0 needs flash attention, which is off"},
		{"unknown KV type", Offload{KVCacheType: "q5_1"}, `kv_cache_type "q5_1"`},
		{"unknown device", Offload{GPULayers: -1, Devices: []string{"CUDA7"}}, `no device "CUDA7" (llama.cpp found: `},
		{"too little free memory", Offload{Need: map[string]int64{"CPU": 1 << 62}}, "CPU has "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(context.Background(), Options{Path: path, Threads: 2, Parallel: 1, CtxSize: 64, Offload: tc.o})
			if err == nil {
				m.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
