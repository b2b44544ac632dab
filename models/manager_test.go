package models

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/llamagate/llamagate/engine"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a Clock whose time moves only when a test advances it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves time on and runs the timers that became due, in order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	c.timers = slices.DeleteFunc(c.timers, func(t *fakeTimer) bool {
		if t.stopped {
			return true
		}
		if !t.at.After(c.now) {
			t.stopped = true
			due = append(due, t)
			return true
		}
		return false
	})
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

// fakeEngine stands for a loaded model.
type fakeEngine struct {
	id     string
	b      *fakeBackend
	closed chan struct{}
	once   sync.Once
}

func (e *fakeEngine) Generate(context.Context, engine.Request) (engine.Stream, error) {
	return nil, errors.New("fake")
}
func (e *fakeEngine) Tokenize(string, bool) ([]int, error) { return nil, nil }
func (e *fakeEngine) Detokenize([]int) (string, error)     { return "", nil }
func (e *fakeEngine) Info() engine.ModelInfo               { return engine.ModelInfo{} }
func (e *fakeEngine) MemoryBytes() int64                   { return 0 }
func (e *fakeEngine) Close() error {
	e.once.Do(func() {
		if g := e.b.closeGate; g != nil {
			<-g
		}
		e.b.mu.Lock()
		e.b.closes = append(e.b.closes, e.id)
		e.b.mu.Unlock()
		close(e.closed)
	})
	return nil
}

// fakeBackend loads fakeEngines. A load blocks while its model's gate is
// set and fails with the model's error if one is set.
type fakeBackend struct {
	mu        sync.Mutex
	loads     []string
	closes    []string
	gates     map[string]chan struct{}
	fail      map[string]error
	started   chan string // receives each load's id as it starts, if set
	closeGate chan struct{}
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{gates: map[string]chan struct{}{}, fail: map[string]error{}}
}

func (b *fakeBackend) load(_ context.Context, s Spec, _ func(float64)) (engine.Engine, error) {
	b.mu.Lock()
	b.loads = append(b.loads, s.ID)
	gate, err, started := b.gates[s.ID], b.fail[s.ID], b.started
	b.mu.Unlock()
	if started != nil {
		started <- s.ID
	}
	if gate != nil {
		<-gate
	}
	if err != nil {
		return nil, err
	}
	return &fakeEngine{id: s.ID, b: b, closed: make(chan struct{})}, nil
}

func (b *fakeBackend) loadCount(id string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, l := range b.loads {
		if l == id {
			n++
		}
	}
	return n
}

func (b *fakeBackend) closed() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.closes)
}

type harness struct {
	t       *testing.T
	m       *Manager
	b       *fakeBackend
	clock   *fakeClock
	changes chan struct{}
}

func newHarness(t *testing.T, opt Options, specs ...Spec) *harness {
	t.Helper()
	h := &harness{t: t, b: newFakeBackend(), clock: newFakeClock(), changes: make(chan struct{}, 1)}
	opt.Loader, opt.Clock = h.b.load, h.clock
	opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	h.m = NewManager(specs, opt)
	h.m.notify = func() {
		select {
		case h.changes <- struct{}{}:
		default:
		}
	}
	t.Cleanup(func() {
		h.m.Close()
	})
	return h
}

// until waits, driven by the manager's change notifications, for cond.
func (h *harness) until(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-h.changes:
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s; models: %+v", what, h.m.List())
		}
	}
}

func (h *harness) state(id string) string {
	st, _ := h.m.Get(id)
	return st.State
}

func (h *harness) waiting(id string) int {
	st, _ := h.m.Get(id)
	return st.Waiting
}

func (h *harness) acquire(id string) *Lease {
	h.t.Helper()
	l, err := h.m.Acquire(context.Background(), id)
	if err != nil {
		h.t.Fatalf("acquire %s: %v", id, err)
	}
	return l
}

// acquireAsync starts an Acquire and returns its result channel.
func (h *harness) acquireAsync(ctx context.Context, id string) chan acquired {
	ch := make(chan acquired, 1)
	go func() {
		l, err := h.m.Acquire(ctx, id)
		ch <- acquired{l, err}
	}()
	return ch
}

type acquired struct {
	l   *Lease
	err error
}

func spec(id string, mem int64) Spec {
	return Spec{ID: id, Path: "/models/" + id + ".gguf", TTL: 5 * time.Minute, Meta: Meta{Estimate: mem}}
}

