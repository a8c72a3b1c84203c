# scripts/bench.sh lock: vendor lock vs uv pip compile --generate-hashes on
# real requirement sets, cold, warm, offline and re-lock, wall time and peak
# memory (sourced by scripts/bench.sh).
# shellcheck shell=bash

# The sets, name=file: a Django app (unpinned, three packages built from
# source), NetBox's own pinned requirements.txt, a site with
# django-storages[s3] (boto3 and botocore), a Flask app with three sdists
# to build (psycopg-c, mysqlclient, uWSGI), and two more apps' own files:
# healthchecks (Django, pycurl from source) and CTFd (Flask, a uv export
# with markers), Sentry's unpinned requirements-base.txt (a long walk
# back through Django's releases) and Tandoor Recipes' top-level pins (154
# packages with litellm and boto3; python-ldap and xmlsec from source).
# LOCK_SETS picks some by name.
LOCK_SET_FILES=(
    "django-app=test-data/requirements/django-app.in"
    "netbox=test-data/requirements/netbox-4.4.10.txt"
    "s3=test-data/requirements/s3-site.in"
    "sdists=test-data/requirements/sdists-app.in"
    "healthchecks=test-data/requirements/healthchecks-5e274e6a.txt"
    "ctfd=test-data/requirements/ctfd-3.8.7.txt"
    "sentry=test-data/requirements/sentry-0014a48d.txt"
    "tandoor=test-data/requirements/tandoor-0021af3a.txt"
)

# Run "$@", print "SECONDS PEAK_KB" (wall clock; the peak resident set of
# the command or of its largest child); abort with its output if it fails.
# The wall clock is bash's EPOCHREALTIME around the run: GNU time's %e
# counts in 10 ms steps, too coarse for offline locks of 20-30 ms.
measure_command() {
    local output measured started finished
    output="$(mktemp)"
    measured="$(mktemp)"
    started="$EPOCHREALTIME"
    if ! /usr/bin/time -f '%M' -o "$measured" "$@" >"$output" 2>&1; then
        log "command failed: $*"
        cat "$output" >&2
        rm -f "$output" "$measured"
        exit 1
    fi
    finished="$EPOCHREALTIME"
    awk -v started="$started" -v finished="$finished" -v peak="$(tail -1 "$measured")" \
        'BEGIN { printf "%.3f %s\n", finished - started, peak }'
    rm -f "$output" "$measured"
}

# vendor lock of the requirements file $3 with the cache $1 into $2; $4 is
# the case: `relock` keeps the previous lock (its pins are preferred),
# `offline` adds --offline, anything else starts with no lock.
run_vendor_lock() {
    local cache="$1" work="$2" requirements="$3" case_name="$4" extra=()
    [ "$case_name" = relock ] || rm -f "$work/pylock.toml"
    [ "$case_name" = offline ] && extra=(--offline)
    measure_command "$VENDOR" --project "$work" --cache-dir "$cache" --no-progress -q \
        lock -r "$requirements" --target "$TARGET" --python "$PYTHON" \
        --exclude-newer "$EXCLUDE_NEWER" -o "$work/pylock.toml" "${extra[@]}"
}

# uv pip compile of the same, the same way: `relock` keeps the previous
# output (uv prefers its pins), `offline` adds --offline.
# uv is handed Debian's interpreter (it builds sdist metadata with one):
# searching PATH costs it ~0.8 s behind pyenv shims, which is not locking.
run_uv_compile() {
    local cache="$1" work="$2" requirements="$3" case_name="$4" extra=()
    [ "$case_name" = relock ] || rm -f "$work/requirements.txt"
    [ "$case_name" = offline ] && extra=(--offline)
    measure_command env UV_CACHE_DIR="$cache" UV_NO_CONFIG=1 UV_SYSTEM_CERTS=1 \
        UV_PYTHON_DOWNLOADS=never \
        "$UV" pip compile "$requirements" --python-version "$PYTHON" \
        --python-platform "$UV_PLATFORM" --exclude-newer "$EXCLUDE_NEWER" \
        --python /usr/bin/python3 --generate-hashes --quiet -o "$work/requirements.txt" \
        "${extra[@]}"
}

