//go:build amx && linux && amd64

// ggml's AMX kernels, from the binding's own sources (their directory is on
// CGO_CPPFLAGS with AMX=1), compiled with their entry point renamed so that
// the one ggml-cpu calls can say "no AMX" until the probe has passed.
#define ggml_backend_amx_buffer_type lg_ggml_backend_amx_buffer_type_real
#include "ggml-cpu/amx/amx.cpp"
#include "ggml-cpu/amx/mmq.cpp"
#undef ggml_backend_amx_buffer_type

#include <atomic>
#include <cerrno>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "probe.h"

static std::atomic<bool> lg_amx_allowed{false};

extern "C" void lg_amx_enable(void) { lg_amx_allowed.store(true); }

// ggml compiles its AMX code only for targets with AMX-INT8 and
// AVX512-VNNI (-march=sapphirerapids, or native on such a CPU).
#if defined(__AMX_INT8__) && defined(__AVX512VNNI__)
extern "C" int lg_amx_kernels(void) { return 1; }

ggml_backend_buffer_type_t ggml_backend_amx_buffer_type(void) {
    if (!lg_amx_allowed.load()) {
        return nullptr;
    }
    return lg_ggml_backend_amx_buffer_type_real();
}
#else
extern "C" int lg_amx_kernels(void) { return 0; }
#endif

extern "C" __attribute__((target("amx-tile"))) int lg_amx_probe(void) {
    // ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18.
    if (syscall(SYS_arch_prctl, 0x1023, 18) != 0) {
        return errno ? errno : -1;
    }
    alignas(64) unsigned char cfg[64] = {0};
    cfg[0] = 1;                    // palette 1
    cfg[16] = 64;                  // tile 0: 64 bytes per row
    cfg[48] = 16;                  // tile 0: 16 rows
    alignas(64) static unsigned char data[16 * 64];
    _tile_loadconfig(cfg);
    _tile_loadd(0, data, 64);
    _tile_release();
    return 0;
}
