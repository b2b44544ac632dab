package models

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestPlanRoomPerDevice(t *testing.T) {
	c := func(id string, ram int64, gpu []int64, busy bool) candidate {
		return candidate{ID: id, Memory: ram, GPU: gpu, Busy: busy}
	}
	lim := limits{MaxLoaded: 9, Budget: 100, GPUBudgets: []int64{100, 100}}
	for _, tc := range []struct {
		name     string
		resident []candidate
		need     int64
		gpuNeed  []int64
		lim      limits
		victims  []string
		ok       bool
		never    bool
	}{
		{"fits beside a GPU model", []candidate{c("a", 10, []int64{40, 0}, false)}, 10, []int64{50, 0}, lim, nil, true, false},
		{"GPU short: only the model on that GPU unloads", []candidate{c("cpu", 10, nil, false), c("g1", 10, []int64{0, 90}, false), c("g0", 10, []int64{60, 0}, false)},
			10, []int64{50, 0}, lim, []string{"g0"}, true, false},
		{"the other GPU's budget is its own", []candidate{c("a", 10, []int64{0, 90}, false)}, 10, []int64{90, 0}, lim, nil, true, false},
		{"GPU short, holder busy", []candidate{c("cpu", 10, nil, false), c("g0", 10, []int64{60, 0}, true)}, 10, []int64{50, 0}, lim, nil, false, false},
		{"RAM and GPU both short", []candidate{c("big", 60, nil, false), c("g0", 10, []int64{60, 0}, false), c("g1", 10, []int64{0, 60}, false)},
			50, []int64{50, 0}, lim, []string{"big", "g0"}, true, false},
		{"count short: any idle model helps", []candidate{c("cpu", 1, nil, false), c("g0", 1, []int64{10, 0}, false)}, 1, []int64{10, 0},
			limits{MaxLoaded: 2, GPUBudgets: []int64{100, 100}}, []string{"cpu"}, true, false},
		{"too big for one GPU ever", nil, 10, []int64{0, 101}, lim, nil, false, true},
		{"no GPU budgets: GPU needs are free", []candidate{c("a", 10, []int64{1e12}, false)}, 10, []int64{1e12}, limits{Budget: 100}, nil, true, false},
		{"RAM only, as before", []candidate{c("a", 30, nil, false), c("b", 30, nil, false), c("c", 30, nil, false)}, 50, nil, limits{MaxLoaded: 9, Budget: 100}, []string{"a", "b"}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok, never := planRoom(tc.resident, tc.need, tc.lim, tc.gpuNeed...)
			if !slices.Equal(v, tc.victims) || ok != tc.ok || never != tc.never {
				t.Fatalf("planRoom = %v %v %v, want %v %v %v", v, ok, never, tc.victims, tc.ok, tc.never)
			}
		})
	}
}

// loadedPlacement returns the placement the manager gave a loaded model.
func (h *harness) placement(id string) Placement {
	st, _ := h.m.Get(id)
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	if e := h.m.entries[id]; e != nil {
		return e.spec.Placement
	}
	return st.Spec.Placement
}

// Three models that each fit on one of two GPUs: the second goes to the
// free GPU without unloading the first; the third has no room on either,
// so the least recently used model on the GPU it is placed on unloads.
func TestGPUBudgetsPerDevice(t *testing.T) {
	// 5 layers: 5×120 + 50 + 200 = 850 MiB on a GPU, 4096-650 MiB of RAM.
	a, b, c := gpuSpec("a", 5, GPULayersAuto), gpuSpec("b", 5, GPULayersAuto), gpuSpec("c", 5, GPULayersAuto)
	h := newHarness(t, Options{MaxLoaded: 10, MemoryBudget: 64 << 30, GPUs: gpus(1000*mib, 1000*mib)}, a, b, c)
	h.acquire("a").Release()
	if p := h.placement("a"); !slices.Equal(p.Devices, []string{"CUDA0"}) || p.GPULayers != 6 || p.GPU[0] != 850*mib {
		t.Fatalf("a placed %+v", p)
	}
	h.acquire("b").Release()
	if p := h.placement("b"); !slices.Equal(p.Devices, []string{"CUDA1"}) || p.GPULayers != 6 {
		t.Fatalf("b placed %+v, want all of it on the free CUDA1", p)
	}
	if h.state("a") != "loaded" {
		t.Fatal("b unloaded a although CUDA1 was free")
	}
	h.acquire("b").Release() // a is now the least recently used
	h.acquire("c").Release()
	h.until("a unloaded", func() bool { return h.state("a") == "unloaded" })
	if p := h.placement("c"); !slices.Equal(p.Devices, []string{"CUDA0"}) || p.GPULayers != 6 {
		t.Fatalf("c placed %+v", p)
	}
	if h.state("b") != "loaded" {
		t.Fatal("c unloaded b, which holds the other GPU")
	}
	// The RAM a GPU model counts is its CPU part, not the whole estimate.
	h.m.mu.Lock()
	mem := h.m.entries["c"].memory()
	h.m.mu.Unlock()
	if mem != (4096-650)*mib {
		t.Fatalf("c counts %d MiB of RAM", mem/mib)
	}
}

// A CPU-only model never unloads for a GPU model's GPU part, and gpu_layers
// all that cannot fit fails the load with the reason.
func TestGPUPlacementErrors(t *testing.T) {
	cpu := spec("cpu", 100*mib)
	all := gpuSpec("all", 10, GPULayersAll) // 1450 MiB on one GPU
	g := gpuSpec("g", 5, GPULayersAuto)     // 850 MiB
	h := newHarness(t, Options{MaxLoaded: 10, GPUs: gpus(1000 * mib)}, cpu, all, g)
	h.acquire("cpu").Release()
	_, err := h.m.Acquire(context.Background(), "all")
	var le *LoadError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "gpu_layers all (11 of 11 layers) does not fit") {
		t.Fatalf("err = %v", err)
	}
	if h.b.loadCount("all") != 0 {
		t.Fatal("the backend was asked to load a model that cannot fit")
	}
	h.acquire("g").Release()
	if h.state("cpu") != "loaded" {
		t.Fatal("a GPU model's GPU part unloaded a CPU-only model")
	}
}

// A reload keeps the placement of a loaded model whose settings did not
// change (its GPU memory stays counted).
func TestUpdateKeepsPlacement(t *testing.T) {
	a := gpuSpec("a", 5, GPULayersAuto)
	h := newHarness(t, Options{MaxLoaded: 10, GPUs: gpus(1000 * mib)}, a)
	h.acquire("a").Release()
	a.Aliases = []string{"alias"}
	h.m.Update([]Spec{a})
	if p := h.placement("a"); !p.OnGPU() || p.GPU[0] != 850*mib {
		t.Fatalf("after an alias change a is placed %+v", p)
	}
}
