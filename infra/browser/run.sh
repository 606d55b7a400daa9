#!/usr/bin/env bash
# Browser tests of the kitchen page (headless Chromium against the local stack).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash infra/venv.sh
exec .venv/bin/python infra/browser/test_page.py "$@"
