# scripts/bench.sh package: cached wheels → RPMs, vendor build vs rpmbuild
# with a minimal spec per wheel vs tar | zstd -3 of the installed trees
# (sourced by scripts/bench.sh).
# shellcheck shell=bash

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
