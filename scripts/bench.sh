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
  package   cached wheels → RPMs: vendor build vs rpmbuild with a minimal spec
            per wheel vs tar | zstd -3 of the installed trees
  deploy    rpm -i of the whole set into a scratch root vs pip install of the
            same wheels into a fresh venv
  build     the example app (Django, Pillow and psycopg2 from their sdists):
            vendor build with nothing built yet vs uv build of the two
            sdists, and an unchanged rebuild vs the first build
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
        # Alternate which tool goes first, too.
        if [ $((run % 2)) -eq 1 ]; then
            COLD_VENDOR+=("$(run_vendor_lock "$vendor_cache" "$vendor_work" "$requirements")")
            COLD_UV+=("$(run_uv_compile "$uv_cache" "$uv_work" "$requirements")")
        else
            COLD_UV+=("$(run_uv_compile "$uv_cache" "$uv_work" "$requirements")")
            COLD_VENDOR+=("$(run_vendor_lock "$vendor_cache" "$vendor_work" "$requirements")")
        fi
        rm -rf "$vendor_cache" "$uv_cache"
    done

    log "$(basename "$requirements") warm: $runs runs each, caches filled by one untimed run"
    local vendor_cache="$scratch/vendor-warm" uv_cache="$scratch/uv-warm"
    rm -rf "$vendor_cache" "$uv_cache"
    run_vendor_lock "$vendor_cache" "$vendor_work" "$requirements" >/dev/null
    run_uv_compile "$uv_cache" "$uv_work" "$requirements" >/dev/null
    for run in $(seq 1 "$runs"); do
        if [ $((run % 2)) -eq 1 ]; then
            WARM_VENDOR+=("$(run_vendor_lock "$vendor_cache" "$vendor_work" "$requirements")")
            WARM_UV+=("$(run_uv_compile "$uv_cache" "$uv_work" "$requirements")")
        else
            WARM_UV+=("$(run_uv_compile "$uv_cache" "$uv_work" "$requirements")")
            WARM_VENDOR+=("$(run_vendor_lock "$vendor_cache" "$vendor_work" "$requirements")")
        fi
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

# ---------------------------------------------------------------------------
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

# The interpreter vendor compiles byte-code with (it finds the same one), so
# the baselines that compile use the same version.
find_python311() {
    python3.11 -c 'import sys; print(sys.executable)' 2>/dev/null || {
        log "python3.11 is needed (vendor compiles .pyc files with it)"
        exit 1
    }
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

# Run `sh -c SCRIPT _ OUT ITEM` for every ITEM, $JOBS at a time, in a case
# script: the way every case but vendor's spreads over the cores.
parallel_each() {
    local script="$1"
    shift
    printf 'printf "%%s\\n"'
    printf ' %q' "$@"
    # shellcheck disable=SC2016  # `$out` is the case script's variable
    printf ' | xargs -P %d -I{} sh -c %q _ "$out" {}\n' "$JOBS" "$script"
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

prepare_package_case() {
    case "$1" in
        vendor) forget_kept_work "$BENCH_CACHE" ;;
        # Installed and verified trees kept: what packaging alone costs.
        vendor-package) rm -rf "$SCRATCH/cache-package/packaged-v1" ;;
    esac
}

# rpm's N, V and arch for a wheel file name: `Django-5.2-py3-none-any.whl`
# → `django 5.2 noarch`.
wheel_rpm_fields() {
    local file name version
    file="$(basename "$1" .whl)"
    name="$(cut -d- -f1 <<<"$file" | tr '[:upper:]_.' '[:lower:]--')"
    version="$(cut -d- -f2 <<<"$file")"
    case "$file" in
        *-none-any) printf '%s %s noarch\n' "$name" "$version" ;;
        *) printf '%s %s %s\n' "$name" "$version" "$(uname -m)" ;;
    esac
}

