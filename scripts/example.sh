#!/usr/bin/env bash
# Run `vendor` on the example app in test-data/example (Django, Pillow built
# from source, psycopg2 from its sdist): lock it for its target (el9,
# CPython 3.11.9), fetch every artifact into the cache, build and verify the
# native packages, write the RPMs and a dnf repository to
# test-data/example/dist/el9, and say what a server needs.
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

step "vendor build (Pillow and psycopg2 from source, verified, then packaged)"
"$vendor" --project "$project" build

step "vendor requires (what a server needs)"
"$vendor" --project "$project" requires

printf '\nlock: %s\nrepository: %s\n' "$(pwd)/$project/pylock.toml" "$(pwd)/$project/dist/el9"
