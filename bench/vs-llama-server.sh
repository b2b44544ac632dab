#!/usr/bin/env bash
# bench/vs-llama-server.sh: llamagate and llama-server side by side, in one
# run on one machine, on the 1.1B Q4_0 bench model (issue 12's comparison):
#
#   quiet     1 and 4 streams (68-token prompts, 128 tokens out, greedy)
#   burner0   the same with a busy loop at nice 0 beside the server
#   burner19  the same with the busy loop at nice 19
#   two       two models busy at once, 2 streams each: llamagate serving
#             both, against two llama-server processes (one per model, as
#             a user without a gateway runs them)
#
# The servers take turns within each condition (llamagate, then
# llama-server), so slow drift of the machine hits both alike.
#
# Usage: LLAMA_SERVER=/path/to/llama-server bench/vs-llama-server.sh [OUTDIR]
# (from the repository root). llama-server is built by hand outside this
# repository (bench/RESULTS.md says which commit and flags); nothing of it
# is kept here. Extra llama-server flags: LLAMA_SERVER_ARGS; an extra line
# for llamagate's defaults: LLAMAGATE_DEFAULTS. Nothing else
# should run on the machine meanwhile.
set -euo pipefail
server=${LLAMA_SERVER:?set LLAMA_SERVER to a llama-server binary}
out=${1:-bench/out/vs-llama-server-$(date -u +%Y%m%dT%H%M%SZ)}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/cpu-lib.sh
source bench/cpu-lib.sh
ctx=2048 # per sequence, both servers
pids=()
stop_servers() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}
trap 'stop_servers; stop_burner' EXIT

# start_gw IDS...: llamagate with these model ids on the bench file; sets url.
url=
start_gw() {
	local f=$out/llamagate.yaml port
	{
		echo "defaults:"
		echo "  threads: 2"
		echo "  parallel: 4"
		echo "  ctx_size: $ctx"
		# Extra defaults lines, e.g. LLAMAGATE_DEFAULTS='thread_pool: true'.
		[[ -n ${LLAMAGATE_DEFAULTS:-} ]] && echo "  $LLAMAGATE_DEFAULTS"
		echo "models:"
		for id in "$@"; do
			echo "  - id: $id"
			echo "    path: $root/$m"
		done
	} >"$f"
	port=$("$loadgen" -free-port)
	bench/out/bin/llamagate-now --addr "127.0.0.1:$port" --config "$f" >>"$out/llamagate.log" 2>&1 &
	pids+=($!)
	url=http://127.0.0.1:$port
	"$loadgen" -url "$url" -wait-health 120s
}
# start_ls ID: one llama-server with the gateway's settings; sets lsurl.
lsurl=
start_ls() {
	local port
	port=$("$loadgen" -free-port)
	# shellcheck disable=SC2086
	"$server" -m "$m" --host 127.0.0.1 --port "$port" -t 2 -tb 2 -np 4 -c $((4 * ctx)) \
		--alias "$1" --no-webui ${LLAMA_SERVER_ARGS:-} >>"$out/llama-server.log" 2>&1 &
	pids+=($!)
	lsurl=http://127.0.0.1:$port
	"$loadgen" -url "$lsurl" -wait-health 120s
}

run() { # run LABEL URL MODEL CONCURRENCY
	log "scenario $1"
	local keep=true
	[[ $1 == llama-server* ]] && keep=false # it closes connections unannounced
	"$loadgen" -url "$2" -model "$3" -label "$1" -out "$out" -concurrency "$4" -keepalive="$keep" -progress=false \
		-prompt-tokens 68 -max-tokens 128 -requests 2 -duration 10m -timeout 10m >/dev/null
}

condition() { # condition NAME BURNER_NICE|-
	local name=$1 n=$2
	[[ $n != - ]] && burner "$n"
	start_gw m1
	run "llamagate-$name" "$url" m1 1,4
	stop_servers
	start_ls m1
	run "llama-server-$name" "$lsurl" m1 1,4
	stop_servers
	stop_burner
}

"$server" --version >"$out/llama-server-version.txt" 2>&1 || true
condition quiet -
condition burner0 0
condition burner19 19

log "two models busy at once"
start_gw m1 m2
run llamagate-two-a "$url" m1 2 &
a=$!
run llamagate-two-b "$url" m2 2
wait "$a"
stop_servers
start_ls m1
u1=$lsurl
start_ls m2
run llama-server-two-a "$u1" m1 2 &
a=$!
run llama-server-two-b "$lsurl" m2 2
wait "$a"
stop_servers

{
	echo "# bench/vs-llama-server.sh $(date -u +%F) on $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
	echo "llamagate: bench/out/bin/llamagate-now (built from $(git describe --always --dirty)) ${LLAMAGATE_DEFAULTS:-}"
	echo "llama-server: $server ($(tr '\n' ' ' <"$out/llama-server-version.txt")) ${LLAMA_SERVER_ARGS:-}"
	for f in "$out"/*.md; do
		[[ $f == */summary.md ]] && continue
		echo
		echo "## $(basename "$f" .md)"
		cat "$f"
	done
} >"$out/summary.md"
log "results: $out/summary.md"
