package models

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"

	"github.com/llamagate/llamagate/engine"
)

// Loader loads a model into a backend. It runs without any manager lock
// held. progress, if the backend reports it, receives the load's progress
// from 0 to 1.
type Loader func(ctx context.Context, spec Spec, progress func(float64)) (engine.Engine, error)

// MemoryReporter is implemented by engines that can say how much memory
// they hold once loaded.
type MemoryReporter interface {
	MemoryBytes() int64
}

// Occupancy is implemented by engines that can say how busy their slots
// are.
type Occupancy interface {
	Occupancy() (busy, queued int)
}

// NotFoundError is returned for a name the registry does not know.
type NotFoundError struct{ ID string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("model %q not found", e.ID) }

// LoadError wraps the cause of a failed load. RetryAfter is set while the
// model is in its back-off after a failure.
type LoadError struct {
	ID         string
	Err        error
	RetryAfter time.Duration
}

func (e *LoadError) Error() string {
	msg := fmt.Sprintf("loading model %q failed: %v", e.ID, e.Err)
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (next attempt allowed in %s)", e.RetryAfter.Round(time.Second))
	}
	return msg
}
func (e *LoadError) Unwrap() error { return e.Err }

// ErrRemote is returned by Acquire for a model served by another server:
// there is nothing to load; the router forwards its requests.
var ErrRemote = errors.New("the model is served by a remote upstream")

// CapacityError says a model could not be loaded because the models that
// would have to make room stayed busy, or the wait queue was full.
type CapacityError struct {
	ID         string
	Reason     string
	RetryAfter time.Duration
}

func (e *CapacityError) Error() string {
	return fmt.Sprintf("no room to load model %q: %s", e.ID, e.Reason)
}

// Options configure a Manager. Zero values mean the documented defaults.
type Options struct {
	Loader       Loader
	MaxLoaded    int           // models loaded at once; 0: 3
	MemoryBudget int64         // bytes of estimated memory; 0: no bound
	GPUs         []GPU         // the GPUs models may be placed on, with their budgets (fit.go)
	MaxWaiting   int           // requests waiting for room; 0: 64
	MaxWait      time.Duration // longest wait for room; 0: 60s
	RetryBackoff time.Duration // pause after a failed load, doubling to 1m; 0: 2s
	Clock        Clock         // nil: the real clock
	Logger       *slog.Logger
	// OnEvict, if set, is called (without locks) when a model unloads,
	// with the reason: lru, ttl, idle, admin, reload, removed or shutdown.
	OnEvict func(id, reason string)
	// OnLoad, if set, is called (without locks) when a load ends.
	OnLoad func(id string, d time.Duration, err error)
}

const maxRetryBackoff = time.Minute

// Manager is the registry of servable models and the cache of loaded ones.
// It loads models on demand, hands out leases, and unloads idle models by
// LRU order, idle TTL, count and memory budget.
//
// Invariant: mu guards every field below it and is never held while a
// model loads or closes, so a load never delays requests to other models.
// An entry with leases > 0, or a pinned one, is never unloaded by the
// policy (only an admin force-unload or shutdown closes it). Every entry
// in entries is loading or loaded; an unloading one has left entries and
// sits in unloading until its engine is closed, and no load starts before
// every earlier unload has finished, so memory is freed before it is
// taken again.
type Manager struct {
	opt Options
	log *slog.Logger

	mu        sync.Mutex
	specs     map[string]Spec   // id → spec
	names     map[string]string // id or alias → id
	entries   map[string]*entry // loading or loaded, by id
	unloading map[*entry]struct{}
	recency   *simplelru.LRU[string, struct{}] // loaded ids, least recent first
	queue     []*waiter                        // requests waiting for room, FIFO
	failures  map[string]failure
	evictions map[string]int // by reason
	closed    bool

	notify func() // test hook: called under mu after every state change
}

type state int

const (
	stateLoading state = iota
	stateLoaded
	stateUnloading
)

func (s state) String() string {
	return [...]string{"loading", "loaded", "unloading"}[s]
}

type entry struct {
	id    string // immutable; spec may be updated in place
	spec  Spec
	state state
	ready chan struct{} // closed when the load ended (eng or err set)
	done  chan struct{} // closed when the engine is closed after an unload
	eng   engine.Engine
	err   error

	leases      int
	retiring    string // non-empty: takes no new leases, unloads when idle (the reason)
	lastUsed    time.Time
	loadStarted time.Time
	loadedAt    time.Time
	progress    float64
	actual      int64
	timer       Timer
}

