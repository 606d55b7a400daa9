#!/usr/bin/env bash
# Creates .venv with the project's Python tools (cargo-lambda brings zig for
# cross-compiling; moto stands in for AWS; SAM CLI and cfn-lint check the template).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.kitchen-tools-v1
if [ ! -f "$stamp" ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q cargo-lambda aws-sam-cli cfn-lint "moto[server]" boto3
  touch "$stamp"
fi
