package models

// candidate is a loaded or loading model as the eviction policy sees it.
type candidate struct {
	ID     string
	Memory int64 // bytes it holds (estimate, or the measured size if larger)
	// Busy models cannot be unloaded now: they have leases, are still
	// loading, or are pinned.
	Busy bool
}

// limits are the cache's bounds. Zero means no bound.
type limits struct {
	MaxLoaded int
	Budget    int64
}

// planRoom decides which models to unload so that one more model needing
// need bytes fits within lim. resident lists the models that hold memory
// now (loading or loaded, not those already unloading), least recently
// used first. It picks idle models oldest first and stops as soon as the
// new model fits, so it unloads as little as possible. ok is false when
// the model cannot fit until some busy model goes idle; never is true when
// it cannot fit even with every model unloaded.
//
// It is a pure function: the manager calls it under its lock and tests
// call it directly.
func planRoom(resident []candidate, need int64, lim limits) (victims []string, ok, never bool) {
	if lim.Budget > 0 && need > lim.Budget {
		return nil, false, true
	}
	count, used := len(resident), int64(0)
	for _, c := range resident {
		used += c.Memory
	}
	fits := func() bool {
		return (lim.MaxLoaded <= 0 || count+1 <= lim.MaxLoaded) && (lim.Budget <= 0 || used+need <= lim.Budget)
	}
	for _, c := range resident {
		if fits() {
			break
		}
		if c.Busy {
			continue
		}
		victims = append(victims, c.ID)
		count--
		used -= c.Memory
	}
	if !fits() {
		return nil, false, false
	}
	return victims, true, false
}
