package models

// candidate is a loaded or loading model as the eviction policy sees it.
type candidate struct {
	ID     string
	Memory int64 // bytes it holds in RAM (estimate, or the measured size if larger)
	// GPU holds the bytes it holds on each GPU, indexed like
	// limits.GPUBudgets; nil for a model on the CPU only.
	GPU []int64
	// Busy models cannot be unloaded now: they have leases, are still
	// loading, or are pinned.
	Busy bool
	// Pinned models are never unloaded: a model that does not fit beside
	// them alone never will.
	Pinned bool
}

// limits are the cache's bounds. Zero means no bound.
type limits struct {
	MaxLoaded int
	Budget    int64 // RAM
	// GPUBudgets bound what the models hold on each GPU; a zero entry is
	// no bound on that GPU.
	GPUBudgets []int64
}

// planRoom decides which models to unload so that one more model needing
// need bytes of RAM and gpuNeed[i] bytes on GPU i fits within lim.
// resident lists the models that hold memory now (loading or loaded, not
// those already unloading), least recently used first. It picks idle
// models oldest first, skipping those that free nothing where room is
// short, and stops as soon as the new model fits, so it unloads as little
// as possible. ok is false when the model cannot fit until some busy
// model goes idle; never is true when it cannot fit even with every model
// unloaded (on any one device), or with every model but the pinned ones
// unloaded.
//
// It is a pure function: the manager calls it under its lock and tests
// call it directly.
func planRoom(resident []candidate, need int64, lim limits, gpuNeed ...int64) (victims []string, ok, never bool) {
	if lim.Budget > 0 && need > lim.Budget {
		return nil, false, true
	}
	for i, n := range gpuNeed {
		if b := gpuBudget(lim, i); b > 0 && n > b {
			return nil, false, true
		}
	}
	count, used := len(resident), int64(0)
	gpuUsed := make([]int64, max(len(gpuNeed), len(lim.GPUBudgets)))
	for _, c := range resident {
		used += c.Memory
		for i, g := range c.GPU {
			if i < len(gpuUsed) {
				gpuUsed[i] += g
			}
		}
	}
	countOver := func() bool { return lim.MaxLoaded > 0 && count+1 > lim.MaxLoaded }
	ramOver := func() bool { return lim.Budget > 0 && used+need > lim.Budget }
	gpuOver := func(i int) bool {
		b := gpuBudget(lim, i)
		return b > 0 && i < len(gpuNeed) && gpuNeed[i] > 0 && gpuUsed[i]+gpuNeed[i] > b
	}
	fits := func() bool {
		if countOver() || ramOver() {
			return false
		}
		for i := range gpuUsed {
			if gpuOver(i) {
				return false
			}
		}
		return true
	}
	// helps says whether unloading c frees something that is short.
	helps := func(c candidate) bool {
		if countOver() || (ramOver() && c.Memory > 0) {
			return true
		}
		for i, g := range c.GPU {
			if g > 0 && i < len(gpuUsed) && gpuOver(i) {
				return true
			}
		}
		return false
	}
	for _, c := range resident {
		if fits() {
			break
		}
		if c.Busy || !helps(c) {
			continue
		}
		victims = append(victims, c.ID)
		count--
		used -= c.Memory
		for i, g := range c.GPU {
			if i < len(gpuUsed) {
				gpuUsed[i] -= g
			}
		}
	}
	if !fits() {
		// Would it fit with only the pinned models left? If not, waiting
		// cannot help.
		count, used = 0, 0
		clear(gpuUsed)
		for _, c := range resident {
			if !c.Pinned {
				continue
			}
			count++
			used += c.Memory
			for i, g := range c.GPU {
				if i < len(gpuUsed) {
					gpuUsed[i] += g
				}
			}
		}
		return nil, false, !fits()
	}
	return victims, true, false
}

func gpuBudget(lim limits, i int) int64 {
	if i < len(lim.GPUBudgets) {
		return lim.GPUBudgets[i]
	}
	return 0
}
