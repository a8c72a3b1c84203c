#!/usr/bin/env bash
# The fault campaign (tests/faults.rs) with more kill points than the test
# suite uses, printing its tally: faults injected, survived, data lost, for
# kill -9 during lock, fetch and build; concurrent runs on one cache and
# output; a faulty index (5xx, cut-off downloads, wrong hashes, stalls); a
# full disk under the cache and the output (needs root to mount a tmpfs).
#
# Usage: scripts/faults.sh [kill-points-per-command]   (default 25; the test
# suite uses 7). Needs what scripts/test.sh installs.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export FAULT_KILL_POINTS="${1:-25}"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export TMPDIR="$scratch"

status=0
cargo nextest run --no-fail-fast --no-capture --test integration 'faults::' 2>&1 \
    | grep -E '^fault campaign|Summary|panicked|data lost' || status=$?
exit "$status"
