package engine

import "context"

// Embedder is implemented by engines that can also turn inputs into
// embedding vectors (POST /v1/embeddings). It is optional: the API layer
// asks for it with a type assertion and answers 400 for a model whose
// engine lacks it.
type Embedder interface {
	// Embed returns one vector per input, in order. Each input is token
	// ids (Tokenize with addSpecial gives the tokens of a text); none may
	// be empty ( *InvalidRequestError, Param "input") or longer than
	// EmbeddingContext ( *ContextLengthError). Every vector has
	// EmbeddingSize floats and unit L2 length. Cancelling ctx removes the
	// request's remaining work at once and Embed returns ctx's cause.
	Embed(ctx context.Context, inputs [][]int) ([][]float32, error)
	// EmbeddingSize is the length of the vectors Embed returns.
	EmbeddingSize() int
	// EmbeddingContext is the most tokens one input may have.
	EmbeddingContext() int
}