// memory is what the entry counts against the RAM budget. The measured
// size counts weights and KV wherever they are, so with GPU layers the
// placement's RAM part stands alone.
func (e *entry) memory() int64 {
	if e.spec.Placement.OnGPU() {
		return e.spec.Placement.RAM
	}
	return max(e.spec.Meta.Estimate, e.actual)
}

type waiter struct {
	id    string
	since time.Time
	// ch is closed once the waiter is settled: e set (a lease counted) or
	// err set.
	ch  chan struct{}
	e   *entry
	err error
}

type failure struct {
	err     error
	until   time.Time
	backoff time.Duration
}

// NewManager returns a manager serving specs.
func NewManager(specs []Spec, opt Options) *Manager {
	if opt.MaxLoaded <= 0 {
		opt.MaxLoaded = 3
	}
	if opt.MaxWaiting <= 0 {
		opt.MaxWaiting = 64
	}
	if opt.MaxWait <= 0 {
		opt.MaxWait = 60 * time.Second
	}
	if opt.RetryBackoff <= 0 {
		opt.RetryBackoff = 2 * time.Second
	}
	if opt.Clock == nil {
		opt.Clock = realClock{}
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	recency, _ := simplelru.NewLRU[string, struct{}](1<<20, nil)
	m := &Manager{
		opt: opt, log: opt.Logger,
		entries: map[string]*entry{}, unloading: map[*entry]struct{}{},
		recency: recency, failures: map[string]failure{}, evictions: map[string]int{},
	}
	m.setSpecsLocked(specs)
	return m
}

func (m *Manager) setSpecsLocked(specs []Spec) {
	m.specs, m.names = map[string]Spec{}, map[string]string{}
	for _, s := range specs {
		m.specs[s.ID] = s
	}
	// Ids win over aliases; among aliases the first spec (by id) wins.
	ids := make([]string, 0, len(m.specs))
	for id := range m.specs {
		ids = append(ids, id)
		m.names[id] = id
	}
	sort.Strings(ids)
	for _, id := range ids {
		for _, a := range m.specs[id].Aliases {
			if _, taken := m.names[a]; !taken {
				m.names[a] = id
			}
		}
	}
}

// Lease is a request's hold on a loaded model; the model is not unloaded
// while a lease is open. Release must be called once the request ends.
type Lease struct {
	m    *Manager
	e    *entry
	spec Spec
	once sync.Once
}

// Engine returns the leased model's engine.
func (l *Lease) Engine() engine.Engine { return l.e.eng }

// Spec returns the leased model's settings as they were when leased.
func (l *Lease) Spec() Spec { return l.spec }

// ID returns the leased model's id (never an alias).
func (l *Lease) ID() string { return l.spec.ID }

// Release ends the lease.
func (l *Lease) Release() { l.once.Do(func() { l.m.release(l.e) }) }

// Resolve returns the id a model name (id or alias) stands for.
func (m *Manager) Resolve(name string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.names[name]
	return id, ok
}

// Acquire returns a lease on the model named name (an id or an alias),
// loading it first if needed. Concurrent requests for a cold model share
// one load. A request for a loaded model never waits on anything else.
func (m *Manager) Acquire(ctx context.Context, name string) (*Lease, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, engine.ErrClosed
	}
	id, ok := m.names[name]
	if !ok {
		m.mu.Unlock()
		return nil, &NotFoundError{ID: name}
	}
	if m.specs[id].Remote != nil {
		m.mu.Unlock()
		return nil, ErrRemote
	}
	if e := m.entries[id]; e != nil && e.retiring == "" {
		m.attachLocked(e)
		m.mu.Unlock()
		return m.await(ctx, e)
	}
	now := m.opt.Clock.Now()
	if f, ok := m.failures[id]; ok && now.Before(f.until) {
		m.mu.Unlock()
		return nil, &LoadError{ID: id, Err: f.err, RetryAfter: f.until.Sub(now)}
	}
	if len(m.queue) >= m.opt.MaxWaiting {
		m.mu.Unlock()
		return nil, &CapacityError{ID: id, Reason: fmt.Sprintf("%d requests already wait for models to load", len(m.queue)), RetryAfter: time.Second}
	}
	w := &waiter{id: id, since: now, ch: make(chan struct{})}
	m.queue = append(m.queue, w)
	m.kickLocked()
	m.mu.Unlock()

	expired := make(chan struct{})
	t := m.opt.Clock.AfterFunc(m.opt.MaxWait, func() { close(expired) })
	defer t.Stop()
	var cause error
	select {
	case <-w.ch:
	case <-ctx.Done():
		cause = ctx.Err()
	case <-expired:
		cause = &CapacityError{ID: id, Reason: fmt.Sprintf("every loaded model stayed busy for %s", m.opt.MaxWait), RetryAfter: time.Second}
	}
	if cause != nil {
		m.mu.Lock()
		settled := w.e != nil || w.err != nil
		if !settled {
			m.queue = slices.DeleteFunc(m.queue, func(x *waiter) bool { return x == w })
			w.err = cause
		}
		m.mu.Unlock()
		if settled && w.e != nil {
			// The load was started for us just as we gave up.
			m.release(w.e)
		}
		return nil, cause
	}
	if w.err != nil {
		return nil, w.err
	}
	return m.await(ctx, w.e)
}

