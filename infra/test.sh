#!/usr/bin/env bash
# `make test`: everything, in one go. Unit and integration tests (moto over HTTP,
# the Zoom simulator in-process; kitchenctl's tests run its built binary), then
# the end-to-end run of the served functions (two rooms, three devices, notices)
# and the page's browser tests (headless Chromium), which share one build of the
# functions (infra/devstack.py builds them once, as `cargo lambda watch` runs them).
# A missing tool is a failure, never a skipped test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/venv.sh
for tool in "${CHROMIUM:-/usr/bin/chromium}" "${CHROMEDRIVER:-/usr/bin/chromedriver}"; do
  if [ ! -x "$tool" ]; then
    echo "$tool is missing (the page's browser tests need it):" >&2
    echo "  apt-get update && apt-get install -y chromium chromium-driver" >&2
    exit 1
  fi
done
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
echo "== cargo test (unit, moto, Zoom simulator, kitchenctl's binary)"
cargo test --workspace --all-targets
echo "== end-to-end (infra/devstack.py e2e; logs in .dev/e2e)"
.venv/bin/python infra/devstack.py e2e
echo "== browser (infra/browser/test_page.py; screenshots in .dev/screenshots)"
.venv/bin/python infra/browser/test_page.py
