// Package ggufgen owns the writing of synthetic llama-architecture GGUF model
// files with deterministic random weights: the demo model written when the
// models folder is empty, benchmark models of realistic shape (110M, 1.1B)
// and small test models (optionally with an embedded chat template).
//
// It writes GGUF v3, little endian, with general.alignment = 32 and every
// tensor's data aligned to 32 bytes, in the tensor types F32, F16, Q8_0 and
// Q4_0 (block layouts as in ggml's quantize_row_*_ref). It also contains a
// small GGUF header reader (ReadHeader) used to copy tokenizers from
// existing files (VocabFromGGUF) and to check written files. It does not use
// cgo and does not depend on llama.cpp.
package ggufgen

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"sort"
)

// Shape is the hyper-parameter set of a llama model.
type Shape struct {
	NEmbd   int // llama.embedding_length
	NLayer  int // llama.block_count
	NHead   int // llama.attention.head_count
	NHeadKV int // llama.attention.head_count_kv; 0 means NHead
	NFF     int // llama.feed_forward_length
	NCtx    int // llama.context_length
	// NVocab is the size of the SyntheticVocab used when Options.Vocab is
	// nil. With an explicit vocabulary its token count is used instead.
	NVocab int
}

// Preset shapes.
var (
	// Shape110M is the llama2.c "stories110M" shape (~110M parameters with
	// a 32000-token vocabulary).
	Shape110M = Shape{NEmbd: 768, NLayer: 12, NHead: 12, NHeadKV: 12, NFF: 2048, NCtx: 2048, NVocab: 32000}
	// Shape1B1 is the TinyLlama-1.1B shape (grouped-query attention, 4 KV
	// heads).
	Shape1B1 = Shape{NEmbd: 2048, NLayer: 22, NHead: 32, NHeadKV: 4, NFF: 5632, NCtx: 2048, NVocab: 32000}
	// ShapeDemo is tiny and fast (~0.9M parameters; about 1 MB as Q8_0):
	// head dim 64 (supported by all flash-attention kernels) and GQA with
	// one KV head.
	ShapeDemo = Shape{NEmbd: 128, NLayer: 2, NHead: 2, NHeadKV: 1, NFF: 384, NCtx: 2048, NVocab: 2048}
)

// HeadKV returns NHeadKV, or NHead when NHeadKV is 0.
func (s Shape) HeadKV() int {
	if s.NHeadKV == 0 {
		return s.NHead
	}
	return s.NHeadKV
}

// HeadDim is NEmbd/NHead (written as llama.rope.dimension_count).
func (s Shape) HeadDim() int {
	if s.NHead == 0 {
		return 0
	}
	return s.NEmbd / s.NHead
}

// EmbdKV is the K/V projection width NEmbd/NHead*HeadKV.
func (s Shape) EmbdKV() int { return s.HeadDim() * s.HeadKV() }

// Params is the number of weights of the shape with a vocabulary of nVocab
// tokens (token_embd and output counted separately).
func (s Shape) Params(nVocab int) int64 {
	e, kv, ff := int64(s.NEmbd), int64(s.EmbdKV()), int64(s.NFF)
	perLayer := 2*e + 2*e*e + 2*e*kv + 3*e*ff
	return 2*e*int64(nVocab) + e + int64(s.NLayer)*perLayer
}

// Validate checks that the shape is usable by llama.cpp with tensor type t.
func (s Shape) Validate(t TensorType) error {
	switch {
	case s.NEmbd <= 0, s.NLayer <= 0, s.NHead <= 0, s.NFF <= 0, s.NCtx <= 0, s.NHeadKV < 0:
		return fmt.Errorf("ggufgen: invalid shape %+v: sizes must be positive", s)
	case s.NEmbd%s.NHead != 0:
		return fmt.Errorf("ggufgen: n_embd %d not divisible by n_head %d", s.NEmbd, s.NHead)
	case s.NHead%s.HeadKV() != 0:
		return fmt.Errorf("ggufgen: n_head %d not divisible by n_head_kv %d", s.NHead, s.HeadKV())
	case s.HeadDim()%2 != 0:
		return fmt.Errorf("ggufgen: head dim %d must be even (rope)", s.HeadDim())
	}
	if b := int(t.blockElems()); s.NEmbd%b != 0 || s.NFF%b != 0 {
		return fmt.Errorf("ggufgen: %v needs n_embd (%d) and n_ff (%d) to be multiples of %d", t, s.NEmbd, s.NFF, b)
	}
	return nil
}

