#!/usr/bin/env bash
# bench/cpu.sh: CPU scheduling scenarios for issue 12, all in one run on one
# machine so the figures compare:
#
#   clients  1 and 4 streams (68-token prompts, 128 tokens out, greedy) on
#            bench-1b1-q4_0, for a BEFORE binary and this tree's binary
#   burner   the same with a busy loop (nice 0, then nice 19) beside the
#            gateway, with adaptive_threads on and off
#   two      two models busy at once (2 streams each), BEFORE and now
#   ceiling  llama.cpp alone at B=1 and B=4 (bench/ceiling), quiet
#
# Usage: bench/cpu.sh BEFORE_BINARY [OUTDIR]   (run from the repository root,
# after make build; the models come from bench/run.sh full or are written).
# Nothing else should run on the machine meanwhile.
set -euo pipefail
before=${1:?usage: bench/cpu.sh BEFORE_BINARY [OUTDIR]}
out=${2:-bench/out/cpu-$(date -u +%Y%m%dT%H%M%SZ)}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/cpu-lib.sh
source bench/cpu-lib.sh

trap 'stop_gw; stop_burner' EXIT

# start BINARY CONFIG: a gateway on a free port with the config file.
url=
start() {
	local port
	port=$("$loadgen" -free-port)
	"$1" --addr "127.0.0.1:$port" --config "$2" >>"$out/gateway.log" 2>&1 &
	gw_pid=$!
	url=http://127.0.0.1:$port
	"$loadgen" -url "$url" -wait-health 60s
}

cfg() { # cfg NAME ADAPTIVE MODELS...: a config with these model ids on the 1.1B file
	local f=$out/$1.yaml
	{
		echo "defaults:"
		echo "  threads: 2"
		echo "  parallel: 4"
		[[ $2 == off ]] && echo "  adaptive_threads: false"
		echo "models:"
		shift 2
		for id in "$@"; do
			echo "  - id: $id"
			echo "    path: $root/$m"
		done
	} >"$f"
	echo "$f"
}
# The BEFORE binary predates adaptive_threads: its config must not name it.
cfg_before() {
	local f=$out/before-$1.yaml
	{
		echo "defaults:"
		echo "  threads: 2"
		echo "  parallel: 4"
		echo "models:"
		shift
		for id in "$@"; do
			echo "  - id: $id"
			echo "    path: $root/$m"
		done
	} >"$f"
	echo "$f"
}

run() { # run LABEL MODEL CONCURRENCY
	log "scenario $1"
	"$loadgen" -url "$url" -model "$2" -label "$1" -out "$out" -concurrency "$3" \
		-prompt-tokens 68 -max-tokens 128 -requests 2 -duration 10m -timeout 10m >/dev/null
}

log "ceiling"
bench/out/bin/ceiling -model "$m" -threads 2 -batch 1,4 -prompt 68 -gen 128 >"$out/ceiling.md"

log "before: quiet"
start "$before" "$(cfg_before one m1)"
run before-quiet m1 1,4
log "before: burner nice 0"
burner 0
run before-burner0 m1 1,4
stop_burner
stop_gw

log "now: quiet, burner nice 0 and 19"
start bench/out/bin/llamagate-now "$(cfg now on m1)"
run now-quiet m1 1,4
burner 0
run now-burner0 m1 1,4
stop_burner
burner 19
run now-burner19 m1 1,4
stop_burner
stop_gw

log "now, adaptive_threads off: burner nice 0 and 19"
start bench/out/bin/llamagate-now "$(cfg fixed off m1)"
burner 0
run fixed-burner0 m1 1,4
stop_burner
burner 19
run fixed-burner19 m1 1,4
stop_burner
stop_gw

# two models busy at once: two loadgens side by side, 2 streams each.
two() { # two LABEL
	run "$1-a" m1 2 &
	local a=$!
	run "$1-b" m2 2
	wait "$a"
}
log "two models: before"
start "$before" "$(cfg_before two m1 m2)"
two before-two
stop_gw
log "two models: now"
start bench/out/bin/llamagate-now "$(cfg two on m1 m2)"
two now-two
stop_gw

# A small request to a loaded model while another model loads: TTFT of
# m1 (16-token prompts, 2 tokens out, one client) idle, then while m2 is
# loaded and unloaded over and over.
small() { # small LABEL
	log "scenario $1"
	"$loadgen" -url "$url" -model m1 -label "$1" -out "$out" -concurrency 1 \
		-prompt-tokens 16 -max-tokens 2 -requests 40 -duration 10m -timeout 10m >/dev/null
}
churn() { # load and unload m2 until killed
	while :; do
		curl -fsS -X POST "$url/admin/models/m2/load" >/dev/null || true
		curl -fsS -X POST "$url/admin/models/m2/unload?force=true" >/dev/null || true
	done
}
loads() { # loads LABEL BINARY CONFIG
	start "$2" "$3"
	small "$1-idle"
	churn &
	local c=$!
	small "$1-during-loads"
	kill "$c"
	wait "$c" 2>/dev/null || true
	stop_gw
}
log "loads: before"
loads before-load "$before" "$(cfg_before load m1 m2)"
log "loads: now"
loads now-load bench/out/bin/llamagate-now "$(cfg load on m1 m2)"

{
	echo "# bench/cpu.sh $(date -u +%F) on $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
	echo "before: $before; now: bench/out/bin/llamagate-now (built from $(git describe --always --dirty))"
	echo
	echo "## ceiling"
	cat "$out/ceiling.md"
	for f in "$out"/*.md; do
		[[ $f == */ceiling.md || $f == */summary.md ]] && continue
		echo
		echo "## $(basename "$f" .md)"
		cat "$f"
	done
} >"$out/summary.md"
log "results: $out/summary.md"
