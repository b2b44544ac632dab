package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/llamagate/llamagate/engine"
)

// Loader loads a model into a backend. It runs without any manager lock
// held.
type Loader func(ctx context.Context, spec Spec) (engine.Engine, error)

// NotFoundError is returned for an id the registry does not know.
type NotFoundError struct{ ID string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("model %q not found", e.ID) }

// LoadError wraps the cause of a failed load.
type LoadError struct {
	ID  string
	Err error
}

func (e *LoadError) Error() string { return fmt.Sprintf("loading model %q failed: %v", e.ID, e.Err) }
func (e *LoadError) Unwrap() error { return e.Err }

// Manager loads models on demand and leases them to requests.
//
// Invariant: mu guards specs and entries and is never held while a model
// loads or closes, so a load never delays requests to other models. An entry
// with leases > 0 is never closed.
type Manager struct {
	log    *slog.Logger
	loader Loader

	mu      sync.Mutex
	specs   map[string]Spec
	entries map[string]*entry
	closed  bool
}

type entry struct {
	spec     Spec
	ready    chan struct{} // closed when the load ended (eng or err set)
	eng      engine.Engine
	err      error
	leases   int
	loadedAt time.Time
}

// NewManager returns a manager serving specs through loader.
func NewManager(specs []Spec, loader Loader, log *slog.Logger) *Manager {
	m := &Manager{log: log, loader: loader, specs: map[string]Spec{}, entries: map[string]*entry{}}
	for _, s := range specs {
		m.specs[s.ID] = s
	}
	return m
}

// Lease is a request's hold on a loaded model; the model is not unloaded
// while a lease is open. Release must be called once the request ends.
type Lease struct {
	m    *Manager
	e    *entry
	once sync.Once
}

// Engine returns the leased model's engine.
func (l *Lease) Engine() engine.Engine { return l.e.eng }

// Spec returns the leased model's settings.
func (l *Lease) Spec() Spec { return l.e.spec }

// ID returns the leased model's id.
func (l *Lease) ID() string { return l.e.spec.ID }

// Release ends the lease.
func (l *Lease) Release() {
	l.once.Do(func() {
		l.m.mu.Lock()
		l.e.leases--
		l.m.mu.Unlock()
	})
}

// Acquire returns a lease on model id, loading it first if needed.
// Concurrent requests for a cold model share one load.
func (m *Manager) Acquire(ctx context.Context, id string) (*Lease, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, engine.ErrClosed
	}
	spec, ok := m.specs[id]
	if !ok {
		m.mu.Unlock()
		return nil, &NotFoundError{ID: id}
	}
	e := m.entries[id]
	if e == nil {
		e = &entry{spec: spec, ready: make(chan struct{})}
		m.entries[id] = e
		go m.load(e)
	}
	e.leases++
	m.mu.Unlock()
	lease := &Lease{m: m, e: e}
	select {
	case <-e.ready:
	case <-ctx.Done():
		lease.Release()
		return nil, ctx.Err()
	}
	if e.err != nil {
		lease.Release()
		return nil, &LoadError{ID: id, Err: e.err}
	}
	return lease, nil
}

func (m *Manager) load(e *entry) {
	start := time.Now()
	m.log.Info("loading model", "model", e.spec.ID, "path", e.spec.Path)
	eng, err := m.loader(context.Background(), e.spec)
	m.mu.Lock()
	if err != nil {
		// Forget the failed entry so a later request tries again.
		if m.entries[e.spec.ID] == e {
			delete(m.entries, e.spec.ID)
		}
		e.err = err
	} else {
		e.eng, e.loadedAt = eng, time.Now()
	}
	closed := m.closed
	m.mu.Unlock()
	close(e.ready)
	if err != nil {
		m.log.Error("model load failed", "model", e.spec.ID, "err", err)
		return
	}
	m.log.Info("model loaded", "model", e.spec.ID, "duration", time.Since(start).Round(time.Millisecond))
	if closed {
		eng.Close()
	}
}

// Status describes one known model.
type Status struct {
	Spec     Spec
	State    string // unloaded | loading | loaded
	LoadedAt time.Time
	Leases   int
}

// List returns every known model, sorted by id.
func (m *Manager) List() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, 0, len(m.specs))
	for id, s := range m.specs {
		st := Status{Spec: s, State: "unloaded"}
		if e := m.entries[id]; e != nil {
			st.Leases = e.leases
			st.State = "loading"
			if e.eng != nil {
				st.State, st.LoadedAt = "loaded", e.loadedAt
			}
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec.ID < out[j].Spec.ID })
	return out
}

// Get returns the spec of a known model.
func (m *Manager) Get(id string) (Spec, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.specs[id]
	return s, ok
}

// Close unloads every loaded model; open streams end with engine.ErrClosed.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	var engines []engine.Engine
	for _, e := range m.entries {
		if e.eng != nil {
			engines = append(engines, e.eng)
		}
	}
	m.mu.Unlock()
	var errs []error
	for _, eng := range engines {
		errs = append(errs, eng.Close())
	}
	return errors.Join(errs...)
}
