package llamacpp

import "sync"

// CPUShare is a thread budget that the models decoding at the same time
// divide among themselves, so that two busy models on a 2-core machine run
// one thread each instead of four threads fighting for two cores. ggml's
// threads spin at every barrier of a step: a thread that waits for a core
// holds up the step's other threads until the scheduler runs it, and
// oversubscribed models measured many times slower than a fair split
// (bench/RESULTS.md, "Contention").
//
// A model joins when it starts a decode step with work and leaves when it
// runs out of work; at each step it uses its configured threads, capped at
// Total/busy models (at least 1). The zero value and nil mean no sharing.
type CPUShare struct {
	mu    sync.Mutex
	total int
	busy  int
}

// NewCPUShare returns a share of total threads (the machine's default
// thread count; internal/cpus decides it).
func NewCPUShare(total int) *CPUShare {
	return &CPUShare{total: max(total, 1)}
}

func (s *CPUShare) join() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.busy++
	s.mu.Unlock()
}

func (s *CPUShare) leave() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.busy--
	s.mu.Unlock()
}

// threads caps want at this model's share of the budget.
func (s *CPUShare) threads(want int) int {
	if s == nil || s.total == 0 {
		return want
	}
	s.mu.Lock()
	busy := max(s.busy, 1)
	s.mu.Unlock()
	return max(1, min(want, s.total/busy))
}
