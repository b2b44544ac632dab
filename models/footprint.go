package models

import (
	"strconv"
	"strings"

	gguf "github.com/gpustack/gguf-parser-go"
)

// estimateOptions are the gguf-parser options that follow a model's
// offload settings: the KV cache type, and flash attention when it is
// certainly on (asked for, or forced by a quantized V cache). Under auto
// the estimate assumes no flash attention, whose compute buffer is the
// larger one, because llama.cpp decides only when it creates the context.
func estimateOptions(o Offload) []gguf.GGUFRunEstimateOption {
	var opts []gguf.GGUFRunEstimateOption
	if t, quantized := kvType(o.KVCacheType); quantized {
		opts = append(opts, gguf.WithLLaMACppCacheKeyType(t), gguf.WithLLaMACppCacheValueType(t))
	}
	if FlashAttentionOn(o) {
		opts = append(opts, gguf.WithFlashAttention())
	}
	return opts
}

// FlashAttentionOn reports whether a model's settings turn flash attention
// on for certain: flash_attention on, or auto with a quantized KV cache
// (llama.cpp cannot hold a quantized V cache without it, so the gateway
// turns it on rather than let the load fail when auto would resolve off).
func FlashAttentionOn(o Offload) bool {
	_, quantized := kvType(o.KVCacheType)
	return o.FlashAttention == "on" || (o.FlashAttention != "off" && quantized)
}

func kvType(name string) (gguf.GGMLType, bool) {
	switch name {
	case "q8_0":
		return gguf.GGMLTypeQ8_0, true
	case "q4_0":
		return gguf.GGMLTypeQ4_0, true
	}
	return gguf.GGMLTypeF16, false
}

// footprint splits a model's memory into the parts a GPU placement moves:
// each repeating layer's weights (summed from the tensor list, so layers
// of different sizes count as they are), the KV cache per layer, the
// output layer and a GPU's compute buffer (from gguf-parser's estimate
// with every layer offloaded to one GPU).
func footprint(f *gguf.GGUFFile, opts []gguf.GGUFRunEstimateOption) Footprint {
	nLayer := int(f.Architecture().BlockCount)
	if nLayer <= 0 || nLayer > 1<<14 {
		return Footprint{}
	}
	fp := Footprint{LayerWeights: make([]int64, nLayer)}
	for _, ti := range f.TensorInfos {
		rest, ok := strings.CutPrefix(ti.Name, "blk.")
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if il, err := strconv.Atoi(num); err == nil && il >= 0 && il < nLayer {
			fp.LayerWeights[il] += int64(ti.Bytes())
		}
	}
	est := f.EstimateLLaMACppRun(append(opts, gguf.WithLLaMACppOffloadLayers(uint64(nLayer+1)))...)
	if len(est.Devices) < 2 {
		return fp
	}
	gpu := est.Devices[1]
	fp.LayerKV = (int64(gpu.KVCache.Key+gpu.KVCache.Value) + int64(nLayer) - 1) / int64(nLayer)
	fp.Output = int64(gpu.Weight.Output)
	c := gpu.Computation
	fp.GPUCompute = int64(c.Footprint + c.Input + c.Compute + c.Output)
	return fp
}
