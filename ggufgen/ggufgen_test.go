package ggufgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// testShape is small but has GQA, several layers and n_ff != n_embd.
var testShape = Shape{NEmbd: 64, NLayer: 2, NHead: 4, NHeadKV: 2, NFF: 96, NCtx: 512, NVocab: 400}

// readTensor returns the raw data of tensor ti of the file at path.
func readTensor(t *testing.T, path string, h *Header, ti TensorInfo) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, ti.Size())
	if _, err := f.ReadAt(buf, h.DataOffset+int64(ti.Offset)); err != nil {
		t.Fatalf("reading %s: %v", ti.Name, err)
	}
	return buf
}

func TestWriteFileReadBack(t *testing.T) {
	tests := []struct {
		name     string
		typ      TensorType
		fileType uint32
		tmpl     string
	}{
		{"f32", F32, 0, ""},
		{"f16", F16, 1, ""},
		{"q8_0 with template", Q8_0, 7, "{% for m in messages %}{{ m.content }}{% endfor %}"},
		{"q4_0", Q4_0, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Shape: testShape, Type: tt.typ, Seed: 42, Name: "test-" + tt.typ.String(), ChatTemplate: tt.tmpl}
			path := filepath.Join(t.TempDir(), "model.gguf")
			if err := WriteFile(path, opts); err != nil {
				t.Fatal(err)
			}
			h, err := ReadHeaderFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if h.Version != 3 || h.Alignment != 32 || h.DataOffset%32 != 0 {
				t.Fatalf("version %d alignment %d data offset %d", h.Version, h.Alignment, h.DataOffset)
			}

			s := testShape
			want := map[string]any{
				"general.architecture":                   "llama",
				"general.name":                           "test-" + tt.typ.String(),
				"general.file_type":                      tt.fileType,
				"general.alignment":                      uint32(32),
				"llama.vocab_size":                       uint32(s.NVocab),
				"llama.context_length":                   uint32(s.NCtx),
				"llama.embedding_length":                 uint32(s.NEmbd),
				"llama.block_count":                      uint32(s.NLayer),
				"llama.feed_forward_length":              uint32(s.NFF),
				"llama.attention.head_count":             uint32(s.NHead),
				"llama.attention.head_count_kv":          uint32(s.NHeadKV),
				"llama.rope.dimension_count":             uint32(s.NEmbd / s.NHead),
				"llama.rope.freq_base":                   float32(10000),
				"llama.attention.layer_norm_rms_epsilon": float32(1e-5),
				"tokenizer.ggml.model":                   "llama",
				"tokenizer.ggml.bos_token_id":            uint32(1),
				"tokenizer.ggml.eos_token_id":            uint32(2),
				"tokenizer.ggml.unknown_token_id":        uint32(0),
				"tokenizer.ggml.add_bos_token":           true,
				"tokenizer.ggml.add_eos_token":           false,
			}
			if tt.tmpl != "" {
				want["tokenizer.chat_template"] = tt.tmpl
			} else if _, ok := h.Get("tokenizer.chat_template"); ok {
				t.Errorf("unexpected tokenizer.chat_template")
			}
			for k, v := range want {
				got, ok := h.Get(k)
				if !ok {
					t.Errorf("missing key %s", k)
				} else if got != v {
					t.Errorf("%s = %v (%T), want %v (%T)", k, got, got, v, v)
				}
			}
			if h.KV[0].Key != "general.architecture" {
				t.Errorf("first key is %s, want general.architecture", h.KV[0].Key)
			}
			voc := SyntheticVocab(s.NVocab)
			for key, v := range map[string]any{"tokenizer.ggml.tokens": voc.Tokens, "tokenizer.ggml.scores": voc.Scores, "tokenizer.ggml.token_type": voc.Types} {
				if got, _ := h.Get(key); !reflect.DeepEqual(got, v) {
					t.Errorf("%s differs from SyntheticVocab(%d)", key, s.NVocab)
				}
			}

			// Tensor infos: names, dims (ne0 first), types, contiguous aligned offsets.
			e, kv, ff, nv := int64(s.NEmbd), int64(s.NEmbd/s.NHead*s.NHeadKV), int64(s.NFF), int64(s.NVocab)
			type tinfo struct {
				name string
				typ  TensorType
				dims []int64
			}
			wantT := []tinfo{{"token_embd.weight", tt.typ, []int64{e, nv}}, {"output_norm.weight", F32, []int64{e}}, {"output.weight", tt.typ, []int64{e, nv}}}
			for i := 0; i < s.NLayer; i++ {
				p := fmt.Sprintf("blk.%d.", i)
				wantT = append(wantT,
					tinfo{p + "attn_norm.weight", F32, []int64{e}},
					tinfo{p + "attn_q.weight", tt.typ, []int64{e, e}},
					tinfo{p + "attn_k.weight", tt.typ, []int64{e, kv}},
					tinfo{p + "attn_v.weight", tt.typ, []int64{e, kv}},
					tinfo{p + "attn_output.weight", tt.typ, []int64{e, e}},
					tinfo{p + "ffn_norm.weight", F32, []int64{e}},
					tinfo{p + "ffn_gate.weight", tt.typ, []int64{e, ff}},
					tinfo{p + "ffn_up.weight", tt.typ, []int64{e, ff}},
					tinfo{p + "ffn_down.weight", tt.typ, []int64{ff, e}},
				)
			}
			if len(h.Tensors) != len(wantT) {
				t.Fatalf("%d tensors, want %d", len(h.Tensors), len(wantT))
			}
			var off uint64
			for i, ti := range h.Tensors {
				w := wantT[i]
				if ti.Name != w.name || ti.Type != w.typ || !reflect.DeepEqual(ti.Dims, w.dims) {
					t.Errorf("tensor %d = %s %v %v, want %s %v %v", i, ti.Name, ti.Type, ti.Dims, w.name, w.typ, w.dims)
				}
				if ti.Offset != off || ti.Offset%32 != 0 {
					t.Errorf("%s offset %d, want %d (aligned to 32)", ti.Name, ti.Offset, off)
				}
				wantSize := ti.Elements() * map[TensorType]int64{F32: 4, F16: 2}[ti.Type]
				switch ti.Type {
				case Q8_0:
					wantSize = ti.Elements() / 32 * 34
				case Q4_0:
					wantSize = ti.Elements() / 32 * 18
				}
				if ti.Size() != wantSize {
					t.Errorf("%s size %d, want %d", ti.Name, ti.Size(), wantSize)
				}
				off += uint64((ti.Size() + 31) / 32 * 32)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() != h.DataOffset+int64(off) {
				t.Errorf("file size %d, want data offset %d + data %d", st.Size(), h.DataOffset, off)
			}
			if n, err := Size(opts); err != nil || n != st.Size() {
				t.Errorf("Size() = %d, %v; file has %d bytes", n, err, st.Size())
			}
			if st.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want 0644", st.Mode().Perm())
			}

			// Tensor data: norms are 1, weights small, finite and non-constant.
			for _, ti := range h.Tensors {
				vals, err := dequantize(ti.Type, readTensor(t, path, h, ti), int(ti.Elements()))
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasSuffix(ti.Name, "norm.weight") {
					for _, v := range vals {
						if v != 1 {
							t.Fatalf("%s has value %g, want 1", ti.Name, v)
						}
					}
					continue
				}
				var sum, sumSq, amax float64
				for _, v := range vals {
					f := float64(v)
					if math.IsNaN(f) || math.IsInf(f, 0) {
						t.Fatalf("%s has non-finite value", ti.Name)
					}
					sum += f
					sumSq += f * f
					amax = math.Max(amax, math.Abs(f))
				}
				n := float64(len(vals))
				mean, std := sum/n, math.Sqrt(sumSq/n-(sum/n)*(sum/n))
				if math.Abs(mean) > 0.002 || std < 0.017 || std > 0.023 || amax > 0.02*math.Sqrt(3)*1.01 {
					t.Errorf("%s: mean %g std %g max %g, want ~0, ~0.02, <= %g", ti.Name, mean, std, amax, 0.02*math.Sqrt(3))
				}
			}
		})
	}
}