func TestPlanRoom(t *testing.T) {
	c := func(id string, mem int64, busy bool) candidate { return candidate{ID: id, Memory: mem, Busy: busy} }
	for _, tc := range []struct {
		name     string
		resident []candidate
		need     int64
		lim      limits
		victims  []string
		ok       bool
		never    bool
	}{
		{"empty", nil, 10, limits{MaxLoaded: 1, Budget: 100}, nil, true, false},
		{"fits", []candidate{c("a", 10, false)}, 10, limits{MaxLoaded: 3, Budget: 100}, nil, true, false},
		{"count evicts oldest", []candidate{c("a", 1, false), c("b", 1, false)}, 1, limits{MaxLoaded: 2}, []string{"a"}, true, false},
		{"busy skipped", []candidate{c("a", 1, true), c("b", 1, false)}, 1, limits{MaxLoaded: 2}, []string{"b"}, true, false},
		{"all busy", []candidate{c("a", 1, true), c("b", 1, true)}, 1, limits{MaxLoaded: 2}, nil, false, false},
		{"budget evicts as few as needed", []candidate{c("a", 30, false), c("b", 30, false), c("c", 30, false)}, 50, limits{MaxLoaded: 9, Budget: 100}, []string{"a", "b"}, true, false},
		{"budget busy", []candidate{c("a", 60, true), c("b", 30, false)}, 50, limits{MaxLoaded: 9, Budget: 100}, nil, false, false},
		{"too big ever", nil, 101, limits{MaxLoaded: 9, Budget: 100}, nil, false, true},
		{"no limits", []candidate{c("a", 1e12, false)}, 1e12, limits{}, nil, true, false},
		{"pinned fill the count", []candidate{{ID: "p", Memory: 1, Busy: true, Pinned: true}}, 1, limits{MaxLoaded: 1}, nil, false, true},
		{"pinned fill the budget", []candidate{{ID: "p", Memory: 60, Busy: true, Pinned: true}, c("b", 30, true)}, 50, limits{Budget: 100}, nil, false, true},
		{"busy but unpinned: wait", []candidate{{ID: "p", Memory: 40, Busy: true, Pinned: true}, c("b", 30, true)}, 50, limits{Budget: 100}, nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok, never := planRoom(tc.resident, tc.need, tc.lim)
			if !slices.Equal(v, tc.victims) || ok != tc.ok || never != tc.never {
				t.Fatalf("planRoom = %v %v %v, want %v %v %v", v, ok, never, tc.victims, tc.ok, tc.never)
			}
		})
	}
}

func TestConcurrentRequestsShareOneLoad(t *testing.T) {
	h := newHarness(t, Options{}, spec("a", 1))
	gate := make(chan struct{})
	h.b.gates["a"] = gate
	var chans []chan acquired
	for range 8 {
		chans = append(chans, h.acquireAsync(context.Background(), "a"))
	}
	h.until("8 leases on the loading model", func() bool { st, _ := h.m.Get("a"); return st.Leases == 8 })
	close(gate)
	for _, ch := range chans {
		r := <-ch
		if r.err != nil {
			t.Fatal(r.err)
		}
		r.l.Release()
	}
	if n := h.b.loadCount("a"); n != 1 {
		t.Fatalf("%d loads, want 1", n)
	}
}

func TestFailedLoadFailsAllWaitersThenBacksOff(t *testing.T) {
	h := newHarness(t, Options{RetryBackoff: 2 * time.Second}, spec("a", 1))
	gate := make(chan struct{})
	h.b.gates["a"] = gate
	h.b.fail["a"] = errors.New("bad magic")
	var chans []chan acquired
	for range 3 {
		chans = append(chans, h.acquireAsync(context.Background(), "a"))
	}
	h.until("3 leases", func() bool { st, _ := h.m.Get("a"); return st.Leases == 3 })
	close(gate)
	for _, ch := range chans {
		r := <-ch
		var le *LoadError
		if !errors.As(r.err, &le) || le.Err.Error() != "bad magic" {
			t.Fatalf("err = %v, want the load's cause", r.err)
		}
	}
	// Within the back-off the next request fails at once, without a load.
	_, err := h.m.Acquire(context.Background(), "a")
	var le *LoadError
	if !errors.As(err, &le) || le.RetryAfter != 2*time.Second {
		t.Fatalf("err = %v, want a LoadError with 2s retry", err)
	}
	if n := h.b.loadCount("a"); n != 1 {
		t.Fatalf("%d loads, want 1", n)
	}
	// After it the next request retries; a second failure doubles it.
	h.clock.Advance(2 * time.Second)
	if _, err := h.m.Acquire(context.Background(), "a"); !errors.As(err, &le) || le.RetryAfter != 0 {
		t.Fatalf("err = %v", err)
	}
	if n := h.b.loadCount("a"); n != 2 {
		t.Fatalf("%d loads, want 2", n)
	}
	if st, _ := h.m.Get("a"); st.RetryAfter != 4*time.Second || st.LastError != "bad magic" {
		t.Fatalf("status = %+v", st)
	}
	// A fixed file loads once the back-off is over, and the record clears.
	delete(h.b.fail, "a")
	h.clock.Advance(4 * time.Second)
	h.acquire("a").Release()
	if st, _ := h.m.Get("a"); st.State != "loaded" || st.LastError != "" {
		t.Fatalf("status = %+v", st)
	}
}

