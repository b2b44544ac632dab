package models

import (
	"slices"
	"strings"
	"testing"

	"github.com/llamagate/llamagate/internal/testmodels"
)

const mib = 1 << 20

// gpuSpec is a model of n layers of 100 MiB weights + 20 MiB KV each, a
// 50 MiB output layer and a 200 MiB GPU compute buffer; on the CPU alone
// it takes 4 GiB.
func gpuSpec(id string, n, gpuLayers int) Spec {
	fp := Footprint{LayerWeights: make([]int64, n), LayerKV: 20 * mib, Output: 50 * mib, GPUCompute: 200 * mib}
	for i := range fp.LayerWeights {
		fp.LayerWeights[i] = 100 * mib
	}
	s := spec(id, 4096*mib)
	s.GPULayers = gpuLayers
	s.Meta.Footprint = fp
	return s
}

func gpus(budgets ...int64) []GPU {
	out := make([]GPU, len(budgets))
	for i, b := range budgets {
		out[i] = GPU{Name: "CUDA" + string(rune('0'+i)), Budget: b}
	}
	return out
}

func budgetsOf(g []GPU) []int64 {
	out := make([]int64, len(g))
	for i := range g {
		out[i] = g[i].Budget
	}
	return out
}

func TestPlace(t *testing.T) {
	intp := func(v int) *int { return &v }
	// 10 layers: everything on one GPU = 10×120 + 50 + 200 = 1450 MiB.
	for _, tc := range []struct {
		name    string
		spec    Spec
		gpus    []GPU
		layers  int
		devices []string
		split   []float32
		gpu     []int64 // MiB per GPU
		ram     int64   // MiB
		err     string
	}{
		{name: "no GPU, auto: CPU", spec: gpuSpec("m", 10, GPULayersAuto), ram: 4096},
		{name: "gpu_layers 0 with a GPU: CPU", spec: gpuSpec("m", 10, 0), gpus: gpus(8192 * mib), gpu: nil, ram: 4096},
		{name: "auto, all fit", spec: gpuSpec("m", 10, GPULayersAuto), gpus: gpus(8192 * mib),
			layers: 11, devices: []string{"CUDA0"}, split: []float32{11}, gpu: []int64{1450}, ram: 4096 - 1250},
		{name: "auto, exactly at the budget", spec: gpuSpec("m", 10, GPULayersAuto), gpus: gpus(1450 * mib),
			layers: 11, devices: []string{"CUDA0"}, split: []float32{11}, gpu: []int64{1450}, ram: 4096 - 1250},
		{name: "auto, one MiB short: the output layer stays on the CPU", spec: gpuSpec("m", 10, GPULayersAuto), gpus: gpus(1449 * mib),
			layers: 10, devices: []string{"CUDA0"}, split: []float32{10}, gpu: []int64{1400}, ram: 4096 - 1200},
		{name: "auto, partial", spec: gpuSpec("m", 10, GPULayersAuto), gpus: gpus(700 * mib),
			layers: 4, devices: []string{"CUDA0"}, split: []float32{4}, gpu: []int64{680}, ram: 4096 - 480},
		{name: "auto, not even the compute buffer: CPU", spec: gpuSpec("m", 10, GPULayersAuto), gpus: gpus(300 * mib), gpu: nil, ram: 4096},
		{name: "all fits", spec: gpuSpec("m", 10, GPULayersAll), gpus: gpus(8192 * mib),
			layers: 11, devices: []string{"CUDA0"}, split: []float32{11}, gpu: []int64{1450}, ram: 2846},
		{name: "all does not fit", spec: gpuSpec("m", 10, GPULayersAll), gpus: gpus(1000 * mib),
			err: "gpu_layers all (11 of 11 layers) does not fit: it needs 1.22 GiB (+ 200.0 MiB compute buffer per GPU) and the GPUs have 1000.0 MiB room (CUDA0 1000.0 MiB)"},
		{name: "all without a GPU", spec: gpuSpec("m", 10, GPULayersAll), err: "gpu_layers all asks for GPU layers, but no GPU was found"},
		{name: "a number", spec: gpuSpec("m", 10, 3), gpus: gpus(8192 * mib),
			layers: 3, devices: []string{"CUDA0"}, split: []float32{3}, gpu: []int64{560}, ram: 4096 - 360},
		{name: "a number above the layers is all", spec: gpuSpec("m", 10, 99), gpus: gpus(8192 * mib),
			layers: 11, devices: []string{"CUDA0"}, split: []float32{11}, gpu: []int64{1450}, ram: 2846},
		{name: "a number that does not fit", spec: gpuSpec("m", 10, 5), gpus: gpus(500 * mib),
			err: "gpu_layers 5 (5 of 11 layers) does not fit"},
		{name: "auto fills the first GPU, then the second", spec: gpuSpec("m", 10, GPULayersAuto), gpus: gpus(800*mib, 8192*mib),
			layers: 11, devices: []string{"CUDA0", "CUDA1"}, split: []float32{5, 6}, gpu: []int64{800, 200 + 5*120 + 50}, ram: 2846},
		{name: "a model that fits on one GPU stays on one", spec: gpuSpec("m", 10, GPULayersAuto), gpus: gpus(8192*mib, 8192*mib),
			layers: 11, devices: []string{"CUDA0"}, split: []float32{11}, gpu: []int64{1450, 0}, ram: 2846},
		{name: "auto across two GPUs, partial", spec: gpuSpec("m", 10, GPULayersAuto), gpus: gpus(450*mib, 450*mib),
			layers: 4, devices: []string{"CUDA0", "CUDA1"}, split: []float32{2, 2}, gpu: []int64{440, 440}, ram: 4096 - 480},
		{name: "tensor_split", spec: withOffload(gpuSpec("m", 10, GPULayersAll), Offload{TensorSplit: []float64{1, 1}}), gpus: gpus(8192*mib, 8192*mib),
			layers: 11, devices: []string{"CUDA0", "CUDA1"}, split: []float32{6, 5}, gpu: []int64{200 + 6*120, 200 + 4*120 + 50}, ram: 2846},
		{name: "tensor_split that overfills a GPU", spec: withOffload(gpuSpec("m", 10, GPULayersAll), Offload{TensorSplit: []float64{3, 1}}), gpus: gpus(900*mib, 8192*mib),
			err: "CUDA0 would hold 9 layers needing 1.25 GiB"},
		{name: "auto with tensor_split takes fewer layers", spec: withOffload(gpuSpec("m", 10, GPULayersAuto), Offload{TensorSplit: []float64{1, 1}}), gpus: gpus(700*mib, 8192*mib),
			layers: 8, devices: []string{"CUDA0", "CUDA1"}, split: []float32{4, 4}, gpu: []int64{680, 680}, ram: 4096 - 960},
		{name: "devices by name and index", spec: withOffload(gpuSpec("m", 10, GPULayersAll), Offload{Devices: []string{"cuda2", "1"}}), gpus: gpus(100*mib, 900*mib, 800*mib),
			layers: 11, devices: []string{"CUDA2", "CUDA1"}, split: []float32{5, 6}, gpu: []int64{0, 200 + 5*120 + 50, 800}, ram: 2846},
		{name: "unknown device", spec: withOffload(gpuSpec("m", 10, GPULayersAuto), Offload{Devices: []string{"CUDA7"}}), gpus: gpus(800 * mib),
			err: `devices: no GPU "CUDA7" (found: CUDA0)`},
		{name: "main_gpu", spec: withOffload(gpuSpec("m", 10, GPULayersAuto), Offload{MainGPU: intp(1)}), gpus: gpus(8192*mib, 8192*mib),
			layers: 11, devices: []string{"CUDA1"}, split: []float32{11}, gpu: []int64{0, 1450}, ram: 2846},
		{name: "main_gpu indexes devices", spec: withOffload(gpuSpec("m", 10, GPULayersAuto), Offload{Devices: []string{"CUDA2", "CUDA0"}, MainGPU: intp(0)}), gpus: gpus(8192*mib, 8192*mib, 8192*mib),
			layers: 11, devices: []string{"CUDA2"}, split: []float32{11}, gpu: []int64{0, 0, 1450}, ram: 2846},
		{name: "no footprint, auto: CPU", spec: func() Spec { s := spec("m", 4096*mib); s.GPULayers = GPULayersAuto; return s }(), gpus: gpus(8192 * mib), ram: 4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := place(tc.spec, tc.gpus, budgetsOf(tc.gpus))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gpuMiB []int64
			for _, b := range p.GPU {
				gpuMiB = append(gpuMiB, b/mib)
			}
			if !p.OnGPU() {
				gpuMiB = nil
			}
			if p.GPULayers != tc.layers || !slices.Equal(p.Devices, tc.devices) || !slices.Equal(p.Split, tc.split) ||
				!slices.Equal(gpuMiB, tc.gpu) || p.RAM/mib != tc.ram {
				t.Fatalf("placement = %d layers on %v split %v, GPU MiB %v, RAM %d MiB; want %d on %v split %v, GPU %v, RAM %d",
					p.GPULayers, p.Devices, p.Split, gpuMiB, p.RAM/mib, tc.layers, tc.devices, tc.split, tc.gpu, tc.ram)
			}
		})
	}
}

