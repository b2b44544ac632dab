#!/usr/bin/env bash
# bench/loadtest.sh [DURATION] [CLIENTS]
#
# Starts bin/llamagate on a free loopback port serving stories260K with
# parallel 8, two API keys (one unlimited, one at 30 requests/minute), and
# runs bench/loadtest against it (default 5m, 300 clients). Prints the
# report; exit status 1 when a response was malformed or truncated or the
# gateway did not return to idle.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
duration=${1:-5m}
clients=${2:-300}
shared=${SHARED_MODELS:-$root/../shared/models}
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT

eval "$(make -s env)"
[[ ${SKIP_BUILD:-0} == 1 ]] || make -s build >&2
go build -o "$work/loadtest" ./bench/loadtest

key=loadtest-unlimited-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
limited=loadtest-limited-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# stories260K has no chat template: give it ChatML so chat requests work.
cat >"$work/chatml.jinja" <<'JINJA'
{% for m in messages %}<|im_start|>{{ m.role }}
{{ m.content }}<|im_end|>
{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
{% endif %}
JINJA
cat >"$work/config.yaml" <<YAML
server:
  addr: 127.0.0.1:$port
  keepalive_interval: 5s
models_dir: $work/empty
models:
  - id: stories
    path: $shared/stories260K.gguf
    parallel: 8
    ctx_size: 512
    threads: 2
    queue_size: 64
    pinned: true
    chat_template_file: $work/chatml.jinja
auth:
  keys:
    - {id: unlimited, hash: $(printf '%s\n' "$key" | ./bin/llamagate hash-key), scope: admin}
    - {id: limited, hash: $(printf '%s\n' "$limited" | ./bin/llamagate hash-key), limits: {requests_per_minute: 30}}
YAML
./bin/llamagate --config "$work/config.yaml" --log-level warn 2>"$work/gateway.log" &
pid=$!
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break
	sleep 0.2
done
echo "== $(date -u +%FT%TZ) $(nproc) cores, $clients clients for $duration" >&2
"$work/loadtest" -base "http://127.0.0.1:$port" -model stories -clients "$clients" -duration "$duration" -key "$key" -limited-key "$limited"
status=$?
kill -TERM $pid
wait $pid || true
exit $status
