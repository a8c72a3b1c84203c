#!/usr/bin/env bash
# Benchmarks of `vendor` against the tools it replaces, run side by side on
# this machine and reported as medians and ratios.
#
#   scripts/bench.sh lock [RUNS]      vendor lock vs uv pip compile --generate-hashes
#   scripts/bench.sh package [RUNS]   cached wheels → RPMs: vendor build vs rpmbuild
#                                     vs tar | zstd -3 of the installed trees
#   scripts/bench.sh deploy [RUNS]    rpm -i of the RPMs into a root vs pip install
#                                     of the same wheels into a venv
#   scripts/bench.sh build [RUNS]     Pillow and psycopg2 sdists → wheels: vendor
#                                     build vs uv build (warm caches), and the
#                                     unchanged rebuild of the app vs its first build
#
# Each case alternates the tools run by run, so drift in the network or the
# machine's load hits all alike; the tables give medians and every run.
# RUNS defaults to 5 (env BENCH_RUNS). VENDOR_BIN benchmarks a given binary
# instead of building target/release/vendor. Scratch folders go under TMPDIR:
# the file system matters (creating files is much of packaging's system
# time), so the output names it. VENDOR_BENCH_CACHE: the cache package and
# deploy lock and fetch into (default: a new one in the scratch folder).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# One file per benchmark over shared helpers.
# shellcheck source=scripts/bench/common.sh
source scripts/bench/common.sh
# shellcheck source=scripts/bench/lock.sh
source scripts/bench/lock.sh
# shellcheck source=scripts/bench/package.sh
source scripts/bench/package.sh
# shellcheck source=scripts/bench/deploy.sh
source scripts/bench/deploy.sh
# shellcheck source=scripts/bench/build.sh
source scripts/bench/build.sh

usage() {
    cat >&2 <<'USAGE'
usage: scripts/bench.sh SUBCOMMAND [RUNS]

subcommands:
  lock      vendor lock vs uv pip compile --generate-hashes, cold and warm caches
  package   cached wheels → RPMs: vendor build vs rpmbuild with a minimal spec
            per wheel vs tar | zstd -3 of the installed trees
  deploy    rpm -i of the whole set into a scratch root vs pip install of the
            same wheels into a fresh venv
  build     the example app (Django, Pillow and psycopg2 from their sdists):
            vendor build with nothing built yet vs uv build of the two
            sdists, and an unchanged rebuild vs the first build
USAGE
}

# The interpreter vendor compiles byte-code with (it finds the same one), so
# the baselines that compile use the same version.
find_python311() {
    python3.11 -c 'import sys; print(sys.executable)' 2>/dev/null || {
        log "python3.11 is needed (vendor compiles .pyc files with it)"
        exit 1
    }
}

main() {
    local subcommand="${1:-}"
    case "$subcommand" in
        lock | package | deploy | build)
            local runs="${2:-${BENCH_RUNS:-5}}"
            if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
                log "RUNS must be a positive integer, not \`$runs\`"
                exit 2
            fi
            "bench_$subcommand" "$runs"
            ;;
        -h | --help)
            usage
            ;;
        "")
            usage
            exit 2
            ;;
        *)
            log "unknown subcommand \`$subcommand\`"
            usage
            exit 2
            ;;
    esac
}

main "$@"