func TestLRUEvictsLeastRecentlyUsedIdleModel(t *testing.T) {
	h := newHarness(t, Options{MaxLoaded: 2}, spec("a", 1), spec("b", 1), spec("c", 1))
	h.acquire("a").Release()
	h.acquire("b").Release()
	h.acquire("a").Release() // a is now the most recent
	h.acquire("c").Release()
	h.until("b unloaded", func() bool { return h.state("b") == "unloaded" })
	if h.state("a") != "loaded" || h.state("c") != "loaded" {
		t.Fatalf("models: %+v", h.m.List())
	}
	if got := h.m.Evictions()["lru"]; got != 1 {
		t.Fatalf("lru evictions = %d", got)
	}
}

func TestMemoryBudgetEvictsUntilItFits(t *testing.T) {
	h := newHarness(t, Options{MaxLoaded: 10, MemoryBudget: 100}, spec("a", 40), spec("b", 40), spec("c", 70), spec("huge", 101))
	h.acquire("a").Release()
	h.acquire("b").Release()
	h.acquire("c").Release()
	h.until("a and b unloaded", func() bool { return h.state("a") == "unloaded" && h.state("b") == "unloaded" })
	_, err := h.m.Acquire(context.Background(), "huge")
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want a LoadError naming the budget", err)
	}
	if h.state("c") != "loaded" {
		t.Fatal("a model that can never fit evicted c")
	}
}

func TestBusyModelsAreNeverEvicted(t *testing.T) {
	h := newHarness(t, Options{MaxLoaded: 2, MaxWait: time.Minute}, spec("a", 1), spec("b", 1), spec("c", 1))
	la, lb := h.acquire("a"), h.acquire("b")
	ch := h.acquireAsync(context.Background(), "c")
	h.until("c waiting", func() bool { return h.waiting("c") == 1 })
	if len(h.b.closed()) != 0 {
		t.Fatal("a busy model was closed")
	}
	lb.Release() // b goes idle: c may now take its place
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	h.until("b unloaded", func() bool { return h.state("b") == "unloaded" })
	if h.state("a") != "loaded" {
		t.Fatal("the leased model a was unloaded")
	}
	r.l.Release()
	la.Release()
}

func TestWaitForRoomIsBounded(t *testing.T) {
	h := newHarness(t, Options{MaxLoaded: 1, MaxWait: 30 * time.Second, MaxWaiting: 2}, spec("a", 1), spec("b", 1), spec("c", 1))
	la := h.acquire("a")
	defer la.Release()
	ch := h.acquireAsync(context.Background(), "b")
	ch2 := h.acquireAsync(context.Background(), "c")
	h.until("two waiting", func() bool { return h.waiting("b") == 1 && h.waiting("c") == 1 })
	// The queue is full: the next one is refused at once.
	_, err := h.m.Acquire(context.Background(), "b")
	var ce *CapacityError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want CapacityError", err)
	}
	h.clock.Advance(30 * time.Second)
	for _, c := range []chan acquired{ch, ch2} {
		if r := <-c; !errors.As(r.err, &ce) || ce.RetryAfter <= 0 {
			t.Fatalf("err = %v, want CapacityError with RetryAfter", r.err)
		}
	}
	if h.waiting("b") != 0 || h.waiting("c") != 0 {
		t.Fatal("timed-out waiters stayed queued")
	}
}

