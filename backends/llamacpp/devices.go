package llamacpp

/*
#include <stdlib.h>
#include "helpers.h"
*/
import "C"

import (
	"fmt"
	"strconv"
	"unsafe"
)

// Device is a compute device ggml found: the CPU, and the GPUs of the
// backend libraries the binding loaded at start (from <exe dir>/../lib/ollama
// or OLLAMA_LIBRARY_PATH, see docs/gpu.md).
type Device struct {
	Name        string // ggml's name: CPU, CUDA0, ...
	Description string // e.g. "NVIDIA H100 80GB HBM3"
	Type        string // cpu, gpu, igpu or accel
	Free, Total int64  // memory in bytes, as the backend reports it now
}

// Devices initialises llama.cpp if needed and returns the devices ggml
// found, in ggml's order (the order llama.cpp uses GPUs in).
func Devices() []Device {
	backendInit()
	n := int(C.ggml_backend_dev_count())
	out := make([]Device, 0, n)
	for i := range n {
		dev := C.ggml_backend_dev_get(C.size_t(i))
		var free, total C.size_t
		C.ggml_backend_dev_memory(dev, &free, &total)
		out = append(out, Device{
			Name:        C.GoString(C.ggml_backend_dev_name(dev)),
			Description: C.GoString(C.ggml_backend_dev_description(dev)),
			Type:        deviceType(C.ggml_backend_dev_type(dev)),
			Free:        int64(free),
			Total:       int64(total),
		})
	}
	return out
}

func deviceType(t C.enum_ggml_backend_dev_type) string {
	switch t {
	case C.GGML_BACKEND_DEVICE_TYPE_CPU:
		return "cpu"
	case C.GGML_BACKEND_DEVICE_TYPE_GPU:
		return "gpu"
	case C.GGML_BACKEND_DEVICE_TYPE_IGPU:
		return "igpu"
	}
	return "accel"
}

// Offload says where a model's layers go and how its KV cache is stored.
// The zero value runs the model on the CPU only.
type Offload struct {
	// GPULayers is llama.cpp's n_gpu_layers: the last GPULayers repeating
	// layers go to the GPUs, and at n_layer+1 the output layer too; -1:
	// all. 0 uses no GPU at all, not even for compute buffers.
	GPULayers int
	// Devices are the GPUs to use, by ggml name (CUDA0), in order; nil:
	// every GPU ggml found (llama.cpp's default).
	Devices []string
	// TensorSplit is the share of the offloaded layers per device, in
	// Devices order; nil: llama.cpp's default (by free memory).
	TensorSplit []float32
	// Need is the memory the load is expected to take on each device, by
	// name. Before loading, a device with less free memory fails the load
	// with a clear error instead of an allocation failure inside llama.cpp.
	Need map[string]int64
	// KVCacheType is f16 (empty), q8_0 or q4_0, for both K and V.
	KVCacheType string
	// FlashAttention is auto (empty), on or off. Auto with a quantized KV
	// cache is on: llama.cpp cannot hold a quantized V cache without flash
	// attention and would fail the context if auto resolved to off.
	FlashAttention string
}

func (o Offload) validate() error {
	if _, ok := kvCacheTypes[o.KVCacheType]; !ok {
		return fmt.Errorf("kv_cache_type %q: want f16, q8_0 or q4_0", o.KVCacheType)
	}
	switch o.FlashAttention {
	case "", "auto", "on", "off":
	default:
		return fmt.Errorf("flash_attention %q: want auto, on or off", o.FlashAttention)
	}
	if o.FlashAttention == "off" && o.KVCacheType != "" && o.KVCacheType != "f16" {
		return fmt.Errorf("kv_cache_type %s needs flash attention, which is off", o.KVCacheType)
	}
	if len(o.TensorSplit) > 0 && len(o.TensorSplit) != len(o.Devices) {
		return fmt.Errorf("tensor_split has %d shares for %d devices", len(o.TensorSplit), len(o.Devices))
	}
	if len(o.Devices) > int(C.llama_max_devices()) {
		return fmt.Errorf("%d devices: llama.cpp takes at most %d", len(o.Devices), int(C.llama_max_devices()))
	}
	return nil
}

var kvCacheTypes = map[string]C.enum_ggml_type{"": C.GGML_TYPE_F16, "f16": C.GGML_TYPE_F16, "q8_0": C.GGML_TYPE_Q8_0, "q4_0": C.GGML_TYPE_Q4_0}

// kvType is the ggml type of the K and V caches.
func (o Offload) kvType() C.enum_ggml_type { return kvCacheTypes[o.KVCacheType] }

// flashAttn is llama.cpp's flash attention setting.
func (o Offload) flashAttn() C.enum_llama_flash_attn_type {
	switch {
	case o.FlashAttention == "on", o.FlashAttention != "off" && o.kvType() != C.GGML_TYPE_F16:
		return C.LLAMA_FLASH_ATTN_TYPE_ENABLED
	case o.FlashAttention == "off":
		return C.LLAMA_FLASH_ATTN_TYPE_DISABLED
	}
	return C.LLAMA_FLASH_ATTN_TYPE_AUTO
}

