# llamagate build. Every target runs Go with the same CGO_* flags: the Go
# build cache keys llama.cpp's compiled objects on them, so any difference
# between targets would rebuild all of llama.cpp (minutes on 2 cores).
#
#   make run        build and serve ./models (writes a random-weight demo model if empty)
#   make test       vet + the whole test suite with -race
#   make build      bin/llamagate
#   make bench      the benchmark suite (bench/); make bench-quick for a short run
#   make cuda       the CUDA backend library, into lib/ollama (docs/gpu.md)
#
# Switches:
#   PORTABLE=1      compile ggml for a generic x86-64-v3 CPU instead of -march=native
#   PORTABLE_MARCH  the -march used by PORTABLE=1 (default x86-64-v3)
#   OPENMP=1        use OpenMP threads in ggml instead of ggml's own thread pool
#   AMX=1           compile ggml's AMX kernels in, used after a start-up probe
#   CUDA_ARCHITECTURES  GPUs make cuda compiles for (default 80;86;89;90:
#                   Ampere, Ada, Hopper); NVCC, CUDA_FLAGS, JOBS likewise

SHELL := /bin/bash
GO ?= go
ADDR ?= 127.0.0.1:8080
MODELS_DIR ?= ./models
PORTABLE_MARCH ?= x86-64-v3

OLLAMA_MOD := github.com/ollama/ollama
OLLAMA_DIR := $(shell $(GO) mod download $(OLLAMA_MOD) >/dev/null 2>&1; $(GO) list -m -f '{{.Dir}}' $(OLLAMA_MOD) 2>/dev/null)

MACHINE := $(shell uname -m)

# AMX stays out of the default build: -march=native on a CPU that reports
# AMX defines __AMX_INT8__, and ggml-cpu.cpp then refers to AMX kernels that
# the binding's cgo package never compiles (a link failure), while compiling
# them in crashes (SIGILL) on VMs that report AMX the guest cannot use.
# AMX=1 compiles them in behind a run-time probe (docs/configuration.md).
ifeq ($(AMX),1)
NO_AMX :=
else
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
endif

ifeq ($(PORTABLE),1)
ARCH_FLAGS := -march=$(PORTABLE_MARCH) -mtune=generic $(if $(filter x86_64,$(MACHINE)),$(NO_AMX))
else ifeq ($(MACHINE),aarch64)
ARCH_FLAGS := -mcpu=native
else ifeq ($(MACHINE),arm64)
ARCH_FLAGS := -mcpu=native
else
ARCH_FLAGS := -march=native $(NO_AMX)
endif

OPT_FLAGS := -O3 $(ARCH_FLAGS)
LD_FLAGS :=
ifeq ($(OPENMP),1)
OPT_FLAGS += -DGGML_USE_OPENMP -fopenmp
LD_FLAGS += -fopenmp
endif

# AMX=1 compiles ggml's AMX kernels from the binding's sources in the
# backends/llamacpp/amx package (build tag amx), which needs ggml's source
# folders on the include path.
ifeq ($(AMX),1)
AMX_CPPFLAGS := -I$(OLLAMA_DIR)/ml/backend/ggml/ggml/src -I$(OLLAMA_DIR)/ml/backend/ggml/ggml/src/ggml-cpu
export GOFLAGS := $(strip $(GOFLAGS) -tags=amx)
endif

export CGO_ENABLED := 1
export CGO_CPPFLAGS := $(strip -I$(CURDIR)/include -I$(OLLAMA_DIR)/llama/llama.cpp/include -I$(OLLAMA_DIR)/ml/backend/ggml/ggml/include -DGGML_USE_CPU_REPACK $(AMX_CPPFLAGS))
export CGO_CFLAGS := $(OPT_FLAGS)
export CGO_CXXFLAGS := $(OPT_FLAGS)
export CGO_LDFLAGS := $(LD_FLAGS)

# -p 1: one test binary at a time. Several packages run llama.cpp with 2
# threads each; two such binaries on 2 cores make ggml's spinning thread
# barriers wait on descheduled threads, and a run measured 20x slower (the
# engine package 560 s instead of 27 s, e2e timeouts). Serially the whole
# suite's tests take about a minute.
TEST_FLAGS ?= -race -timeout 30m -p 1
# An execution count, not a duration: with a duration, go1.26's fuzz
# coordinator can fail a target with "context deadline exceeded" when the
# time runs out while a busy worker is mid-input (golang/go#75804, fixed in
# Go 1.27); CI hit it on a loaded machine with no failing input found.
FUZZTIME ?= 150000x

