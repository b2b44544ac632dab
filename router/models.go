package router

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/llamagate/llamagate/models"
	"github.com/llamagate/llamagate/openai"
)

const ownedBy = "llamagate"

// modelView is a /v1/models entry: OpenAI's four fields, which SDKs read,
// and llamagate's state of the model, which they ignore.
type modelView struct {
	openai.Model
	Aliases        []string `json:"aliases,omitempty"`
	Status         string   `json:"status"` // unloaded | loading | loaded | unloading
	LoadedAt       *int64   `json:"loaded_at"`
	MemoryEstimate int64    `json:"memory_bytes_estimate"`
	MemoryActual   int64    `json:"memory_bytes"` // measured after load; 0 until then
}

func modelEntry(st models.Status) modelView {
	v := modelView{
		Model:          openai.Model{ID: st.Spec.ID, Object: "model", Created: st.Spec.Created.Unix(), OwnedBy: ownedBy},
		Aliases:        st.Spec.Aliases,
		Status:         st.State,
		MemoryEstimate: st.Spec.Meta.Estimate,
		MemoryActual:   st.Memory,
	}
	if st.State == "loaded" && !st.LoadedAt.IsZero() {
		t := st.LoadedAt.Unix()
		v.LoadedAt = &t
	}
	return v
}

func (s *Server) listModels(c *gin.Context) {
	list := struct {
		Object string      `json:"object"`
		Data   []modelView `json:"data"`
	}{Object: "list", Data: []modelView{}}
	for _, st := range s.models.List() {
		if allowsModel(c, st.Spec.ID, st.Spec.ID) {
			list.Data = append(list.Data, modelEntry(st))
		}
	}
	c.JSON(http.StatusOK, list)
}

func (s *Server) getModel(c *gin.Context) {
	id := strings.TrimPrefix(c.Param("id"), "/")
	st, ok := s.models.Get(id)
	if !ok || !allowsModel(c, st.Spec.ID, id) {
		writeError(c, openai.ModelNotFound(id))
		return
	}
	c.JSON(http.StatusOK, modelEntry(st))
}

// adminModel is the full state of a model for GET /admin/models.
type adminModel struct {
	ID           string     `json:"id"`
	Aliases      []string   `json:"aliases"`
	Path         string     `json:"path"`
	Source       string     `json:"source"`
	Status       string     `json:"status"`
	Pinned       bool       `json:"pinned"`
	TTLSeconds   float64    `json:"ttl_seconds"` // -1: never
	Leases       int        `json:"leases"`
	Waiting      int        `json:"waiting"`
	LoadProgress float64    `json:"load_progress"`
	LoadStarted  *time.Time `json:"load_started,omitempty"`
	LoadedAt     *time.Time `json:"loaded_at,omitempty"`
	LastUsed     *time.Time `json:"last_used,omitempty"`
	Retiring     string     `json:"retiring,omitempty"`
	LastError    string     `json:"last_error,omitempty"`
	RetryAfter   float64    `json:"retry_after_seconds,omitempty"`
	Memory       struct {
		Estimate int64 `json:"estimate"`
		Actual   int64 `json:"actual"`
	} `json:"memory_bytes"`
	Meta struct {
		Architecture    string `json:"architecture"`
		Parameters      uint64 `json:"parameters"`
		ContextTrain    int    `json:"context_train"`
		FileType        string `json:"file_type"`
		HasChatTemplate bool   `json:"has_chat_template"`
		Context         int    `json:"context_total"`
		Error           string `json:"error,omitempty"`
	} `json:"gguf"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func adminEntry(st models.Status) adminModel {
	sp := st.Spec
	v := adminModel{
		ID: sp.ID, Aliases: sp.Aliases, Path: sp.Path, Source: sp.Source, Status: st.State, Pinned: sp.Pinned,
		TTLSeconds: sp.TTL.Seconds(), Leases: st.Leases, Waiting: st.Waiting, LoadProgress: st.Progress,
		LoadStarted: timePtr(st.LoadStarted), LoadedAt: timePtr(st.LoadedAt), LastUsed: timePtr(st.LastUsed),
		Retiring: st.Retiring, LastError: st.LastError, RetryAfter: st.RetryAfter.Seconds(),
	}
	if v.Aliases == nil {
		v.Aliases = []string{}
	}
	if sp.TTL < 0 {
		v.TTLSeconds = -1
	}
	v.Memory.Estimate, v.Memory.Actual = sp.Meta.Estimate, st.Memory
	m := sp.Meta
	v.Meta.Architecture, v.Meta.Parameters, v.Meta.ContextTrain, v.Meta.FileType = m.Architecture, m.Parameters, m.ContextTrain, m.FileType
	v.Meta.HasChatTemplate, v.Meta.Context, v.Meta.Error = m.HasChatTemplate || sp.ChatTemplate != "", m.CtxTotal, m.Err
	return v
}

func (s *Server) adminListModels(c *gin.Context) {
	out := struct {
		Object    string         `json:"object"`
		Data      []adminModel   `json:"data"`
		Evictions map[string]int `json:"evictions"`
	}{Object: "list", Data: []adminModel{}, Evictions: s.models.Evictions()}
	for _, st := range s.models.List() {
		out.Data = append(out.Data, adminEntry(st))
	}
	c.JSON(http.StatusOK, out)
}

// adminModelAction serves POST /admin/models/{id}/load and .../unload; the
// id may contain slashes, so the action is the last path element.
func (s *Server) adminModelAction(c *gin.Context) {
	path := strings.TrimPrefix(c.Param("path"), "/")
	i := strings.LastIndex(path, "/")
	id, action := path[:max(i, 0)], path[i+1:]
	if i <= 0 || (action != "load" && action != "unload") {
		writeError(c, openai.NotFound("no route for POST "+c.Request.URL.Path+" (use /admin/models/{id}/load or /unload)"))
		return
	}
	c.Set(ctxKeyModel, id)
	var err error
	if action == "load" {
		err = s.models.Load(c.Request.Context(), id)
	} else {
		err = s.models.Unload(c.Request.Context(), id, c.Query("force") == "true")
	}
	if err != nil {
		writeError(c, apiError(err, "model"))
		return
	}
	st, _ := s.models.Get(id)
	c.JSON(http.StatusOK, adminEntry(st))
}
