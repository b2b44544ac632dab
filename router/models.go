package router

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/llamagate/llamagate/models"
	"github.com/llamagate/llamagate/openai"
)

const ownedBy = "llamagate"

func modelEntry(st models.Status) openai.Model {
	return openai.Model{ID: st.Spec.ID, Object: "model", Created: st.Spec.Created.Unix(), OwnedBy: ownedBy}
}

func (s *Server) listModels(c *gin.Context) {
	list := openai.ModelList{Object: "list", Data: []openai.Model{}}
	for _, st := range s.models.List() {
		list.Data = append(list.Data, modelEntry(st))
	}
	c.JSON(http.StatusOK, list)
}

func (s *Server) getModel(c *gin.Context) {
	id := strings.TrimPrefix(c.Param("id"), "/")
	spec, ok := s.models.Get(id)
	if !ok {
		writeError(c, openai.ModelNotFound(id))
		return
	}
	c.JSON(http.StatusOK, modelEntry(models.Status{Spec: spec}))
}
