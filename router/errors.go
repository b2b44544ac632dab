package router

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/models"
	"github.com/llamagate/llamagate/openai"
)

// statusClientClosed is logged (never sent) when the client went away.
const statusClientClosed = 499

// ErrShuttingDown is the cause with which the server cancels the requests
// still running when its drain timeout ends.
var ErrShuttingDown = errors.New("the server is shutting down")

// apiError maps any error of the request path to its OpenAI error. This is
// the only place that decides statuses.
func apiError(err error, promptParam string) *openai.Error {
	var (
		oe  *openai.Error
		nf  *models.NotFoundError
		cle *engine.ContextLengthError
		ire *engine.InvalidRequestError
		le  *models.LoadError
		ce  *models.CapacityError
		te  *timeoutError
	)
	switch {
	case errors.As(err, &oe):
		return oe
	case errors.As(err, &nf):
		return openai.ModelNotFound(nf.ID)
	case errors.As(err, &cle):
		return openai.ContextLengthExceeded(promptParam, cle.Error())
	case errors.As(err, &ire):
		param := ire.Param
		if param == "prompt" {
			param = promptParam
		}
		return openai.InvalidParam(param, "invalid_value", "%s", ire.Message)
	case errors.As(err, &te):
		return &openai.Error{Status: http.StatusGatewayTimeout, Type: openai.TypeTimeout, Code: "timeout", Message: te.Error()}
	case errors.Is(err, ErrShuttingDown):
		return openai.Overloaded("server_shutting_down", "the server is shutting down and could not finish this request; retry")
	case errors.Is(err, engine.ErrOverloaded):
		return openai.Overloaded("server_overloaded", err.Error())
	case errors.Is(err, engine.ErrClosed):
		return openai.Overloaded("model_unloaded", "the model was unloaded while the request was running; retry")
	case errors.As(err, &ce):
		e := openai.Overloaded("model_capacity_exhausted", ce.Error())
		e.RetryAfter = retrySeconds(ce.RetryAfter)
		return e
	case errors.As(err, &le):
		return &openai.Error{Status: http.StatusInternalServerError, Type: openai.TypeServer, Code: "model_load_failed", Message: le.Error(),
			RetryAfter: retrySeconds(le.RetryAfter)}
	case errors.Is(err, context.DeadlineExceeded):
		return &openai.Error{Status: http.StatusGatewayTimeout, Type: openai.TypeTimeout, Code: "timeout", Message: "the request timed out"}
	case errors.Is(err, context.Canceled):
		return &openai.Error{Status: statusClientClosed, Type: openai.TypeInvalidRequest, Code: "cancelled", Message: "the request was cancelled"}
	default:
		return openai.Internal("internal error: " + err.Error())
	}
}

// writeError sends e as the response, with Retry-After on 503s.
func writeError(c *gin.Context, e *openai.Error) {
	c.Set(ctxKeyError, e)
	switch {
	case e.RetryAfter > 0:
		c.Header("Retry-After", strconv.Itoa(e.RetryAfter))
	case e.Status == http.StatusServiceUnavailable:
		c.Header("Retry-After", "1")
	}
	body, _ := openai.Marshal(e.Body())
	c.Data(e.Status, "application/json", body)
	c.Abort()
}

// retrySeconds rounds a wait up to whole seconds for Retry-After; 0 stays 0.
func retrySeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}