func TestWriteDeterministic(t *testing.T) {
	write := func(seed uint64) []byte {
		var b bytes.Buffer
		if err := Write(&b, Options{Shape: testShape, Type: Q4_0, Seed: seed}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a, b, c := write(1), write(1), write(2)
	if !bytes.Equal(a, b) {
		t.Error("same seed gave different files")
	}
	if len(a) != len(c) {
		t.Fatalf("different seeds gave different sizes %d and %d", len(a), len(c))
	}
	if bytes.Equal(a, c) {
		t.Error("different seeds gave identical files")
	}
	h, err := ReadHeader(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a[:h.DataOffset], c[:h.DataOffset]) {
		t.Error("headers differ between seeds")
	}
}

func TestPresetShapes(t *testing.T) {
	tests := []struct {
		name   string
		shape  Shape
		typ    TensorType
		params int64   // approximate, in millions
		tol    float64 // relative size tolerance (the header is large for tiny models)
	}{
		{"demo", ShapeDemo, Q8_0, 1, 0.06},
		{"110m", Shape110M, Q8_0, 134, 0.01}, // 110M + separate output matrix
		{"1b1", Shape1B1, Q4_0, 1100, 0.01},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.shape.Validate(tt.typ); err != nil {
				t.Fatal(err)
			}
			if p := tt.shape.Params(tt.shape.NVocab) / 1e6; p < tt.params*9/10 || p > tt.params*11/10+1 {
				t.Errorf("%d M params, want about %d M", p, tt.params)
			}
			n, err := Size(Options{Shape: tt.shape, Type: tt.typ})
			if err != nil {
				t.Fatal(err)
			}
			// Bytes per weight: Q8_0 34/32, Q4_0 18/32 (norms are a rounding error).
			bpw := map[TensorType]float64{Q8_0: 34.0 / 32, Q4_0: 18.0 / 32}[tt.typ]
			if want := float64(tt.shape.Params(tt.shape.NVocab)) * bpw; math.Abs(float64(n)-want)/want > tt.tol {
				t.Errorf("size %d, want about %.0f", n, want)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"n_embd not divisible by n_head", Options{Shape: Shape{NEmbd: 64, NLayer: 1, NHead: 3, NFF: 64, NCtx: 8, NVocab: 400}}, "divisible"},
		{"n_head not divisible by n_head_kv", Options{Shape: Shape{NEmbd: 64, NLayer: 1, NHead: 4, NHeadKV: 3, NFF: 64, NCtx: 8, NVocab: 400}}, "n_head_kv"},
		{"q4_0 with n_ff not multiple of 32", Options{Shape: Shape{NEmbd: 64, NLayer: 1, NHead: 4, NFF: 100, NCtx: 8, NVocab: 400}, Type: Q4_0}, "multiples of 32"},
		{"zero layers", Options{Shape: Shape{NEmbd: 64, NHead: 4, NFF: 64, NCtx: 8, NVocab: 400}}, "positive"},
		{"unknown type", Options{Shape: testShape, Type: TensorType(3)}, "unsupported tensor type"},
		{"no vocab", Options{Shape: Shape{NEmbd: 64, NLayer: 1, NHead: 4, NFF: 64, NCtx: 8}}, "no vocab"},
		{"duplicate tokens", Options{Shape: testShape, Vocab: &Vocab{Model: "llama", Tokens: []string{"a", "b", "a"}, BOS: -1, EOS: -1, UNK: -1}}, "both"},
		{"bos out of range", Options{Shape: testShape, Vocab: &Vocab{Model: "llama", Tokens: []string{"a", "b"}, BOS: 5, EOS: -1, UNK: -1}}, "out of range"},
		{"extra value of type int", Options{Shape: testShape, Vocab: func() *Vocab {
			v := SyntheticVocab(400)
			v.Extra = map[string]any{"tokenizer.ggml.padding_token_id": 0}
			return v
		}()}, "unsupported GGUF value type int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "m.gguf")
			err := WriteFile(path, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 0 {
				t.Errorf("left files behind: %v", ents)
			}
		})
	}
}

type failWriter struct{ left int }

var errDiskFull = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		n := w.left
		w.left = 0
		return n, errDiskFull
	}
	w.left -= len(p)
	return len(p), nil
}