func TestCancelledWaiterLeavesTheQueue(t *testing.T) {
	h := newHarness(t, Options{MaxLoaded: 1}, spec("a", 1), spec("b", 1))
	la := h.acquire("a")
	ctx, cancel := context.WithCancel(context.Background())
	ch := h.acquireAsync(ctx, "b")
	h.until("b waiting", func() bool { return h.waiting("b") == 1 })
	cancel()
	if r := <-ch; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v", r.err)
	}
	if h.waiting("b") != 0 {
		t.Fatal("cancelled waiter stayed queued")
	}
	la.Release()
	if h.b.loadCount("b") != 0 {
		t.Fatal("b loaded for a request that went away")
	}
}

func TestWaitersAreServedInOrderAndBatchedPerModel(t *testing.T) {
	h := newHarness(t, Options{MaxLoaded: 1}, spec("a", 1), spec("b", 1), spec("c", 1))
	la := h.acquire("a")
	b1 := h.acquireAsync(context.Background(), "b")
	h.until("b waiting", func() bool { return h.waiting("b") == 1 })
	c1 := h.acquireAsync(context.Background(), "c")
	h.until("c waiting", func() bool { return h.waiting("c") == 1 })
	b2 := h.acquireAsync(context.Background(), "b")
	h.until("second b waiting", func() bool { return h.waiting("b") == 2 })
	la.Release()
	// b arrived first: both b requests ride one load; c still waits.
	rb1, rb2 := <-b1, <-b2
	if rb1.err != nil || rb2.err != nil {
		t.Fatal(rb1.err, rb2.err)
	}
	if h.b.loadCount("b") != 1 || h.waiting("c") != 1 {
		t.Fatalf("b loads %d, c waiting %d", h.b.loadCount("b"), h.waiting("c"))
	}
	rb1.l.Release()
	rb2.l.Release()
	rc := <-c1
	if rc.err != nil {
		t.Fatal(rc.err)
	}
	rc.l.Release()
}

func TestRequestsForLoadedModelsGoFirst(t *testing.T) {
	h := newHarness(t, Options{MaxLoaded: 1}, spec("a", 1), spec("b", 1))
	la := h.acquire("a")
	wb := h.acquireAsync(context.Background(), "b")
	h.until("b waiting", func() bool { return h.waiting("b") == 1 })
	// A request for the loaded model a does not queue behind b.
	h.acquire("a").Release()
	la.Release()
	r := <-wb
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.l.Release()
}

func TestLoadOfOneModelNeverBlocksAnother(t *testing.T) {
	h := newHarness(t, Options{MaxLoaded: 3}, spec("a", 1), spec("b", 1))
	h.acquire("a").Release()
	gate := make(chan struct{})
	h.b.gates["b"] = gate
	h.b.started = make(chan string, 1)
	wb := h.acquireAsync(context.Background(), "b")
	<-h.b.started // b's load is in progress and will not end until gate closes
	for range 100 {
		h.acquire("a").Release()
	}
	close(gate)
	r := <-wb
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.l.Release()
}

func TestLoadWaitsUntilEvictedModelIsClosed(t *testing.T) {
	h := newHarness(t, Options{MaxLoaded: 1}, spec("a", 1), spec("b", 1))
	h.acquire("a").Release()
	h.b.closeGate = make(chan struct{})
	h.b.started = make(chan string, 1)
	wb := h.acquireAsync(context.Background(), "b")
	h.until("a unloading", func() bool { return h.state("a") == "unloading" })
	select {
	case id := <-h.b.started:
		t.Fatalf("load of %s started before a was freed", id)
	default:
	}
	close(h.b.closeGate)
	if id := <-h.b.started; id != "b" {
		t.Fatal(id)
	}
	r := <-wb
	if r.err != nil {
		t.Fatal(r.err)
	}
	r.l.Release()
}

func TestIdleTTL(t *testing.T) {
	h := newHarness(t, Options{}, spec("a", 1))
	h.acquire("a").Release()
	h.clock.Advance(4 * time.Minute)
	h.acquire("a").Release() // resets the idle time
	h.clock.Advance(4 * time.Minute)
	if h.state("a") != "loaded" {
		t.Fatal("unloaded before its TTL since the last use")
	}
	l := h.acquire("a")
	h.clock.Advance(time.Hour) // a lease holds it however long
	if h.state("a") != "loaded" {
		t.Fatal("unloaded while leased")
	}
	l.Release()
	h.clock.Advance(5 * time.Minute)
	h.until("a unloaded", func() bool { return h.state("a") == "unloaded" })
	if got := h.m.Evictions()["ttl"]; got != 1 {
		t.Fatalf("ttl evictions = %d", got)
	}
}

