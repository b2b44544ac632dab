package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// GPULayers is the gpu_layers setting, normalised: "auto" (as many layers
// as the GPUs' budgets hold), "all", or a number of layers as decimal
// digits. The empty value is unset: a model entry inherits `defaults:`,
// and unset defaults mean auto.
type GPULayers string

// GPU layer modes.
const (
	GPULayersAuto GPULayers = "auto"
	GPULayersAll  GPULayers = "all"
)

// DefaultGPUHeadroom is the memory left free on every GPU when
// cache.gpu_headroom is not set: llama.cpp's own fitting margin (1 GiB),
// for the CUDA context, cuBLAS workspaces and allocator slack that no
// estimate sees.
const DefaultGPUHeadroom = 1 << 30

// maxDevices is llama.cpp's limit on devices per model (llama_max_devices).
const maxDevices = 16

// UnmarshalYAML accepts auto, all, a number of layers, -1 (all, the old
// spelling), and "" (unset, as `config print` writes it).
func (g *GPULayers) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && (n.Value == "" || n.Tag == "!!null") {
		*g = ""
		return nil
	}
	v, err := ParseGPULayers(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: gpu_layers must be auto, all or a number of layers, not %q", n.Line, n.Value)
	}
	*g = v
	return nil
}

// ParseGPULayers parses "auto", "all", "-1" (all) or a count.
func ParseGPULayers(s string) (GPULayers, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch t {
	case "auto":
		return GPULayersAuto, nil
	case "all", "-1":
		return GPULayersAll, nil
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < 0 || n > 1<<16 {
		return "", fmt.Errorf("gpu_layers must be auto, all or a number of layers, not %q", s)
	}
	return GPULayers(strconv.Itoa(n)), nil
}

// MarshalYAML writes a count as a number and the modes as words.
func (g GPULayers) MarshalYAML() (any, error) {
	if n, ok := g.Count(); ok {
		return n, nil
	}
	return string(g), nil
}

// Count returns the number of layers when the setting is a number.
func (g GPULayers) Count() (int, bool) {
	n, err := strconv.Atoi(string(g))
	return n, err == nil
}

// Offload settings: the KV cache types llama.cpp can store and the flash
// attention modes.
var (
	kvCacheTypes    = []string{"f16", "q8_0", "q4_0"}
	flashAttnModes  = []string{"auto", "on", "off"}
	quantizedKVType = map[string]bool{"q8_0": true, "q4_0": true}
)

// validateOffload checks the GPU settings of one ModelOpts on their own.
func (d *ModelOpts) validateOffload(check func(bool, string, ...any)) {
	if d.MainGPU != nil {
		check(*d.MainGPU >= 0 && *d.MainGPU < maxDevices, "main_gpu must be between 0 and %d", maxDevices-1)
		check(len(d.TensorSplit) == 0, "give main_gpu (the model on one GPU) or tensor_split (shares across GPUs), not both")
		check(len(d.Devices) == 0 || *d.MainGPU < len(d.Devices), "main_gpu %d is not an index into devices (%d listed)", *d.MainGPU, len(d.Devices))
	}
	if len(d.TensorSplit) > 0 {
		sum, ok := 0.0, true
		for _, f := range d.TensorSplit {
			ok = ok && f >= 0 && !math.IsInf(f, 0) && !math.IsNaN(f)
			sum += f
		}
		check(ok && sum > 0, "tensor_split must be shares that are not negative, at least one above 0")
		check(len(d.TensorSplit) <= maxDevices, "tensor_split may list at most %d devices", maxDevices)
		check(len(d.Devices) == 0 || len(d.Devices) == len(d.TensorSplit), "tensor_split has %d shares but devices lists %d GPUs", len(d.TensorSplit), len(d.Devices))
	}
	seen := map[string]bool{}
	for _, dev := range d.Devices {
		key := strings.ToLower(strings.TrimSpace(dev))
		check(key != "", "devices must not hold an empty name")
		check(!seen[key], "devices lists %q twice", dev)
		seen[key] = true
	}
	check(len(d.Devices) <= maxDevices, "devices may list at most %d GPUs", maxDevices)
	check(d.KVCacheType == "" || oneOf(d.KVCacheType, kvCacheTypes), "kv_cache_type must be f16, q8_0 or q4_0")
	check(d.FlashAttention == "" || oneOf(d.FlashAttention, flashAttnModes), "flash_attention must be auto, on or off")
}

// InheritOffload gives o (a copy of `defaults:`) the GPU settings a model
// entry sets itself; unset ones keep the defaults.
func InheritOffload(o *ModelOpts, m ModelOpts) {
	if m.GPULayers != "" {
		o.GPULayers = m.GPULayers
	}
	if m.MainGPU != nil {
		o.MainGPU, o.TensorSplit = m.MainGPU, nil
	}
	if len(m.TensorSplit) > 0 {
		o.TensorSplit, o.MainGPU = m.TensorSplit, nil
	}
	if len(m.Devices) > 0 {
		o.Devices = m.Devices
	}
	if m.KVCacheType != "" {
		o.KVCacheType = m.KVCacheType
	}
	if m.FlashAttention != "" {
		o.FlashAttention = m.FlashAttention
	}
}

// validateOffloadCombined checks what only shows once a model's settings
// are merged with `defaults:`: a quantized V cache needs flash attention
// (llama.cpp refuses to create the context otherwise), so kv_cache_type
// q8_0/q4_0 with flash_attention off is an error wherever each was set.
func validateOffloadCombined(c *Config) []error {
	var errs []error
	fa := func(o ModelOpts, where string) {
		if quantizedKVType[o.KVCacheType] && o.FlashAttention == "off" {
			errs = append(errs, fmt.Errorf("%skv_cache_type %s needs flash attention (llama.cpp cannot store a quantized V cache without it): set flash_attention to auto or on, or kv_cache_type to f16", where, o.KVCacheType))
		}
	}
	fa(c.Defaults, "defaults.")
	for i, m := range c.Models {
		if m.KVCacheType == "" && m.FlashAttention == "" {
			continue // nothing of its own; defaults were checked
		}
		o := c.Defaults
		InheritOffload(&o, m.ModelOpts)
		where := fmt.Sprintf("line %d: models[%d]", m.Line, i)
		if m.ID != "" {
			where += fmt.Sprintf(" (%s)", m.ID)
		}
		fa(o, where+": ")
	}
	return errs
}

func oneOf(s string, set []string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}
