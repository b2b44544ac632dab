#!/usr/bin/env bash
# scripts/gpu-check.sh RESULTS_DIR
#
# The GPU check of docs/gpu.md, for an NVIDIA H100/H200 machine (sm_90).
# From the repository root it
#   1. builds the CUDA backend for sm_90 only (make cuda, every core) while
#      the gateway builds beside it (make build) and ggufgen writes a
#      TinyLlama-1.1B-shaped random-weight Q4_0 model;
#   2. serves that model with gpu_layers: all (pinned, so it loads at start);
#   3. runs bench/loadgen at concurrency 1, 4 and 16 (128-token prompts,
#      128 tokens out, streamed);
# and prints, and writes into RESULTS_DIR (summary.md, with every log): the
# devices found, the placement and llama.cpp's count of offloaded layers, the
# GPU memory in use, tokens/s and TTFT per concurrency.
#
# Every step runs under `timeout`, sized so that the whole check ends within
# TOTAL_BUDGET seconds (default 570: under 10 minutes) on a 16-core machine.
# Exit status: 0 when everything ran, the whole model was on the GPU and no
# request failed; 1 otherwise (summary.md says what went wrong).
#
# Needs: an NVIDIA driver (nvidia-smi), the CUDA toolkit 12.x (nvcc), cmake
# 3.21+, Go, gcc/g++, the Debian packages of scripts/setup.sh, and the Go
# module cache (or network for go mod download).
# Environment: CUDA_ARCHITECTURES (90), JOBS (nproc), TOTAL_BUDGET (570),
# SHARED_MODELS (for the Llama vocabulary; synthetic vocabulary without it),
# SKIP_BUILD=1 (reuse bin/llamagate and lib/ollama from an earlier run).
# REHEARSAL=1 runs the same steps on a machine without a GPU (no nvidia-smi,
# nvcc or make cuda; gpu_layers auto, so the model stays on the CPU) to check
# the script itself; SHAPE (1b1), REQUESTS (4) and MAX_TOKENS (128) make such
# a run shorter; GATEWAY (bin/llamagate) names the binary to serve with.
set -euo pipefail