func TestTTLZeroNeverAndPinned(t *testing.T) {
	zero, never, pinned := spec("zero", 1), spec("never", 1), spec("pinned", 1)
	zero.TTL, never.TTL, pinned.Pinned = 0, -1, true
	h := newHarness(t, Options{MaxLoaded: 3}, zero, never, pinned, spec("other", 1))
	if err := h.m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h.state("pinned") != "loaded" || h.state("zero") != "unloaded" {
		t.Fatalf("after start: %+v", h.m.List())
	}
	h.acquire("zero").Release()
	h.until("zero unloaded when idle", func() bool { return h.state("zero") == "unloaded" })
	h.acquire("never").Release()
	h.clock.Advance(24 * time.Hour)
	if h.state("never") != "loaded" || h.state("pinned") != "loaded" {
		t.Fatalf("%+v", h.m.List())
	}
	// Room for "other" comes from "never" (idle), not from the pinned one.
	h.m.opt.MaxLoaded = 2
	h.acquire("other").Release()
	h.until("never evicted", func() bool { return h.state("never") == "unloaded" })
	if h.state("pinned") != "loaded" {
		t.Fatal("pinned model evicted")
	}
}

func TestAliasesResolve(t *testing.T) {
	a := spec("a", 1)
	a.Aliases = []string{"alpha", "first"}
	h := newHarness(t, Options{}, a)
	l := h.acquire("alpha")
	if l.ID() != "a" {
		t.Fatalf("alias leased %q", l.ID())
	}
	l.Release()
	if _, err := h.m.Acquire(context.Background(), "beta"); !errors.As(err, new(*NotFoundError)) {
		t.Fatalf("err = %v", err)
	}
}

func TestUpdateReloadsChangedAndRemovesGoneModelsOnceIdle(t *testing.T) {
	h := newHarness(t, Options{}, spec("a", 1), spec("b", 1))
	la := h.acquire("a")
	h.acquire("b").Release()
	changed := spec("a", 1)
	changed.CtxSize = 999
	newSpec := spec("n", 1)
	h.m.Update([]Spec{changed, newSpec}) // b removed, a changed, n new
	h.until("b unloaded", func() bool { return len(h.b.closed()) == 1 })
	if _, ok := h.m.Get("b"); ok {
		t.Fatal("removed model still listed")
	}
	if h.state("a") != "loaded" {
		t.Fatal("changed model unloaded under its lease")
	}
	// A new request for a waits for the reload, which happens once the
	// old lease ends.
	wa := h.acquireAsync(context.Background(), "a")
	h.until("a waiting", func() bool { return h.waiting("a") == 1 })
	la.Release()
	r := <-wa
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.l.Spec().CtxSize != 999 || h.b.loadCount("a") != 2 {
		t.Fatalf("spec %+v, loads %d", r.l.Spec(), h.b.loadCount("a"))
	}
	r.l.Release()
	h.acquire("n").Release()
}

func TestAdminUnload(t *testing.T) {
	h := newHarness(t, Options{}, spec("a", 1))
	l := h.acquire("a")
	done := make(chan error, 1)
	go func() { done <- h.m.Unload(context.Background(), "a", false) }()
	h.until("a retiring", func() bool { st, _ := h.m.Get("a"); return st.Retiring == "admin" })
	select {
	case <-done:
		t.Fatal("unload returned while a lease was open")
	default:
	}
	l.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if h.state("a") != "unloaded" {
		t.Fatal(h.state("a"))
	}
	// Force closes a busy model at once.
	l = h.acquire("a")
	if err := h.m.Unload(context.Background(), "a", true); err != nil {
		t.Fatal(err)
	}
	if got := h.b.closed(); len(got) != 2 {
		t.Fatalf("closed %v", got)
	}
	l.Release()
}

func TestCloseFailsWaiters(t *testing.T) {
	h := newHarness(t, Options{MaxLoaded: 1}, spec("a", 1), spec("b", 1))
	la := h.acquire("a")
	wb := h.acquireAsync(context.Background(), "b")
	h.until("b waiting", func() bool { return h.waiting("b") == 1 })
	h.m.Close()
	if r := <-wb; !errors.Is(r.err, engine.ErrClosed) {
		t.Fatalf("err = %v", r.err)
	}
	la.Release()
	if _, err := h.m.Acquire(context.Background(), "a"); !errors.Is(err, engine.ErrClosed) {
		t.Fatal(err)
	}
}

