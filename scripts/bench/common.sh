# Shared by every benchmark of scripts/bench.sh (sourced, not run): the
# target and pins the sets are locked for, scratch folders, timing,
# medians, the case runner (alternating order) and the table rows.
# shellcheck shell=bash

TARGET="el9"
PYTHON="3.11.9"
UV_PLATFORM="x86_64-manylinux_2_34"   # el9's glibc, as uv spells it
EXCLUDE_NEWER="2026-11-01T00:00:00Z"

log() { printf 'bench: %s\n' "$*" >&2; }

# A new scratch folder in $SCRATCH, removed when the script exits.
make_scratch() {
    SCRATCH="$(mktemp -d)"
    # shellcheck disable=SC2064  # expand now: the path is fixed from here on
    trap "rm -rf '$SCRATCH'" EXIT
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

# package and deploy: a fixed, wheels-only web-app set for el9 / CPython 3.11.

# Top-level requirements; the lock adds their dependencies (13 wheels, five
# with native code, Django the largest).
PACKAGE_SET=(Django whitenoise gunicorn MarkupSafe PyYAML zope.interface "python-dateutil<3"
    SQLAlchemy psycopg2-binary)
BENCH_APP="benchapp"
BENCH_PREFIX="/opt/benchapp"
SITE_PACKAGES="$BENCH_PREFIX/lib/python3.11/site-packages"
JOBS="$(nproc)"

# Print "WALL CPU" seconds (CPU = user + system of the command and all its
# children); abort with the command's output if it fails.
time_with_cpu() {
    local output times start end
    output="$(mktemp)"
    times="$(mktemp)"
    start="$(date +%s.%N)"
    if ! /usr/bin/time -f '%U %S' -o "$times" "$@" >"$output" 2>&1; then
        log "command failed: $*"
        cat "$output" >&2
        rm -f "$output" "$times"
        exit 1
    fi
    end="$(date +%s.%N)"
    awk -v s="$start" -v e="$end" '{ printf "%.3f %.3f\n", e - s, $1 + $2 }' "$times"
    rm -f "$output" "$times"
}

# Write the project, lock it (network, or the bench cache), fetch the wheels
# into the cache and export them as a flat folder: $1/project, $1/wheels.
prepare_package_set() {
    local scratch="$1"
    # In the scratch folder by default, so that every file vendor writes
    # (the verification environment lives in the cache) is on the file
    # system the report names.
    BENCH_CACHE="${VENDOR_BENCH_CACHE:-$scratch/cache}"
    mkdir -p "$scratch/project"
    cat >"$scratch/project/vendor.toml" <<EOF
[app]
name = "$BENCH_APP"
prefix = "$BENCH_PREFIX"
requirements = ["requirements.in"]

[target]
name = "$TARGET"
python = "$PYTHON"
EOF
    printf '%s\n' "${PACKAGE_SET[@]}" >"$scratch/project/requirements.in"
    log "locking and fetching the set (not timed; cache $BENCH_CACHE)"
    "$VENDOR" --project "$scratch/project" --cache-dir "$BENCH_CACHE" --no-progress -q \
        lock --exclude-newer "$EXCLUDE_NEWER"
    "$VENDOR" --project "$scratch/project" --cache-dir "$BENCH_CACHE" --no-progress -q \
        fetch --export "$scratch/wheels"
}

# Write `$1/cases/$2.sh`, which runs the shell code on stdin with `$out`
# set to `$1/out/$2`: what one case times. `$out` is removed before each run
# (not timed).
write_case() {
    local scratch="$1" name="$2"
    mkdir -p "$scratch/cases"
    {
        printf '#!/usr/bin/env bash\nset -euo pipefail\n'
        # shellcheck disable=SC2016  # `$out` is the case script's variable
        printf 'out=%q\nmkdir -p "$out"\n' "$scratch/out/$name"
        cat
    } >"$scratch/cases/$name.sh"
    chmod +x "$scratch/cases/$name.sh"
}

# The case `$2` (default `vendor`): vendor build --offline with the cache $3
# (default $BENCH_CACHE).
write_vendor_case() {
    local scratch="$1" name="${2:-vendor}" cache="${3:-$BENCH_CACHE}"
    write_case "$scratch" "$name" <<EOF
$(printf '%q ' "$VENDOR" --project "$scratch/project" --cache-dir "$cache" \
        --no-progress -q build --offline -j "$JOBS") --out "\$out"
EOF
}

# vendor keeps the installed trees, RPMs and passed verifications of earlier
# builds in its cache, so an unchanged rebuild only links them; removing those buckets
# (their names are the cache's, as in tests/build_rpms.rs) makes the next
# build package every wheel again, from the cached wheels.
forget_kept_work() {
    rm -rf "$1/packaged-v1" "$1/verified-v1" "$1/installed-v1"
}

# One untimed run of each case (warms the page cache, fills uv's cache);
# `$prepare CASE` runs before each.
warm_up_cases() {
    local scratch="$1" prepare="$2" name
    shift 2
    for name in "$@"; do
        rm -rf "$scratch/out/$name"
        "$prepare" "$name"
        time_with_cpu "$scratch/cases/$name.sh" >/dev/null
    done
}

# Run every case once per run; with ORDER `rotate` which goes first rotates
# run by run, with `fixed` they keep their order (a case that depends on the
# one before it). Collects "WALL CPU" seconds in WALL[case] / CPU[case].
# `$prepare CASE RUN` runs untimed before each.
declare -A WALL CPU
run_cases() {
    local scratch="$1" runs="$2" prepare="$3" order="$4"
    shift 4
    local cases=("$@") run index name measured offset
    for run in $(seq 1 "$runs"); do
        offset=0
        if [ "$order" = rotate ]; then
            offset=$((run - 1))
        fi
        for index in "${!cases[@]}"; do
            name="${cases[$(((index + offset) % ${#cases[@]}))]}"
            rm -rf "$scratch/out/$name"
            "$prepare" "$name" "$run"
            measured="$(time_with_cpu "$scratch/cases/$name.sh")"
            WALL[$name]+="${measured% *} "
            CPU[$name]+="${measured#* } "
        done
        log "run $run/$runs: load $(cut -d' ' -f1 /proc/loadavg)"
    done
}

median_of() {
    tr ' ' '\n' <<<"$1" | grep . | median
}

# One row: wall and CPU medians, the reference's wall median divided by this
# one's (how many times faster than the reference), every run's wall time.
report_case() {
    local name="$1" label="$2" reference="$3" wall cpu ratio
    wall="$(median_of "${WALL[$name]}")"
    cpu="$(median_of "${CPU[$name]}")"
    ratio="$(awk -v w="$wall" -v r="$(median_of "${WALL[$reference]}")" \
        'BEGIN { printf "%.2fx", w / r }')"
    printf '%-46s %8s %8s %9s   %s\n' "$label" "$wall" "$cpu" "$ratio" "${WALL[$name]}"
}

print_header() {
    local scratch="$1" runs="$2"
    printf 'scratch on %s (%s); %s runs each, alternating; medians; %s jobs; load now %s\n\n' \
        "$(df --output=target "$scratch" | tail -1)" "$(df --output=fstype "$scratch" | tail -1)" \
        "$runs" "$JOBS" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# Which vendor ran: the checkout's commit, or the binary VENDOR_BIN named.
describe_vendor() {
    if [ -n "${VENDOR_BIN:-}" ]; then
        printf '%s (VENDOR_BIN)' "$VENDOR_BIN"
    else
        printf 'commit %s%s' "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
            "$(git diff --quiet HEAD -- src Cargo.toml 2>/dev/null || echo ' + uncommitted changes')"
    fi
}

# Run a set-up command, showing its output only when it fails (Debian's rpm
# warns about every direct install).
quietly() {
    local output
    if ! output="$("$@" 2>&1)"; then
        log "command failed: $*"
        printf '%s\n' "$output" >&2
        exit 1
    fi
}
