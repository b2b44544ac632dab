//go:build amx && linux && amd64

package amx

/*
#cgo CPPFLAGS: -DNDEBUG -DGGML_USE_LLAMAFILE -D_GNU_SOURCE
#cgo CXXFLAGS: -std=c++17
#include "probe.h"
*/
import "C"

import "fmt"

var compiled = C.lg_amx_kernels() == 1

const notCompiled = "built with AMX=1, but for a CPU target without AMX-INT8 and AVX512-VNNI, so ggml left its AMX kernels out"

func enable() { C.lg_amx_enable() }

func probeTiles() error {
	if rc := C.lg_amx_probe(); rc != 0 {
		return fmt.Errorf("arch_prctl(ARCH_REQ_XCOMP_PERM, XTILEDATA) refused (errno %d)", int(rc))
	}
	return nil
}
