#!/usr/bin/env bash
# `make bench`: build the functions as deployed, run each bootstrap under a local
# Lambda Runtime API against the Zoom simulator and moto (kitchen-bench), then the
# criterion micro-benchmarks. Writes bench-results.md at the repository root.
# The floor (infra/bench/floor: a lambda_http function that answers 200 and does
# nothing else) is built and run the same way; the report gives every figure
# also as a ratio to the floor's from the same run.
#
#   BENCH_COLD=20 BENCH_WARM=1000 BENCH_MEASUREMENT_TIME=2 bash infra/bench.sh
#
# BENCH_SIZES=0 skips the arm64 build (no sizes), BENCH_CRITERION=0 the
# micro-benchmarks: a timing-only run that builds less. BENCH_BIN_DIR=DIR
# measures bootstraps built before (DIR/<function>/bootstrap, e.g. a copy of
# target/bench/lambda-x86_64 kept from an earlier commit) instead of building
# the functions. CARGO_TARGET_DIR is honoured (builds go to
# $CARGO_TARGET_DIR/bench/...).
#
# Timings come from the x86_64 build (this host); sizes from the arm64 zip that
# is deployed. Function logs: .dev/bench/*.log.
set -euo pipefail
cd "$(dirname "$0")/.."
began=$(date +%s)
bash infra/venv.sh
export PATH="$PWD/.venv/bin:$PATH"

COLD=${BENCH_COLD:-20}
WARM=${BENCH_WARM:-1000}
MEASURE=${BENCH_MEASUREMENT_TIME:-2}
SIZES=${BENCH_SIZES:-1}
CRITERION=${BENCH_CRITERION:-1}
OUT=bench-results.md
LOGS=.dev/bench
TARGET=${CARGO_TARGET_DIR:-target}
X86=$TARGET/bench/lambda-x86_64
ARM=$TARGET/bench/lambda-arm64
TABLE=coffee-kitchen-presence
LIMITS_TABLE=coffee-kitchen-limits
SECRET_ID=coffee-kitchen/dev
mkdir -p "$LOGS"
notes=()

