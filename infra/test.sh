#!/usr/bin/env bash
# `make test`: unit and integration tests (moto over HTTP, the Zoom simulator
# in-process), then the end-to-end run of the served functions.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/venv.sh
mkdir -p .dev
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.venv/bin/moto_server -H 127.0.0.1 -p "$port" > .dev/moto-test.log 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 $moto_pid 2>/dev/null || { echo "moto_server failed to start; see .dev/moto-test.log" >&2; exit 1; }
  sleep 0.2
done
export KITCHEN_TEST_MOTO="http://127.0.0.1:$port"
cargo test --workspace --all-targets
.venv/bin/python infra/devstack.py e2e
