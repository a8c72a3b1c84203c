#!/usr/bin/env bash
# Install what building and testing `vendor` needs on Debian 12, idempotently.
#
# - Debian packages (RPM tooling, compilers, the -dev headers native builds
#   link against) via apt, only those missing: when all are present apt is
#   not touched at all, so CI re-runs stay fast.
# - A Rust toolchain via rustup, only when `cargo` is missing.
# - `uv`, pinned, in its own venv under ${VENDOR_TOOLS_DIR:-~/.cache/vendor-tools}:
#   the end-to-end tests and the benchmark compare `vendor` against it.
#
# Prints what it installs; the last line is `uv: <path>`.
set -euo pipefail

UV_VERSION="0.13.9"
TOOLS_DIR="${VENDOR_TOOLS_DIR:-$HOME/.cache/vendor-tools}"
UV_VENV="$TOOLS_DIR/venv"

APT_PACKAGES=(
    # RPM tooling: build, lint, repository metadata, install tests
    rpm rpmlint createrepo-c dnf
    # compilers, the interpreter used for build environments and its headers
    # (the build tests compile C extensions against them)
    build-essential pkg-config python3 python3-venv python3-dev curl
    # headers of the system libraries native wheels link (Pillow, psycopg2,
    # mysqlclient, lxml)
    libjpeg62-turbo-dev zlib1g-dev libfreetype-dev libpq-dev
    default-libmysqlclient-dev libxml2-dev libxslt1-dev
    # the rest of what policies/packages/pillow.toml requires (color
    # management, WebP, TIFF, JPEG 2000), checked by vendor's preflight
    liblcms2-dev libwebp-dev libtiff-dev libopenjp2-7-dev
    # mysqlclient.toml's prerequisite (mariadb.pc); default-libmysqlclient-dev
    # pulls it in today, named so the policy's hint and this list agree
    libmariadb-dev
    # xmlsec.toml and pycurl.toml (xmlsec1 with OpenSSL; libcurl with OpenSSL)
    libxmlsec1-dev libcurl4-openssl-dev libssl-dev
    # pylibmc.toml and python-ldap.toml (libmemcached; OpenLDAP and Cyrus
    # SASL headers), so every shipped policy can build here
    libmemcached-dev libldap-dev libsasl2-dev
    # the sandbox around build backends and verification imports
    bubblewrap
    # the el9 stand-in's shell for scriptlets under dnf --installroot
    # (test-data/el9-standin.spec), and systemd-analyze for unit files
    busybox-static systemd
    # lints the project's shell scripts
    shellcheck
    # scripts/bench.sh package/deploy: unzip wheels and extract RPMs for the
    # rpmbuild and tar|zstd baselines, CPU times, rpmbuild's python3dist generator
    unzip cpio zstd time python3-packaging
)

log() { printf 'install-deps: %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        log "need root (or sudo) to run: $*"
        exit 1
    fi
}

is_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

install_apt_packages() {
    local missing=() package
    for package in "${APT_PACKAGES[@]}"; do
        is_installed "$package" || missing+=("$package")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        log "debian packages: all present"
        return
    fi
    log "installing debian packages: ${missing[*]}"
    # apt's chatter goes to a log that is shown only when something fails.
    local apt_log
    apt_log="$(mktemp)"
    if ! {
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q \
            && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
                --no-install-recommends "${missing[@]}"
    } >"$apt_log" 2>&1; then
        cat "$apt_log" >&2
        rm -f "$apt_log"
        log "apt-get failed (output above)"
        exit 1
    fi
    rm -f "$apt_log"
}

install_rust() {
    if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    if command -v cargo >/dev/null 2>&1; then
        log "rust: $(cargo --version)"
    else
        log "installing rust (rustup, stable toolchain)"
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
            | sh -s -- -y --profile minimal --component rustfmt,clippy
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    # A toolchain installed some other way may lack the lint components.
    if command -v rustup >/dev/null 2>&1; then
        cargo fmt --version >/dev/null 2>&1 || { log "adding rustfmt"; rustup component add rustfmt; }
        cargo clippy --version >/dev/null 2>&1 || { log "adding clippy"; rustup component add clippy; }
    fi
}

install_uv() {
    local uv="$UV_VENV/bin/uv"
    if [ -x "$uv" ] && [ "$("$uv" --version 2>/dev/null | cut -d' ' -f2)" = "$UV_VERSION" ]; then
        log "uv: $UV_VERSION present"
    else
        log "installing uv==$UV_VERSION into $UV_VENV"
        mkdir -p "$TOOLS_DIR"
        # Debian's interpreter first: it is the one python3-venv makes work.
        local python=python3
        [ -x /usr/bin/python3 ] && python=/usr/bin/python3
        "$python" -m venv --clear "$UV_VENV"
        "$UV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
    fi
    printf 'uv: %s\n' "$uv"
}

install_apt_packages
install_rust
install_uv
