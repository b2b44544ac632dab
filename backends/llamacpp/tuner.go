package llamacpp

import "time"

// threadTuner picks the thread count of each decode step so that decoding
// degrades with the CPU it gets instead of collapsing when another process
// takes a core. ggml's threads spin at every barrier of a step; when one of
// them loses its core, the others wait for the scheduler to run it again,
// hundreds of times per token. Measured on 2 cores with a busy loop on one
// of them (bench/RESULTS.md, "Contention"): 2 threads decoded at 0.35× the
// quiet speed, 1 thread at 0.57×.
//
// It needs no knowledge of the other processes: it remembers the best
// decode-step time seen for each batch size at full threads. While steps
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
	cost      map[tunerKey]float64 // EMA of decode-step seconds
	best      map[int]float64      // fastest full-thread EMA seen, per batch size
	probe     int                  // the count being tried; 0 when not probing
	probeLeft int
	cooldown  int // steps before the next probe may start
}

type tunerKey struct{ threads, batch int }

const (
	tunerAlpha      = 0.3
	tunerSlow       = 1.3 // a step this much slower than the best suggests contention
	tunerProbeSteps = 3
	tunerCooldown   = 32  // steps between probes
	tunerKeep       = 0.9 // the other count must be this much cheaper to switch
)

func newThreadTuner(full int) *threadTuner {
	return &threadTuner{full: full, cur: full, cost: map[tunerKey]float64{}, best: map[int]float64{}}
}

// setFull changes the full count (the model's share of the CPU budget).
func (t *threadTuner) setFull(n int) {
	if n == t.full {
		return
	}
	t.full, t.cur, t.probe = n, n, 0
	clear(t.cost)
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
	if old := t.cost[k]; old == 0 {
		t.cost[k] = d.Seconds()
	} else {
		t.cost[k] = old + tunerAlpha*(d.Seconds()-old)
	}
	c := t.cost[k]
	if threads == t.full && (t.best[batch] == 0 || c < t.best[batch]) {
		t.best[batch] = c
	}
	if t.probe != 0 {
		if t.probeLeft--; t.probeLeft > 0 {
			return
		}
		alt, now := t.cost[tunerKey{t.probe, batch}], t.cost[tunerKey{t.cur, batch}]
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
		for key := range t.cost {
			if key.threads == t.probe {
				delete(t.cost, key)
			}
		}
	}
}
