#!/bin/bash
# bench/cpu-ab.sh BEFORE_BINARY: quiet c=1 A/B (4 requests, two rounds) of
# BEFORE, this build with adaptive_threads on, and with it off. Run after
# bench/cpu.sh (it uses bench/out/bin and the bench model).
set -euo pipefail
before=${1:?usage: bench/cpu-ab.sh BEFORE_BINARY}
cd "$(dirname "$0")/.."
out=bench/out/cpu-ab; rm -rf $out; mkdir -p $out
lg=bench/out/bin/loadgen
m=$PWD/bench/out/models/bench-1b1-q4_0.gguf
mk() { printf 'defaults:\n  threads: 2\n  parallel: 4\n%bmodels:\n  - id: m1\n    path: %s\n' "$2" "$m" > $out/$1.yaml; }
mk before ""
mk on ""
mk off "  adaptive_threads: false\n"
for r in 1 2; do
for v in before:$before on:bench/out/bin/llamagate-now off:bench/out/bin/llamagate-now; do
  name=${v%%:*}; bin=${v#*:}
  port=$($lg -free-port)
  $bin --addr 127.0.0.1:$port --config $out/$name.yaml >> $out/gw.log 2>&1 &
  pid=$!
  $lg -url http://127.0.0.1:$port -wait-health 60s
  $lg -url http://127.0.0.1:$port -model m1 -label $name-$r -out $out -concurrency 1 -prompt-tokens 68 -max-tokens 128 -requests 4 -duration 5m -timeout 5m > /dev/null 2>&1
  kill $pid; wait $pid || true
done
done