.PHONY: all setup build run test vet fuzz bench bench-quick env clean cuda check-arch portable

all: build

# setup installs the Debian packages that llama.cpp's headers need. It uses
# apt-get when a package is missing, so it needs root (or sudo) only then.
setup:
	@./scripts/setup.sh

build: setup
	$(GO) build -o bin/llamagate ./cmd/gateway

run: build
	./bin/llamagate --addr $(ADDR) --models-dir $(MODELS_DIR) --demo-model-if-empty

vet: setup
	@unformatted=$$("$$($(GO) env GOROOT)/bin/gofmt" -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted" >&2; exit 1; fi
	$(GO) vet ./...

test: vet
	@./scripts/setup.sh test
	$(GO) test $(TEST_FLAGS) ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME)

# fuzz runs every fuzz target for FUZZTIME (150000 inputs in make test, about 10 s each here; longer runs
# by hand are recorded in docs/fuzzing.md).
FUZZ_TARGETS := ./engine:FuzzTextFilter ./openai:FuzzDecodeCompletionRequest ./openai:FuzzDecodeChatRequest ./toolcall:FuzzBFamilies ./toolcall:FuzzParsers
fuzz: setup
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$name ($(FUZZTIME))"; \
	  $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

bench: build
	./bench/run.sh full

bench-quick: build
	./bench/run.sh quick

# env prints the variables the targets use, for running go by hand:
#   eval "$(make -s env)"; go test ./backends/llamacpp/
env:
	@echo "export CGO_ENABLED=1"
	@echo "export CGO_CPPFLAGS='$(CGO_CPPFLAGS)'"
	@echo "export CGO_CFLAGS='$(CGO_CFLAGS)'"
	@echo "export CGO_CXXFLAGS='$(CGO_CXXFLAGS)'"
	@echo "export CGO_LDFLAGS='$(CGO_LDFLAGS)'"
	@if [ -n "$(GOFLAGS)" ]; then echo "export GOFLAGS='$(GOFLAGS)'"; fi