// Options configures Write.
type Options struct {
	Shape Shape
	// Type is the type of every 2-D weight, token_embd.weight and
	// output.weight included (llama.cpp accepts Q4_0/Q8_0 for both:
	// get_rows and mul_mat support them on CPU, CUDA and Metal). Norm
	// weights are always F32. The zero value is F32.
	Type TensorType
	// Vocab is the tokenizer; nil means SyntheticVocab(Shape.NVocab).
	// n_vocab is always len(Vocab.Tokens).
	Vocab *Vocab
	// Seed makes the weights deterministic: same options, same bytes.
	Seed uint64
	// Name is general.name (default "ggufgen-<n_layer>L-<n_embd>").
	Name string
	// ChatTemplate, when non-empty, is written as tokenizer.chat_template
	// (overriding one in Vocab.Extra).
	ChatTemplate string
	// WeightStd is the standard deviation of the (uniformly distributed)
	// random weights; 0 means 0.02.
	WeightStd float32
}

// tensorSpec is one tensor to write.
type tensorSpec struct {
	TensorInfo
	ones bool // norm weight: all 1.0
}

// plan resolves the options into the metadata and tensor list of the file.
func plan(opts Options) ([]KV, []tensorSpec, error) {
	s := opts.Shape
	t := opts.Type
	if !t.valid() {
		return nil, nil, fmt.Errorf("ggufgen: unsupported tensor type %v", t)
	}
	if err := s.Validate(t); err != nil {
		return nil, nil, err
	}
	voc := opts.Vocab
	if voc == nil {
		if s.NVocab <= 0 {
			return nil, nil, fmt.Errorf("ggufgen: no vocab and shape NVocab is %d", s.NVocab)
		}
		voc = SyntheticVocab(s.NVocab)
	}
	if err := voc.Validate(); err != nil {
		return nil, nil, err
	}
	nVocab := len(voc.Tokens)
	name := opts.Name
	if name == "" {
		name = fmt.Sprintf("ggufgen-%dL-%d", s.NLayer, s.NEmbd)
	}

	kvs := []KV{
		{"general.architecture", "llama"},
		{"general.name", name},
		{"general.file_type", t.fileType()},
	}
	if t == Q4_0 || t == Q8_0 {
		kvs = append(kvs, KV{"general.quantization_version", uint32(2)}) // GGML_QNT_VERSION
	}
	kvs = append(kvs,
		KV{"general.alignment", uint32(Alignment)},
		KV{"llama.vocab_size", uint32(nVocab)},
		KV{"llama.context_length", uint32(s.NCtx)},
		KV{"llama.embedding_length", uint32(s.NEmbd)},
		KV{"llama.block_count", uint32(s.NLayer)},
		KV{"llama.feed_forward_length", uint32(s.NFF)},
		KV{"llama.rope.dimension_count", uint32(s.HeadDim())},
		KV{"llama.attention.head_count", uint32(s.NHead)},
		KV{"llama.attention.head_count_kv", uint32(s.HeadKV())},
		KV{"llama.attention.layer_norm_rms_epsilon", float32(1e-5)},
		KV{"llama.rope.freq_base", float32(10000)},
		KV{keyTokModel, voc.Model},
		KV{keyTokTokens, voc.Tokens},
	)
	if voc.Scores != nil {
		kvs = append(kvs, KV{keyTokScores, voc.Scores})
	}
	if voc.Types != nil {
		kvs = append(kvs, KV{keyTokTypes, voc.Types})
	}
	for _, sp := range []struct {
		key string
		id  int32
	}{{keyTokBOS, voc.BOS}, {keyTokEOS, voc.EOS}, {keyTokUNK, voc.UNK}} {
		if sp.id >= 0 {
			kvs = append(kvs, KV{sp.key, uint32(sp.id)})
		}
	}
	kvs = append(kvs, KV{keyTokAddBOS, voc.AddBOS}, KV{keyTokAddEOS, voc.AddEOS})
	if opts.ChatTemplate != "" {
		kvs = append(kvs, KV{keyChatTmpl, opts.ChatTemplate})
	}
	taken := make(map[string]bool, len(kvs))
	for _, kv := range kvs {
		taken[kv.Key] = true
	}
	extra := make([]string, 0, len(voc.Extra))
	for k := range voc.Extra {
		if !taken[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		kvs = append(kvs, KV{k, voc.Extra[k]})
	}

	e, kv, ff, nv := int64(s.NEmbd), int64(s.EmbdKV()), int64(s.NFF), int64(nVocab)
	var ts []tensorSpec
	add := func(name string, typ TensorType, ones bool, dims ...int64) {
		ts = append(ts, tensorSpec{TensorInfo: TensorInfo{Name: name, Dims: dims, Type: typ}, ones: ones})
	}
	add("token_embd.weight", t, false, e, nv)
	add("output_norm.weight", F32, true, e)
	add("output.weight", t, false, e, nv)
	for i := 0; i < s.NLayer; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		add(p+"attn_norm.weight", F32, true, e)
		add(p+"attn_q.weight", t, false, e, e)
		add(p+"attn_k.weight", t, false, e, kv)
		add(p+"attn_v.weight", t, false, e, kv)
		add(p+"attn_output.weight", t, false, e, e)
		add(p+"ffn_norm.weight", F32, true, e)
		add(p+"ffn_gate.weight", t, false, e, ff)
		add(p+"ffn_up.weight", t, false, e, ff)
		add(p+"ffn_down.weight", t, false, ff, e)
	}
	var off uint64
	for i := range ts {
		ts[i].Offset = off
		off += uint64(alignUp(ts[i].Size(), Alignment))
	}
	return kvs, ts, nil
}

