#!/usr/bin/env bash
# scripts/setup.sh [test]
#
# Installs what the build needs, only what is missing: the Debian packages
# the cgo build of llama.cpp needs (apt-get needs root: run as root, or have
# sudo available). With "test" (make test) also what the tests need:
# redis-server (the shared rate-limit tests start their own) and the pinned
# Node packages of the Node SDK tests (e2e/node, npm ci) when Node.js is on
# the machine and they are missing or older than the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(nlohmann-json3-dev libstb-dev gcc g++ make)
if [ "${1:-}" = test ]; then
  pkgs+=(redis-server)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo="sudo"
    else
      echo "setup: need root to install ${missing[*]} (run: apt-get install ${missing[*]})" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ "${1:-}" = test ] || exit 0

# The Node SDK tests (e2e/node_test.go) skip without these outside CI.
stamp=e2e/node/node_modules/.package-lock.json
if command -v npm >/dev/null 2>&1; then
  if [ ! -f "$stamp" ] || [ e2e/node/package-lock.json -nt "$stamp" ]; then
    echo "setup: installing the Node SDK test packages (npm ci --prefix e2e/node)" >&2
    npm ci --prefix e2e/node --no-audit --no-fund
  fi
else
  echo "setup: npm not found; the Node SDK tests will be skipped (CI=true fails them)" >&2
fi
