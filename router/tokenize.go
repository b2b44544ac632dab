package router

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/llamagate/llamagate/openai"
)

// maxDetokenize bounds the token list of POST /detokenize.
const maxDetokenize = 1 << 20

// tokenize is llama-server's POST /tokenize: {"model", "content",
// "add_special"} → {"tokens": [...]}.
func (s *Server) tokenize(c *gin.Context) {
	var req struct {
		Model      string `json:"model"`
		Content    string `json:"content"`
		AddSpecial *bool  `json:"add_special"`
	}
	if !s.decodeUtility(c, &req, &req.Model) {
		return
	}
	lease, err := s.acquireFor(c, req.Model)
	if err != nil {
		writeError(c, apiError(err, "content"))
		return
	}
	defer lease.Release()
	addSpecial := req.AddSpecial == nil || *req.AddSpecial
	toks, err := lease.Engine().Tokenize(req.Content, addSpecial)
	if err != nil {
		writeError(c, apiError(err, "content"))
		return
	}
	if toks == nil {
		toks = []int{}
	}
	c.JSON(http.StatusOK, gin.H{"tokens": toks})
}

// detokenize is llama-server's POST /detokenize: {"model", "tokens"} →
// {"content": "..."}.
func (s *Server) detokenize(c *gin.Context) {
	var req struct {
		Model  string `json:"model"`
		Tokens []int  `json:"tokens"`
	}
	if !s.decodeUtility(c, &req, &req.Model) {
		return
	}
	if len(req.Tokens) > maxDetokenize {
		writeError(c, openai.InvalidParam("tokens", "invalid_value", "at most %d tokens", maxDetokenize))
		return
	}
	lease, err := s.acquireFor(c, req.Model)
	if err != nil {
		writeError(c, apiError(err, "tokens"))
		return
	}
	defer lease.Release()
	text, err := lease.Engine().Detokenize(req.Tokens)
	if err != nil {
		writeError(c, apiError(err, "tokens"))
		return
	}
	c.JSON(http.StatusOK, gin.H{"content": text})
}

// decodeUtility reads a small JSON body into v (strict types) and checks
// that it names a model.
func (s *Server) decodeUtility(c *gin.Context, v any, model *string) bool {
	body, apiErr := s.readBody(c)
	if apiErr != nil {
		writeError(c, apiErr)
		return false
	}
	if _, apiErr := openai.DecodeObject(body); apiErr != nil {
		writeError(c, apiErr)
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			writeError(c, openai.InvalidParam(te.Field, "invalid_type", "%s must be %s", te.Field, te.Type.String()))
			return false
		}
		writeError(c, openai.InvalidParam("", "invalid_value", "%v", err))
		return false
	}
	if *model == "" {
		writeError(c, openai.MissingParam("model"))
		return false
	}
	c.Set(ctxKeyModel, *model)
	return true
}
