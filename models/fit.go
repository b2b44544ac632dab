package models

import (
	"fmt"
	"strconv"
	"strings"
)

// GPU layer modes of Spec.GPULayers; a value ≥ 0 is a number of layers
// as llama.cpp counts them (n_gpu_layers: repeating layers from the top,
// and the output layer as the last one).
const (
	GPULayersAll  = -1 // every layer, or the load fails
	GPULayersAuto = -2 // as many as the GPUs' room holds
)

// Offload is the GPU part of a model's settings, as configured.
type Offload struct {
	// Devices are the GPUs the model may use: names (CUDA0, matched
	// without regard to case) or indices into the machine's GPUs. Nil:
	// every GPU.
	Devices []string
	// MainGPU, when set, puts the model on that one GPU (an index into
	// Devices, or into every GPU).
	MainGPU *int
	// TensorSplit holds the shares of the offloaded layers per GPU, in
	// Devices order. Nil: fill the GPUs in order.
	TensorSplit    []float64
	KVCacheType    string // f16 (empty), q8_0 or q4_0
	FlashAttention string // auto (empty), on or off
}

// GPU is one GPU as the cache sees it.
type GPU struct {
	Name        string // ggml's device name, e.g. CUDA0
	Description string // e.g. NVIDIA H100 80GB HBM3
	// Budget is the memory models may hold on it: its free memory when
	// the gateway started, less the configured headroom. Zero or less:
	// nothing fits.
	Budget int64
}

// Footprint is a model's memory by part, for the settings it is loaded
// with, from the GGUF header (ReadMeta). The zero value (no header) can
// only run on the CPU.
type Footprint struct {
	LayerWeights []int64 // each repeating layer's weights
	LayerKV      int64   // each repeating layer's KV cache for ctx_size × parallel cells
	Output       int64   // the output layer's weights (norm and projection)
	// GPUCompute is the compute buffer llama.cpp reserves on every GPU
	// that holds layers (the worst-case graph for a full batch at full
	// context).
	GPUCompute int64
}

// Placement is where one load puts a model and what each device holds.
// The zero value is a CPU load whose memory the manager takes from the
// estimate.
type Placement struct {
	// GPULayers is llama.cpp's n_gpu_layers: the last GPULayers repeating
	// layers go to the GPUs, and at Layers (all of them) the output layer
	// too.
	GPULayers int
	Layers    int       // repeating layers + 1 (the output layer)
	Devices   []string  // the GPUs used, in order; empty: the CPU only
	Split     []float32 // layers per used GPU, for llama.cpp's tensor_split
	RAM       int64     // bytes in system memory
	GPU       []int64   // bytes on each GPU, indexed like the manager's GPUs
}

// OnGPU reports whether the placement puts anything on a GPU.
func (p Placement) OnGPU() bool { return p.GPULayers > 0 && len(p.Devices) > 0 }

// String says where the layers go, for logs: "23/23 layers on CUDA0",
// "10/23 layers: 6 on CUDA0, 4 on CUDA1", or "CPU only".
func (p Placement) String() string {
	if !p.OnGPU() {
		return "CPU only"
	}
	s := fmt.Sprintf("%d/%d layers", p.GPULayers, p.Layers)
	if len(p.Devices) == 1 {
		return s + " on " + p.Devices[0]
	}
	parts := make([]string, len(p.Devices))
	for i, d := range p.Devices {
		parts[i] = fmt.Sprintf("%d on %s", int(p.Split[i]), d)
	}
	return s + ": " + strings.Join(parts, ", ")
}

