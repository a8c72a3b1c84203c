#!/usr/bin/env bash
# A long fuzzing run of every reader of untrusted input (tests/fuzz.rs):
# requirement files and pyproject.toml, pylock.toml, core metadata, wheels
# and sdists (as bytes and member by member), ELF files and policies.
#
# Usage: scripts/fuzz.sh [cases-per-property]   (default 20000; the test
# suite runs each property with a few hundred cases). Prints, per property,
# the cases run and whether it held; a failure shows proptest's minimal
# input. Needs what scripts/test.sh installs. PROPTEST_RNG_SEED replays a
# campaign.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
cases="${1:-20000}"
export PROPTEST_CASES="$cases"
# A fresh seed each campaign (the suite uses a fixed one); printed so a
# failure can be replayed with PROPTEST_RNG_SEED=<seed> scripts/fuzz.sh.
export PROPTEST_RNG_SEED="${PROPTEST_RNG_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
echo "fuzz: seed $PROPTEST_RNG_SEED"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
export TMPDIR="$scratch"

started=$(date +%s)
status=0
cargo nextest run --no-fail-fast --test integration 'fuzz::' \
    --status-level all --final-status-level none 2>&1 \
    | grep -E -A1 '^\s+(PASS|FAIL|SIGSEGV|SIGABRT|TIMEOUT) |Summary|Test failed' | grep -v '^--$' \
    || status=$?
echo "fuzz: $cases cases per property, $(( $(date +%s) - started )) s"
exit "$status"
