# scripts/bench.sh build: the example app's sdists built on this host,
# vendor build vs uv build, and an unchanged rebuild vs the first build
# (sourced by scripts/bench.sh).
# shellcheck shell=bash

# build: the example app's sdists built on this host.

BUILD_SET=(Django Pillow psycopg2)
BUILD_SDISTS=(pillow psycopg2)

# The sdists vendor locked, copied out of its cache for uv.
copy_locked_sdists() {
    local cache="$1" destination="$2" name file
    mkdir -p "$destination"
    for name in "${BUILD_SDISTS[@]}"; do
        file="$(find "$cache/artifacts" -name "$name-*.tar.gz" | head -1)"
        if [ -z "$file" ]; then
            log "no $name sdist in $cache"
            exit 1
        fi
        cp "$file" "$destination/"
    done
}

# vendor builds every sdist again only without the built wheels, RPMs and
# verifications its earlier runs kept.
prepare_build_case() {
    if [ "$1" = vendor-first ] || [ "$1" = vendor-sdists ]; then
        forget_kept_work "$BUILD_CACHE"
        rm -rf "$BUILD_CACHE/built-v1"
    fi
}

bench_build() {
    local runs="$1"
    prepare_tools
    PYTHON311="$(find_python311)"
    make_scratch
    local scratch="$SCRATCH"
    BUILD_CACHE="$scratch/cache"
    local project="$scratch/project"
    mkdir -p "$project"
    printf '%s\n' "${BUILD_SET[@]}" >"$project/requirements.in"
    # This machine is not EL9: Pillow links its libtiff.so.6 (see the
    # example's vendor.toml); the build is timed, not deployed.
    printf '[app]\nname = "buildbench"\nrequirements = ["requirements.in"]\n[build]\nallow-foreign-host = true\n' \
        >"$project/vendor.toml"
    log "locking and fetching ${BUILD_SET[*]} (untimed)"
    quietly "$VENDOR" --project "$project" --cache-dir "$BUILD_CACHE" --no-progress lock \
        --target "$TARGET" --python "$PYTHON" --exclude-newer "$EXCLUDE_NEWER"
    quietly "$VENDOR" --project "$project" --cache-dir "$BUILD_CACHE" --no-progress fetch
    copy_locked_sdists "$BUILD_CACHE" "$scratch/sdists"

    # One build at a time on both sides: vendor with -j 1, uv one sdist
    # after the other, each in its own isolated environment.
    local vendor_build
    vendor_build="$(printf '%q ' "$VENDOR" --project "$project" --cache-dir "$BUILD_CACHE" \
        --no-progress -q build --offline -j 1)"
    # shellcheck disable=SC2016  # `$out` is the case script's variable
    printf '%s --only pillow --only psycopg2 --out "$out"\n' "$vendor_build" |
        write_case "$scratch" vendor-sdists
    # shellcheck disable=SC2016
    printf '%s --out "$out"\n' "$vendor_build" | write_case "$scratch" vendor-first
    # shellcheck disable=SC2016
    printf '%s --out "$out"\n' "$vendor_build" | write_case "$scratch" vendor-unchanged
    local uv_build
    uv_build="$(printf '%q ' env UV_CACHE_DIR="$scratch/uv-cache" UV_NO_CONFIG=1 \
        UV_SYSTEM_CERTS=1 UV_PYTHON_DOWNLOADS=never "$UV" build --wheel --quiet \
        --python "$PYTHON311" --exclude-newer "$EXCLUDE_NEWER")"
    # shellcheck disable=SC2016
    printf 'for sdist in %s; do\n    %s --out-dir "$out" "$sdist"\ndone\n' \
        "$(printf '%q ' "$scratch"/sdists/*.tar.gz)" "$uv_build" | write_case "$scratch" uv

    # vendor-unchanged must follow a vendor build, so the order is fixed.
    local cases=(uv vendor-sdists vendor-first vendor-unchanged)
    log "one untimed run of each case (fills uv's cache and the page cache)"
    warm_up_cases "$scratch" prepare_build_case "${cases[@]}"
    log "$runs timed runs of each case"
    run_cases "$scratch" "$runs" prepare_build_case fixed "${cases[@]}"

    printf '\nbuild: %s for %s / CPython %s, --exclude-newer %s\n' "${BUILD_SET[*]}" \
        "$TARGET" "$PYTHON" "$EXCLUDE_NEWER"
    printf 'vendor: %s; uv: %s\n' "$(describe_vendor)" "$("$UV" --version)"
    print_header "$scratch" "$runs"
    printf '%-46s %8s %8s %9s   %s\n' case "wall s" "cpu s" "wall/uv" "wall of every run"
    report_case uv "uv build --wheel of the two sdists" uv
    report_case vendor-sdists "vendor build --only pillow --only psycopg2" uv
    report_case vendor-first "vendor build of the whole app, nothing built" uv
    report_case vendor-unchanged "vendor build again, nothing changed" uv
    awk -v u="$(median_of "${WALL[vendor-unchanged]}")" -v f="$(median_of "${WALL[vendor-first]}")" \
        'BEGIN { printf "\nunchanged rebuild / first build: %.1f%%\n", 100 * u / f }'
    cat <<'NOTES'

- uv build: the Pillow and psycopg2 sdists vendor locked, one after the
  other, each in a fresh isolated build environment from uv's warm cache
  (same --exclude-newer, so the same build requirements).
- vendor build --only pillow --only psycopg2: its built wheels, kept RPMs
  and passed verifications removed first. It builds the same two sdists one
  at a time (-j 1) in isolated environments from its cache, then verifies
  and packages those two (the comparison with uv; target <= 1.1x).
- vendor build of the whole app: the same from nothing built, Django
  verified and packaged too (its .pyc compiled): the first build.
- vendor build again: the whole app with nothing changed (target <= 5% of
  the first build).
NOTES
}