// place decides where spec's model goes: which of gpus hold which
// layers, and what that costs on each device. room is the memory free
// for it on each GPU (indexed like gpus). It is a pure function.
//
// gpu_layers auto takes the most layers that fit in room, filling the
// GPUs in order (so a model that fits on one GPU stays on one) unless
// tensor_split gives the shares; all and a number take exactly that many
// and fail with the shortfall when it does not fit. A model with no
// footprint (unreadable header) or no GPU to use runs on the CPU under
// auto; all and a number fail then.
func place(spec Spec, gpus []GPU, room []int64) (Placement, error) {
	cpu := Placement{RAM: spec.Meta.Estimate}
	fp := spec.Meta.Footprint
	nLayer := len(fp.LayerWeights)
	cpu.Layers = nLayer + 1
	want := spec.GPULayers
	if want == 0 || (want == GPULayersAuto && (len(gpus) == 0 || nLayer == 0)) {
		return cpu, nil
	}
	sel, shares, err := selectGPUs(spec.Offload, gpus)
	if err != nil {
		return cpu, err
	}
	if len(sel) == 0 {
		return cpu, fmt.Errorf("gpu_layers %s asks for GPU layers, but no GPU was found (docs/gpu.md: the CUDA backend library goes into lib/ollama next to bin/)", layersWord(want))
	}
	if nLayer == 0 {
		return cpu, fmt.Errorf("gpu_layers %s: the model's layers are unknown (its GGUF header could not be read)", layersWord(want))
	}
	rooms := make([]int64, len(sel))
	for i, g := range sel {
		if g < len(room) {
			rooms[i] = room[g]
		}
	}
	switch want {
	case GPULayersAuto:
		for k := nLayer + 1; k > 0; k-- {
			if p, short := tryPlace(spec, fp, k, gpus, sel, shares, rooms, len(room)); short == "" {
				return p, nil
			}
		}
		return cpu, nil
	case GPULayersAll:
		want = nLayer + 1
	}
	k := min(want, nLayer+1)
	p, short := tryPlace(spec, fp, k, gpus, sel, shares, rooms, len(room))
	if short != "" {
		return cpu, fmt.Errorf("gpu_layers %s (%d of %d layers) does not fit: %s; lower gpu_layers, set it to auto, or free GPU memory", layersWord(spec.GPULayers), k, nLayer+1, short)
	}
	return p, nil
}

func layersWord(n int) string {
	switch n {
	case GPULayersAll:
		return "all"
	case GPULayersAuto:
		return "auto"
	}
	return strconv.Itoa(n)
}

// selectGPUs resolves devices, main_gpu and tensor_split into indices of
// gpus and the shares for them (nil: fill in order).
func selectGPUs(o Offload, gpus []GPU) (sel []int, shares []float64, err error) {
	if len(o.Devices) == 0 {
		for i := range gpus {
			sel = append(sel, i)
		}
	}
	for _, d := range o.Devices {
		i := findGPU(d, gpus)
		if i < 0 {
			names := make([]string, len(gpus))
			for j, g := range gpus {
				names[j] = g.Name
			}
			found := "none"
			if len(names) > 0 {
				found = strings.Join(names, ", ")
			}
			return nil, nil, fmt.Errorf("devices: no GPU %q (found: %s)", d, found)
		}
		sel = append(sel, i)
	}
	if o.MainGPU != nil {
		mg := *o.MainGPU
		if mg < 0 || mg >= len(sel) {
			return nil, nil, fmt.Errorf("main_gpu %d: there are %d GPUs to choose from", mg, len(sel))
		}
		return []int{sel[mg]}, nil, nil
	}
	if len(o.TensorSplit) > 0 {
		if len(o.TensorSplit) != len(sel) {
			return nil, nil, fmt.Errorf("tensor_split has %d shares for %d GPUs", len(o.TensorSplit), len(sel))
		}
		shares = o.TensorSplit
	}
	return sel, shares, nil
}

func findGPU(d string, gpus []GPU) int {
	for i, g := range gpus {
		if strings.EqualFold(strings.TrimSpace(d), g.Name) {
			return i
		}
	}
	if n, err := strconv.Atoi(strings.TrimSpace(d)); err == nil && n >= 0 && n < len(gpus) {
		return n
	}
	return -1
}

// tryPlace puts k layers (llama.cpp's count) on the selected GPUs and
// returns the placement, or why it does not fit in rooms.
func tryPlace(spec Spec, fp Footprint, k int, gpus []GPU, sel []int, shares []float64, rooms []int64, nGPU int) (Placement, string) {
	nLayer := len(fp.LayerWeights)
	// The offloaded items in llama.cpp's order: layers from iStart up,
	// then the output layer when k covers it.
	iStart := max(nLayer-k, 0)
	act := min(k, nLayer+1)
	sizes := make([]int64, act)
	for j := range sizes {
		if il := iStart + j; il < nLayer {
			sizes[j] = fp.LayerWeights[il] + fp.LayerKV
		} else {
			sizes[j] = fp.Output
		}
	}
	var split []float32
	if shares != nil {
		split = make([]float32, len(shares))
		for i, s := range shares {
			split[i] = float32(s)
		}
	} else if split = fillInOrder(sizes, rooms, fp.GPUCompute); split == nil {
		var total, free int64
		for _, s := range sizes {
			total += s
		}
		for _, r := range rooms {
			free += r
		}
		return Placement{}, fmt.Sprintf("it needs %s (+ %s compute buffer per GPU) and the GPUs have %s room (%s)",
			formatBytes(total), formatBytes(fp.GPUCompute), formatBytes(free), roomList(gpus, sel, rooms))
	}
	owner := assignLayers(act, split)
	need := make([]int64, len(sel))
	count := make([]int, len(sel))
	for j, d := range owner {
		need[d] += sizes[j]
		count[d]++
	}
	p := Placement{GPULayers: k, Layers: nLayer + 1, GPU: make([]int64, nGPU), RAM: spec.Meta.Estimate}
	for d, g := range sel {
		if count[d] == 0 {
			continue
		}
		need[d] += fp.GPUCompute
		if need[d] > rooms[d] {
			return Placement{}, fmt.Sprintf("%s would hold %d layers needing %s (weights, KV cache and compute buffer) with %s room",
				gpus[g].Name, count[d], formatBytes(need[d]), formatBytes(rooms[d]))
		}
		p.Devices = append(p.Devices, gpus[g].Name)
		p.Split = append(p.Split, float32(count[d]))
		p.GPU[g] = need[d]
	}
	for _, s := range sizes {
		p.RAM -= s
	}
	p.RAM = max(p.RAM, 0)
	// The split handed to llama.cpp is the layer counts of the used GPUs;
	// by construction it gives every layer the GPU counted here
	// (TestAssignLayersReproducesCounts).
	return p, ""
}

