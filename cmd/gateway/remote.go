package main

import (
	"context"
	"net/http"
	"sync"

	"github.com/llamagate/llamagate/backends/remote"
	"github.com/llamagate/llamagate/models"
)

// upstreams keeps one HTTP client (with its connection pool) per remote
// model, made on first use and replaced when the model's upstream settings
// change on a reload.
type upstreams struct {
	mu      sync.Mutex
	clients map[string]upstreamClient
}

type upstreamClient struct {
	cfg models.Remote
	c   *remote.Client
}

func newUpstreams() *upstreams { return &upstreams{clients: map[string]upstreamClient{}} }

func (u *upstreams) client(spec models.Spec) (*remote.Client, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if uc, ok := u.clients[spec.ID]; ok {
		if uc.cfg == *spec.Remote {
			return uc.c, nil
		}
		uc.c.Close()
	}
	r := spec.Remote
	c, err := remote.New(remote.Config{
		BaseURL: r.BaseURL, APIKey: r.APIKey, Model: r.Model,
		ConnectTimeout: r.ConnectTimeout, FirstByteTimeout: r.FirstByte, Timeout: r.Timeout,
		StreamUsage: true, // usage counts against the key's token limit
	})
	if err != nil {
		return nil, err
	}
	u.clients[spec.ID] = upstreamClient{cfg: *r, c: c}
	return c, nil
}

// forward is the router's Forwarder.
func (u *upstreams) forward(ctx context.Context, spec models.Spec, endpoint string, body []byte, showModel string, w http.ResponseWriter) (int, int, error) {
	c, err := u.client(spec)
	if err != nil {
		return 0, 0, err
	}
	usage, err := c.Forward(ctx, endpoint, body, showModel, w)
	return usage.PromptTokens, usage.CompletionTokens, err
}

func (u *upstreams) close() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, uc := range u.clients {
		uc.c.Close()
	}
}
