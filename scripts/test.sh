#!/usr/bin/env bash
# Run every check and test of the project, installing what they need first.
#
# Order: dependencies → shell lint → module cycles → rustfmt → clippy →
# tests, each
# failing fast. The tests run with cargo-nextest when it is installed, else
# with `cargo test`; either way the run fails if no test executed. The last
# line printed is the test runner's summary.
#
# Environment: VENDOR_TOOLS_DIR (where install-deps.sh keeps uv);
# VENDOR_UV is exported for tests/e2e_real_index.rs.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Incremental compilation keeps a second copy of every crate's artefacts
# (1.3 GB here) that a one-off run never reuses; CI machines are short of disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() { printf '\n==> %s\n' "$*" >&2; }

step "installing dependencies"
scripts/install-deps.sh
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
VENDOR_UV="${VENDOR_TOOLS_DIR:-$HOME/.cache/vendor-tools}/venv/bin/uv"
export VENDOR_UV
[ -x "$VENDOR_UV" ] || { echo "test.sh: uv not found at $VENDOR_UV after install-deps.sh" >&2; exit 1; }

if command -v shellcheck >/dev/null 2>&1; then
    step "shellcheck"
    # -x follows `source`: the benchmark files are checked as part of bench.sh.
    shellcheck -x scripts/*.sh .ci/run
fi

step "module cycles"
python3 scripts/check-module-cycles.py

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings

log="$(mktemp)"

# The tests' scratch goes under one folder, removed at the end (a test that
# keeps a fixture index for its whole process cannot clean up after itself):
# on /dev/shm when it is a tmpfs that allows executing files and has room —
# faster than a disk, and CI machines are short of disk — else in $TMPDIR.
scratch_parent="${TMPDIR:-/tmp}"
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ -w /dev/shm ] \
    && ! findmnt -no OPTIONS /dev/shm 2>/dev/null | grep -qw noexec \
    && [ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -ge $((4 * 1024 * 1024)) ]; then
    scratch_parent=/dev/shm
fi
test_scratch="$(mktemp -d "$scratch_parent/vendor-tests.XXXXXX")"
trap 'rm -rf "$log" "$test_scratch"' EXIT
export TMPDIR="$test_scratch"

if cargo nextest --version >/dev/null 2>&1; then
    # nextest does not run doctests; run them first so that nextest's
    # summary stays the last line of the output.
    step "cargo test --doc"
    cargo test --doc
    step "cargo nextest run"
    cargo nextest run --no-fail-fast 2>&1 | tee "$log"
    ran="$(sed -n 's/.*Summary \[.*\] *\([0-9][0-9]*\) tests\{0,1\} run:.*/\1/p' "$log" | tail -n 1)"
    if [ -z "$ran" ] || [ "$ran" -eq 0 ]; then
        echo "test.sh: no test ran" >&2
        exit 1
    fi
else
    step "cargo test --all-targets (cargo-nextest not installed)"
    cargo test --doc 2>&1 | tee "$log"
    cargo test --all-targets --no-fail-fast 2>&1 | tee -a "$log"
    passed=0 failed=0
    while read -r p f; do
        passed=$((passed + p))
        failed=$((failed + f))
    done < <(sed -n 's/^test result: .*\. \([0-9][0-9]*\) passed; \([0-9][0-9]*\) failed;.*/\1 \2/p' "$log")
    if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
        echo "test.sh: no test ran" >&2
        exit 1
    fi
    # One closing line for the whole run (cargo test prints one per binary).
    echo "tests: $passed passed, $failed failed"
fi
