// Package e2e tests the gateway end to end: a real HTTP server with the real
// router, model manager and llama.cpp engine, driven by real OpenAI clients.
package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/llamagate/llamagate/backends/llamacpp"
	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/internal/testmodels"
	"github.com/llamagate/llamagate/models"
	"github.com/llamagate/llamagate/router"
)

const (
	storiesID   = "stories260K"
	storyPrompt = "Once upon a time"
	waitTimeout = 60 * time.Second
)

// gateway is a running test server and the engines it loaded.
type gateway struct {
	t       *testing.T
	srv     *httptest.Server
	mgr     *models.Manager
	mu      sync.Mutex
	engines map[string]*llamacpp.Model
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startGateway serves stories260K (and any extra specs) on a loopback
// httptest server.
func startGateway(t *testing.T, extra ...models.Spec) *gateway {
	t.Helper()
	path := testmodels.Stories260K(t)
	g := &gateway{t: t, engines: map[string]*llamacpp.Model{}}
	specs := append([]models.Spec{{ID: storiesID, Path: path, Threads: 2, Parallel: 2, CtxSize: 512}}, extra...)
	for i := range specs {
		if specs[i].TTL == 0 {
			specs[i].TTL = -1 // stay loaded: tests inspect engines after requests
		}
	}
	loader := func(ctx context.Context, s models.Spec, _ func(float64)) (engine.Engine, error) {
		m, err := llamacpp.Load(ctx, llamacpp.Options{Path: s.Path, Threads: s.Threads, Parallel: s.Parallel, CtxSize: s.CtxSize, Logger: quietLogger()})
		if err != nil {
			return nil, err
		}
		g.mu.Lock()
		g.engines[s.ID] = m
		g.mu.Unlock()
		return m, nil
	}
	g.mgr = models.NewManager(specs, models.Options{Loader: loader, Logger: quietLogger()})
	g.srv = httptest.NewServer(router.New(router.Config{Logger: quietLogger()}, g.mgr))
	t.Cleanup(func() {
		g.srv.Close()
		g.mgr.Close()
	})
	return g
}

func (g *gateway) client() *goopenai.Client {
	cfg := goopenai.DefaultConfig("unused")
	cfg.BaseURL = g.srv.URL + "/v1"
	return goopenai.NewClientWithConfig(cfg)
}

// engine returns the loaded engine of a model (after a request loaded it).
func (g *gateway) engine(id string) *llamacpp.Model {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.engines[id]
	if m == nil {
		g.t.Fatalf("model %s is not loaded", id)
	}
	return m
}

func (g *gateway) waitIdle(id string) {
	g.t.Helper()
	select {
	case <-g.engine(id).Idle():
	case <-time.After(waitTimeout):
		g.t.Fatalf("model %s did not become idle: %+v", id, g.engine(id).Stats())
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}