# ---------------------------------------------------------------- 1. build
# Every package under functions/ with a binary (kitchen is the shared library).
mapfile -t all_functions < <(cargo metadata --no-deps --format-version 1 | .venv/bin/python -c '
import json, os, sys
root = os.getcwd()
for p in json.load(sys.stdin)["packages"]:
    rel = os.path.relpath(os.path.dirname(p["manifest_path"]), root)
    if rel.startswith("functions" + os.sep) and any("bin" in t["kind"] for t in p["targets"]):
        print(p["name"])
')
for f in webhook reconcile; do
  if [[ ! " ${all_functions[*]} " =~ " $f " ]]; then
    notes+=("$f: no crate in the workspace yet (functions/$f), not measured")
  fi
done

# cargo lambda build for all functions at once; if that fails, one by one,
# keeping those that build (a colleague's crate may be half-written). The
# floor's package is kitchen-floor, its binary (and so its directory) floor.
# Its dependencies are a subset of every function's, with the same features,
# so building it in the same invocation changes no function's binary.
functions=("${all_functions[@]}" floor)
package() { if [ "$1" = floor ]; then echo kitchen-floor; else echo "$1"; fi; }
lambda_build() {
  local dir=$1; shift
  local pkgs=() ok=() f
  for f in "${functions[@]}"; do pkgs+=(-p "$(package "$f")"); done
  if cargo lambda build --release "$@" "${pkgs[@]}" --lambda-dir "$dir"; then
    return 0
  fi
  for f in "${functions[@]}"; do
    if cargo lambda build --release "$@" -p "$(package "$f")" --lambda-dir "$dir"; then
      ok+=("$f")
    else
      notes+=("$f: does not build (cargo lambda build --release $*), not measured")
    fi
  done
  functions=("${ok[@]}")
}

if [ -n "${BENCH_BIN_DIR:-}" ]; then
  X86=$BENCH_BIN_DIR
  mapfile -t functions < <(cd "$X86" && for d in */; do [ -x "$d/bootstrap" ] && echo "${d%/}"; done)
  notes+=("BENCH_BIN_DIR=$BENCH_BIN_DIR: bootstraps built before, not rebuilt")
  echo "== measuring the bootstraps in $X86: ${functions[*]}"
else
  echo "== cargo lambda build --release (x86_64, for timing): ${functions[*]}"
  lambda_build "$X86"
fi
if [ "$SIZES" = 1 ] && [ -z "${BENCH_BIN_DIR:-}" ]; then
  echo "== cargo lambda build --release --arm64 --output-format zip (deployed sizes): ${functions[*]}"
  rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
  lambda_build "$ARM" --arm64 --output-format zip
  for f in "${functions[@]}"; do
    # The zip holds the bootstrap; keep the unzipped one beside it for its size.
    if [ -f "$TARGET/aarch64-unknown-linux-gnu/release/$f" ]; then
      cp "$TARGET/aarch64-unknown-linux-gnu/release/$f" "$ARM/$f/bootstrap"
    fi
  done
else
  notes+=("BENCH_SIZES=0: no arm64 build, no sizes")
fi
[ "${#functions[@]}" -gt 1 ] || { echo "no function builds" >&2; exit 1; }

echo "== cargo build --release -p kitchen-bench -p zoom-sim"
cargo build --release -p kitchen-bench -p zoom-sim

# ---------------------------------------------------------------- 2. peers
source infra/ports.sh
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

moto_port=$(free_port)
.venv/bin/moto_server -H 127.0.0.1 -p "$moto_port" > "$LOGS/moto.log" 2>&1 &
pids+=($!)
wait_port "$moto_port" "${pids[-1]}" moto_server "$LOGS/moto.log"
export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
table_args=()
create_table=0
if [[ " ${functions[*]} " =~ " webhook " ]]; then create_table=1; table_args=(--table "$TABLE"); fi
create_limits=0
if [[ " ${functions[*]} " =~ " invite " ]]; then create_limits=1; table_args+=(--limits-table "$LIMITS_TABLE"); fi
CREATE_TABLE=$create_table TABLE=$TABLE CREATE_LIMITS=$create_limits LIMITS_TABLE=$LIMITS_TABLE \
  SECRET_ID=$SECRET_ID .venv/bin/python - <<'EOF'
import json, os, boto3
secret = {"account_id": "demo-account", "client_id": "demo-client-id", "client_secret": "demo-client-secret",
          "device_keys": {"demo-desk": "demo-device-key-0001"}, "webhook_secret_token": "demo-webhook-secret-token",
          "viewers": {"demo-viewer": {"key": "demo-viewer-key-0001", "admin": False}}}
boto3.client("secretsmanager").create_secret(Name=os.environ["SECRET_ID"], SecretString=json.dumps(secret))
tables = [os.environ["TABLE"]] if os.environ["CREATE_TABLE"] == "1" else []
tables += [os.environ["LIMITS_TABLE"]] if os.environ["CREATE_LIMITS"] == "1" else []
for name in tables:
    boto3.client("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
EOF
unset AWS_ENDPOINT_URL

sim_port=$(free_port)
"$TARGET/release/zoom-sim" --port "$sim_port" --quiet > "$LOGS/zoom-sim.log" 2>&1 &
pids+=($!)
wait_port "$sim_port" "${pids[-1]}" zoom-sim "$LOGS/zoom-sim.log"

# ---------------------------------------------------------------- 3. harness
note_args=()
for n in "${notes[@]}"; do note_args+=(--note "$n"); done
fn_list=$(IFS=,; echo "${functions[*]}")
harness_rc=0
"$TARGET/release/kitchen-bench" run \
  --bin-dir "$X86" --artifact-dir "$ARM" \
  --sim "http://127.0.0.1:$sim_port" --moto "http://127.0.0.1:$moto_port" \
  --functions "$fn_list" "${table_args[@]}" \
  --cold "$COLD" --warm "$WARM" --log-dir "$LOGS" --out "$OUT" \
  "${note_args[@]}" || harness_rc=$?
cleanup

# ---------------------------------------------------------------- 4. criterion
if [ "$CRITERION" = 1 ]; then
  echo "== cargo bench -p kitchen --bench hot_paths"
  since=$(date +%s)
  cargo bench -p kitchen --bench hot_paths -- --measurement-time "$MEASURE" --warm-up-time 1
  "$TARGET/release/kitchen-bench" criterion --dir "$TARGET/criterion" --out "$OUT" --since "$since" --measurement-time "$MEASURE"
fi

took=$(( $(date +%s) - began ))
printf '\n`make bench` took %d s in all (builds included).\n' "$took" | tee -a "$OUT"
exit "$harness_rc"