// attachLocked counts a lease on e and marks it used.
func (m *Manager) attachLocked(e *entry) {
	defer m.changedLocked()
	e.leases++
	e.lastUsed = m.opt.Clock.Now()
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
	if e.state == stateLoaded {
		m.recency.Get(e.id)
	}
}

// await waits for e's load to end and returns a lease on it; the lease is
// already counted.
func (m *Manager) await(ctx context.Context, e *entry) (*Lease, error) {
	select {
	case <-e.ready:
	case <-ctx.Done():
		m.release(e)
		return nil, ctx.Err()
	}
	if e.err != nil {
		m.release(e)
		return nil, &LoadError{ID: e.id, Err: e.err}
	}
	m.mu.Lock()
	spec := e.spec
	m.mu.Unlock()
	return &Lease{m: m, e: e, spec: spec}, nil
}

func (m *Manager) release(e *entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	defer m.changedLocked()
	e.leases--
	e.lastUsed = m.opt.Clock.Now()
	if e.leases > 0 || e.state != stateLoaded || m.entries[e.id] != e {
		return
	}
	m.idleLocked(e)
	m.kickLocked()
}

// idleLocked applies the idle rules to a loaded entry whose last lease
// ended: retire it, unload it at once (ttl 0), or arm its TTL.
func (m *Manager) idleLocked(e *entry) {
	switch {
	case e.retiring != "":
		m.unloadLocked(e, e.retiring)
	case e.spec.Pinned || e.spec.TTL < 0:
	case e.spec.TTL == 0:
		m.unloadLocked(e, "idle")
	default:
		ttl := e.spec.TTL
		e.timer = m.opt.Clock.AfterFunc(ttl, func() { m.expire(e, ttl) })
	}
}

func (m *Manager) expire(e *entry, ttl time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entries[e.id] != e || e.leases > 0 || e.state != stateLoaded || e.spec.Pinned || e.spec.TTL != ttl {
		return // busy, gone, or its TTL changed on a reload (which re-armed it)
	}
	if m.opt.Clock.Now().Sub(e.lastUsed) < ttl {
		return // used again since the timer was armed
	}
	m.unloadLocked(e, "ttl")
	m.kickLocked()
}

// unloadLocked takes e out of service and closes its engine in the
// background; waiting loads start once it is closed.
func (m *Manager) unloadLocked(e *entry, reason string) {
	if m.entries[e.id] == e {
		delete(m.entries, e.id)
	}
	m.recency.Remove(e.id)
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
	e.state = stateUnloading
	m.unloading[e] = struct{}{}
	m.evictions[reason]++
	m.log.Info("unloading model", "model", e.id, "reason", reason, "leases", e.leases)
	eng := e.eng
	go func() {
		start := time.Now()
		if eng != nil {
			if err := eng.Close(); err != nil {
				m.log.Warn("closing model", "model", e.id, "err", err)
			}
		}
		m.log.Info("model unloaded", "model", e.id, "reason", reason, "duration", time.Since(start).Round(time.Millisecond))
		if m.opt.OnEvict != nil {
			m.opt.OnEvict(e.id, reason)
		}
		m.mu.Lock()
		delete(m.unloading, e)
		m.kickLocked()
		m.mu.Unlock()
		close(e.done)
	}()
}

