#!/usr/bin/env bash
# bench/run.sh quick|full [OUTDIR]
#
# Benchmarks ./bin/llamagate with bench/loadgen. It writes the benchmark
# models into bench/out/models (once), starts the gateway on a free loopback
# port with --threads 2 --parallel 4, runs the scenarios of the chosen suite,
# stops the gateway (always, also on error or Ctrl-C) and says where the
# results are: OUTDIR (default bench/out/MODE-DATE) gets LABEL.md, .json and
# .svg per scenario, summary.md and gateway.log.
#
#   quick  random-weight demo-shape model and stories260K: concurrency 1,2,4,
#          64-token prompts, 32 tokens out, 2 requests per client; plus a
#          short mixed run on the demo model. About a minute.
#   full   random-weight 110M (Q8_0) and TinyLlama-1.1B-shaped (Q4_0) models
#          with the real 32k Llama SentencePiece vocabulary: single stream
#          (128-token prompt, 256 out), sweep 1,2,4,8 (256 in, 128 out),
#          shared prefix (4 clients, 768-token common prefix + 32 own, 64
#          out) and mixed (3 short streams + one 1024-token prompt). Long.
#
# Environment: SHARED_MODELS (default ../shared/models from the repository
# root), THREADS (2), PARALLEL (4), SKIP_BUILD=1 to use bin/llamagate as is.
# Exit status: 0 when every response passed loadgen's checks, 1 otherwise.
set -euo pipefail

usage() {
	echo "usage: $0 quick|full [OUTDIR]" >&2
	exit 2
}
[[ $# -ge 1 && $# -le 2 ]] || usage
mode=$1
case $mode in
quick | full) ;;
*) usage ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
outdir=${2:-bench/out/$mode-$(date -u +%Y%m%dT%H%M%SZ)}
models=bench/out/models
bindir=bench/out/bin
shared=${SHARED_MODELS:-$root/../shared/models}
vocab=$shared/vocab/ggml-vocab-llama-spm.gguf
threads=${THREADS:-2}
parallel=${PARALLEL:-4}
mkdir -p "$outdir" "$models" "$bindir"

log() { printf '== %s\n' "$*" >&2; }

# --- build -----------------------------------------------------------------
# The gateway through the Makefile (same cgo flags, so llama.cpp comes from
# the build cache); loadgen and ggufgen are pure Go.
eval "$(make -s env)"
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
	log "building bin/llamagate"
	make -s build >&2
fi
[[ -x bin/llamagate ]] || {
	echo "bin/llamagate is missing: run make build" >&2
	exit 1
}
CGO_ENABLED=0 go build -o "$bindir/loadgen" ./bench/loadgen
CGO_ENABLED=0 go build -o "$bindir/ggufgen" ./cmd/ggufgen
go build -o "$bindir/ceiling" ./bench/ceiling
loadgen=$bindir/loadgen

# --- models ----------------------------------------------------------------
# gen NAME SHAPE TYPE [VOCAB]: writes $models/NAME.gguf unless it exists.
gen() {
	local f=$models/$1.gguf
	[[ -s $f ]] && return 0
	log "writing $f (-shape $2 -type $3${4:+ -vocab $4})"
	"$bindir/ggufgen" -out "$f.part" -shape "$2" -type "$3" ${4:+-vocab "$4"} -name "llamagate bench $1 (random weights)" >&2
	mv "$f.part" "$f"
}

# link NAME FILE: a symbolic link to a shared model (never a copy).
link() {
	[[ -f $2 ]] || {
		echo "missing $2 (set SHARED_MODELS)" >&2
		exit 1
	}
	ln -sfn "$2" "$models/$1.gguf"
}

if [[ $mode == quick ]]; then
	gen bench-demo demo q8_0
	link stories260K "$shared/stories260K.gguf"
else
	[[ -f $vocab ]] || {
		echo "missing $vocab (set SHARED_MODELS)" >&2
		exit 1
	}
	gen bench-110m-q8_0 110m q8_0 "$vocab"
	gen bench-1b1-q4_0 1b1 q4_0 "$vocab"
fi

# --- gateway ---------------------------------------------------------------
# The engine ceiling: llama.cpp alone, in process, before the gateway runs
# (so nothing else competes for the cores).
if [[ $mode == full ]]; then
	for m in bench-110m-q8_0 bench-1b1-q4_0; do
		log "ceiling $m"
		{
			echo "### ceiling $m: single (B=1, 128-token prompt, 256 out, $threads threads)"
			"$bindir/ceiling" -model "$models/$m.gguf" -threads "$threads" -batch 1 -prompt 128 -gen 256
			echo
			echo "### ceiling $m: sweep (256-token prompts, 128 out, $threads threads)"
			"$bindir/ceiling" -model "$models/$m.gguf" -threads "$threads" -batch 1,2,4,8 -prompt 256 -gen 128
		} >"$outdir/ceiling-$m.md"
		cat "$outdir/ceiling-$m.md" >&2
	done
fi

gw_pid=
stop_gateway() {
	[[ -n $gw_pid ]] || return 0
	if kill -0 "$gw_pid" 2>/dev/null; then
		kill "$gw_pid" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$gw_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$gw_pid" 2>/dev/null || true
	fi
	wait "$gw_pid" 2>/dev/null || true
	gw_pid=
}
# loadgen runs in the background and is waited for, so that a signal is
# handled at once: loadgen gets SIGTERM (it writes its partial results),
# then the EXIT trap stops the gateway.
lg_pid=
on_signal() {
	if [[ -n $lg_pid ]]; then
		kill -TERM "$lg_pid" 2>/dev/null || true
		wait "$lg_pid" 2>/dev/null || true
	fi
	exit "$1"
}
trap stop_gateway EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

