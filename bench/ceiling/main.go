// Command ceiling measures llama.cpp's own batched decode throughput on a
// model, in process and with no gateway around it: the ceiling that the
// gateway's benchmarks are compared against.
//
//	go run ./bench/ceiling -model FILE -threads 2 -batch 1,2,4,8 -prompt 256 -gen 128
package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/llamagate/llamagate/backends/llamacpp"
)

func main() {
	model := flag.String("model", "", "GGUF file")
	threads := flag.Int("threads", 2, "CPU threads")
	batches := flag.String("batch", "1,2,4,8", "comma-separated numbers of sequences decoded together")
	prompt := flag.Int("prompt", 256, "prompt tokens per sequence")
	gen := flag.Int("gen", 128, "tokens generated per sequence")
	unified := flag.Bool("kv-unified", false, "one KV pool for all sequences")
	flag.Parse()
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if *model == "" {
		fmt.Fprintln(os.Stderr, "ceiling: -model is required")
		os.Exit(2)
	}
	fmt.Printf("| B | prefill tok/s | decode tok/s (all sequences) | decode step |\n|---|---|---|---|\n")
	for _, f := range strings.Split(*batches, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || b < 1 {
			fmt.Fprintf(os.Stderr, "ceiling: bad batch %q\n", f)
			os.Exit(2)
		}
		r, err := llamacpp.MeasureCeiling(llamacpp.CeilingOptions{Path: *model, Threads: *threads, Batch: b, Prompt: *prompt, Generate: *gen, KVUnified: *unified})
		if err != nil {
			fmt.Fprintln(os.Stderr, "ceiling:", err)
			os.Exit(1)
		}
		fmt.Printf("| %d | %.1f | %.1f | %s |\n", b, r.PrefillTokensPerSec, r.DecodeTokensPerSec, r.DecodeStep.Round(10_000))
	}
}