# The packages of the django-app set vendor builds from source (Pillow by
# its policy, psycopg2 for want of a wheel, lxml by its policy): for them
# alone a vendor lock does more than uv's, locking their build environments
# (sdist download, build-requirement resolution, the backend's
# get_requires_for_build_wheel in an isolated environment).
FROM_SOURCE_LINES='^(Pillow|psycopg2|lxml)$'

# The django-app set without the packages vendor builds, into $1: both tools
# then only resolve and hash wheels (the like-for-like row). Fails if vendor
# still locks a build environment for it.
write_wheels_only_requirements() {
    local scratch="$1" requirements="$2"
    grep -Ev "$FROM_SOURCE_LINES" "$requirements" >"$scratch/django-app-wheels-only.in"
    mkdir -p "$scratch/check-work"
    run_vendor_lock "$scratch/check-cache" "$scratch/check-work" \
        "$scratch/django-app-wheels-only.in" cold >/dev/null
    if grep -q '^build-requires' "$scratch/check-work/pylock.toml"; then
        log "the wheels-only set still has packages built from source; update FROM_SOURCE_LINES"
        exit 1
    fi
    rm -rf "$scratch/check-cache" "$scratch/check-work"
}

# One run of each tool, vendor first on odd runs $1 so neither always meets
# a colder machine; appends "SECONDS PEAK_KB" to the arrays named $2
# (vendor) and $3 (uv). The rest: caches, work folders, requirements, case.
measure_both() {
    local run="$1"
    local -n vendor_appended="$2" uv_appended="$3"
    local vendor_cache="$4" uv_cache="$5" vendor_work="$6" uv_work="$7"
    local requirements="$8" case_name="$9"
    if [ $((run % 2)) -eq 1 ]; then
        vendor_appended+=("$(run_vendor_lock "$vendor_cache" "$vendor_work" "$requirements" "$case_name")")
        uv_appended+=("$(run_uv_compile "$uv_cache" "$uv_work" "$requirements" "$case_name")")
    else
        uv_appended+=("$(run_uv_compile "$uv_cache" "$uv_work" "$requirements" "$case_name")")
        vendor_appended+=("$(run_vendor_lock "$vendor_cache" "$vendor_work" "$requirements" "$case_name")")
    fi
}

# The cases of the set $2 (file $3), $4 runs each: cold, then warm,
# offline and relock unless $5 is `cold-only`; prints its table rows.
measure_set() {
    local scratch="$1" set_name="$2" requirements="$3" runs="$4" cases="${5:-all}"
    local run case_name
    local vendor_work="$scratch/${set_name// /-}-vendor" uv_work="$scratch/${set_name// /-}-uv"
    mkdir -p "$vendor_work" "$uv_work"
    local vendor_runs=() uv_runs=()

    log "$set_name cold: $runs runs each, new empty caches every run"
    for run in $(seq 1 "$runs"); do
        local vendor_cache="$scratch/vendor-cold" uv_cache="$scratch/uv-cold"
        measure_both "$run" vendor_runs uv_runs "$vendor_cache" "$uv_cache" \
            "$vendor_work" "$uv_work" "$requirements" cold
        rm -rf "$vendor_cache" "$uv_cache"
    done
    report_row "$set_name" cold vendor_runs uv_runs
    [ "$cases" = cold-only ] && return

    local vendor_cache="$scratch/vendor-warm" uv_cache="$scratch/uv-warm"
    run_vendor_lock "$vendor_cache" "$vendor_work" "$requirements" cold >/dev/null
    run_uv_compile "$uv_cache" "$uv_work" "$requirements" cold >/dev/null
    for case_name in warm offline relock; do
        log "$set_name $case_name: $runs runs each"
        vendor_runs=() uv_runs=()
        for run in $(seq 1 "$runs"); do
            measure_both "$run" vendor_runs uv_runs "$vendor_cache" "$uv_cache" \
                "$vendor_work" "$uv_work" "$requirements" "$case_name"
        done
        report_row "$set_name" "$case_name" vendor_runs uv_runs
    done
    rm -rf "$vendor_cache" "$uv_cache"
}