// Size returns the exact number of bytes Write produces for opts.
func Size(opts Options) (int64, error) {
	kvs, ts, err := plan(opts)
	if err != nil {
		return 0, err
	}
	cw := &encoder{w: io.Discard}
	writeHeader(cw, kvs, ts)
	last := ts[len(ts)-1]
	return alignUp(cw.n, Alignment) + int64(last.Offset) + alignUp(last.Size(), Alignment), cw.err
}

func writeHeader(e *encoder, kvs []KV, ts []tensorSpec) {
	e.write([]byte(ggufMagic))
	e.u32(ggufVersion)
	e.u64(uint64(len(ts)))
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		e.kv(kv.Key, kv.Value)
	}
	for _, t := range ts {
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(uint64(d))
		}
		e.u32(uint32(t.Type))
		e.u64(t.Offset)
	}
	e.pad(Alignment)
}

// Write streams a complete GGUF model described by opts to w. Tensors are
// generated and quantized chunk by chunk, so memory use is small and
// independent of the model size.
func Write(w io.Writer, opts Options) error {
	kvs, ts, err := plan(opts)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	e := &encoder{w: bw}
	writeHeader(e, kvs, ts)
	dataStart := e.n

	std := opts.WeightStd
	if std == 0 {
		std = 0.02
	}
	// Uniform on [-a, a] has std a/sqrt(3); int16 spans [-32768, 32767].
	scale := std * float32(math.Sqrt(3)) / 32768

	const chunk = 64 * 1024 // elements; a multiple of every block size
	fbuf := make([]float32, chunk)
	bbuf := make([]byte, 0, 4*chunk)
	for _, t := range ts {
		if e.err != nil {
			break
		}
		if got := uint64(e.n - dataStart); got != t.Offset {
			return fmt.Errorf("ggufgen: internal error: %s at data offset %d, planned %d", t.Name, got, t.Offset)
		}
		rng := newRNG(opts.Seed, t.Name)
		for left := t.Elements(); left > 0 && e.err == nil; {
			n := int(min(left, chunk))
			left -= int64(n)
			x := fbuf[:n]
			if t.ones {
				for i := range x {
					x[i] = 1
				}
			} else {
				rng.fill(x, scale)
			}
			bbuf = encode(bbuf[:0], t.Type, x)
			e.write(bbuf)
		}
		e.pad(Alignment)
	}
	if e.err != nil {
		return fmt.Errorf("ggufgen: write: %w", e.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("ggufgen: write: %w", err)
	}
	return nil
}

// encode appends x in tensor type t to dst.
func encode(dst []byte, t TensorType, x []float32) []byte {
	switch t {
	case F32:
		for _, v := range x {
			b := math.Float32bits(v)
			dst = append(dst, byte(b), byte(b>>8), byte(b>>16), byte(b>>24))
		}
	case F16:
		for _, v := range x {
			h := Float32ToFloat16(v)
			dst = append(dst, byte(h), byte(h>>8))
		}
	case Q8_0:
		dst = appendQ8_0(dst, x)
	case Q4_0:
		dst = appendQ4_0(dst, x)
	}
	return dst
}

// WriteFile writes the model to path atomically: it writes a temporary file
// in the same directory, syncs it and renames it over path, so a crash never
// leaves a partial model under the final name. The file mode is 0644.
func WriteFile(path string, opts Options) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("ggufgen: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = Write(f, opts); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("ggufgen: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("ggufgen: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("ggufgen: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("ggufgen: %w", err)
	}
	return nil
}

// rng is a small fast deterministic generator (wyrand).
type rng uint64

// newRNG seeds a generator from the model seed and the tensor name, so each
// tensor's contents depend only on (seed, name).
func newRNG(seed uint64, name string) *rng {
	h := uint64(14695981039346656037) // FNV-1a
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	r := rng(seed ^ h)
	r.next()
	return &r
}

func (r *rng) next() uint64 {
	*r += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(uint64(*r), uint64(*r)^0xe7037ed1a0b428db)
	return hi ^ lo
}

// fill sets x to uniform values in [-32768, 32767]*scale.
func (r *rng) fill(x []float32, scale float32) {
	i := 0
	for ; i+4 <= len(x); i += 4 {
		u := r.next()
		x[i] = float32(int16(u)) * scale
		x[i+1] = float32(int16(u>>16)) * scale
		x[i+2] = float32(int16(u>>32)) * scale
		x[i+3] = float32(int16(u>>48)) * scale
	}
	if i < len(x) {
		for u := r.next(); i < len(x); i++ {
			x[i] = float32(int16(u)) * scale
			u >>= 16
		}
	}
}