# A minimal spec that packages one wheel the way the issue describes: unzip
# into the prefix, zstd level 3 payload (vendor's level), no brp scripts, no
# debuginfo or build-id links. rpm's dependency generators stay on (ELF
# sonames and symbol versions, python3dist from the .dist-info, script
# interpreters): vendor computes the same kinds of dependencies. With
# `compile`, %install also byte-compiles as vendor does (unchecked-hash
# .pyc files naming the server paths).
write_minimal_spec() {
    local wheel="$1" spec="$2" variant="$3" name version arch
    read -r name version arch < <(wheel_rpm_fields "$wheel")
    {
        cat <<EOF
%define _binary_payload w3.zstdio
%define __os_install_post %{nil}
%define __spec_install_post %{nil}
%define _build_id_links none
%define debug_package %{nil}
Name: $BENCH_APP-python3-$name
Version: $version
Release: 1.el9
Summary: $name packaged by a minimal spec (benchmark baseline)
License: MIT
BuildArch: $arch
%description
Benchmark baseline: the wheel unzipped into the prefix.
%install
mkdir -p %{buildroot}$SITE_PACKAGES
unzip -q -o $wheel -d %{buildroot}$SITE_PACKAGES
EOF
        if [ "$variant" = compile ]; then
            # Files that are not Python 3 fail, as in vendor; keep going.
            printf '%s -m compileall -q -j 1 --invalidation-mode unchecked-hash -d %s %s || :\n' \
                "$PYTHON311" "$SITE_PACKAGES" "%{buildroot}$SITE_PACKAGES"
        fi
        printf '%%files\n%s/*\n' "$SITE_PACKAGES"
    } >"$spec"
}