// kickLocked settles waiting requests: first every waiter whose model is
// loading or loaded (they need no room), then loads in arrival order. A
// load that cannot find room yet blocks the loads behind it, so no waiter
// starves; all waiters of the model a load starts for ride on that load.
func (m *Manager) kickLocked() {
	defer m.changedLocked()
	if m.closed {
		return
	}
	m.queue = slices.DeleteFunc(m.queue, func(w *waiter) bool {
		if e := m.entries[w.id]; e != nil && e.retiring == "" {
			m.settleLocked(w, e, nil)
			return true
		}
		return false
	})
	// Waiters whose model is still retiring (unloading before a reload)
	// are passed over: they wait for that unload, not for room, so they
	// must not hold back loads behind them.
	skip := map[string]bool{}
	for {
		i := slices.IndexFunc(m.queue, func(w *waiter) bool { return !skip[w.id] })
		if i < 0 {
			return
		}
		id := m.queue[i].id
		spec, known := m.specs[id]
		now := m.opt.Clock.Now()
		var fail error
		switch f, failed := m.failures[id]; {
		case !known:
			fail = &NotFoundError{ID: id}
		case spec.Remote != nil:
			fail = ErrRemote // it became remote on a reload while this request waited
		case failed && now.Before(f.until):
			fail = &LoadError{ID: id, Err: f.err, RetryAfter: f.until.Sub(now)}
		}
		if fail == nil {
			if e := m.entries[id]; e != nil {
				skip[id] = true
				continue
			}
			p, perr := m.placeLocked(spec)
			spec.Placement = p
			victims, ok, never := planRoom(m.residentLocked(), p.RAM, m.limits(), p.GPU...)
			if perr != nil {
				fail = &LoadError{ID: id, Err: perr}
			} else if never {
				fail = &LoadError{ID: id, Err: m.tooBigError(p)}
			} else if !ok {
				return // no room yet: loads start in arrival order
			} else {
				for _, v := range victims {
					m.unloadLocked(m.entries[v], "lru")
				}
				e := m.startLoadLocked(spec)
				m.queue = slices.DeleteFunc(m.queue, func(w *waiter) bool {
					if w.id == id {
						m.settleLocked(w, e, nil)
						return true
					}
					return false
				})
				continue
			}
		}
		m.queue = slices.DeleteFunc(m.queue, func(w *waiter) bool {
			if w.id == id {
				m.settleLocked(w, nil, fail)
				return true
			}
			return false
		})
	}
}

func (m *Manager) changedLocked() {
	if m.notify != nil {
		m.notify()
	}
}

func (m *Manager) settleLocked(w *waiter, e *entry, err error) {
	if e != nil {
		m.attachLocked(e)
	}
	w.e, w.err = e, err
	close(w.ch)
}

func (m *Manager) limits() limits {
	lim := limits{MaxLoaded: m.opt.MaxLoaded, Budget: m.opt.MemoryBudget}
	for _, g := range m.opt.GPUs {
		lim.GPUBudgets = append(lim.GPUBudgets, max(g.Budget, 1))
	}
	return lim
}

// residentLocked lists loading and loaded models, least recently used
// first (loading ones last: they are the most recent).
func (m *Manager) residentLocked() []candidate {
	var out []candidate
	for _, id := range m.recency.Keys() {
		e := m.entries[id]
		out = append(out, candidate{ID: id, Memory: e.memory(), GPU: e.spec.Placement.GPU, Busy: e.leases > 0 || e.spec.Pinned, Pinned: e.spec.Pinned})
	}
	for id, e := range m.entries {
		if e.state == stateLoading {
			out = append(out, candidate{ID: id, Memory: e.memory(), GPU: e.spec.Placement.GPU, Busy: true, Pinned: e.spec.Pinned})
		}
	}
	return out
}

// startLoadLocked creates a loading entry for spec and loads it in the
// background once every unload in progress has freed its memory.
func (m *Manager) startLoadLocked(spec Spec) *entry {
	e := &entry{id: spec.ID, spec: spec, state: stateLoading, ready: make(chan struct{}), done: make(chan struct{}), loadStarted: m.opt.Clock.Now()}
	m.entries[spec.ID] = e
	var prior []chan struct{}
	for u := range m.unloading {
		prior = append(prior, u.done)
	}
	go m.load(e, spec, prior)
	return e
}

