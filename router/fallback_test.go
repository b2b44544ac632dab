package router

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llamagate/llamagate/config"
	"github.com/llamagate/llamagate/engine"
	"github.com/llamagate/llamagate/models"
)

func TestFallbackBeforeTheFirstToken(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	good := &fakeEngine{events: okEvents}
	busy := &fakeEngine{genErr: engine.ErrOverloaded}
	loader := func(_ context.Context, s models.Spec, _ func(float64)) (engine.Engine, error) {
		switch s.ID {
		case "broken":
			return nil, errors.New("bad magic")
		case "busy":
			return busy, nil
		}
		return good, nil
	}
	mgr := models.NewManager([]models.Spec{
		{ID: "broken", TTL: -1, Fallbacks: []string{"busy", "good"}},
		{ID: "busy", TTL: -1},
		{ID: "good", TTL: -1},
		{ID: "alone", TTL: -1, Fallbacks: nil},
	}, models.Options{Logger: log, Loader: loader})
	t.Cleanup(func() { mgr.Close() })
	kr, err := mustKeyring(config.APIKey{ID: "narrow", Hash: hashOf("narrow-secret-0123456789"), Models: []string{"broken", "busy"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Config{Logger: log, Keys: kr}, mgr))
	t.Cleanup(srv.Close)

	// broken fails to load, busy has no free slot, good answers: the
	// response says which model served it.
	for _, stream := range []string{"false", "true"} {
		resp, out := call(t, srv, "POST", "/v1/completions", "narrow-secret-0123456789", `{"model":"broken","prompt":"x","stream":`+stream+`}`)
		// The narrow key may not use good: it gets the last error it may see.
		if resp.StatusCode != 503 || errorCode(t, out) != "server_overloaded" {
			t.Fatalf("narrow key, stream %s: %d %s", stream, resp.StatusCode, out)
		}
	}
	kr2, _ := mustKeyring(config.APIKey{ID: "wide", Hash: hashOf("wide-secret-01234567890")})
	srv2 := httptest.NewServer(New(Config{Logger: log, Keys: kr2}, mgr))
	t.Cleanup(srv2.Close)
	for _, stream := range []string{"false", "true"} {
		resp, out := call(t, srv2, "POST", "/v1/completions", "wide-secret-01234567890", `{"model":"broken","prompt":"x","stream":`+stream+`}`)
		if resp.StatusCode != 200 || !strings.Contains(out, `"model":"good"`) || !strings.Contains(out, `hi`) {
			t.Fatalf("stream %s: %d %s", stream, resp.StatusCode, out)
		}
	}
	// Without fallbacks the model's own error comes back.
	resp, out := call(t, srv2, "POST", "/v1/completions", "wide-secret-01234567890", `{"model":"busy","prompt":"x"}`)
	if resp.StatusCode != 503 {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
}