func withOffload(s Spec, o Offload) Spec {
	s.Offload = o
	return s
}

// The layer counts the fit hands llama.cpp as tensor_split must give each
// GPU exactly that many layers under llama.cpp's own float32 arithmetic,
// or the memory counted per GPU would not be what the load puts there.
func TestAssignLayersReproducesCounts(t *testing.T) {
	for act := 1; act <= 200; act++ {
		for _, counts := range [][]int{{act}, {act / 2, act - act/2}, {act / 3, act / 3, act - 2*(act/3)}, {1, act - 1}, {act - 1, 0, 1}} {
			if slices.Min(counts) < 0 {
				continue
			}
			split := make([]float32, len(counts))
			for i, c := range counts {
				split[i] = float32(c)
			}
			got := make([]int, len(counts))
			for _, d := range assignLayers(act, split) {
				got[d]++
			}
			if !slices.Equal(got, counts) {
				t.Fatalf("act %d: split %v assigned %v", act, counts, got)
			}
		}
	}
	// llama.cpp's own example: shares 1:1 over 11 items put the middle one
	// (5/11 < 0.5) on the first GPU.
	if got := assignLayers(11, []float32{1, 1}); !slices.Equal(got, []int{0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1}) {
		t.Fatalf("1:1 over 11 = %v", got)
	}
}

