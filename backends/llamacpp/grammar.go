package llamacpp

/*
#include <stdlib.h>
#include "helpers.h"
*/
import "C"

import (
	"encoding/json"
	"errors"
	"unsafe"

	"github.com/ollama/ollama/llama"

	"github.com/llamagate/llamagate/engine"
)

// grammarFromSchema turns a JSON schema into a GBNF grammar with llama.cpp's
// json-schema-to-grammar converter (through the binding).
func grammarFromSchema(schema []byte) (string, error) {
	if !json.Valid(schema) {
		return "", errors.New("the JSON schema is not valid JSON")
	}
	g := llama.SchemaToGrammar(schema)
	if len(g) == 0 {
		return "", errors.New("llama.cpp cannot turn this JSON schema into a grammar (an invalid schema, or a feature its converter does not support)")
	}
	// The binding writes into a buffer of this size and cuts what does not
	// fit; a cut grammar would be a different (or broken) constraint.
	if len(g) >= max(32768, min(1024*1024, len(schema)*4))-1 {
		return "", errors.New("the grammar made from this JSON schema is too large")
	}
	return string(g), nil
}

// SchemaToGrammar is grammarFromSchema for the layers above the engine
// (engine.SchemaConverter): tool-call grammars embed the arguments'
// grammar made the same way as response_format's.
func (m *Model) SchemaToGrammar(schema []byte) (string, error) { return grammarFromSchema(schema) }

// grammarSpec is a sequence's output constraint, checked by Generate.
type grammarSpec struct {
	gbnf     string
	lazy     bool
	triggers []string
}

// newGrammar returns a grammar sampler for vocab, or nil when the grammar
// (or, for a lazy one, a trigger pattern) does not parse. The caller frees
// it (lg_sample replaces it when a trigger's text is refused).
func newGrammar(vocab *C.struct_llama_vocab, g *grammarSpec) *C.struct_llama_sampler {
	cg := C.CString(g.gbnf)
	defer C.free(unsafe.Pointer(cg))
	var pats []*C.char
	for _, t := range g.triggers {
		p := C.CString(t)
		defer C.free(unsafe.Pointer(p))
		pats = append(pats, p)
	}
	// pats is Go memory holding C pointers only, which cgo allows passing.
	lazy := C.int(0)
	if g.lazy {
		lazy = 1
	}
	return C.lg_grammar_init(vocab, cg, unsafe.SliceData(pats), C.size_t(len(pats)), lazy)
}

// requestGrammar checks a request's output constraint and returns its
// grammar (nil for none). Errors name the field the constraint comes from:
// response_format, or tools.
func (m *Model) requestGrammar(req engine.Request) (*grammarSpec, error) {
	if req.JSONSchema == nil && req.Grammar == nil {
		return nil, nil
	}
	param := "response_format"
	if req.Grammar != nil {
		param = "tools"
	}
	bad := func(msg string) error {
		return &engine.InvalidRequestError{Param: param, Message: msg}
	}
	if req.JSONSchema != nil && req.Grammar != nil {
		return nil, bad("a JSON response_format cannot be combined with a tool-call constraint")
	}
	if req.IgnoreEOS {
		// A finished grammar allows nothing but the end of generation; with
		// that banned no token would be possible.
		return nil, &engine.InvalidRequestError{Param: "ignore_eos", Message: "ignore_eos cannot be combined with a JSON response_format or tools: the end of the JSON ends the generation"}
	}
	var spec grammarSpec
	if req.Grammar != nil {
		spec = grammarSpec{gbnf: req.Grammar.GBNF, lazy: req.Grammar.Lazy, triggers: req.Grammar.Triggers}
		if spec.gbnf == "" {
			return nil, bad("the tool-call grammar is empty")
		}
	} else {
		gbnf, err := grammarFromSchema(req.JSONSchema)
		if err != nil {
			return nil, bad(err.Error())
		}
		spec.gbnf = gbnf
	}
	m.freeMu.RLock()
	defer m.freeMu.RUnlock()
	if m.freed {
		return nil, engine.ErrClosed
	}
	g := newGrammar(m.vocab, &spec)
	if g == nil {
		if req.Grammar != nil {
			return nil, bad("llama.cpp cannot use the grammar made from these tools (a parameters schema with repetition counts such as maxLength or maxItems above 2000, or a trigger pattern it cannot compile)")
		}
		return nil, bad("llama.cpp cannot use the grammar made from this JSON schema (repetition counts such as maxLength or maxItems above 2000 are not supported)")
	}
	C.llama_sampler_free(g)
	return &spec, nil
}
