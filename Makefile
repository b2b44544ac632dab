# llamagate build. Every target runs Go with the same CGO_* flags: the Go
# build cache keys llama.cpp's compiled objects on them, so any difference
# between targets would rebuild all of llama.cpp (minutes on 2 cores).
#
#   make run        build and serve ./models (writes a random-weight demo model if empty)
#   make test       vet + the whole test suite with -race
#   make build      bin/llamagate
#   make bench      the benchmark suite (bench/); make bench-quick for a short run
#
# Switches:
#   PORTABLE=1      compile ggml for a generic x86-64-v3 CPU instead of -march=native
#   PORTABLE_MARCH  the -march used by PORTABLE=1 (default x86-64-v3)
#   OPENMP=1        use OpenMP threads in ggml instead of ggml's own thread pool

SHELL := /bin/bash
GO ?= go
ADDR ?= 127.0.0.1:8080
MODELS_DIR ?= ./models
PORTABLE_MARCH ?= x86-64-v3

OLLAMA_MOD := github.com/ollama/ollama
OLLAMA_DIR := $(shell $(GO) mod download $(OLLAMA_MOD) >/dev/null 2>&1; $(GO) list -m -f '{{.Dir}}' $(OLLAMA_MOD) 2>/dev/null)

ifeq ($(PORTABLE),1)
ARCH_FLAGS := -march=$(PORTABLE_MARCH) -mtune=generic
else
ARCH_FLAGS := -march=native
endif

OPT_FLAGS := -O3 $(ARCH_FLAGS)
LD_FLAGS :=
ifeq ($(OPENMP),1)
OPT_FLAGS += -DGGML_USE_OPENMP -fopenmp
LD_FLAGS += -fopenmp
endif

export CGO_ENABLED := 1
export CGO_CPPFLAGS := -I$(CURDIR)/include -I$(OLLAMA_DIR)/llama/llama.cpp/include -I$(OLLAMA_DIR)/ml/backend/ggml/ggml/include -DGGML_USE_CPU_REPACK
export CGO_CFLAGS := $(OPT_FLAGS)
export CGO_CXXFLAGS := $(OPT_FLAGS)
export CGO_LDFLAGS := $(LD_FLAGS)

TEST_FLAGS ?= -race -timeout 30m
FUZZTIME ?= 10s

.PHONY: all setup build run test vet fuzz bench bench-quick env clean

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
	$(GO) vet ./...

test: vet
	@./scripts/setup.sh test
	$(GO) test $(TEST_FLAGS) ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME)

# fuzz runs every fuzz target for FUZZTIME (10s in make test; longer runs
# by hand are recorded in docs/fuzzing.md).
FUZZ_TARGETS := ./engine:FuzzTextFilter ./openai:FuzzDecodeCompletionRequest ./openai:FuzzDecodeChatRequest
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

clean:
	rm -rf bin
