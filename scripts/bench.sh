#!/usr/bin/env bash
# Benchmarks of `vendor` against the tools it replaces, run side by side on
# this machine and reported as medians and ratios.
#
#   scripts/bench.sh lock [RUNS]   vendor lock vs uv pip compile --generate-hashes
#
# Coming with later stages: package (wheels → RPMs vs rpmbuild),
# deploy (rpm -i vs pip install), build (rebuild after one changed pin).
#
# Each case alternates the two tools run by run, so drift in the network or
# the machine's load hits both alike. RUNS defaults to 5 (env BENCH_RUNS).
# VENDOR_BIN benchmarks a given binary instead of building target/release/vendor.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

REQUIREMENTS="test-data/requirements/django-app.in"
TARGET="el9"
PYTHON="3.11.9"
UV_PLATFORM="x86_64-manylinux_2_34"   # el9's glibc, as uv spells it
EXCLUDE_NEWER="2026-11-01T00:00:00Z"

usage() {
    cat >&2 <<'USAGE'
usage: scripts/bench.sh SUBCOMMAND [RUNS]

subcommands:
  lock      vendor lock vs uv pip compile --generate-hashes, cold and warm caches

not available yet (they arrive with the stages they measure):
  package   wheels → RPMs vs rpmbuild on an equivalent spec
  deploy    rpm -i of the whole set vs pip install of the same wheels
  build     rebuild after changing one pin
USAGE
}

log() { printf 'bench: %s\n' "$*" >&2; }

# Print the wall-clock seconds `"$@"` takes; abort with its output if it fails.
time_command() {
    local output start end
    output="$(mktemp)"
    start="$(date +%s.%N)"
    if ! "$@" >"$output" 2>&1; then
        log "command failed: $*"
        cat "$output" >&2
        rm -f "$output"
        exit 1
    fi
    end="$(date +%s.%N)"
    rm -f "$output"
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f\n", e - s }'
}

median() {
    sort -n | awk '{ v[NR] = $1 } END {
        if (NR == 0) exit 1
        if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]
        else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

prepare_tools() {
    log "installing dependencies"
    scripts/install-deps.sh >/dev/null
    if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    UV="${VENDOR_TOOLS_DIR:-$HOME/.cache/vendor-tools}/venv/bin/uv"
    if [ -n "${VENDOR_BIN:-}" ]; then
        VENDOR="$VENDOR_BIN"
    else
        log "building vendor (release)"
        cargo build --release --quiet
        VENDOR="$(pwd)/target/release/vendor"
    fi
}

# vendor lock with the given cache; writes a fresh lock each time.
run_vendor_lock() {
    local cache="$1" work="$2"
    rm -f "$work/pylock.toml"
    time_command "$VENDOR" --project "$work" --cache-dir "$cache" --no-progress -q \
        lock -r "$(pwd)/$REQUIREMENTS" --target "$TARGET" --python "$PYTHON" \
        --exclude-newer "$EXCLUDE_NEWER" -o "$work/pylock.toml"
}

# uv pip compile with the given cache; no previous output to prefer pins from.
# uv is handed Debian's interpreter (it builds sdist metadata with one):
# searching PATH costs it ~0.8 s behind pyenv shims, which is not locking.
run_uv_compile() {
    local cache="$1" work="$2"
    rm -f "$work/requirements.txt"
    time_command env UV_CACHE_DIR="$cache" UV_NO_CONFIG=1 UV_SYSTEM_CERTS=1 \
        UV_PYTHON_DOWNLOADS=never \
        "$UV" pip compile "$REQUIREMENTS" --python-version "$PYTHON" \
        --python-platform "$UV_PLATFORM" --exclude-newer "$EXCLUDE_NEWER" \
        --python /usr/bin/python3 --generate-hashes --quiet -o "$work/requirements.txt"
}

bench_lock() {
    local runs="$1"
    prepare_tools
    local scratch
    scratch="$(mktemp -d)"
    # shellcheck disable=SC2064  # expand now: the variable is local
    trap "rm -rf '$scratch'" EXIT
    mkdir -p "$scratch/vendor-work" "$scratch/uv-work"

    local vendor_cold=() uv_cold=() vendor_warm=() uv_warm=() run
    log "cold: $runs runs each, a new empty cache for every run"
    for run in $(seq 1 "$runs"); do
        # Alternate which tool goes first, too.
        if [ $((run % 2)) -eq 1 ]; then
            vendor_cold+=("$(run_vendor_lock "$scratch/vendor-cold-$run" "$scratch/vendor-work")")
            uv_cold+=("$(run_uv_compile "$scratch/uv-cold-$run" "$scratch/uv-work")")
        else
            uv_cold+=("$(run_uv_compile "$scratch/uv-cold-$run" "$scratch/uv-work")")
            vendor_cold+=("$(run_vendor_lock "$scratch/vendor-cold-$run" "$scratch/vendor-work")")
        fi
        rm -rf "$scratch/vendor-cold-$run" "$scratch/uv-cold-$run"
    done

    log "warm: $runs runs each, caches filled by one untimed run"
    run_vendor_lock "$scratch/vendor-warm" "$scratch/vendor-work" >/dev/null
    run_uv_compile "$scratch/uv-warm" "$scratch/uv-work" >/dev/null
    for run in $(seq 1 "$runs"); do
        if [ $((run % 2)) -eq 1 ]; then
            vendor_warm+=("$(run_vendor_lock "$scratch/vendor-warm" "$scratch/vendor-work")")
            uv_warm+=("$(run_uv_compile "$scratch/uv-warm" "$scratch/uv-work")")
        else
            uv_warm+=("$(run_uv_compile "$scratch/uv-warm" "$scratch/uv-work")")
            vendor_warm+=("$(run_vendor_lock "$scratch/vendor-warm" "$scratch/vendor-work")")
        fi
    done

    printf '\nlock: %s for %s / CPython %s, --exclude-newer %s\n' \
        "$REQUIREMENTS" "$TARGET" "$PYTHON" "$EXCLUDE_NEWER"
    printf 'vendor: %s (%s); uv: %s\n' "$VENDOR" "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
        "$("$UV" --version)"
    printf '%-6s %12s %12s %10s   %s\n' case "vendor (s)" "uv (s)" vendor/uv "runs (vendor | uv)"
    report_row cold "${vendor_cold[*]}" "${uv_cold[*]}"
    report_row warm "${vendor_warm[*]}" "${uv_warm[*]}"
}

# One table row: medians, their ratio, and every run for the record.
report_row() {
    local case_name="$1" vendor_runs="$2" uv_runs="$3" vendor_median uv_median ratio
    vendor_median="$(tr ' ' '\n' <<<"$vendor_runs" | median)"
    uv_median="$(tr ' ' '\n' <<<"$uv_runs" | median)"
    ratio="$(awk -v v="$vendor_median" -v u="$uv_median" 'BEGIN { printf "%.2fx", v / u }')"
    printf '%-6s %12s %12s %10s   %s | %s\n' "$case_name" "$vendor_median" "$uv_median" "$ratio" \
        "$vendor_runs" "$uv_runs"
}

main() {
    local subcommand="${1:-}"
    case "$subcommand" in
        lock)
            local runs="${2:-${BENCH_RUNS:-5}}"
            if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
                log "RUNS must be a positive integer, not \`$runs\`"
                exit 2
            fi
            bench_lock "$runs"
            ;;
        package | deploy | build)
            log "\`$subcommand\` is not available yet: it arrives with the stage it measures"
            exit 2
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