# portable builds the bundle that container images ship: dist/bin/llamagate
# for any x86-64-v2 CPU, and beside it llamagate-NAME builds for newer
# targets; at start the baseline execs the best one this CPU and OS support
# (internal/variant) and logs which. Each target compiles llama.cpp once
# (minutes each on 2 cores).
PORTABLE_VARIANTS ?= haswell:haswell skylakex:skylake-avx512 icelake:icelake-server sapphirerapids:sapphirerapids
portable: setup
	@mkdir -p dist/bin
	CGO_CFLAGS="-O3 -march=x86-64-v2 -mtune=generic" CGO_CXXFLAGS="-O3 -march=x86-64-v2 -mtune=generic" \
	  $(GO) build -o dist/bin/llamagate ./cmd/gateway
	@set -e; for v in $(PORTABLE_VARIANTS); do name=$${v%%:*}; march=$${v#*:}; \
	  echo "portable: llamagate-$$name (-march=$$march)"; \
	  CGO_CFLAGS="-O3 -march=$$march $(NO_AMX)" CGO_CXXFLAGS="-O3 -march=$$march $(NO_AMX)" \
	    $(GO) build -o dist/bin/llamagate-$$name ./cmd/gateway; \
	done

# check-arch compiles and links ggml's CPU code for the x86-64 targets that
# matter (without running it), so a build-flag change that breaks one of
# them (such as AMX kernels referenced but never compiled) shows up on any
# machine. Each target compiles ggml once (a minute or two on 2 cores; the
# results stay in the Go build cache). sapphirerapids is also built with
# AMX=1. ARM64_CC, when set to an aarch64 cross compiler, adds arm64.
ARM64_CXX ?= $(subst gcc,g++,$(ARM64_CC))
CHECK_ARCHES ?= x86-64-v3 skylake-avx512 icelake-server sapphirerapids znver3 znver4
check-arch:
	@set -e; for a in $(CHECK_ARCHES); do \
	  if ! $${CC:-cc} -march=$$a -x c -E /dev/null >/dev/null 2>&1; then \
	    echo "check-arch: -march=$$a: not known to this compiler ($$($${CC:-cc} --version | head -1)), not checked"; continue; fi; \
	  echo "check-arch: -march=$$a"; \
	  CGO_CFLAGS="-O3 -march=$$a $(NO_AMX)" CGO_CXXFLAGS="-O3 -march=$$a $(NO_AMX)" \
	    $(GO) build -o /dev/null ./internal/archcheck; \
	done
	@echo "check-arch: -march=sapphirerapids with AMX=1"
	@CGO_CFLAGS="-O3 -march=sapphirerapids" CGO_CXXFLAGS="-O3 -march=sapphirerapids" \
	  CGO_CPPFLAGS="$(CGO_CPPFLAGS) -I$(OLLAMA_DIR)/ml/backend/ggml/ggml/src -I$(OLLAMA_DIR)/ml/backend/ggml/ggml/src/ggml-cpu" \
	  $(GO) build -tags=amx -o /dev/null ./internal/archcheck
	@if [ -n "$(ARM64_CC)" ]; then echo "check-arch: arm64 (-mcpu=neoverse-v1)"; \
	  CC=$(ARM64_CC) CXX=$(ARM64_CXX) GOARCH=arm64 CGO_CFLAGS="-O3 -mcpu=neoverse-v1" CGO_CXXFLAGS="-O3 -mcpu=neoverse-v1" \
	    $(GO) build -o /dev/null ./internal/archcheck; fi
	@echo "check-arch: all targets link"

# cuda builds ggml's CUDA backend as a library the binding loads at start
# (GGML_BACKEND_DL): CMake on the binding module's own CMakeLists.txt and
# ggml sources, so the library matches the ggml compiled into the gateway.
# Only the ggml-cuda target is built (not the CPU variants: the gateway has
# its CPU backend built in) and the module's CUDA install component puts it,
# with the cuBLAS and CUDA runtime libraries it needs, into lib/ollama, the
# <exe dir>/../lib/ollama the binding searches for bin/llamagate.
# libggml-base.so, which ggml-cuda links against, belongs to the module's CPU
# component and is copied beside it; an $ORIGIN rpath lets the loader find
# it there. GGML_CUDA is not set: the module's CMakeLists adds ggml-cuda by
# itself when it finds nvcc. Its own build folder leaves the Go build cache
# and the default cgo flags alone.
CUDA_ARCHITECTURES ?= 80;86;89;90
CUDA_FLAGS ?=
CUDA_BUILD_DIR ?= build/cuda
JOBS ?= $(shell nproc 2>/dev/null || echo 4)
NVCC ?= $(or $(shell command -v nvcc 2>/dev/null),/usr/local/cuda/bin/nvcc)

cuda:
	@if [ ! -x "$(NVCC)" ]; then \
	  echo "make cuda: nvcc (the CUDA toolkit) was not found on PATH nor at /usr/local/cuda/bin/nvcc." >&2; \
	  echo "  Install the CUDA toolkit 12.x, build the Dockerfile's cuda target, or set NVCC=/path/to/nvcc." >&2; \
	  exit 1; \
	fi
	@command -v cmake >/dev/null 2>&1 || { echo "make cuda: cmake 3.21 or newer is missing (apt-get install cmake)" >&2; exit 1; }
	@test -f "$(OLLAMA_DIR)/CMakeLists.txt" || { echo "make cuda: the module $(OLLAMA_MOD) is not in the Go module cache (go mod download)" >&2; exit 1; }
	cmake -S "$(OLLAMA_DIR)" -B "$(CUDA_BUILD_DIR)" -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_CUDA_COMPILER="$(NVCC)" -DCMAKE_CUDA_ARCHITECTURES="$(CUDA_ARCHITECTURES)" -DCMAKE_CUDA_FLAGS="$(CUDA_FLAGS)" \
	  -DCMAKE_INSTALL_PREFIX="$(CURDIR)" -DOLLAMA_RUNNER_DIR= -DCMAKE_INSTALL_RPATH='$$ORIGIN'
	cmake --build "$(CUDA_BUILD_DIR)" --target ggml-cuda --parallel $(JOBS)
	cmake --install "$(CUDA_BUILD_DIR)" --component CUDA --strip
	cp -a "$(CUDA_BUILD_DIR)"/lib/ollama/libggml-base.so* lib/ollama/
	@echo "make cuda: installed into lib/ollama (bin/llamagate loads it at start; elsewhere set OLLAMA_LIBRARY_PATH):"
	@ls -l lib/ollama

clean:
	rm -rf bin build lib/ollama
