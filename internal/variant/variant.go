// Package variant picks, at start, the build of the gateway compiled for
// the best CPU target this machine and its OS support. A portable bundle
// (make portable, the container image) holds a baseline binary for any
// x86-64-v2 CPU and, next to it (llamagate-NAME), builds for newer
// targets (AVX2, AVX-512, AVX-512 VNNI, Sapphire Rapids); the baseline
// execs the best one before doing anything else. ggml's CPU code decides
// its speed by the instructions the compiler could use, and the binding
// compiles it into the binary, so choosing the binary is choosing the
// kernels, with no cost per call.
package variant

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/cpu"
)

// Env names the variant a process was started as; a process with it set
// never looks for another (no exec loops).
const Env = "LLAMAGATE_CPU_VARIANT"

// Features are the CPU capabilities that tell the variants apart, as the
// OS reports them usable (x/sys/cpu checks the OS saves the AVX and
// AVX-512 registers).
type Features struct {
	AVX2, FMA, F16C, BMI2                           bool
	AVX512F, AVX512BW, AVX512DQ, AVX512VL, AVX512CD bool
	AVX512VNNI, AVX512VBMI, AVX512VBMI2, AVX512IFMA bool
	AVX512BITALG, AVX512VPOPCNTDQ, GFNI, VAES       bool
	VPCLMULQDQ, AVX512BF16, AVX512FP16, AVXVNNI     bool
}

// Host reads this machine's features.
func Host() Features {
	x := cpu.X86
	return Features{
		AVX2: x.HasAVX2, FMA: x.HasFMA, F16C: x.HasAVX && x.HasAVX2, BMI2: x.HasBMI2,
		AVX512F: x.HasAVX512F, AVX512BW: x.HasAVX512BW, AVX512DQ: x.HasAVX512DQ, AVX512VL: x.HasAVX512VL, AVX512CD: x.HasAVX512CD,
		AVX512VNNI: x.HasAVX512VNNI, AVX512VBMI: x.HasAVX512VBMI, AVX512VBMI2: x.HasAVX512VBMI2, AVX512IFMA: x.HasAVX512IFMA,
		AVX512BITALG: x.HasAVX512BITALG, AVX512VPOPCNTDQ: x.HasAVX512VPOPCNTDQ, GFNI: x.HasAVX512GFNI, VAES: x.HasAVX512VAES,
		VPCLMULQDQ: x.HasAVX512VPCLMULQDQ, AVX512BF16: x.HasAVX512BF16, AVX512FP16: cpuinfoFlag("avx512_fp16"), AVXVNNI: x.HasAVXVNNI,
	}
}

// cpuinfoFlag reports whether Linux lists flag for the CPU (x/sys/cpu has
// no AVX512-FP16 bit). The kernel leaves out AVX-512 flags when it does not
// save those registers.
func cpuinfoFlag(flag string) bool {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "flags") {
			return slices.Contains(strings.Fields(line), flag)
		}
	}
	return false
}

// Variant is one build target.
type Variant struct {
	Name  string // file llamagate-NAME
	March string // the -march it is compiled with
	needs func(Features) bool
}

func (v Variant) Supported(f Features) bool { return v.needs(f) }

// Variants lists the targets of a portable bundle, weakest first. Each
// needs every feature its -march lets the compiler use in ggml's code.
var Variants = []Variant{
	{"haswell", "haswell", func(f Features) bool { return f.AVX2 && f.FMA && f.F16C && f.BMI2 }},
	{"skylakex", "skylake-avx512", func(f Features) bool {
		return f.AVX2 && f.FMA && f.F16C && f.BMI2 && f.AVX512F && f.AVX512BW && f.AVX512DQ && f.AVX512VL && f.AVX512CD
	}},
	{"icelake", "icelake-server", func(f Features) bool {
		return f.AVX2 && f.FMA && f.F16C && f.BMI2 && f.AVX512F && f.AVX512BW && f.AVX512DQ && f.AVX512VL && f.AVX512CD &&
			f.AVX512VNNI && f.AVX512VBMI && f.AVX512VBMI2 && f.AVX512IFMA && f.AVX512BITALG && f.AVX512VPOPCNTDQ && f.GFNI && f.VAES && f.VPCLMULQDQ
	}},
	{"sapphirerapids", "sapphirerapids", func(f Features) bool {
		return f.AVX2 && f.FMA && f.F16C && f.BMI2 && f.AVX512F && f.AVX512BW && f.AVX512DQ && f.AVX512VL && f.AVX512CD &&
			f.AVX512VNNI && f.AVX512VBMI && f.AVX512VBMI2 && f.AVX512IFMA && f.AVX512BITALG && f.AVX512VPOPCNTDQ && f.GFNI && f.VAES && f.VPCLMULQDQ &&
			f.AVX512BF16 && f.AVX512FP16 && f.AVXVNNI
	}},
}

// Best returns the strongest variant f supports whose file exists in
// dir, or false when none does.
func Best(f Features, dir string) (Variant, string, bool) {
	for i := len(Variants) - 1; i >= 0; i-- {
		v := Variants[i]
		if !v.Supported(f) {
			continue
		}
		p := filepath.Join(dir, "llamagate-"+v.Name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return v, p, true
		}
	}
	return Variant{}, "", false
}

// Dir is where a bundle keeps its variants: beside the executable, so
// every variant finds the GPU backends where the binding looks for them
// (../lib/ollama from the executable).
func Dir(exe string) string {
	return filepath.Dir(exe)
}

// Exec replaces the process with the best variant when this is a bundle's
// baseline binary and a build for a better target lies beside it. It returns only when the process goes on as it is, saying why.
func Exec() string {
	if name := os.Getenv(Env); name != "" {
		return fmt.Sprintf("running the %s build (chosen at start)", name)
	}
	exe, err := os.Executable()
	if err != nil {
		return "this build (the executable's path is unknown)"
	}
	v, path, ok := Best(Host(), Dir(exe))
	if !ok {
		return "this build (no better CPU variant next to it)"
	}
	env := append(os.Environ(), Env+"="+v.Name)
	err = syscall.Exec(path, os.Args, env)
	return fmt.Sprintf("this build (starting the %s build failed: %v)", v.Name, err)
}
