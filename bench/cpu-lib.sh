# bench/cpu-lib.sh: what the CPU scenario scripts (cpu.sh, vs-llama-server.sh)
# share. Source it from the repository root after setting $root.

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
