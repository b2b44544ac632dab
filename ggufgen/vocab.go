package ggufgen

import (
	"fmt"
	"strings"
)

// llama.cpp token types (enum llama_token_type).
const (
	TokenNormal      int32 = 1
	TokenUnknown     int32 = 2
	TokenControl     int32 = 3
	TokenUserDefined int32 = 4
	TokenUnused      int32 = 5
	TokenByte        int32 = 6
)

// Vocab is the tokenizer of a generated model. It maps onto the tokenizer.*
// GGUF metadata keys.
type Vocab struct {
	Model  string    // tokenizer.ggml.model, e.g. "llama" (SentencePiece)
	Tokens []string  // tokenizer.ggml.tokens (must be unique and non-empty)
	Scores []float32 // tokenizer.ggml.scores; nil: key omitted
	Types  []int32   // tokenizer.ggml.token_type; nil: key omitted

	// Special token ids (tokenizer.ggml.{bos,eos,unknown}_token_id, written
	// as uint32). A negative id omits the key.
	BOS, EOS, UNK int32
	// tokenizer.ggml.add_bos_token / add_eos_token (always written).
	AddBOS, AddEOS bool

	// Extra holds other metadata keys (normally tokenizer.*, e.g.
	// tokenizer.ggml.padding_token_id, tokenizer.ggml.add_space_prefix,
	// tokenizer.ggml.pre, tokenizer.ggml.merges, tokenizer.chat_template)
	// written verbatim, sorted by key. Values must have GGUF-exact Go types
	// (see KV). Keys that Write sets itself take precedence over Extra.
	Extra map[string]any
}

// Metadata keys written from Vocab's dedicated fields.
const (
	keyTokModel    = "tokenizer.ggml.model"
	keyTokTokens   = "tokenizer.ggml.tokens"
	keyTokScores   = "tokenizer.ggml.scores"
	keyTokTypes    = "tokenizer.ggml.token_type"
	keyTokBOS      = "tokenizer.ggml.bos_token_id"
	keyTokEOS      = "tokenizer.ggml.eos_token_id"
	keyTokUNK      = "tokenizer.ggml.unknown_token_id"
	keyTokAddBOS   = "tokenizer.ggml.add_bos_token"
	keyTokAddEOS   = "tokenizer.ggml.add_eos_token"
	keyChatTmpl    = "tokenizer.chat_template"
	spmSpace       = "▁" // U+2581, SentencePiece's space marker
	numSpecialSPM  = 3   // <unk>, <s>, </s>
	numByteTokens  = 256
	printableASCII = 0x7e - 0x21 + 1
)

// MinSyntheticVocab is the smallest vocabulary SyntheticVocab produces: the 3
// special tokens, the 256 byte tokens, "▁" and the 94 printable ASCII
// characters.
const MinSyntheticVocab = numSpecialSPM + numByteTokens + 1 + printableASCII

// Validate checks the vocabulary for problems llama.cpp would reject or
// mishandle.
func (v *Vocab) Validate() error {
	if v == nil {
		return fmt.Errorf("ggufgen: nil vocab")
	}
	if v.Model == "" {
		return fmt.Errorf("ggufgen: vocab has no model (tokenizer.ggml.model)")
	}
	n := len(v.Tokens)
	if n == 0 {
		return fmt.Errorf("ggufgen: vocab has no tokens")
	}
	if v.Scores != nil && len(v.Scores) != n {
		return fmt.Errorf("ggufgen: vocab has %d scores for %d tokens", len(v.Scores), n)
	}
	if v.Types != nil && len(v.Types) != n {
		return fmt.Errorf("ggufgen: vocab has %d token types for %d tokens", len(v.Types), n)
	}
	seen := make(map[string]int, n)
	for i, t := range v.Tokens {
		if t == "" {
			return fmt.Errorf("ggufgen: vocab token %d is empty", i)
		}
		if j, dup := seen[t]; dup {
			return fmt.Errorf("ggufgen: vocab tokens %d and %d are both %q", j, i, t)
		}
		seen[t] = i
	}
	for name, id := range map[string]int32{"bos": v.BOS, "eos": v.EOS, "unk": v.UNK} {
		if int(id) >= n {
			return fmt.Errorf("ggufgen: vocab %s id %d out of range (%d tokens)", name, id, n)
		}
	}
	for k, val := range v.Extra {
		if err := checkValue(val); err != nil {
			return fmt.Errorf("ggufgen: vocab extra key %q: %w", k, err)
		}
	}
	return nil
}

