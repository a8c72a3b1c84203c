#!/usr/bin/env bash
# Run `vendor` on the example app in test-data/example: lock it for its
# target (el9, CPython 3.11.9) and fetch every artifact into the cache.
# Later stages (build, verify, RPMs) will be added here as they land.
#
# Environment: VENDOR_CACHE_DIR (default: the user cache dir),
# EXCLUDE_NEWER (default: a fixed cutoff so the result is reproducible).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

project="test-data/example"
exclude_newer="${EXCLUDE_NEWER:-2026-11-01T00:00:00Z}"

step() { printf '\n==> %s\n' "$*" >&2; }

step "installing dependencies"
scripts/install-deps.sh >/dev/null
if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi

step "building vendor (release)"
cargo build --release --quiet
vendor="target/release/vendor"

step "vendor lock (exclude-newer $exclude_newer)"
"$vendor" --project "$project" lock --exclude-newer "$exclude_newer"

step "vendor fetch"
"$vendor" --project "$project" fetch

printf '\nlock: %s\n' "$(pwd)/$project/pylock.toml"