func TestWriteFailingWriter(t *testing.T) {
	opts := Options{Shape: testShape, Type: Q8_0}
	size, err := Size(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{0, 100, 50000, int(size) / 2, int(size) - 1} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			err := Write(&failWriter{left: limit}, opts)
			if !errors.Is(err, errDiskFull) {
				t.Fatalf("got %v, want %v", err, errDiskFull)
			}
		})
	}
}

func TestWriteFileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{Shape: testShape, Type: F16}
	if err := WriteFile(path, opts); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := Write(&want, opts); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Error("WriteFile and Write produced different bytes")
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("directory has %d entries, want only the model", len(ents))
	}
	// A failed write keeps the old file.
	if err := WriteFile(path, Options{Shape: Shape{}}); err == nil {
		t.Fatal("invalid options accepted")
	}
	if got2, _ := os.ReadFile(path); !bytes.Equal(got2, got) {
		t.Error("failed WriteFile changed the existing file")
	}
}

func TestParseTensorType(t *testing.T) {
	tests := []struct {
		in      string
		want    TensorType
		wantErr bool
	}{
		{"f32", F32, false}, {"F16", F16, false}, {"q8_0", Q8_0, false}, {"Q4_0", Q4_0, false},
		{" q4_0 ", Q4_0, false}, {"q4_1", 0, true}, {"", 0, true}, {"bf16", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseTensorType(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("ParseTensorType(%q) = %v, %v", tt.in, got, err)
		}
		if !tt.wantErr && got.String() != strings.ToLower(strings.TrimSpace(tt.in)) {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
	if int(F32) != 0 || int(F16) != 1 || int(Q4_0) != 2 || int(Q8_0) != 8 {
		t.Error("tensor type values are not the ggml type ids")
	}
}

func TestReadHeaderRejectsGarbage(t *testing.T) {
	var model bytes.Buffer
	if err := Write(&model, Options{Shape: testShape, Type: Q8_0}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"bad magic", []byte("GGML\x03\x00\x00\x00")},
		{"version 1", []byte("GGUF\x01\x00\x00\x00")},
		{"truncated", model.Bytes()[:1000]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ReadHeader(bytes.NewReader(tt.data)); err == nil {
				t.Error("no error")
			}
		})
	}
}

func BenchmarkWrite110MQ8_0(b *testing.B) {
	opts := Options{Shape: Shape110M, Type: Q8_0}
	n, err := Size(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(n)
	for b.Loop() {
		if err := Write(io.Discard, opts); err != nil {
			b.Fatal(err)
		}
	}
}