# Specs for every wheel into $1/specs-$2 and the case `rpmbuild-$2`: all of
# them built, $JOBS at a time, each in its own topdir.
write_rpmbuild_case() {
    local scratch="$1" variant="$2" wheel spec
    mkdir -p "$scratch/specs-$variant"
    for wheel in "$scratch"/wheels/*.whl; do
        spec="$scratch/specs-$variant/$(basename "$wheel" .whl).spec"
        write_minimal_spec "$wheel" "$spec" "$variant"
    done
    # shellcheck disable=SC2016  # expanded by the case's own shell
    parallel_each 'rpmbuild -bb --quiet --define "_topdir $1/$(basename "$2" .spec)" "$2"' \
        "$scratch/specs-$variant"/*.spec | write_case "$scratch" "rpmbuild-$variant"
}

# Extract each RPM vendor wrote into its own tree under $2: the installed
# trees the floor compresses (site-packages with .pyc, scripts, the venv).
extract_trees() {
    local rpms="$1" trees="$2" rpm tree
    mkdir -p "$trees"
    for rpm in "$rpms"/*.rpm; do
        tree="$trees/$(basename "$rpm" .rpm)"
        mkdir -p "$tree"
        rpm2cpio "$rpm" | (cd "$tree" && cpio -idm --quiet)
    done
}

# The floor: `tar -c tree | zstd -3` per installed tree, $JOBS at a time.
write_floor_case() {
    local scratch="$1"
    # shellcheck disable=SC2016  # expanded by the case's own shell
    parallel_each 'tar -C "$2" -cf - . | zstd -3 -q -f -o "$1/$(basename "$2").tar.zst"' \
        "$scratch"/trees/* | write_case "$scratch" floor
}

# The steps vendor takes as a shell pipeline: unzip each wheel, byte-compile
# it (unchecked-hash, server paths) and tar | zstd -3 it.
write_shell_case() {
    local scratch="$1" script
    # shellcheck disable=SC2016  # $1 and $2 are expanded by the case's own shell
    script='tree="$1/$(basename "$2" .whl)"; site="$tree'"$SITE_PACKAGES"'"
        mkdir -p "$site" && unzip -q -o "$2" -d "$site"
        { '"$(printf '%q' "$PYTHON311")"' -m compileall -q -j 1 --invalidation-mode unchecked-hash \
            -d '"$SITE_PACKAGES"' "$site" >/dev/null || :; }
        tar -C "$tree" -cf - . | zstd -3 -q -f -o "$tree.tar.zst"'
    parallel_each "$script" "$scratch"/wheels/*.whl | write_case "$scratch" shell
}

# Files and bytes of the installed trees, for the report.
describe_set() {
    local scratch="$1" wheels wheel_bytes files pycs bytes
    wheels="$(find "$scratch/wheels" -maxdepth 1 -name '*.whl' | wc -l)"
    wheel_bytes="$(find "$scratch/wheels" -maxdepth 1 -name '*.whl' -printf '%s\n' \
        | awk '{ s += $1 } END { print s }')"
    files="$(find "$scratch/trees" -type f | wc -l)"
    pycs="$(find "$scratch/trees" -type f -name '*.pyc' | wc -l)"
    bytes="$(find "$scratch/trees" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')"
    awk -v w="$wheels" -v wb="$wheel_bytes" -v f="$files" -v p="$pycs" -v b="$bytes" 'BEGIN {
        printf "set: %d wheels, %.1f MB; installed: %d files (%d .pyc), %.1f MB\n",
            w, wb / 1e6, f, p, b / 1e6 }'
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

bench_package() {
    local runs="$1"
    prepare_tools
    PYTHON311="$(find_python311)"
    make_scratch
    local scratch="$SCRATCH"
    prepare_package_set "$scratch"
    write_vendor_case "$scratch"
    log "installed trees: extracted from vendor's RPMs (not timed)"
    "$scratch/cases/vendor.sh"
    extract_trees "$scratch/out/vendor/$TARGET" "$scratch/trees"
    write_rpmbuild_case "$scratch" plain
    write_rpmbuild_case "$scratch" compile
    write_floor_case "$scratch"
    write_shell_case "$scratch"
    # The unchanged rebuild gets a cache of its own, which keeps its RPMs.
    cp -a "$BENCH_CACHE" "$scratch/cache-rebuild"
    write_vendor_case "$scratch" vendor-rebuild "$scratch/cache-rebuild"
    cp -a "$BENCH_CACHE" "$scratch/cache-package"
    write_vendor_case "$scratch" vendor-package "$scratch/cache-package"
    local cases=(vendor vendor-rebuild vendor-package rpmbuild-plain rpmbuild-compile floor shell)
    log "one untimed run of each case (warms the page cache)"
    warm_up_cases "$scratch" prepare_package_case "${cases[@]}"
    log "$runs timed runs of each case"
    run_cases "$scratch" "$runs" prepare_package_case rotate "${cases[@]}"

    printf '\npackage: %s\n' "${PACKAGE_SET[*]}"
    printf 'for %s / CPython %s, --exclude-newer %s\n' "$TARGET" "$PYTHON" "$EXCLUDE_NEWER"
    describe_set "$scratch"
    printf 'vendor: %s; %s; .pyc by %s\n' "$(describe_vendor)" \
        "$(rpmbuild --version)" "$("$PYTHON311" --version)"
    print_header "$scratch" "$runs"
    printf '%-46s %8s %8s %9s   %s\n' case "wall s" "cpu s" "wall/vndr" "wall of every run"
    report_case vendor "vendor build --offline (as shipped)" vendor
    report_case vendor-rebuild "vendor build again, nothing changed" vendor
    report_case vendor-package "vendor build, trees installed and verified" vendor
    report_case rpmbuild-plain "rpmbuild, minimal spec (unzip, no .pyc)" vendor
    report_case rpmbuild-compile "rpmbuild, minimal spec + compileall" vendor
    report_case floor "floor: tar | zstd -3 of the installed trees" vendor
    report_case shell "shell: unzip + compileall + tar | zstd -3" vendor
    cat <<'EOF'

- vendor: checks each wheel's sha256 and its ELF files, installs each wheel
  once into the cache's installed trees (safe unpacking, RECORD hashes,
  .pyc), imports every package from those trees in a scratch environment,
  computes ELF and python3dist dependencies, writes one RPM per wheel plus
  <app>-venv and <app>-deps from the same trees, then the dnf repodata.
  Every run starts without the installed trees, RPMs and verifications kept
  by earlier runs (wheels cached, nothing installed or packaged yet).
- vendor build again: the same build with everything the previous build
  kept in the cache (an unchanged rebuild).
- vendor build, trees installed and verified: only the RPMs are forgotten,
  so this is packaging alone (reading the trees, dependencies, zstd, RPM
  headers and digests, repodata) plus the fixed start-up: the case to hold
  against the floor, which does no unpacking or compiling either.
- rpmbuild, minimal spec (the issue's baseline): unzips the wheel, zstd -3
  payload, no brp scripts, rpm's own ELF / python3dist / script dependency
  generators; no .pyc, no venv or deps package, no repodata. "+ compileall"
  adds the byte-compilation vendor does: the like-for-like comparison.
- floor: compresses the trees vendor installed (with .pyc) and nothing else:
  no unpacking, compiling, dependency analysis, RPM headers or digests.
- shell: the floor plus unzipping and byte-compiling, the least work that
  produces the same file contents.
wall/vndr is the case's wall median over vendor's: above 1, vendor is faster.
EOF
}

# The stand-in for an EL9 base system the RPMs' dependencies resolve
# against, built once with rpmbuild; prints its path.
build_standin() {
    local scratch="$1"
    rpmbuild -bb --quiet --define "_topdir $scratch/standin" \
        test-data/el9-standin.spec >/dev/null
    printf '%s\n' "$scratch/standin/RPMS/x86_64/el9-standin-9-1.x86_64.rpm"
}

# `name==version` for every exported wheel: what pip is asked to install.
wheel_pins() {
    local wheel file
    for wheel in "$1"/*.whl; do
        file="$(basename "$wheel" .whl)"
        printf '%s==%s\n' "$(cut -d- -f1 <<<"$file")" "$(cut -d- -f2 <<<"$file")"
    done
}

write_deploy_cases() {
    local scratch="$1" pins=()
    mapfile -t pins < <(wheel_pins "$scratch/wheels")
    write_case "$scratch" rpm <<EOF
rpm --root "\$out/root" -i $(printf '%q ' "$scratch"/rpms/*.rpm)
EOF
    local pip_install
    pip_install="$(printf '%q ' install --no-index --find-links "$scratch/wheels" \
        --disable-pip-version-check --no-cache-dir -q "${pins[@]}")"
    write_case "$scratch" pip <<EOF
"\$out/venv/bin/pip" $pip_install
EOF
    write_case "$scratch" pip-no-compile <<EOF
"\$out/venv/bin/pip" $pip_install --no-compile
EOF
}

# Untimed set-up of one deploy run: a root holding only the stand-in, or a
# fresh venv with pip.
prepare_deploy_case() {
    local name="$1" out="$DEPLOY_SCRATCH/out/$1"
    mkdir -p "$out"
    case "$name" in
        rpm)
            mkdir -p "$out/root"
            quietly rpm --root "$out/root" --initdb
            quietly rpm --root "$out/root" -i "$STANDIN_RPM"
            ;;
        pip | pip-no-compile)
            quietly "$PYTHON311" -m venv "$out/venv"
            ;;
    esac
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

bench_deploy() {
    local runs="$1"
    prepare_tools
    PYTHON311="$(find_python311)"
    make_scratch
    local scratch="$SCRATCH"
    DEPLOY_SCRATCH="$scratch"
    prepare_package_set "$scratch"
    write_vendor_case "$scratch"
    log "building the RPMs with vendor and the el9 stand-in with rpmbuild (not timed)"
    "$scratch/cases/vendor.sh"
    mkdir -p "$scratch/rpms"
    cp "$scratch/out/vendor/$TARGET"/*.rpm "$scratch/rpms/"
    STANDIN_RPM="$(build_standin "$scratch")"
    write_deploy_cases "$scratch"
    local cases=(rpm pip pip-no-compile)
    log "one untimed run of each case (warms the page cache)"
    warm_up_cases "$scratch" prepare_deploy_case "${cases[@]}"
    log "$runs timed runs of each case"
    run_cases "$scratch" "$runs" prepare_deploy_case rotate "${cases[@]}"

    local rpm_count
    rpm_count="$(find "$scratch/rpms" -name '*.rpm' | wc -l)"
    printf '\ndeploy: %s\n' "${PACKAGE_SET[*]}"
    printf 'for %s / CPython %s, --exclude-newer %s\n' "$TARGET" "$PYTHON" "$EXCLUDE_NEWER"
    printf 'vendor: %s\n' "$(describe_vendor)"
    printf 'rpm -i: %s RPMs from vendor build (the wheels, <app>-venv, <app>-deps), %s\n' \
        "$rpm_count" "$(rpm --version)"
    printf 'pip: %s, %s\n' "$("$scratch/out/pip/venv/bin/pip" --version | cut -d' ' -f1-2)" \
        "$("$PYTHON311" --version)"
    print_header "$scratch" "$runs"
    printf '%-46s %8s %8s %9s   %s\n' case "wall s" "cpu s" "wall/rpm" "wall of every run"
    report_case rpm "rpm -i --root (dependencies checked)" rpm
    report_case pip "pip install --no-index (compiles .pyc)" rpm
    report_case pip-no-compile "pip install --no-index --no-compile" rpm
    cat <<'EOF'

- rpm -i: one transaction installing every RPM into a root that holds only
  the el9 stand-in (test-data/el9-standin.spec), dependencies checked;
  the RPMs carry their .pyc files.
- pip install: the same wheels from a --find-links folder into a fresh venv
  (made untimed), resolving the pinned set; pip byte-compiles by default,
  which is the like-for-like case; --no-compile shows what compiling costs.
wall/rpm is the case's wall median over rpm's: above 1, rpm -i is faster.
EOF
}

# ---------------------------------------------------------------------------
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
