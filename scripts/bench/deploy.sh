# scripts/bench.sh deploy: rpm -i of the whole set into a scratch root vs
# pip install of the same wheels into a fresh venv (sourced by
# scripts/bench.sh).
# shellcheck shell=bash

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