func (m *Manager) load(e *entry, spec Spec, prior []chan struct{}) {
	for _, ch := range prior {
		<-ch
	}
	m.mu.Lock()
	if m.closed {
		// Shut down while waiting for memory: do not load at all.
		if m.entries[e.id] == e {
			delete(m.entries, e.id)
		}
		e.err = engine.ErrClosed
		close(e.ready)
		close(e.done)
		m.mu.Unlock()
		return
	}
	m.mu.Unlock()
	start := time.Now()
	m.log.Info("loading model", "model", spec.ID, "path", spec.Path, "estimate", formatBytes(spec.Meta.Estimate), "placement", spec.Placement)
	eng, err := m.opt.Loader(context.Background(), spec, func(p float64) {
		m.mu.Lock()
		e.progress = p
		m.mu.Unlock()
	})
	m.mu.Lock()
	now := m.opt.Clock.Now()
	if err != nil {
		if m.entries[e.id] == e {
			delete(m.entries, e.id)
		}
		e.err = err
		if cur, ok := m.specs[e.id]; ok && !spec.needsReload(cur) {
			f := m.failures[e.id]
			f.backoff = min(max(f.backoff*2, m.opt.RetryBackoff), maxRetryBackoff)
			f.err, f.until = err, now.Add(f.backoff)
			m.failures[e.id] = f
			m.log.Error("model load failed", "model", e.id, "err", err, "retry_after", f.backoff)
		} else {
			// The file or settings changed while it loaded: the new
			// version gets its own try, without a back-off.
			m.log.Error("model load failed; its configuration has changed since", "model", e.id, "err", err)
		}
	} else {
		delete(m.failures, e.id)
		e.eng, e.state, e.loadedAt, e.progress = eng, stateLoaded, now, 1
		if r, ok := eng.(MemoryReporter); ok {
			e.actual = r.MemoryBytes()
		}
		m.recency.Add(e.id, struct{}{})
		m.log.Info("model loaded", "model", e.id, "duration", time.Since(start).Round(time.Millisecond),
			"estimate", formatBytes(e.spec.Meta.Estimate), "actual", formatBytes(e.actual))
	}
	closed := m.closed
	close(e.ready)
	if err != nil {
		close(e.done) // nothing to unload
	}
	if err == nil && !closed && e.leases == 0 {
		// Everyone who waited for it gave up, or it was an admin load.
		m.idleLocked(e)
	}
	m.kickLocked()
	m.mu.Unlock()
	if m.opt.OnLoad != nil {
		m.opt.OnLoad(e.id, time.Since(start), err)
	}
	if err == nil && closed {
		eng.Close()
	}
}

// Update replaces the registry. New models become servable at once;
// removed ones stop taking requests and unload once idle; a model whose
// file or load settings changed finishes its requests and is reloaded by
// the next request. Aliases, TTL, pinning and sampling defaults apply at
// once.
func (m *Manager) Update(specs []Spec) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.setSpecsLocked(specs)
	for id, e := range m.entries {
		ns, ok := m.specs[id]
		reason := ""
		switch {
		case !ok:
			reason = "removed"
		case e.spec.needsReload(ns):
			reason = "reload"
			delete(m.failures, id)
		default:
			ns.Placement = e.spec.Placement // the loaded model stays where it is
			ttlChanged := ns.TTL != e.spec.TTL || ns.Pinned != e.spec.Pinned
			e.spec = ns
			if e.retiring == "removed" || e.retiring == "reload" {
				e.retiring = "" // restored to the version that is loaded
			}
			if ttlChanged && e.state == stateLoaded && e.leases == 0 && e.retiring == "" {
				if e.timer != nil {
					e.timer.Stop()
					e.timer = nil
				}
				m.idleLocked(e)
			}
			continue
		}
		e.retiring = reason
		if e.state == stateLoaded && e.leases == 0 {
			m.unloadLocked(e, reason)
		}
	}
	for id := range m.failures {
		if _, ok := m.specs[id]; !ok {
			delete(m.failures, id)
		}
	}
	m.kickLocked()
}

// Load makes sure a model is loaded, as a request would, without keeping
// a lease.
func (m *Manager) Load(ctx context.Context, name string) error {
	l, err := m.Acquire(ctx, name)
	if err != nil {
		return err
	}
	l.Release()
	return nil
}