func TestManyModelsRoundRobinUnderLoad(t *testing.T) {
	// Many goroutines hammer four models with room for two: every request
	// gets its model, leases are never broken, and nothing deadlocks.
	var specs []Spec
	for i := range 4 {
		specs = append(specs, spec(fmt.Sprintf("m%d", i), 1))
	}
	h := newHarness(t, Options{MaxLoaded: 2, MaxWaiting: 1000}, specs...)
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for i := range 400 {
		wg.Go(func() {
			l, err := h.m.Acquire(context.Background(), fmt.Sprintf("m%d", i%4))
			if err != nil {
				errs <- err
				return
			}
			if fe := l.Engine().(*fakeEngine); isClosed(fe.closed) {
				errs <- fmt.Errorf("leased a closed engine %s", fe.id)
			}
			l.Release()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestCancelWhileLoading: a request that goes away while its model loads
// gives its lease back at once; the load finishes and the model idles.
func TestCancelWhileLoading(t *testing.T) {
	h := newHarness(t, Options{}, spec("a", 1))
	gate := make(chan struct{})
	h.b.gates["a"] = gate
	ctx, cancel := context.WithCancel(context.Background())
	ch := h.acquireAsync(ctx, "a")
	h.until("a loading with a lease", func() bool { st, _ := h.m.Get("a"); return st.State == "loading" && st.Leases == 1 })
	cancel()
	if r := <-ch; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("err = %v", r.err)
	}
	if st, _ := h.m.Get("a"); st.Leases != 0 {
		t.Fatalf("lease kept after cancel: %+v", st)
	}
	close(gate)
	h.until("a loaded and idle", func() bool { st, _ := h.m.Get("a"); return st.State == "loaded" && st.Leases == 0 })
	h.clock.Advance(5 * time.Minute) // its idle TTL runs as for any model
	h.until("a unloaded", func() bool { return h.state("a") == "unloaded" })
}

// TestRetiringModelDoesNotHoldBackOtherLoads: a request waiting for a
// model that reloads once its streams end must not delay a load of
// another model that has room now.
func TestRetiringModelDoesNotHoldBackOtherLoads(t *testing.T) {
	h := newHarness(t, Options{MaxLoaded: 3}, spec("a", 1), spec("b", 1))
	la := h.acquire("a")
	changed := spec("a", 1)
	changed.CtxSize = 7
	h.m.Update([]Spec{changed, spec("b", 1)})
	wa := h.acquireAsync(context.Background(), "a") // waits for the reload
	h.until("a waiting", func() bool { return h.waiting("a") == 1 })
	h.acquire("b").Release() // loads at once, though queued behind a
	la.Release()
	r := <-wa
	if r.err != nil || r.l.Spec().CtxSize != 7 {
		t.Fatalf("%v %+v", r.err, r.l)
	}
	r.l.Release()
}

// TestTTLChangeOnReload: a reload that makes an idle model's TTL "never"
// keeps it loaded past the old TTL; restoring a removed model's entry
// cancels its retirement.
func TestTTLChangeOnReload(t *testing.T) {
	h := newHarness(t, Options{}, spec("a", 1))
	h.acquire("a").Release()
	never := spec("a", 1)
	never.TTL = -1
	h.m.Update([]Spec{never})
	h.clock.Advance(time.Hour)
	if h.state("a") != "loaded" {
		t.Fatal("unloaded by the old TTL after a reload made it never expire")
	}
	l := h.acquire("a")
	h.m.Update(nil) // removed while leased: retiring
	h.m.Update([]Spec{never})
	l.Release()
	if st, _ := h.m.Get("a"); st.State != "loaded" || st.Retiring != "" {
		t.Fatalf("restored model: %+v", st)
	}
}

// TestNoRoomBesidePinnedModelsFailsAtOnce: when pinned models alone fill
// the limits, a request for another model fails at once instead of
// waiting for room that can never come.
func TestNoRoomBesidePinnedModelsFailsAtOnce(t *testing.T) {
	p := spec("p", 1)
	p.Pinned = true
	h := newHarness(t, Options{MaxLoaded: 1}, p, spec("a", 1))
	if err := h.m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := h.m.Acquire(context.Background(), "a")
	var le *LoadError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "pinned") {
		t.Fatalf("err = %v, want a LoadError naming the pinned models", err)
	}
	if h.waiting("a") != 0 {
		t.Fatal("the request stayed queued")
	}
}