// checkFree fails when a device the placement uses has less free memory
// than the placement needs there (another process took it since start).
func (o Offload) checkFree() error {
	for name, need := range o.Need {
		if need <= 0 {
			continue
		}
		dev, err := deviceByName(name)
		if err != nil {
			return err
		}
		var free, total C.size_t
		C.ggml_backend_dev_memory(dev, &free, &total)
		if int64(free) < need {
			return fmt.Errorf("%s has %s free, but this model's placement needs %s there (is another process using the GPU?)",
				name, formatMiB(int64(free)), formatMiB(need))
		}
	}
	return nil
}

func deviceByName(name string) (C.ggml_backend_dev_t, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	dev := C.ggml_backend_dev_by_name(cname)
	if dev == nil {
		return nil, fmt.Errorf("no device %q (llama.cpp found: %s)", name, deviceNames())
	}
	return dev, nil
}

func deviceNames() string {
	s := ""
	for i, d := range Devices() {
		if i > 0 {
			s += ", "
		}
		s += d.Name
	}
	return s
}

func formatMiB(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

// cParams holds the C memory a model load points into; llama.cpp copies
// the device list when the model loads and reads tensor_split while it
// loads, and both are freed with the model.
type cParams struct {
	devices *C.ggml_backend_dev_t
	split   *C.float
}

func (p *cParams) free() {
	C.free(unsafe.Pointer(p.devices))
	C.free(unsafe.Pointer(p.split))
	p.devices, p.split = nil, nil
}

// apply sets the offload fields of params. GPULayers 0 passes an empty
// device list, so llama.cpp uses no GPU at all (with the default list it
// would still reserve compute buffers on every GPU).
func (o Offload) apply(params *C.struct_llama_model_params, keep *cParams) error {
	params.n_gpu_layers = C.int32_t(o.GPULayers)
	if o.GPULayers < 0 {
		params.n_gpu_layers = 999
	}
	if o.Devices == nil && o.GPULayers != 0 {
		return nil // llama.cpp's default: every GPU
	}
	names := o.Devices
	if o.GPULayers == 0 {
		names = nil
	}
	ptrSize := C.size_t(unsafe.Sizeof(uintptr(0)))
	keep.devices = (*C.ggml_backend_dev_t)(C.calloc(C.size_t(len(names)+1), ptrSize))
	devs := unsafe.Slice(keep.devices, len(names)+1)
	for i, name := range names {
		dev, err := deviceByName(name)
		if err != nil {
			return err
		}
		devs[i] = dev
	}
	params.devices = keep.devices
	if len(o.TensorSplit) > 0 && len(names) > 0 {
		n := int(C.llama_max_devices())
		keep.split = (*C.float)(C.calloc(C.size_t(n), C.size_t(unsafe.Sizeof(C.float(0)))))
		split := unsafe.Slice(keep.split, n)
		for i, s := range o.TensorSplit {
			split[i] = C.float(s)
		}
		params.tensor_split = keep.split
	}
	return nil
}

// checkKVType fails a quantized KV cache whose rows the model's attention
// heads cannot fill: ggml stores q8_0/q4_0 in blocks of 32 values, and a
// head size that is not a multiple of that makes ggml abort the process
// instead of returning an error.
func checkKVType(model *C.struct_llama_model, typ C.enum_ggml_type) error {
	if typ == C.GGML_TYPE_F16 {
		return nil
	}
	block := int(C.ggml_blck_size(typ))
	k, v := headDims(model)
	if k <= 0 || v <= 0 || k%block != 0 || v%block != 0 {
		return fmt.Errorf("kv_cache_type %s stores blocks of %d values, but this model's attention heads hold %d (keys) and %d (values): use kv_cache_type f16",
			C.GoString(C.ggml_type_name(typ)), block, k, v)
	}
	return nil
}

// headDims returns the size of one attention head's key and value, as
// llama.cpp reads them: <arch>.attention.key_length / value_length, or
// n_embd / n_head.
func headDims(model *C.struct_llama_model) (k, v int) {
	def := 0
	if h := int(C.llama_model_n_head(model)); h > 0 {
		def = int(C.llama_model_n_embd(model)) / h
	}
	arch := metaString(model, "general.architecture")
	k, v = def, def
	if n, err := strconv.Atoi(metaString(model, arch+".attention.key_length")); err == nil {
		k = n
	}
	if n, err := strconv.Atoi(metaString(model, arch+".attention.value_length")); err == nil {
		v = n
	}
	return k, v
}

func metaString(model *C.struct_llama_model, key string) string {
	ckey := C.CString(key)
	defer C.free(unsafe.Pointer(ckey))
	buf := make([]byte, 256)
	n := C.llama_model_meta_val_str(model, ckey, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	if n < 0 || int(n) >= len(buf) {
		return ""
	}
	return string(buf[:n])
}
