package ggufgen

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/llamagate/llamagate/internal/testmodels"
)

func TestSyntheticVocab(t *testing.T) {
	tests := []struct {
		size, want int
	}{
		{0, MinSyntheticVocab},
		{MinSyntheticVocab - 1, MinSyntheticVocab},
		{MinSyntheticVocab, MinSyntheticVocab},
		{1000, 1000},
		{2048, 2048},
		{32000, 32000},
		{50000, 50000},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.size), func(t *testing.T) {
			v := SyntheticVocab(tt.size)
			if len(v.Tokens) != tt.want || len(v.Scores) != tt.want || len(v.Types) != tt.want {
				t.Fatalf("%d tokens, %d scores, %d types; want %d", len(v.Tokens), len(v.Scores), len(v.Types), tt.want)
			}
			if err := v.Validate(); err != nil { // includes: no duplicates, no empty tokens
				t.Fatal(err)
			}
			if v.Model != "llama" || v.BOS != 1 || v.EOS != 2 || v.UNK != 0 || !v.AddBOS || v.AddEOS {
				t.Errorf("model %q bos %d eos %d unk %d add_bos %v add_eos %v", v.Model, v.BOS, v.EOS, v.UNK, v.AddBOS, v.AddEOS)
			}
			wantHead := map[int]struct {
				tok string
				typ int32
			}{0: {"<unk>", TokenUnknown}, 1: {"<s>", TokenControl}, 2: {"</s>", TokenControl}}
			for i, w := range wantHead {
				if v.Tokens[i] != w.tok || v.Types[i] != w.typ {
					t.Errorf("token %d = %q type %d, want %q type %d", i, v.Tokens[i], v.Types[i], w.tok, w.typ)
				}
			}
			index := make(map[string]int, len(v.Tokens))
			for i, tok := range v.Tokens {
				index[tok] = i
				if !utf8.ValidString(tok) {
					t.Errorf("token %d %q is not valid UTF-8", i, tok)
				}
			}
			for b := 0; b < 256; b++ {
				tok := fmt.Sprintf("<0x%02X>", b)
				i, ok := index[tok]
				if !ok {
					t.Fatalf("no byte token for %#02x", b)
				}
				if v.Types[i] != TokenByte {
					t.Errorf("byte token %s has type %d", tok, v.Types[i])
				}
			}
			for _, tok := range []string{"▁", "a", "Z", "!", "~"} {
				if _, ok := index[tok]; !ok {
					t.Errorf("missing piece %q", tok)
				}
			}
			if tt.want >= 2048 {
				for _, tok := range []string{"▁the", "▁The", "▁hello", "▁world"} {
					if _, ok := index[tok]; !ok {
						t.Errorf("missing piece %q", tok)
					}
				}
			}
			// normal pieces: scores strictly decreasing, below the specials.
			prev := float32(0)
			for i := numSpecialSPM + numByteTokens; i < len(v.Tokens); i++ {
				if v.Types[i] != TokenNormal {
					t.Fatalf("token %d %q has type %d, want normal", i, v.Tokens[i], v.Types[i])
				}
				if v.Scores[i] >= prev {
					t.Fatalf("score of token %d %q is %g, not below %g", i, v.Tokens[i], v.Scores[i], prev)
				}
				prev = v.Scores[i]
			}
		})
	}
}

func TestVocabFromGGUF(t *testing.T) {
	tests := []struct {
		file      string
		n         int
		bos, eos  int32
		extraKeys []string
	}{
		{"ggml-vocab-llama-spm.gguf", 32000, 1, 2, []string{"tokenizer.ggml.pre"}},
		{"ggml-vocab-phi-3.gguf", 32064, 1, 32000, []string{"tokenizer.ggml.pre", "tokenizer.ggml.padding_token_id", "tokenizer.chat_template"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			src := testmodels.Path(t, "models/vocab/"+tt.file)
			v, err := VocabFromGGUF(src)
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Tokens) != tt.n || len(v.Scores) != tt.n || len(v.Types) != tt.n {
				t.Fatalf("%d tokens, %d scores, %d types; want %d", len(v.Tokens), len(v.Scores), len(v.Types), tt.n)
			}
			if v.Model != "llama" || v.BOS != tt.bos || v.EOS != tt.eos || v.UNK != 0 || !v.AddBOS || v.AddEOS {
				t.Errorf("model %q bos %d eos %d unk %d add_bos %v add_eos %v", v.Model, v.BOS, v.EOS, v.UNK, v.AddBOS, v.AddEOS)
			}
			if v.Tokens[0] != "<unk>" || v.Tokens[1] != "<s>" || v.Tokens[3] != "<0x00>" {
				t.Errorf("unexpected first tokens %q", v.Tokens[:4])
			}
			for _, k := range tt.extraKeys {
				if _, ok := v.Extra[k]; !ok {
					t.Errorf("Extra lacks %s", k)
				}
			}
			if err := v.Validate(); err != nil {
				t.Fatal(err)
			}

			// Writing a model with it and reading the vocab back is lossless,
			// and every tokenizer.* key keeps its value and GGUF type.
			out := filepath.Join(t.TempDir(), "m.gguf")
			if err := WriteFile(out, Options{Shape: ShapeDemo, Type: Q8_0, Vocab: v}); err != nil {
				t.Fatal(err)
			}
			back, err := VocabFromGGUF(out)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, v) {
				t.Error("vocab changed in a write/read round trip")
			}
			hs, err := ReadHeaderFile(src)
			if err != nil {
				t.Fatal(err)
			}
			ho, err := ReadHeaderFile(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, kv := range hs.KV {
				if len(kv.Key) < 10 || kv.Key[:10] != "tokenizer." {
					continue
				}
				if got, ok := ho.Get(kv.Key); !ok || !reflect.DeepEqual(got, kv.Value) {
					t.Errorf("%s not copied verbatim (got %T)", kv.Key, got)
				}
			}
			if got, _ := ho.Get("llama.vocab_size"); got != uint32(tt.n) {
				t.Errorf("llama.vocab_size = %v, want %d", got, tt.n)
			}
			tok := ho.Tensors[0]
			if tok.Name != "token_embd.weight" || tok.Dims[1] != int64(tt.n) {
				t.Errorf("token_embd is %s %v, want n_vocab %d", tok.Name, tok.Dims, tt.n)
			}
		})
	}
}

func TestChatTemplateOverridesVocabExtra(t *testing.T) {
	v := SyntheticVocab(400)
	v.Extra = map[string]any{"tokenizer.chat_template": "from-vocab", "tokenizer.ggml.padding_token_id": uint32(2)}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := WriteFile(path, Options{Shape: testShape, Vocab: v, ChatTemplate: "from-options"}); err != nil {
		t.Fatal(err)
	}
	h, err := ReadHeaderFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := h.Get("tokenizer.chat_template"); got != "from-options" {
		t.Errorf("chat template %v, want from-options", got)
	}
	if got, _ := h.Get("tokenizer.ggml.padding_token_id"); got != uint32(2) {
		t.Errorf("padding token %v (%T), want uint32 2", got, got)
	}
}