// Unload takes a model out of service. Without force it waits until the
// requests using it end (new ones wait for it to load again); with force it
// closes the engine at once and those requests end with engine.ErrClosed.
// It returns when the engine is closed, or when ctx ends.
func (m *Manager) Unload(ctx context.Context, name string, force bool) error {
	m.mu.Lock()
	id, ok := m.names[name]
	if !ok {
		m.mu.Unlock()
		return &NotFoundError{ID: name}
	}
	e := m.entries[id]
	if e == nil {
		m.mu.Unlock()
		return nil
	}
	e.retiring = "admin"
	if e.state == stateLoaded && (e.leases == 0 || force) {
		m.unloadLocked(e, "admin")
	}
	m.kickLocked()
	m.mu.Unlock()
	// A model still loading unloads as soon as its load ends and the
	// requests waiting for it are done.
	select {
	case <-e.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Start loads the pinned models. It returns when they are loaded or have
// failed, with the failures joined.
func (m *Manager) Start(ctx context.Context) error {
	m.mu.Lock()
	var pinned []string
	for id, s := range m.specs {
		if s.Pinned && s.Remote == nil {
			pinned = append(pinned, id)
		}
	}
	m.mu.Unlock()
	sort.Strings(pinned)
	errs := make([]error, len(pinned))
	var wg sync.WaitGroup
	for i, id := range pinned {
		wg.Go(func() { errs[i] = m.Load(ctx, id) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Status describes one known model.
type Status struct {
	Spec        Spec
	State       string // unloaded | loading | loaded | unloading
	LoadedAt    time.Time
	LastUsed    time.Time
	Leases      int
	Waiting     int     // requests waiting for room to load it
	Progress    float64 // of a load in progress, 0..1
	Memory      int64   // measured after load (0 until then)
	LastError   string  // of the last failed load
	RetryAfter  time.Duration
	Retiring    string // why it unloads once idle, if it does
	LoadStarted time.Time
	SlotsBusy   int // of a loaded model whose engine reports it
	SlotsTotal  int
	Queued      int // requests waiting for a slot
}

// List returns every known model, sorted by id.
func (m *Manager) List() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, 0, len(m.specs))
	for id := range m.specs {
		out = append(out, m.statusLocked(id))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec.ID < out[j].Spec.ID })
	return out
}

// Spec returns the settings of the model named name (id or alias). It is
// the cheap lookup for the request path; Get also gathers the model's
// cache state.
func (m *Manager) Spec(name string) (Spec, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.names[name]
	if !ok {
		return Spec{}, false
	}
	return m.specs[id], true
}

// Get returns the status of the model named name (id or alias).
func (m *Manager) Get(name string) (Status, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.names[name]
	if !ok {
		return Status{}, false
	}
	return m.statusLocked(id), true
}

func (m *Manager) statusLocked(id string) Status {
	st := Status{Spec: m.specs[id], State: "unloaded"}
	if st.Spec.Remote != nil {
		st.State = "remote"
		return st
	}
	for u := range m.unloading {
		if u.spec.ID == id {
			st.State = "unloading"
		}
	}
	if e := m.entries[id]; e != nil {
		st.State, st.Leases, st.LastUsed, st.Progress, st.Retiring = e.state.String(), e.leases, e.lastUsed, e.progress, e.retiring
		st.LoadedAt, st.Memory, st.LoadStarted = e.loadedAt, e.actual, e.loadStarted
		if e.state == stateLoaded {
			st.SlotsTotal = e.eng.Info().Parallel
			if o, ok := e.eng.(Occupancy); ok {
				st.SlotsBusy, st.Queued = o.Occupancy()
			}
		}
	}
	for _, w := range m.queue {
		if w.id == id {
			st.Waiting++
		}
	}
	if f, ok := m.failures[id]; ok {
		st.LastError = f.err.Error()
		if now := m.opt.Clock.Now(); now.Before(f.until) {
			st.RetryAfter = f.until.Sub(now)
		}
	}
	return st
}

// Evictions returns how many unloads happened, by reason.
func (m *Manager) Evictions() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.evictions))
	for k, v := range m.evictions {
		out[k] = v
	}
	return out
}

// Close unloads every model; open streams end with engine.ErrClosed and
// waiting requests get engine.ErrClosed.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	for _, w := range m.queue {
		w.err = engine.ErrClosed
		close(w.ch)
	}
	m.queue = nil
	var wait []chan struct{}
	for _, e := range m.entries {
		if e.state == stateLoaded {
			m.unloadLocked(e, "shutdown")
		}
	}
	for u := range m.unloading {
		wait = append(wait, u.done)
	}
	m.mu.Unlock()
	for _, ch := range wait {
		<-ch
	}
	return nil
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
