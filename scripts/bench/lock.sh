# scripts/bench.sh lock: vendor lock vs uv pip compile --generate-hashes,
# cold and warm caches (sourced by scripts/bench.sh).
# shellcheck shell=bash

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

# vendor lock of the requirements file $3 with the given cache; writes a
# fresh lock each time.
run_vendor_lock() {
    local cache="$1" work="$2" requirements="$3"
    rm -f "$work/pylock.toml"
    time_command "$VENDOR" --project "$work" --cache-dir "$cache" --no-progress -q \
        lock -r "$requirements" --target "$TARGET" --python "$PYTHON" \
        --exclude-newer "$EXCLUDE_NEWER" -o "$work/pylock.toml"
}

# uv pip compile of the requirements file $3 with the given cache; no
# previous output to prefer pins from.
# uv is handed Debian's interpreter (it builds sdist metadata with one):
# searching PATH costs it ~0.8 s behind pyenv shims, which is not locking.
run_uv_compile() {
    local cache="$1" work="$2" requirements="$3"
    rm -f "$work/requirements.txt"
    time_command env UV_CACHE_DIR="$cache" UV_NO_CONFIG=1 UV_SYSTEM_CERTS=1 \
        UV_PYTHON_DOWNLOADS=never \
        "$UV" pip compile "$requirements" --python-version "$PYTHON" \
        --python-platform "$UV_PLATFORM" --exclude-newer "$EXCLUDE_NEWER" \
        --python /usr/bin/python3 --generate-hashes --quiet -o "$work/requirements.txt"
}

# The packages of $REQUIREMENTS vendor builds from source (Pillow by its
# policy, psycopg2 for want of a wheel, lxml by its policy): for them alone
# a vendor lock does more than uv's, locking their build environments (sdist
# download, build-requirement resolution, the backend's
# get_requires_for_build_wheel in an isolated environment).
FROM_SOURCE_LINES='^(Pillow|psycopg2|lxml)$'

# $REQUIREMENTS without the packages vendor builds, into $1: both tools then
# only resolve and hash wheels. Fails if vendor still locks a build
# environment for it (the row would not compare like with like).
write_wheels_only_requirements() {
    local scratch="$1"
    grep -Ev "$FROM_SOURCE_LINES" "$REQUIREMENTS" >"$scratch/wheels-only.in"
    mkdir -p "$scratch/check-work"
    run_vendor_lock "$scratch/check-cache" "$scratch/check-work" "$scratch/wheels-only.in" \
        >/dev/null
    if grep -q '^build-requires' "$scratch/check-work/pylock.toml"; then
        log "the wheels-only set still has packages built from source; update FROM_SOURCE_LINES"
        exit 1
    fi
    rm -rf "$scratch/check-cache" "$scratch/check-work"
}

# One timed run of each tool on the requirements file $6 with the caches $2
# (vendor) and $3 (uv); vendor goes first on odd runs $1, so neither always
# meets a colder machine. Appends the seconds to the arrays named $7
# (vendor) and $8 (uv).
time_both() {
    local run="$1" vendor_cache="$2" uv_cache="$3" vendor_work="$4" uv_work="$5"
    local requirements="$6"
    local -n vendor_times="$7" uv_times="$8"
    if [ $((run % 2)) -eq 1 ]; then
        vendor_times+=("$(run_vendor_lock "$vendor_cache" "$vendor_work" "$requirements")")
        uv_times+=("$(run_uv_compile "$uv_cache" "$uv_work" "$requirements")")
    else
        uv_times+=("$(run_uv_compile "$uv_cache" "$uv_work" "$requirements")")
        vendor_times+=("$(run_vendor_lock "$vendor_cache" "$vendor_work" "$requirements")")
    fi
}

