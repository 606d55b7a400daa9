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
source infra/ports.sh
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
start_moto() { # port log command...
  local port=$1 log=$2; shift 2
  "$@" > "$log" 2>&1 &
  pids+=("$!")
  wait_port "$port" "$!" "$*" "$log" 100 || exit 1
}
port=$(free_port)
start_moto "$port" .dev/moto-test.log .venv/bin/moto_server -H 127.0.0.1 -p "$port"
export KITCHEN_TEST_MOTO="http://127.0.0.1:$port"
# One request at a time: the tests of concurrent conditional writes (see the script).
serial_port=$(free_port)
start_moto "$serial_port" .dev/moto-serial-test.log .venv/bin/python infra/moto_serial.py "$serial_port"
export KITCHEN_TEST_MOTO_SERIAL="http://127.0.0.1:$serial_port"
echo "== cargo test (unit, moto, Zoom simulator, kitchenctl's binary)"
cargo test --workspace --all-targets
echo "== end-to-end (infra/devstack.py e2e; logs in .dev/e2e)"
.venv/bin/python infra/devstack.py e2e
echo "== browser (infra/browser/test_page.py; screenshots in .dev/screenshots)"
.venv/bin/python infra/browser/test_page.py
