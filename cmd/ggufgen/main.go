// Command ggufgen writes a llama-architecture GGUF model with deterministic
// random weights (see package ggufgen).
//
//	ggufgen -out FILE -shape demo|110m|1b1 [-type q8_0] [-vocab PATH.gguf]
//	        [-template-file F] [-seed N] [-name NAME]
//	        [-n-embd N -n-layer N -n-head N -n-head-kv N -n-ff N -n-ctx N -n-vocab N]
//
// With -inspect FILE it instead prints the metadata and tensors of a GGUF file.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/llamagate/llamagate/ggufgen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, "ggufgen:") {
			msg = "ggufgen: " + msg
		}
		fmt.Fprintln(os.Stderr, msg)
		os.Exit(1)
	}
}

var shapes = map[string]ggufgen.Shape{
	"demo": ggufgen.ShapeDemo,
	"110m": ggufgen.Shape110M,
	"1b1":  ggufgen.Shape1B1,
}

func run(args []string) error {
	fs := flag.NewFlagSet("ggufgen", flag.ContinueOnError)
	out := fs.String("out", "", "output GGUF file (required)")
	shapeName := fs.String("shape", "demo", "model shape: demo, 110m or 1b1")
	typeName := fs.String("type", "q8_0", "weight type: f32, f16, q8_0 or q4_0")
	vocabPath := fs.String("vocab", "", "copy the tokenizer from this GGUF file (default: synthetic vocab)")
	tmplFile := fs.String("template-file", "", "embed this file as tokenizer.chat_template")
	seed := fs.Uint64("seed", 1, "random seed")
	name := fs.String("name", "", "general.name (default derived from the shape)")
	inspect := fs.String("inspect", "", "print metadata and tensors of this GGUF file and exit")
	nEmbd := fs.Int("n-embd", 0, "override n_embd")
	nLayer := fs.Int("n-layer", 0, "override n_layer")
	nHead := fs.Int("n-head", 0, "override n_head")
	nHeadKV := fs.Int("n-head-kv", 0, "override n_head_kv")
	nFF := fs.Int("n-ff", 0, "override n_ff")
	nCtx := fs.Int("n-ctx", 0, "override n_ctx (llama.context_length)")
	nVocab := fs.Int("n-vocab", 0, "override synthetic vocab size (ignored with -vocab)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *inspect != "" {
		return inspectFile(*inspect)
	}
	if *out == "" {
		fs.Usage()
		return fmt.Errorf("-out is required")
	}
	shape, ok := shapes[strings.ToLower(*shapeName)]
	if !ok {
		return fmt.Errorf("unknown -shape %q (want demo, 110m or 1b1)", *shapeName)
	}
	for _, o := range []struct {
		v   int
		dst *int
	}{
		{*nEmbd, &shape.NEmbd}, {*nLayer, &shape.NLayer}, {*nHead, &shape.NHead},
		{*nHeadKV, &shape.NHeadKV}, {*nFF, &shape.NFF}, {*nCtx, &shape.NCtx}, {*nVocab, &shape.NVocab},
	} {
		if o.v != 0 {
			*o.dst = o.v
		}
	}
	typ, err := ggufgen.ParseTensorType(*typeName)
	if err != nil {
		return err
	}
	opts := ggufgen.Options{Shape: shape, Type: typ, Seed: *seed, Name: *name}
	if *vocabPath != "" {
		if opts.Vocab, err = ggufgen.VocabFromGGUF(*vocabPath); err != nil {
			return err
		}
	}
	if *tmplFile != "" {
		b, err := os.ReadFile(*tmplFile)
		if err != nil {
			return err
		}
		opts.ChatTemplate = string(b)
	}
	start := time.Now()
	if err := ggufgen.WriteFile(*out, opts); err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d bytes (%.1f MiB), type %v, %s\n",
		*out, st.Size(), float64(st.Size())/(1<<20), typ, time.Since(start).Round(time.Millisecond))
	return nil
}

func inspectFile(path string) error {
	h, err := ggufgen.ReadHeaderFile(path)
	if err != nil {
		return err
	}
	fmt.Printf("GGUF v%d, alignment %d, data offset %d, %d kv, %d tensors\n",
		h.Version, h.Alignment, h.DataOffset, len(h.KV), len(h.Tensors))
	kvs := append([]ggufgen.KV(nil), h.KV...)
	sort.SliceStable(kvs, func(i, j int) bool { return kvs[i].Key < kvs[j].Key })
	for _, kv := range kvs {
		fmt.Printf("  %-45s %s\n", kv.Key, describe(kv.Value))
	}
	for _, t := range h.Tensors {
		fmt.Printf("  %-32s %-5v %v offset %d size %d\n", t.Name, t.Type, t.Dims, t.Offset, t.Size())
	}
	return nil
}

func describe(v any) string {
	switch x := v.(type) {
	case []string:
		return fmt.Sprintf("[]string len %d %q...", len(x), x[:min(len(x), 5)])
	case []float32:
		return fmt.Sprintf("[]float32 len %d %v...", len(x), x[:min(len(x), 5)])
	case []int32:
		return fmt.Sprintf("[]int32 len %d %v...", len(x), x[:min(len(x), 5)])
	case string:
		if len(x) > 80 {
			return fmt.Sprintf("string %q...", x[:80])
		}
		return fmt.Sprintf("string %q", x)
	}
	return fmt.Sprintf("%T %v", v, v)
}
