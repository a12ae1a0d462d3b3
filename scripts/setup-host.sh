#!/usr/bin/env bash
# Prepare this machine for `make test`, idempotently.
#   - As root: install the Debian packages the tests use, only those not yet installed
#     (services are not started by the install). Without root: report what is missing.
#   - Create .venv and install requirements-dev.txt whenever the requirements changed
#     (a stamp in .venv records their hash).
#   - Keep .build/collections/ansible_collections/smgr/server_manager pointing at this tree.
# SMGR_SKIP_APT=1 skips the apt part and SMGR_QUIET=1 prints only what was done (both used by
# the Makefile's quick `venv` prerequisite).
# PYTHON=/path/to/python3.11 chooses the interpreter for a new .venv.
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"

APT_PACKAGES=(
    cron openssh-server openssh-client rsync zstd gzip tar
    podman runc containernetworking-plugins catatonit debootstrap uidmap fuse-overlayfs slirp4netns
    util-linux python3-venv ca-certificates git shellcheck logrotate
    borgbackup time findutils coreutils pigz sqlite3 openssl systemd
    chromium
)

# Messages that only confirm nothing needed doing; SMGR_QUIET=1 drops them.
info() { [ "${SMGR_QUIET:-0}" = 1 ] || log "$@"; }

missing_packages() {
    local pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            printf '%s\n' "$pkg"
        fi
    done
}

install_apt_packages() {
    local missing
    mapfile -t missing < <(missing_packages)
    if [ "${#missing[@]}" -eq 0 ]; then
        info "apt packages: all ${#APT_PACKAGES[@]} present"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        warn "not root: cannot install missing apt packages: ${missing[*]}"
        warn "install them as root (or run 'make setup' as root); tests that need them will fail"
        return 0
    fi
    log "apt packages: installing ${missing[*]}"
    # Packages must not start services (the tests start cron/sshd themselves, by PID).
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
        own_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    local rc=0 apt_log="$BUILD/logs/apt.log"
    mkdir -p "$BUILD/logs"
    {
        apt-get update -qq &&
            apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold "${missing[@]}"
    } >"$apt_log" 2>&1 || rc=$?
    if [ "$own_policy" -eq 1 ]; then
        rm -f "$policy"
    fi
    if [ "$rc" -ne 0 ]; then
        tail -n 30 "$apt_log" >&2
        die "apt-get install failed ($rc); full log: $apt_log"
    fi
}

pick_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else 1)' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    die "no Python >= 3.11 found (ansible-core 2.19 needs it); set PYTHON=/path/to/python3.11"
}

requirements_hash() {
    {
        cat "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt"
        "$VENV/bin/python" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

setup_venv() {
    local stamp="$VENV/.smgr-requirements.sha256"
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
        local python
        python="$(pick_python)"
        log "creating virtualenv $VENV with $python"
        rm -rf "$VENV"
        "$python" -m venv "$VENV"
    fi
    local want have=""
    want="$(requirements_hash)"
    [ -f "$stamp" ] && have="$(cat "$stamp")"
    if [ "$want" = "$have" ]; then
        info "virtualenv: requirements up to date ($VENV)"
        return 0
    fi
    log "virtualenv: installing requirements-dev.txt"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$ROOT/requirements-dev.txt"
    printf '%s\n' "$want" >"$stamp"
    log "virtualenv: ready (ansible-core $("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("ansible-core"))'))"
}

setup_collection_link() {
    local dir="$COLLECTIONS_PATH/ansible_collections/smgr"
    local link="$dir/server_manager"
    mkdir -p "$dir"
    if [ -L "$link" ] && [ "$(readlink "$link")" = "../../../.." ]; then
        :
    else
        rm -rf "$link"
        ln -s ../../../.. "$link"
    fi
    [ -f "$link/galaxy.yml" ] || die "collection link $link does not resolve to the repository root"
    info "collection path: $COLLECTIONS_PATH (smgr.server_manager -> $ROOT)"
}

if [ "${SMGR_SKIP_APT:-0}" = 1 ]; then
    :
else
    install_apt_packages
fi
setup_venv
setup_collection_link
