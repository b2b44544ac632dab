// Package router is the HTTP face of the gateway: the gin engine, its
// middleware (request id, recovery, access log, body limits), the OpenAI
// handlers, and the one mapping from errors to HTTP statuses and OpenAI
// error bodies. It reaches models only through the models package.
package router

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/llamagate/llamagate/auth"
	"github.com/llamagate/llamagate/metrics"
	"github.com/llamagate/llamagate/models"
	"github.com/llamagate/llamagate/openai"
	"github.com/llamagate/llamagate/ratelimit"
)

// Config holds the router's settings. Zero values mean the defaults.
type Config struct {
	MaxBodyBytes int64 // default 8 MiB
	Fingerprint  string
	Logger       *slog.Logger
	// Metrics, if set, records request metrics and serves GET /metrics.
	Metrics *metrics.Metrics
	// Keys, if set, requires API keys (see router/auth.go); nil: open.
	Keys *auth.Keyring
	// Limiter applies the keys' rate limits; nil: none.
	Limiter *ratelimit.Limiter
	// MetricsScope guards GET /metrics: "public" or "admin".
	MetricsScope string
	// RequestTimeout is a request's default total deadline (0: none);
	// TTFTTimeout bounds the wait for the first token and StallTimeout
	// the gap between two tokens (0: none).
	RequestTimeout, TTFTTimeout, StallTimeout time.Duration
	// KeepAlive is the interval of SSE ping comments while a streaming
	// request waits for its model or its first token (0: none).
	KeepAlive time.Duration
	// Forward serves remote models (nil: they answer 500).
	Forward Forwarder
	// Ready reports readiness for GET /health/ready; nil means ready. A
	// false answer carries the reason.
	Ready func() (bool, string)
}

// Server holds what the handlers need.
type Server struct {
	cfg       Config
	log       *slog.Logger
	models    *models.Manager
	templates templates
}

// New returns the HTTP handler of the gateway.
func New(cfg Config, m *models.Manager) http.Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 8 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Fingerprint == "" {
		cfg.Fingerprint = "llamagate"
	}
	s := &Server{cfg: cfg, log: cfg.Logger, models: m}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(s.requestID, s.accessLog, s.recovery)
	r.NoRoute(func(c *gin.Context) {
		writeError(c, openai.NotFound("no route for "+c.Request.Method+" "+c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		writeError(c, &openai.Error{Status: http.StatusMethodNotAllowed, Type: openai.TypeInvalidRequest, Code: "method_not_allowed",
			Message: c.Request.Method + " is not allowed on " + c.Request.URL.Path})
	})
	r.GET("/health", s.health)
	r.GET("/health/ready", s.ready)
	if cfg.Metrics != nil {
		h := cfg.Metrics.Handler()
		serve := func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) }
		if cfg.MetricsScope == "admin" {
			r.GET("/metrics", s.authenticate(auth.ScopeAdmin), serve)
		} else {
			r.GET("/metrics", serve)
		}
	}
	inference := s.authenticate(auth.ScopeInference)
	r.POST("/tokenize", inference, s.tokenize)
	r.POST("/detokenize", inference, s.detokenize)
	r.POST("/apply-template", inference, s.applyTemplate)
	admin := r.Group("/admin", s.authenticate(auth.ScopeAdmin))
	admin.GET("/models", s.adminListModels)
	admin.POST("/models/*path", s.adminModelAction)
	v1 := r.Group("/v1", inference)
	v1.GET("/models", s.listModels)
	v1.GET("/models/*id", s.getModel)
	v1.POST("/completions", s.completions)
	v1.POST("/chat/completions", s.chatCompletions)
	v1.POST("/embeddings", s.embeddings)
	return r
}

// health is liveness: the process serves HTTP.
func (s *Server) health(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// ready is readiness: 503 while starting, draining, or when a pinned model
// failed to load, so a load balancer sends traffic elsewhere.
func (s *Server) ready(c *gin.Context) {
	if s.cfg.Ready != nil {
		if ok, why := s.cfg.Ready(); !ok {
			c.Header("Retry-After", "1")
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "not_ready", "reason": why})
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}