func TestPlacementString(t *testing.T) {
	for _, tc := range []struct {
		p    Placement
		want string
	}{
		{Placement{}, "CPU only"},
		{Placement{GPULayers: 23, Layers: 23, Devices: []string{"CUDA0"}, Split: []float32{23}}, "23/23 layers on CUDA0"},
		{Placement{GPULayers: 10, Layers: 23, Devices: []string{"CUDA0", "CUDA1"}, Split: []float32{6, 4}}, "10/23 layers: 6 on CUDA0, 4 on CUDA1"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%+v = %q, want %q", tc.p, got, tc.want)
		}
	}
}

// The footprint of a real GGUF: one weight entry per layer, all layers
// and the output adding up to the file's tensors, KV and compute sized.
func TestReadMetaFootprint(t *testing.T) {
	path := testmodels.Stories260K(t)
	m, err := ReadMeta(Spec{Path: path, CtxSize: 256, Parallel: 2}, 0)
	if err != nil {
		t.Fatal(err)
	}
	fp := m.Footprint
	if len(fp.LayerWeights) != 5 { // stories260K: 5 blocks
		t.Fatalf("layers = %d", len(fp.LayerWeights))
	}
	for i, w := range fp.LayerWeights {
		if w <= 0 || w != fp.LayerWeights[0] {
			t.Fatalf("layer %d weights = %d (layer 0: %d)", i, w, fp.LayerWeights[0])
		}
	}
	// stories260K: n_embd 64, 4 KV heads of 8 → 32 floats per K and per V
	// row; 512 cells in f16: 2 × 512 × 32 × 2 bytes per layer.
	if fp.LayerKV != 2*512*32*2 {
		t.Fatalf("KV per layer = %d", fp.LayerKV)
	}
	if fp.Output <= 0 || fp.GPUCompute <= 0 {
		t.Fatalf("footprint = %+v", fp)
	}
	q, err := ReadMeta(Spec{Path: path, CtxSize: 256, Parallel: 2, Offload: Offload{KVCacheType: "q8_0"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	// q8_0: 34 bytes per 32 values instead of 64.
	if q.Footprint.LayerKV != fp.LayerKV*34/64 || q.Estimate >= m.Estimate {
		t.Fatalf("q8_0 KV per layer = %d (f16 %d), estimate %d (f16 %d)", q.Footprint.LayerKV, fp.LayerKV, q.Estimate, m.Estimate)
	}
}
