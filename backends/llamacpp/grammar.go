package llamacpp

/*
#include <stdlib.h>
#include "llama.h"
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

// newGrammar returns a grammar sampler for vocab, or nil when the grammar
// does not parse. The caller frees it (or hands it to a chain, which does).
func newGrammar(vocab *C.struct_llama_vocab, gbnf string) *C.struct_llama_sampler {
	cg := C.CString(gbnf)
	defer C.free(unsafe.Pointer(cg))
	root := C.CString("root")
	defer C.free(unsafe.Pointer(root))
	return C.llama_sampler_init_grammar(vocab, cg, root)
}

// requestGrammar checks a request's output constraint and returns its
// grammar ("" for none). Errors name response_format, as the API does.
func (m *Model) requestGrammar(req engine.Request) (string, error) {
	if req.JSONSchema == nil {
		return "", nil
	}
	bad := func(msg string) error {
		return &engine.InvalidRequestError{Param: "response_format", Message: msg}
	}
	if req.IgnoreEOS {
		// A finished grammar allows nothing but the end of generation; with
		// that banned no token would be possible.
		return "", &engine.InvalidRequestError{Param: "ignore_eos", Message: "ignore_eos cannot be combined with a JSON response_format: the end of the JSON ends the generation"}
	}
	gbnf, err := grammarFromSchema(req.JSONSchema)
	if err != nil {
		return "", bad(err.Error())
	}
	m.freeMu.RLock()
	defer m.freeMu.RUnlock()
	if m.freed {
		return "", engine.ErrClosed
	}
	g := newGrammar(m.vocab, gbnf)
	if g == nil {
		return "", bad("llama.cpp cannot use the grammar made from this JSON schema (repetition counts such as maxLength or maxItems above 2000 are not supported)")
	}
	C.llama_sampler_free(g)
	return gbnf, nil
}