[[ $# -eq 1 ]] || {
	echo "usage: $0 RESULTS_DIR" >&2
	exit 2
}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$root"

budget=${TOTAL_BUDGET:-570}
jobs=${JOBS:-$(nproc)}
archs=${CUDA_ARCHITECTURES:-90}
bindir=bench/out/bin
models=bench/out/models
rehearsal=${REHEARSAL:-0}
shape=${SHAPE:-1b1}
model_id=gpu-$shape-q4_0
model=$models/$model_id.gguf
shared=${SHARED_MODELS:-$root/../shared/models}
vocab=$shared/vocab/ggml-vocab-llama-spm.gguf
summary=$out/summary.md
status=0
SECONDS=0

log() { printf '== [%3ds] %s\n' "$SECONDS" "$*" >&2; }
note() { printf '%s\n' "$*" >>"$summary"; }
fail() {
	note "**FAILED**: $*"
	log "FAILED: $*"
	status=1
}
# left CAP: seconds a step may take, at most CAP, leaving 15 s to clean up.
left() {
	local rest=$((budget - SECONDS - 15))
	((rest < 1)) && rest=1
	((rest < $1)) && echo "$rest" || echo "$1"
}
# tailof FILE: the end of a log, for the summary.
tailof() {
	note '```'
	tail -n 15 "$1" >>"$summary" 2>/dev/null || true
	note '```'
}

: >"$summary"
note "# GPU check"
note ""
note "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
note "- commit: $(git describe --always --dirty 2>/dev/null || echo unknown)"
note "- host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //')"

# --- 1. preflight ------------------------------------------------------------
log "preflight"
missing=()
gpu_tools=(nvidia-smi cmake)
if [[ $rehearsal == 1 ]]; then
	gpu_tools=()
	note "- **rehearsal without a GPU**: no CUDA build, gpu_layers auto; these are not GPU figures"
fi
for tool in "${gpu_tools[@]}" go gcc g++ make; do
	command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
nvcc=$(command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)
[[ -x $nvcc || $rehearsal == 1 ]] || missing+=(nvcc)
if ((${#missing[@]} > 0)); then
	fail "missing tools: ${missing[*]}"
	cat "$summary"
	exit 1
fi
{
	if [[ $rehearsal != 1 ]]; then
		nvidia-smi --query-gpu=index,name,memory.total,memory.used,driver_version,compute_cap --format=csv
		echo
		"$nvcc" --version | tail -n 2
		echo
	fi
	go version
} >"$out/machine.txt" 2>&1 || true
note "- GPUs (nvidia-smi):"
note '```'
cat "$out/machine.txt" >>"$summary"
note '```'
if ! timeout "$(left 90)" go mod download >"$out/go-mod-download.log" 2>&1; then
	fail "go mod download (no module cache and no network?)"
	tailof "$out/go-mod-download.log"
	cat "$summary"
	exit 1
fi

# --- 2. builds and the model, side by side -----------------------------------
mkdir -p "$bindir" "$models"
CGO_ENABLED=0 timeout "$(left 120)" go build -o "$bindir/loadgen" ./bench/loadgen
CGO_ENABLED=0 timeout "$(left 120)" go build -o "$bindir/ggufgen" ./cmd/ggufgen
loadgen=$bindir/loadgen

pids=()
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
	log "building the CUDA backend (sm_$archs, $jobs jobs) and the gateway, up to $(left 360) s"
	if [[ $rehearsal != 1 ]]; then
		timeout -k 10 "$(left 360)" make cuda CUDA_ARCHITECTURES="$archs" JOBS="$jobs" >"$out/build-cuda.log" 2>&1 &
		pids+=("cuda:$!")
	fi
	timeout -k 10 "$(left 360)" make build >"$out/build-gateway.log" 2>&1 &
	pids+=("gateway:$!")
fi
if [[ ! -s $model ]]; then
	vocab_args=()
	if [[ -f $vocab ]]; then
		vocab_args=(-vocab "$vocab")
	fi
	log "writing $model (-shape $shape -type q4_0${vocab_args[*]:+ ${vocab_args[*]}})"
	timeout -k 10 "$(left 360)" "$bindir/ggufgen" -out "$model.part" -shape "$shape" -type q4_0 "${vocab_args[@]}" \
		-name "llamagate gpu check $shape (random weights)" >"$out/ggufgen.log" 2>&1 &&
		mv "$model.part" "$model" &
	pids+=("model:$!")
fi
for p in "${pids[@]}"; do
	if ! wait "${p#*:}"; then
		fail "step ${p%%:*} failed or ran out of time (exit status 124 is the time box)"
		case ${p%%:*} in
		cuda) tailof "$out/build-cuda.log" ;;
		gateway) tailof "$out/build-gateway.log" ;;
		model) tailof "$out/ggufgen.log" ;;
		esac
	fi
done
log "builds done"
if ((status != 0)); then
	cat "$summary"
	exit 1
fi
note "- CUDA backend (lib/ollama):"
note '```'
ls -l lib/ollama >>"$summary" 2>&1 || true
note '```'

# --- 3. the gateway, with the model entirely on the GPU ---------------------
# Its own folder: the gateway watches the config file's folder and the
# models folder (empty here; the model comes from the config).
gwdir=$out/gateway
mkdir -p "$gwdir/models"
cat >"$gwdir/config.yaml" <<EOF
defaults:
  parallel: 16
  ctx_size: 512
models:
  - id: $model_id
    path: $root/$model
    gpu_layers: $([[ $rehearsal == 1 ]] && echo auto || echo all)
    pinned: true
EOF
gw_pid=
stop_gateway() {
	[[ -n $gw_pid ]] || return 0
	kill "$gw_pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$gw_pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -9 "$gw_pid" 2>/dev/null || true
	wait "$gw_pid" 2>/dev/null || true
	gw_pid=
}
trap stop_gateway EXIT
port=$("$loadgen" -free-port)
url=http://127.0.0.1:$port
gwlog=$out/gateway.log
gateway=${GATEWAY:-./bin/llamagate}
log "starting $gateway on $url (debug log: llama.cpp's own lines included)"
"$gateway" --addr "127.0.0.1:$port" --config "$gwdir/config.yaml" --models-dir "$gwdir/models" \
	--log-level debug >"$gwlog" 2>&1 &
gw_pid=$!
loaded=0
deadline=$((SECONDS + $(left 120)))
while ((SECONDS < deadline)); do
	if grep -q 'msg="model loaded"' "$gwlog"; then
		loaded=1
		break
	fi
	if grep -q 'model load failed' "$gwlog" || ! kill -0 "$gw_pid" 2>/dev/null; then
		break
	fi
	sleep 1
done
note ""
note "## Devices and placement"
note '```'
grep -E 'msg=device |msg="GPU budget"|msg="no GPU found|msg=placement|offloaded [0-9]+/[0-9]+ layers|msg="model loaded"|model load failed' "$gwlog" >>"$summary" || true
note '```'
if ((loaded == 0)); then
	fail "the model did not load (see gateway.log)"
	tailof "$gwlog"
	cat "$summary"
	exit 1
fi
offload=$(grep -oE 'offloaded [0-9]+/[0-9]+ layers' "$gwlog" | tail -n 1 || true)
read -r got want < <(sed -E 's#offloaded ([0-9]+)/([0-9]+) layers#\1 \2#' <<<"${offload:-offloaded 0/1 layers}")
if [[ $rehearsal != 1 ]]; then
	if [[ -z $offload || $got != "$want" ]]; then
		fail "not every layer is on the GPU (${offload:-no offload line from llama.cpp})"
	fi
	note ""
	note "GPU memory with the model loaded (nvidia-smi):"
	note '```'
	nvidia-smi --query-gpu=index,name,memory.used,memory.total --format=csv >>"$summary" 2>&1 || true
	nvidia-smi --query-compute-apps=pid,used_memory --format=csv >>"$summary" 2>&1 || true
	note '```'
fi

# --- 4. load --------------------------------------------------------------
log "loadgen at concurrency 1, 4, 16, up to $(left 170) s"
lg_status=0
timeout -s TERM -k 15 "$(left 170)" "$loadgen" -url "$url" -model "$model_id" -concurrency 1,4,16 \
	-prompt-tokens 128 -max-tokens "${MAX_TOKENS:-128}" -requests "${REQUESTS:-4}" -duration 40s -timeout 60s -progress=false \
	-label gpu-1b1-sweep -out "$out" -note "scripts/gpu-check.sh: $model_id, gpu_layers all, parallel 16, ctx 512" \
	>"$out/loadgen.log" 2>&1 || lg_status=$?
note ""
note "## Load (bench/loadgen: 128-token prompts, ${MAX_TOKENS:-128} out, temperature 0, streamed)"
if [[ -f $out/gpu-1b1-sweep.md ]]; then
	grep -E '^\|' "$out/gpu-1b1-sweep.md" >>"$summary" || true
else
	tailof "$out/loadgen.log"
fi
if ((lg_status != 0)); then
	fail "loadgen exit status $lg_status (2: some responses failed its checks; 124: time box)"
fi
kill -0 "$gw_pid" 2>/dev/null || fail "the gateway died (see gateway.log)"
stop_gateway

note ""
note "total time: ${SECONDS}s (budget ${budget}s)"
((SECONDS <= budget)) || fail "the check took longer than its budget"
cat "$summary"
log "results in $out"
exit "$status"
