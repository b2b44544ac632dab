package e2e

import (
	"errors"
	"math"
	"testing"

	openaigo "github.com/openai/openai-go/v3"
	goopenai "github.com/sashabaranov/go-openai"
)

// POST /v1/embeddings through both Go SDKs, on stories260K (64-dimensional
// hidden states, mean pooled).

var embedTexts = []string{storyPrompt, "The cat sat on the mat.", "Lily and Ben went to the park."}

func vecDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func TestEmbeddingsGoOpenAI(t *testing.T) {
	g := startGateway(t)
	c := g.client()
	ctx := testContext(t)

	resp, err := c.CreateEmbeddings(ctx, goopenai.EmbeddingRequestStrings{Input: embedTexts, Model: storiesID})
	if err != nil {
		t.Fatal(err)
	}
	dims := g.engine(storiesID).EmbeddingSize()
	if resp.Object != "list" || resp.Model != storiesID || len(resp.Data) != len(embedTexts) {
		t.Fatalf("response %+v", resp)
	}
	tokens := 0
	for i, d := range resp.Data {
		if d.Index != i || d.Object != "embedding" || len(d.Embedding) != dims {
			t.Fatalf("item %d: index %d object %q, %d floats (want %d)", i, d.Index, d.Object, len(d.Embedding), dims)
		}
		n := 0.0
		for _, x := range d.Embedding {
			n += float64(x) * float64(x)
		}
		if math.Abs(math.Sqrt(n)-1) > 1e-5 {
			t.Fatalf("item %d has norm %g, want 1", i, math.Sqrt(n))
		}
		toks, _ := g.engine(storiesID).Tokenize(embedTexts[i], true)
		tokens += len(toks)
	}
	if resp.Usage.PromptTokens != tokens || resp.Usage.TotalTokens != tokens || resp.Usage.CompletionTokens != 0 {
		t.Fatalf("usage %+v, want %d prompt tokens", resp.Usage, tokens)
	}
	if vecDiff(resp.Data[0].Embedding, resp.Data[1].Embedding) < 1e-3 {
		t.Fatal("different inputs have the same vector")
	}

	// One by one equals the batch; the same input gives the same vector.
	for i, text := range embedTexts {
		one, err := c.CreateEmbeddings(ctx, goopenai.EmbeddingRequest{Input: text, Model: storiesID})
		if err != nil {
			t.Fatal(err)
		}
		if d := vecDiff(one.Data[0].Embedding, resp.Data[i].Embedding); d > 1e-5 {
			t.Fatalf("%q alone differs from its batched vector by %g", text, d)
		}
	}

	// base64: go-openai decodes it back to the same floats.
	b64, err := c.CreateEmbeddings(ctx, goopenai.EmbeddingRequestStrings{Input: embedTexts, Model: storiesID, EncodingFormat: goopenai.EmbeddingEncodingFormatBase64})
	if err != nil {
		t.Fatal(err)
	}
	for i := range embedTexts {
		if d := vecDiff(b64.Data[i].Embedding, resp.Data[i].Embedding); d != 0 {
			t.Fatalf("base64 vector %d differs from the float one by %g", i, d)
		}
	}

	// Token input equals its text.
	toks, _ := g.engine(storiesID).Tokenize(embedTexts[1], true)
	tokResp, err := c.CreateEmbeddings(ctx, goopenai.EmbeddingRequestTokens{Input: [][]int{toks}, Model: storiesID, Dimensions: dims})
	if err != nil {
		t.Fatal(err)
	}
	if d := vecDiff(tokResp.Data[0].Embedding, resp.Data[1].Embedding); d > 1e-5 {
		t.Fatalf("token input differs from its text by %g", d)
	}
	if tokResp.Usage.PromptTokens != len(toks) {
		t.Fatalf("usage %+v for %d tokens", tokResp.Usage, len(toks))
	}

	// Errors are go-openai's typed APIError with the param.
	for _, tc := range []struct {
		name   string
		req    goopenai.EmbeddingRequestConverter
		status int
		param  string
	}{
		{"empty string", goopenai.EmbeddingRequestStrings{Input: []string{"a", ""}, Model: storiesID}, 400, "input"},
		{"too long", goopenai.EmbeddingRequestTokens{Input: [][]int{make([]int, 513)}, Model: storiesID}, 400, "input"},
		{"dimensions", goopenai.EmbeddingRequestStrings{Input: []string{"a"}, Model: storiesID, Dimensions: 16}, 400, "dimensions"},
		{"unknown model", goopenai.EmbeddingRequestStrings{Input: []string{"a"}, Model: "nope"}, 404, "model"},
	} {
		_, err := c.CreateEmbeddings(ctx, tc.req)
		var apiErr *goopenai.APIError
		if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != tc.status || apiErr.Param == nil || *apiErr.Param != tc.param {
			t.Fatalf("%s: error %#v, want APIError %d param %s", tc.name, err, tc.status, tc.param)
		}
	}
	g.waitIdle(storiesID)
}

func TestEmbeddingsOpenAIGo(t *testing.T) {
	g := startGateway(t)
	c := newOpenAIGo(g)
	ctx := testContext(t)
	params := openaigo.EmbeddingNewParams{Model: storiesID, Input: openaigo.EmbeddingNewParamsInputUnion{OfArrayOfStrings: embedTexts}}
	floats, err := c.Embeddings.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	params.EncodingFormat = openaigo.EmbeddingNewParamsEncodingFormatBase64
	b64, err := c.Embeddings.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	dims := g.engine(storiesID).EmbeddingSize()
	if len(floats.Data) != len(embedTexts) || len(b64.Data) != len(embedTexts) || floats.Usage.PromptTokens == 0 || floats.Usage.TotalTokens != floats.Usage.PromptTokens {
		t.Fatalf("responses %+v %+v", floats, b64)
	}
	for i := range embedTexts {
		f, b := floats.Data[i], b64.Data[i]
		if f.Index != int64(i) || len(f.Embedding) != dims || len(b.Embedding) != dims {
			t.Fatalf("item %d: index %d, %d and %d floats", i, f.Index, len(f.Embedding), len(b.Embedding))
		}
		for j := range f.Embedding {
			// The JSON floats are float32 values; openai-go reads them as float64.
			if float32(f.Embedding[j]) != float32(b.Embedding[j]) {
				t.Fatalf("item %d value %d: float %g, base64 %g", i, j, f.Embedding[j], b.Embedding[j])
			}
		}
	}
	_, err = c.Embeddings.New(ctx, openaigo.EmbeddingNewParams{Model: storiesID, Input: openaigo.EmbeddingNewParamsInputUnion{OfArrayOfTokenArrays: [][]int64{{1, 2}, {}}}})
	var apiErr *openaigo.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "input" {
		t.Fatalf("error %v, want a 400 on input", err)
	}
}