# The files of the sets LOCK_SETS names (all by default), as name=file.
chosen_sets() {
    local entry
    for entry in "${LOCK_SET_FILES[@]}"; do
        if [ -z "${LOCK_SETS:-}" ] || [[ " $LOCK_SETS " == *" ${entry%%=*} "* ]]; then
            echo "$entry"
        fi
    done
}

bench_lock() {
    local runs="$1" entry rows
    prepare_tools
    make_scratch
    local scratch="$SCRATCH"
    rows="$scratch/rows"
    : >"$rows"
    for entry in $(chosen_sets); do
        local set_name="${entry%%=*}" requirements
        requirements="$(pwd)/${entry#*=}"
        measure_set "$scratch" "$set_name" "$requirements" "$runs" >>"$rows"
        if [ "$set_name" = django-app ]; then
            write_wheels_only_requirements "$scratch" "$requirements"
            measure_set "$scratch" "django-app, no builds" \
                "$scratch/django-app-wheels-only.in" "$runs" cold-only >>"$rows"
        fi
    done

    printf '\nlock: real sets for %s / CPython %s, --exclude-newer %s\n' \
        "$TARGET" "$PYTHON" "$EXCLUDE_NEWER"
    printf 'vendor: %s; uv: %s\n' "$(describe_vendor)" "$("$UV" --version)"
    # vendor's lock-time hooks use /dev/shm when TMPDIR is unset (see
    # src/lock/build_environment.rs): say where they ran.
    printf 'scratch and caches on %s (%s); TMPDIR %s; load now %s\n' \
        "$(df --output=target "$scratch" | tail -1)" "$(df --output=fstype "$scratch" | tail -1)" \
        "${TMPDIR:-unset}" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-22s %-8s %9s %9s %7s %10s %10s %7s\n' set case "vendor s" "uv s" time \
        "vendor MB" "uv MB" memory
    cat "$rows"
    cat <<'NOTES'

- medians of alternating runs; time and memory are vendor / uv; memory is
  the peak resident set (of the process or its largest child).
- cold: new empty caches every run, no previous lock; warm: caches filled
  by an untimed run, no previous lock (every run resolves again, index
  pages revalidated); offline: the same with --offline; relock: the
  previous lock kept as output (both prefer its pins).
- vendor also locks the build environments of the packages it builds from
  source (downloads their sdists, resolves their build requirements for
  this host, runs each backend's get_requires_for_build_wheel); uv does not.
  `django-app, no builds` is that set without Pillow, psycopg2 and lxml, so
  that both tools only resolve and hash wheels (like for like).
NOTES
}

# One table row: medians of time and peak memory, vendor / uv ratios.
report_row() {
    local set_name="$1" case_name="$2"
    local -n vendor_measured="$3" uv_measured="$4"
    local vendor_time uv_time vendor_kb uv_kb
    vendor_time="$(printf '%s\n' "${vendor_measured[@]}" | cut -d' ' -f1 | median)"
    uv_time="$(printf '%s\n' "${uv_measured[@]}" | cut -d' ' -f1 | median)"
    vendor_kb="$(printf '%s\n' "${vendor_measured[@]}" | cut -d' ' -f2 | median)"
    uv_kb="$(printf '%s\n' "${uv_measured[@]}" | cut -d' ' -f2 | median)"
    awk -v set="$set_name" -v c="$case_name" -v vt="$vendor_time" -v ut="$uv_time" \
        -v vm="$vendor_kb" -v um="$uv_kb" 'BEGIN {
            printf "%-22s %-8s %9.3f %9.3f %6.2fx %10.0f %10.0f %6.2fx\n",
                set, c, vt, ut, vt / ut, vm / 1024, um / 1024, vm / um }'
}
