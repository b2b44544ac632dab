# bench/cpu-lib.sh: what the CPU scenario scripts (cpu.sh, vs-llama-server.sh)
# share. Source it from the repository root after setting $root and $out.

mkdir -p "$out" bench/out/models bench/out/bin
# The binaries, unless SKIP_BUILD=1 (use those an earlier run built, so
# nothing but the scenarios runs once they start).
if [[ -z ${SKIP_BUILD:-} ]]; then
	eval "$(make -s env)"
	CGO_ENABLED=0 go build -o bench/out/bin/loadgen ./bench/loadgen
	CGO_ENABLED=0 go build -o bench/out/bin/ggufgen ./cmd/ggufgen
	go build -o bench/out/bin/ceiling ./bench/ceiling
	go build -o bench/out/bin/llamagate-now ./cmd/gateway
fi
loadgen=bench/out/bin/loadgen

# The 1.1B Q4_0 bench model with the real 32k Llama vocabulary, written once.
m=bench/out/models/bench-1b1-q4_0.gguf
vocab=${SHARED_MODELS:-$root/../shared/models}/vocab/ggml-vocab-llama-spm.gguf
[[ -s $m ]] || bench/out/bin/ggufgen -out "$m" -shape 1b1 -type q4_0 -vocab "$vocab" -name "llamagate bench bench-1b1-q4_0 (random weights)"

log() { echo "[$(date -u +%T)] $*" >&2; }

burner_pid=
burner() { # burner NICE: one busy loop, not pinned (the scheduler places it)
	nice -n "$1" sh -c 'while :; do :; done' &
	burner_pid=$!
}
stop_burner() {
	[[ -n $burner_pid ]] && kill "$burner_pid" 2>/dev/null && wait "$burner_pid" 2>/dev/null || true
	burner_pid=
}

# gw_pid is the gateway a script started; stop_gw stops it.
gw_pid=
stop_gw() {
	[[ -n $gw_pid ]] || return 0
	kill "$gw_pid" 2>/dev/null || true
	wait "$gw_pid" 2>/dev/null || true
	gw_pid=
}
