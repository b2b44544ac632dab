#!/usr/bin/env bash
# bench/ab.sh: an A/B of gateway binaries or settings on the 1.1B Q4_0 bench
# model, in rotations so that the machine's drift hits every variant alike.
#
# Usage: bench/ab.sh OUTDIR CONDITIONS ROTATIONS VARIANT...
#   CONDITIONS  comma-separated: quiet, nice0, nice19 (a busy loop beside
#               the gateway at that priority for the whole condition)
#   ROTATIONS   how many times each variant runs per condition
#   VARIANT     LABEL=BINARY or LABEL=BINARY@LINE, LINE one more line for
#               the config's defaults, e.g.
#               pool=bench/out/bin/llamagate-now@'thread_pool: true'
# LEVELS (default 1,4) and REQUESTS (default 2, per client) set the load:
# 68-token prompts, 128 tokens out, greedy. Settings otherwise as
# vs-llama-server.sh: 2 threads, 4 slots, 2048 tokens per slot.
# Results: OUTDIR/summary.md (each run's tok/s, then the mean per variant).
set -euo pipefail
out=${1:?usage: bench/ab.sh OUTDIR CONDITIONS ROTATIONS VARIANT...}
conditions=${2:?conditions}
rotations=${3:?rotations}
shift 3
(($# > 0)) || { echo "bench/ab.sh: no variants" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/cpu-lib.sh
source bench/cpu-lib.sh

trap 'stop_gw; stop_burner' EXIT

run_variant() { # run_variant LABEL BINARY LINE
	local f=$out/$1.yaml port
	{
		echo "defaults:"
		echo "  threads: 2"
		echo "  parallel: 4"
		echo "  ctx_size: 2048"
		[[ -n $3 ]] && echo "  $3"
		echo "models:"
		echo "  - id: m1"
		echo "    path: $root/$m"
	} >"$f"
	port=$("$loadgen" -free-port)
	"$2" --addr "127.0.0.1:$port" --config "$f" >>"$out/gateway.log" 2>&1 &
	gw_pid=$!
	"$loadgen" -url "http://127.0.0.1:$port" -wait-health 120s
	"$loadgen" -url "http://127.0.0.1:$port" -model m1 -label "$4" -out "$out" -concurrency "${LEVELS:-1,4}" \
		-prompt-tokens 68 -max-tokens 128 -requests "${REQUESTS:-2}" -progress=false >/dev/null
	stop_gw
}

for cond in ${conditions//,/ }; do
	case $cond in
	quiet) ;;
	nice0) burner 0 ;;
	nice19) burner 19 ;;
	*) echo "bench/ab.sh: unknown condition $cond" >&2; exit 2 ;;
	esac
	for ((r = 1; r <= rotations; r++)); do
		for v in "$@"; do
			label=${v%%=*} spec=${v#*=}
			bin=${spec%%@*} line=
			[[ $spec == *@* ]] && line=${spec#*@}
			log "$cond $label rotation $r"
			run_variant "$label" "$bin" "$line" "$cond-$label-$r"
		done
	done
	stop_burner
done

{
	echo "# bench/ab.sh $(date -u +%F) on $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
	echo "tree: $(git describe --always --dirty); conditions $conditions; $rotations rotations; levels ${LEVELS:-1,4}; requests ${REQUESTS:-2}"
	for v in "$@"; do echo "- ${v%%=*}: ${v#*=}"; done
	echo
	echo "| run | conc | out tok/s | ITL p99 ms |"
	echo "|---|---:|---:|---:|"
	for f in "$out"/*-*-*.md; do
		grep -E '^\| [0-9]+ \|' "$f" | awk -F'|' -v r="$(basename "$f" .md)" '{gsub(/ /,"",$2); gsub(/ /,"",$5); gsub(/ /,"",$10); printf "| %s | %s | %s | %s |\n", r, $2, $5, $10}'
	done
	echo
	echo "Mean out tok/s per condition, variant and concurrency:"
	echo
	for f in "$out"/*-*-*.md; do
		grep -E '^\| [0-9]+ \|' "$f" | awk -F'|' -v r="$(basename "$f" .md)" '{sub(/-[0-9]+$/, "", r); gsub(/ /,"",$2); print r " c=" $2, $5}'
	done | awk '{s[$1" "$2]+=$3; n[$1" "$2]++} END {for (k in s) printf "- %s: %.1f\n", k, s[k]/n[k]}' | sort
} >"$out/summary.md"
log "results: $out/summary.md"
