package main

import (
	"log/slog"

	"github.com/llamagate/llamagate/backends/llamacpp"
	"github.com/llamagate/llamagate/config"
	"github.com/llamagate/llamagate/models"
)

// gpuBudgets logs every device llama.cpp found (llamacpp.Devices) and
// returns the GPUs models may be placed on, each with its budget: its free
// memory now, at start, less the headroom (bytes, or a share of the GPU's
// total memory). Like llama.cpp, it takes the discrete GPUs, or the
// integrated ones when there is no discrete GPU.
func gpuBudgets(devs []llamacpp.Device, headroom config.Size, log *slog.Logger) []models.GPU {
	var gpus, igpus []models.GPU
	for _, d := range devs {
		log.Info("device", "name", d.Name, "type", d.Type, "description", d.Description,
			"free_mib", d.Free>>20, "total_mib", d.Total>>20)
		room := headroom
		if room.Bytes == 0 && room.Percent == 0 {
			room.Bytes = config.DefaultGPUHeadroom
		}
		g := models.GPU{Name: d.Name, Description: d.Description, Budget: d.Free - room.Resolve(d.Total)}
		switch d.Type {
		case "gpu":
			gpus = append(gpus, g)
		case "igpu":
			igpus = append(igpus, g)
		}
	}
	if len(gpus) == 0 {
		gpus = igpus
	}
	if len(gpus) == 0 {
		log.Info("no GPU found: models run on the CPU (docs/gpu.md says how to add the CUDA backend)")
	}
	for _, g := range gpus {
		log.Info("GPU budget", "name", g.Name, "budget_mib", g.Budget>>20)
	}
	return gpus
}

// applyOffload gives a spec the GPU settings o (already merged with
// `defaults:`); unset gpu_layers is auto.
func applyOffload(s *models.Spec, o config.ModelOpts) {
	switch o.GPULayers {
	case "", config.GPULayersAuto:
		s.GPULayers = models.GPULayersAuto
	case config.GPULayersAll:
		s.GPULayers = models.GPULayersAll
	default:
		s.GPULayers, _ = o.GPULayers.Count()
	}
	s.Offload = models.Offload{
		Devices: o.Devices, MainGPU: o.MainGPU, TensorSplit: o.TensorSplit,
		KVCacheType: o.KVCacheType, FlashAttention: o.FlashAttention,
	}
}

// offloadOptions turns the placement the cache chose for a load into the
// backend's settings, and logs what goes where.
func offloadOptions(s models.Spec, gpus []models.GPU, log *slog.Logger) llamacpp.Offload {
	p := s.Placement
	o := llamacpp.Offload{KVCacheType: s.Offload.KVCacheType, FlashAttention: s.Offload.FlashAttention}
	attrs := []any{"layers", p.String(), "ram_mib", p.RAM >> 20}
	if p.OnGPU() {
		o.GPULayers, o.Devices = p.GPULayers, p.Devices
		if len(p.Devices) > 1 {
			o.TensorSplit = p.Split
		}
		o.Need = map[string]int64{}
		for i, g := range gpus {
			if i < len(p.GPU) && p.GPU[i] > 0 {
				o.Need[g.Name] = p.GPU[i]
				attrs = append(attrs, g.Name+"_mib", p.GPU[i]>>20)
			}
		}
	}
	log.Info("placement", attrs...)
	return o
}
