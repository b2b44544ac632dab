#pragma once
#ifdef __cplusplus
extern "C" {
#endif
// lg_amx_probe asks Linux for the AMX tile-data permission and runs one
// tile configuration, load and release. 0 on success, else the errno of
// the refused request. A CPU or hypervisor that cannot run the tiles
// raises SIGILL: run it in a child process only.
int lg_amx_probe(void);
// lg_amx_kernels is 1 when the kernels were compiled (an AMX target).
int lg_amx_kernels(void);
// lg_amx_enable lets ggml use its AMX buffer type from now on.
void lg_amx_enable(void);
#ifdef __cplusplus
}
#endif