gw_args=(--threads "$threads" --parallel "$parallel")
start_gateway() {
	local attempt port
	for attempt in 1 2 3; do
		port=$("$loadgen" -free-port)
		log "starting bin/llamagate on 127.0.0.1:$port ${gw_args[*]} (try $attempt)"
		./bin/llamagate --addr "127.0.0.1:$port" --models-dir "$models" "${gw_args[@]}" >>"$outdir/gateway.log" 2>&1 &
		gw_pid=$!
		# Up to 30 s, giving up at once if the process exits (port taken).
		for _ in $(seq 30); do
			kill -0 "$gw_pid" 2>/dev/null || break
			if "$loadgen" -url "http://127.0.0.1:$port" -wait-health 1s 2>/dev/null; then
				url=http://127.0.0.1:$port
				return 0
			fi
		done
		stop_gateway
	done
	echo "the gateway did not become healthy; see $outdir/gateway.log" >&2
	tail -n 20 "$outdir/gateway.log" >&2 || true
	exit 1
}
url=
start_gateway

rev=$(git describe --always --dirty 2>/dev/null || echo unknown)
note="gateway $rev: bin/llamagate ${gw_args[*]}"
status=0

# lg LABEL ARGS...: one loadgen scenario; a failing scenario is remembered
# and the next one still runs.
# cpu_ticks prints the gateway's user+system CPU time in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$gw_pid/stat"; }
hz=$(getconf CLK_TCK)

lg() {
	local label=$1 rc=0 t0
	shift
	log "scenario $label"
	t0=$(cpu_ticks)
	"$loadgen" -url "$url" -label "$label" -out "$outdir" -note "$note" "$@" &
	lg_pid=$!
	wait "$lg_pid" || rc=$?
	lg_pid=
	echo "| $label | $(awk -v a="$t0" -v b="$(cpu_ticks)" -v hz="$hz" 'BEGIN{printf "%.2f", (b-a)/hz}') |" >>"$outdir/cpu.tsv"
	if [[ $rc -ne 0 ]]; then
		log "scenario $label: loadgen exit status $rc (2: responses failed checks)"
		status=1
	fi
	echo
	kill -0 "$gw_pid" 2>/dev/null || {
		echo "the gateway died; see $outdir/gateway.log" >&2
		tail -n 20 "$outdir/gateway.log" >&2 || true
		exit 1
	}
}

if [[ $mode == quick ]]; then
	for m in bench-demo stories260K; do
		lg "quick-$m-sweep" -model "$m" -concurrency 1,2,4 -prompt-tokens 64 -max-tokens 32 \
			-requests 2 -duration 60s -timeout 60s
	done
	lg quick-bench-demo-mixed -model bench-demo -mode mixed -concurrency 4 -prompt-tokens 64 -max-tokens 32 \
		-long-prompt-tokens 1024 -long-max-tokens 8 -long-delay 1s -duration 30s -timeout 60s
else
	for m in bench-110m-q8_0 bench-1b1-q4_0; do
		lg "full-$m-single" -model "$m" -concurrency 1 -prompt-tokens 128 -max-tokens 256 \
			-requests 3 -duration 10m -timeout 10m
		lg "full-$m-sweep" -model "$m" -concurrency 1,2,4,8 -prompt-tokens 256 -max-tokens 128 \
			-requests 2 -duration 10m -timeout 15m
		lg "full-$m-shared-prefix" -model "$m" -concurrency 4 -shared-prefix 768 -prompt-tokens 32 \
			-max-tokens 64 -requests 2 -duration 10m -timeout 10m
		lg "full-$m-mixed" -model "$m" -mode mixed -concurrency 4 -prompt-tokens 64 -max-tokens 32 \
			-long-prompt-tokens 1024 -long-max-tokens 8 -long-delay 5s -duration 10m -timeout 10m
	done
	# Idle: the batch loops must sleep, not spin.
	t0=$(cpu_ticks)
	sleep 10
	awk -v a="$t0" -v b="$(cpu_ticks)" -v hz="$hz" 'BEGIN{printf "gateway CPU while idle for 10 s with two models loaded: %.2f%% of a core\n", 100*(b-a)/hz/10}' | tee "$outdir/idle.md" >&2
	# Shared prefix again with prefix reuse off, for the comparison.
	stop_gateway
	printf 'defaults:\n  prefix_cache: false\n' >"$outdir/no-prefix-cache.yaml"
	gw_args+=(--config "$outdir/no-prefix-cache.yaml")
	start_gateway
	note="gateway $rev: bin/llamagate ${gw_args[*]}"
	for m in bench-110m-q8_0 bench-1b1-q4_0; do
		lg "full-$m-shared-prefix-nocache" -model "$m" -concurrency 4 -shared-prefix 768 -prompt-tokens 32 \
			-max-tokens 64 -requests 2 -duration 10m -timeout 10m
	done
fi
if [[ -s $outdir/cpu.tsv ]]; then
	{
		echo "### gateway CPU time per scenario (user+system, seconds)"
		echo "| scenario | CPU s |"
		echo "|---|---|"
		cat "$outdir/cpu.tsv"
	} >"$outdir/cpu.md"
	rm "$outdir/cpu.tsv"
fi

stop_gateway
summary=$outdir/summary.md
: >"$summary"
for f in "$outdir"/*.md; do
	[[ $f == "$summary" ]] && continue
	cat "$f" >>"$summary"
	echo >>"$summary"
done
log "results in $outdir: summary.md, one .md/.json/.svg per scenario, gateway.log"
if [[ $status -ne 0 ]]; then
	log "some responses failed loadgen's checks: see the Problems sections"
fi
exit "$status"