func roomList(gpus []GPU, sel []int, rooms []int64) string {
	parts := make([]string, len(sel))
	for i, g := range sel {
		parts[i] = gpus[g].Name + " " + formatBytes(rooms[i])
	}
	return strings.Join(parts, ", ")
}

// fillInOrder gives each GPU, in order, as many of the items as fit in
// its room (the first item on a GPU also brings the compute buffer), and
// returns the counts, or nil when the items do not all fit.
func fillInOrder(sizes, rooms []int64, compute int64) []float32 {
	counts := make([]float32, len(rooms))
	d, used := 0, int64(0)
	for _, s := range sizes {
		for {
			if d >= len(rooms) {
				return nil
			}
			extra := int64(0)
			if counts[d] == 0 {
				extra = compute
			}
			if used+s+extra <= rooms[d] {
				counts[d]++
				used += s + extra
				break
			}
			d, used = d+1, 0
		}
	}
	return counts
}

// assignLayers returns the GPU (an index into split) of each of the act
// offloaded items, exactly as llama.cpp's load_tensors computes it: the
// shares are summed and normalised in float32, and item j goes to the
// first GPU whose cumulative share exceeds j/act.
func assignLayers(act int, split []float32) []int {
	cum := make([]float32, len(split))
	var sum float32
	for i, s := range split {
		sum += s
		cum[i] = sum
	}
	for i := range cum {
		cum[i] /= sum
	}
	owner := make([]int, act)
	for j := range owner {
		v := float32(j) / float32(act)
		d := 0
		for d < len(cum) && !(cum[d] > v) { // upper_bound
			d++
		}
		owner[j] = min(d, len(cum)-1)
	}
	return owner
}

// placeLocked decides where spec's model loads now. It first tries the
// room the resident models leave on each GPU: if the model gets as many
// layers there as it would with the GPUs to itself, it goes there and
// nothing has to unload for its GPU part. Otherwise it takes the
// placement it has alone, and planRoom unloads idle models to make room.
func (m *Manager) placeLocked(spec Spec) (Placement, error) {
	budgets := make([]int64, len(m.opt.GPUs))
	for i, g := range m.opt.GPUs {
		budgets[i] = g.Budget
	}
	alone, err := place(spec, m.opt.GPUs, budgets)
	if err != nil || !alone.OnGPU() {
		return alone, err
	}
	free := append([]int64(nil), budgets...)
	for _, c := range m.residentLocked() {
		for i, g := range c.GPU {
			if i < len(free) {
				free[i] -= g
			}
		}
	}
	if now, err := place(spec, m.opt.GPUs, free); err == nil && now.GPULayers >= alone.GPULayers {
		return now, nil
	}
	return alone, nil
}

// tooBigError says which device a placement cannot fit even with every
// other model unloaded.
func (m *Manager) tooBigError(p Placement) error {
	if m.opt.MemoryBudget > 0 && p.RAM > m.opt.MemoryBudget {
		return fmt.Errorf("its estimated memory (%s) exceeds the whole memory budget (%s)", formatBytes(p.RAM), formatBytes(m.opt.MemoryBudget))
	}
	for i, n := range p.GPU {
		if i < len(m.opt.GPUs) && m.opt.GPUs[i].Budget > 0 && n > m.opt.GPUs[i].Budget {
			return fmt.Errorf("it needs %s on %s, more than that GPU's budget (%s)", formatBytes(n), m.opt.GPUs[i].Name, formatBytes(m.opt.GPUs[i].Budget))
		}
	}
	return fmt.Errorf("it does not fit the cache's limits beside the pinned models (max_loaded_models and memory budgets)")
}