# Cold then warm runs of vendor and uv on the requirements file $2, tool
# order alternating; sets COLD_VENDOR, COLD_UV, WARM_VENDOR, WARM_UV.
measure_lock() {
    local scratch="$1" requirements="$2" runs="$3" run
    local vendor_work="$scratch/vendor-work" uv_work="$scratch/uv-work"
    mkdir -p "$vendor_work" "$uv_work"
    COLD_VENDOR=() COLD_UV=() WARM_VENDOR=() WARM_UV=()
    log "$(basename "$requirements") cold: $runs runs each, a new empty cache for every run"
    for run in $(seq 1 "$runs"); do
        local vendor_cache="$scratch/vendor-cold-$run" uv_cache="$scratch/uv-cold-$run"
        time_both "$run" "$vendor_cache" "$uv_cache" "$vendor_work" "$uv_work" \
            "$requirements" COLD_VENDOR COLD_UV
        rm -rf "$vendor_cache" "$uv_cache"
    done

    log "$(basename "$requirements") warm: $runs runs each, caches filled by one untimed run"
    local vendor_cache="$scratch/vendor-warm" uv_cache="$scratch/uv-warm"
    rm -rf "$vendor_cache" "$uv_cache"
    run_vendor_lock "$vendor_cache" "$vendor_work" "$requirements" >/dev/null
    run_uv_compile "$uv_cache" "$uv_work" "$requirements" >/dev/null
    for run in $(seq 1 "$runs"); do
        time_both "$run" "$vendor_cache" "$uv_cache" "$vendor_work" "$uv_work" \
            "$requirements" WARM_VENDOR WARM_UV
    done
}

bench_lock() {
    local runs="$1"
    prepare_tools
    make_scratch
    local scratch="$SCRATCH"
    write_wheels_only_requirements "$scratch"

    measure_lock "$scratch" "$(pwd)/$REQUIREMENTS" "$runs"
    local app_cold_vendor="${COLD_VENDOR[*]}" app_cold_uv="${COLD_UV[*]}"
    local app_warm_vendor="${WARM_VENDOR[*]}" app_warm_uv="${WARM_UV[*]}"
    measure_lock "$scratch" "$scratch/wheels-only.in" "$runs"

    printf '\nlock: %s for %s / CPython %s, --exclude-newer %s\n' \
        "$REQUIREMENTS" "$TARGET" "$PYTHON" "$EXCLUDE_NEWER"
    printf 'vendor: %s; uv: %s\n' "$(describe_vendor)" "$("$UV" --version)"
    # vendor's lock-time hooks use /dev/shm when TMPDIR is unset (see
    # src/lock/build_environment.rs): say where they ran.
    printf 'scratch and caches on %s (%s); TMPDIR %s; load now %s\n' \
        "$(df --output=target "$scratch" | tail -1)" "$(df --output=fstype "$scratch" | tail -1)" \
        "${TMPDIR:-unset}" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-16s %12s %12s %10s   %s\n' case "vendor (s)" "uv (s)" vendor/uv "runs (vendor | uv)"
    report_row cold "$app_cold_vendor" "$app_cold_uv"
    report_row warm "$app_warm_vendor" "$app_warm_uv"
    report_row "cold, no builds" "${COLD_VENDOR[*]}" "${COLD_UV[*]}"
    report_row "warm, no builds" "${WARM_VENDOR[*]}" "${WARM_UV[*]}"
    cat <<'NOTES'

- cold / warm: the app's requirements as they are. vendor also locks the
  build environments of Pillow, psycopg2 and lxml, which it builds from
  source (downloads their sdists, resolves their build requirements for this
  host and runs each backend's get_requires_for_build_wheel); uv does not.
- no builds: the same file without those three packages, so that both tools
  only resolve and hash wheels (the like-for-like comparison).
- cold: a new empty cache per run; warm: one cache filled by an untimed run,
  no previous lock file (every run resolves again).
NOTES
}

# One table row: medians, their ratio, and every run for the record.
report_row() {
    local case_name="$1" vendor_runs="$2" uv_runs="$3" vendor_median uv_median ratio
    vendor_median="$(tr ' ' '\n' <<<"$vendor_runs" | median)"
    uv_median="$(tr ' ' '\n' <<<"$uv_runs" | median)"
    ratio="$(awk -v v="$vendor_median" -v u="$uv_median" 'BEGIN { printf "%.2fx", v / u }')"
    printf '%-16s %12s %12s %10s   %s | %s\n' "$case_name" "$vendor_median" "$uv_median" "$ratio" \
        "$vendor_runs" "$uv_runs"
}
