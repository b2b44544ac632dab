# syntax=docker/dockerfile:1
#
# llamagate images (docs/gpu.md, README "Container images"):
#
#   docker build -t llamagate .                        CPU (the default target)
#   docker build --target cuda -t llamagate:cuda .     NVIDIA GPUs (CUDA 12)
#
# Every build step is a make target (make portable; make cuda). The CPU
# image holds the portable bundle: a baseline gateway for any x86-64-v2 CPU
# and builds for AVX2, AVX-512, AVX-512 VNNI and Sapphire Rapids beside it;
# at start the baseline hands over to the best one the CPU supports and logs
# which (docs/configuration.md, "CPU builds"). For an image that runs only on
# CPUs like the build machine's:
#   docker build --build-arg PORTABLE=0 -t llamagate:native .
#
# The gateway listens on 0.0.0.0:8080 in the container and, as everywhere,
# refuses a non-loopback address without API keys: mount a config with
# auth.keys, or pass -e LLAMAGATE_INSECURE_NO_AUTH=true to try it out (and
# publish the port on 127.0.0.1 only).

ARG GO_VERSION=1.26.8
ARG DEBIAN_RELEASE=bookworm
ARG CUDA_VERSION=12.8.1
ARG CUDA_UBUNTU=ubuntu24.04

# ---- CPU: build --------------------------------------------------------
FROM golang:${GO_VERSION}-${DEBIAN_RELEASE} AS build
ARG PORTABLE=1
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# make build installs the Debian packages llama.cpp's headers need
# (scripts/setup.sh) and compiles the gateway with llama.cpp linked in.
RUN --mount=type=cache,target=/root/.cache/go-build \
    if [ "${PORTABLE}" = 1 ]; then make portable && mkdir -p bin && cp dist/bin/* bin/; \
    else make build; fi

# ---- CPU: runtime (the default target: see the last line) --------------
FROM debian:${DEBIAN_RELEASE}-slim AS cpu
# curl for the health check; CA certificates for backend: openai upstreams.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl ca-certificates libstdc++6 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin llamagate \
    && mkdir -p /models /etc/llamagate
COPY --from=build /src/bin/ /opt/llamagate/bin/
ENV PATH=/opt/llamagate/bin:$PATH \
    LLAMAGATE_ADDR=0.0.0.0:8080 \
    LLAMAGATE_MODELS_DIR=/models
# Configuration: LLAMAGATE_* variables (every flag), or a mounted file:
#   -v ./config.yaml:/etc/llamagate/config.yaml:ro -e LLAMAGATE_CONFIG=/etc/llamagate/config.yaml
VOLUME /models
EXPOSE 8080
USER llamagate
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${LLAMAGATE_ADDR##*:}/health" >/dev/null || exit 1
ENTRYPOINT ["llamagate"]

# ---- CUDA: build -------------------------------------------------------
# Built on the CUDA devel image, Go copied in from the official image, so
# the binary and the CUDA libraries share the runtime image's glibc.
FROM golang:${GO_VERSION}-${DEBIAN_RELEASE} AS go
FROM nvidia/cuda:${CUDA_VERSION}-devel-${CUDA_UBUNTU} AS build-cuda
ARG PORTABLE=1
# Default: Ampere (A100, A10, RTX 30), Ada (L4, L40, RTX 40), Hopper (H100,
# H200). One architecture builds several times faster: "90" for Hopper only.
ARG CUDA_ARCHITECTURES="80;86;89;90"
COPY --from=go /usr/local/go /usr/local/go
ENV PATH=/usr/local/go/bin:$PATH
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake make gcc g++ git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    make build PORTABLE=${PORTABLE} \
    && make cuda CUDA_ARCHITECTURES="${CUDA_ARCHITECTURES}"

# ---- CUDA: runtime -----------------------------------------------------
# The base flavour: lib/ollama already holds the cuBLAS and CUDA runtime
# libraries the backend needs (make cuda installs them); the driver comes
# from the host (NVIDIA Container Toolkit: docker run --gpus all).
FROM nvidia/cuda:${CUDA_VERSION}-base-${CUDA_UBUNTU} AS cuda
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl ca-certificates libstdc++6 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin llamagate \
    && mkdir -p /models /etc/llamagate
# The binding loads GPU backends from <exe dir>/../lib/ollama.
COPY --from=build-cuda /src/bin/llamagate /opt/llamagate/bin/llamagate
COPY --from=build-cuda /src/lib/ollama /opt/llamagate/lib/ollama
ENV PATH=/opt/llamagate/bin:$PATH \
    LLAMAGATE_ADDR=0.0.0.0:8080 \
    LLAMAGATE_MODELS_DIR=/models \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
VOLUME /models
EXPOSE 8080
USER llamagate
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${LLAMAGATE_ADDR##*:}/health" >/dev/null || exit 1
ENTRYPOINT ["llamagate"]

# The CPU image is the default target.
FROM cpu
