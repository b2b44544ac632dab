package llamacpp

import (
	"slices"
	"time"
)

// threadTuner picks the thread count of each decode step so that decoding
// degrades with the CPU it gets instead of collapsing when another process
// takes a core. ggml's threads spin at every barrier of a step; when one of
// them loses its core, the others wait for the scheduler to run it again,
// hundreds of times per token. Measured on 2 cores with a busy loop on one
// of them (bench/RESULTS.md, "Contention"): 2 threads decoded at 0.35× the
// quiet speed, 1 thread at 0.57×.
//
// It needs no knowledge of the other processes: it remembers the best
// median decode-step time seen for each batch size at full threads. While steps
// keep to that, nothing changes and nothing is probed, so a quiet machine
// pays nothing. When steps become clearly slower it tries the other count
// (half the threads, or back to full) for a few steps and keeps whichever
// was faster for the same batch size; while reduced it retries full
// threads now and then, so the threads come back once the machine is quiet.
//
// It is owned by the batch loop. Steps with prompt tokens are not
// measured: their cost depends on the chunk, not the threads alone.
type threadTuner struct {
	full, cur int
	recent    map[tunerKey]*stepTimes // recent decode-step seconds
	best      map[int]float64         // fastest full-thread median seen, per batch size
	probe     int                     // the count being tried; 0 when not probing
	probeLeft int
	cooldown  int // steps before the next probe may start
}

type tunerKey struct{ threads, batch int }

// stepTimes keeps the last few step times of one thread count and batch
// size. Their median, not their mean, decides: a busy loop at low priority
// makes a rare step very slow (the scheduler runs it for a slice), which
// must not look like steady contention.
type stepTimes struct {
	v [tunerWindow]float64
	n int
}

func (s *stepTimes) add(x float64) {
	s.v[s.n%tunerWindow] = x
	s.n++
}

// median of the recorded times; 0 until there are tunerProbeSteps.
func (s *stepTimes) median() float64 {
	k := min(s.n, tunerWindow)
	if k < tunerProbeSteps {
		return 0
	}
	buf := s.v // a copy: the order of the window stays
	slices.Sort(buf[:k])
	return buf[k/2]
}

const (
	tunerWindow     = 7
	tunerSlow       = 1.3 // a median this much slower than the best suggests contention
	tunerProbeSteps = 3
	tunerCooldown   = 32  // steps between probes
	tunerKeep       = 0.9 // the other count must be this much cheaper to switch
)

func newThreadTuner(full int) *threadTuner {
	return &threadTuner{full: full, cur: full, recent: map[tunerKey]*stepTimes{}, best: map[int]float64{}}
}

// setFull changes the full count (the model's share of the CPU budget).
func (t *threadTuner) setFull(n int) {
	if n == t.full {
		return
	}
	t.full, t.cur, t.probe = n, n, 0
	clear(t.recent)
	clear(t.best)
}

// threads returns the count for the next step.
func (t *threadTuner) threads() int {
	if t.probe != 0 {
		return t.probe
	}
	return t.cur
}

func (t *threadTuner) alternative() int {
	if t.cur == t.full {
		return max(1, t.full/2)
	}
	return t.full
}

// observe records a step that used threads and decoded batch generated
// tokens and prompt prompt tokens in d.
func (t *threadTuner) observe(threads, batch, prompt int, d time.Duration) {
	if t.full <= 1 {
		return
	}
	if t.cooldown > 0 {
		t.cooldown--
	}
	if prompt > 0 || batch == 0 {
		return
	}
	k := tunerKey{threads, batch}
	if t.recent[k] == nil {
		t.recent[k] = &stepTimes{}
	}
	t.recent[k].add(d.Seconds())
	med := func(threads int) float64 {
		if r := t.recent[tunerKey{threads, batch}]; r != nil {
			return r.median()
		}
		return 0
	}
	c := med(threads)
	if threads == t.full && c > 0 && (t.best[batch] == 0 || c < t.best[batch]) {
		t.best[batch] = c
	}
	if t.probe != 0 {
		if t.probeLeft--; t.probeLeft > 0 {
			return
		}
		alt, now := med(t.probe), med(t.cur)
		switch {
		case alt > 0 && now > 0 && alt < tunerKeep*now:
			t.cur = t.probe
		case t.cur == t.full && now > 0:
			// Full threads are still the faster: the slowdown was the
			// work (a longer context), not contention. Make it the new
			// reference so it does not trigger probes again.
			t.best[batch] = now
		}
		t.probe, t.cooldown = 0, tunerCooldown
		return
	}
	if t.cooldown > 0 {
		return
	}
	slow := t.cur == t.full && t.best[batch] > 0 && c > tunerSlow*t.best[batch]
	if slow || t.cur != t.full {
		// Contended at full threads, or reduced and due to retry full:
		// measure the other count afresh.
		t.probe, t.probeLeft = t.alternative(), tunerProbeSteps
		for key := range t.recent {
			if key.threads == t.probe {
				delete(t.recent, key)
			}
		}
	}
}
