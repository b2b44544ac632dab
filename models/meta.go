package models

import (
	"fmt"

	gguf "github.com/gpustack/gguf-parser-go"
)

// Meta is what the GGUF header says about a model, read without loading
// it, and the memory a load is expected to take.
type Meta struct {
	Architecture    string
	Parameters      uint64
	ContextTrain    int    // tokens the model was trained with
	FileType        string // e.g. "Q4_0"
	HasChatTemplate bool
	// CtxTotal is the context the estimate assumes: ctx_size × parallel.
	CtxTotal int
	// Estimate is the memory a CPU load takes: weights (mapped, but
	// resident once used) + KV cache + compute buffers, in bytes.
	Estimate int64
	// Footprint is the same memory by part, for placing layers on GPUs.
	Footprint Footprint
	Err       string // why the header could not be read, if it could not
}

// Backend defaults the estimate assumes when a setting is zero; they match
// backends/llamacpp.
const (
	defaultParallel   = 4
	defaultBatch      = 512
	defaultMaxCtxSize = 4096
)

// ReadMeta parses spec's GGUF header and estimates the memory its load
// takes with spec's settings. maxCtx caps the automatic context size (0:
// 4096), as the backend does.
func ReadMeta(spec Spec, maxCtx int) (Meta, error) {
	f, err := gguf.ParseGGUFFile(spec.Path, gguf.SkipLargeMetadata())
	if err != nil {
		return Meta{Err: err.Error()}, fmt.Errorf("reading %s: %w", spec.Path, err)
	}
	md, arch := f.Metadata(), f.Architecture()
	m := Meta{
		Architecture: md.Architecture,
		Parameters:   uint64(md.Parameters),
		ContextTrain: int(arch.MaximumContextLength),
		FileType:     md.FileType.String(),
	}
	if kv, ok := f.Header.MetadataKV.Get("tokenizer.chat_template"); ok {
		m.HasChatTemplate = kv.ValueString() != ""
	}
	parallel, batch := orDefault(spec.Parallel, defaultParallel), orDefault(spec.BatchSize, defaultBatch)
	ctx := spec.CtxSize
	if ctx <= 0 {
		ctx = min(orDefault(m.ContextTrain, defaultMaxCtxSize), orDefault(maxCtx, defaultMaxCtxSize))
	}
	m.CtxTotal = ctx * parallel
	opts := append(estimateOptions(spec.Offload),
		gguf.WithLLaMACppContextSize(int32(min(m.CtxTotal, 1<<30))),
		gguf.WithParallelSize(int32(parallel)),
		gguf.WithLLaMACppLogicalBatchSize(int32(batch)),
		gguf.WithLLaMACppPhysicalBatchSize(int32(batch)),
	)
	est := f.EstimateLLaMACppRun(append(opts, gguf.WithLLaMACppOffloadLayers(0))...)
	sum := est.SummarizeItem(false, 0, 0)
	m.Estimate = int64(sum.RAM.UMA)
	m.Footprint = footprint(f, opts)
	return m, nil
}

func orDefault(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}