// SyntheticVocab returns a SentencePiece-style ("llama") vocabulary of
// exactly max(size, MinSyntheticVocab) tokens:
//
//	0 "<unk>" (unknown), 1 "<s>", 2 "</s>" (control),
//	3..258 "<0x00>".."<0xFF>" (byte fallback, so any text tokenizes),
//	then normal pieces: "▁", the printable ASCII characters, "▁" plus each
//	letter, common English words with and without "▁" (each preceded by its
//	prefixes so the SPM bigram merger can reach it), digit pairs, and then
//	letter strings of growing length ("▁ab", "ab", ...) until size is reached.
//
// Special and byte tokens score 0; normal pieces score -1, -2, ... in the
// order above, so earlier (common) pieces are preferred. BOS=1, EOS=2, UNK=0,
// AddBOS=true, AddEOS=false, as for llama/TinyLlama.
func SyntheticVocab(size int) *Vocab {
	size = max(size, MinSyntheticVocab)
	v := &Vocab{
		Model:  "llama",
		Tokens: make([]string, 0, size),
		Scores: make([]float32, 0, size),
		Types:  make([]int32, 0, size),
		BOS:    1, EOS: 2, UNK: 0,
		AddBOS: true,
	}
	seen := make(map[string]bool, size)
	add := func(tok string, score float32, typ int32) {
		if len(v.Tokens) >= size || seen[tok] {
			return
		}
		seen[tok] = true
		v.Tokens = append(v.Tokens, tok)
		v.Scores = append(v.Scores, score)
		v.Types = append(v.Types, typ)
	}
	add("<unk>", 0, TokenUnknown)
	add("<s>", 0, TokenControl)
	add("</s>", 0, TokenControl)
	for b := 0; b < numByteTokens; b++ {
		add(fmt.Sprintf("<0x%02X>", b), 0, TokenByte)
	}
	rank := 0
	piece := func(tok string) {
		if len(v.Tokens) < size && !seen[tok] {
			rank++
			add(tok, -float32(rank), TokenNormal)
		}
	}
	// withPrefixes adds every prefix of s (at least minLen bytes) then s.
	withPrefixes := func(s string, minLen int) {
		for k := minLen; k <= len(s); k++ {
			piece(s[:k])
		}
	}

	piece(spmSpace)
	for c := byte(0x21); c <= 0x7e; c++ {
		piece(string(c))
	}
	for c := 'a'; c <= 'z'; c++ {
		piece(spmSpace + string(c))
	}
	for c := 'A'; c <= 'Z'; c++ {
		piece(spmSpace + string(c))
	}
	for _, w := range commonWords {
		withPrefixes(spmSpace+w, len(spmSpace)+1)
		withPrefixes(spmSpace+capitalize(w), len(spmSpace)+1)
		withPrefixes(w, 2)
	}
	for i := 0; i < 100; i++ {
		piece(fmt.Sprintf("%02d", i))
	}
	for _, p := range []string{spmSpace + spmSpace, spmSpace + spmSpace + spmSpace + spmSpace, "()", "{}", "[]", "\"\"", "''", "://", "...", "--", "==", "!=", "->", "=>", "::"} {
		piece(p)
	}
	// Filler: lower-case letter strings of growing length, each with and
	// without the space marker, until the vocabulary is full.
	for n := 2; len(v.Tokens) < size; n++ {
		letters := make([]byte, n)
		for i := range letters {
			letters[i] = 'a'
		}
		for len(v.Tokens) < size {
			s := string(letters)
			piece(spmSpace + s)
			piece(s)
			// increment the odometer
			i := n - 1
			for i >= 0 && letters[i] == 'z' {
				letters[i] = 'a'
				i--
			}
			if i < 0 {
				break
			}
			letters[i]++
		}
	}
	return v
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// commonWords are frequent English (and some chat/code) words, most frequent
// first.
var commonWords = []string{
	"the", "of", "and", "to", "a", "in", "is", "you", "that", "it", "he", "was",
	"for", "on", "are", "as", "with", "his", "they", "i", "at", "be", "this",
	"have", "from", "or", "one", "had", "by", "word", "but", "not", "what",
	"all", "were", "we", "when", "your", "can", "said", "there", "use", "an",
	"each", "which", "she", "do", "how", "their", "if", "will", "up", "other",
	"about", "out", "many", "then", "them", "these", "so", "some", "her",
	"would", "make", "like", "him", "into", "time", "has", "look", "two",
	"more", "write", "go", "see", "number", "no", "way", "could", "people",
	"my", "than", "first", "water", "been", "call", "who", "oil", "its",
	"now", "find", "long", "down", "day", "did", "get", "come", "made", "may",
	"part", "hello", "world", "yes", "please", "thank", "thanks", "help",
	"question", "answer", "user", "assistant", "system", "model", "name",
	"good", "new", "just", "know", "here", "very", "after", "where", "most",
	"over", "also", "back", "only", "little", "work", "life", "year", "years",
	"because", "any", "give", "our", "me", "us", "should", "well", "great",
	"think", "say", "help", "through", "much", "before", "line", "right",
	"too", "mean", "old", "same", "tell", "boy", "girl", "follow", "came",
	"want", "show", "around", "form", "three", "small", "set", "put", "end",
	"does", "another", "large", "must", "big", "even", "such", "why", "ask",
	"men", "change", "went", "light", "kind", "off", "need", "house",
	"picture", "try", "again", "animal", "point", "mother", "father", "home",
	"read", "hand", "port", "spell", "add", "land", "must", "once", "upon",
	"story", "happy", "sad", "friend", "friends", "play", "played", "day",
	"sun", "dog", "cat", "tree", "park", "ball", "toy", "function", "return",
	"func", "var", "const", "package", "import", "true", "false", "null",
	"string", "int", "error", "data", "value", "type", "test", "file", "code",
	"ing", "ed", "er", "ly", "tion", "es", "s",
}

// VocabFromGGUF copies all tokenizer.* metadata of an existing GGUF file
// (which may be a vocab-only file without tensors). The dedicated keys fill
// Vocab's fields; all other tokenizer.* keys (including
// tokenizer.chat_template) go to Extra with their original GGUF types. A
// missing special token id becomes -1; missing add_bos_token/add_eos_token
// default to llama.cpp's SentencePiece defaults (true/false) for model
// "llama" and to false otherwise, so the written file behaves the same.
func VocabFromGGUF(path string) (*Vocab, error) {
	h, err := ReadHeaderFile(path)
	if err != nil {
		return nil, err
	}
	v := &Vocab{BOS: -1, EOS: -1, UNK: -1}
	var haveAddBOS, haveAddEOS bool
	for _, kv := range h.KV {
		if !strings.HasPrefix(kv.Key, "tokenizer.") {
			continue
		}
		bad := func() error {
			return fmt.Errorf("ggufgen: %s: key %s has unexpected type %T", path, kv.Key, kv.Value)
		}
		switch kv.Key {
		case keyTokModel:
			s, ok := kv.Value.(string)
			if !ok {
				return nil, bad()
			}
			v.Model = s
		case keyTokTokens:
			s, ok := kv.Value.([]string)
			if !ok {
				return nil, bad()
			}
			v.Tokens = s
		case keyTokScores:
			s, ok := kv.Value.([]float32)
			if !ok {
				return nil, bad()
			}
			v.Scores = s
		case keyTokTypes:
			switch s := kv.Value.(type) {
			case []int32:
				v.Types = s
			case []uint32:
				v.Types = make([]int32, len(s))
				for i, x := range s {
					v.Types[i] = int32(x)
				}
			default:
				return nil, bad()
			}
		case keyTokBOS, keyTokEOS, keyTokUNK:
			var id int32
			switch x := kv.Value.(type) {
			case uint32:
				id = int32(x)
			case int32:
				id = x
			default:
				return nil, bad()
			}
			switch kv.Key {
			case keyTokBOS:
				v.BOS = id
			case keyTokEOS:
				v.EOS = id
			default:
				v.UNK = id
			}
		case keyTokAddBOS, keyTokAddEOS:
			b, ok := kv.Value.(bool)
			if !ok {
				return nil, bad()
			}
			if kv.Key == keyTokAddBOS {
				v.AddBOS, haveAddBOS = b, true
			} else {
				v.AddEOS, haveAddEOS = b, true
			}
		default:
			if v.Extra == nil {
				v.Extra = make(map[string]any)
			}
			v.Extra[kv.Key] = kv.Value
		}
	}
	if v.Model == "" || len(v.Tokens) == 0 {
		return nil, fmt.Errorf("ggufgen: %s has no tokenizer (tokenizer.ggml.model / tokens missing)", path)
	}
	if !haveAddBOS {
		v.AddBOS = v.Model == "llama"
	}
	if !haveAddEOS {
		v.AddEOS = false
	}
	return v, nil
}
