#!/usr/bin/env bash
# Run `vendor` on the example app in test-data/example (a Django site;
# Pillow built from source, psycopg2 from its sdist): lock it for its target
# (el9, CPython 3.11.9), fetch every artifact into the cache, build and
# verify the native packages and the app itself, write the RPMs and a dnf
# repository to test-data/example/dist/el9, say what a server needs, and
# install the site with `dnf install mysite` into a scratch root over a
# stand-in of EL9 (test-data/el9-standin.spec), as on a new server.
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

step "dnf install mysite (a new server: a scratch root over the EL9 stand-in)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
rpmbuild -bb --quiet --define "_topdir $scratch/rpmbuild" test-data/el9-standin.spec
mkdir "$scratch/standin"
cp "$scratch"/rpmbuild/RPMS/x86_64/el9-standin-*.rpm "$scratch/standin/"
createrepo_c --quiet "$scratch/standin"
dnf --quiet --assumeyes --installroot "$scratch/root" --releasever 9 --forcearch x86_64 \
    --setopt=reposdir=/dev/null --setopt=install_weak_deps=False --nogpgcheck --noplugins \
    --repofrompath "mysite,$(pwd)/$project/dist/el9" --repo mysite \
    --repofrompath "standin,$scratch/standin" --repo standin \
    install mysite
rpm --root "$scratch/root" -q mysite mysite-deps
rpm --root "$scratch/root" -q --configfiles mysite

printf '\nlock: %s\nrepository: %s\n' "$(pwd)/$project/pylock.toml" "$(pwd)/$project/dist/el9"
