#!/usr/bin/env bash
# Build the Debian 12 test image localhost/smgr-debian12:latest with debootstrap and
# `podman import` (no container registry is reachable). The build is skipped when the
# image exists and carries the hash of this script's inputs (package list, suite, mirror,
# the script itself); otherwise it is rebuilt. FORCE=1 rebuilds unconditionally.
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"

IMAGE="${SMGR_TEST_IMAGE:-localhost/smgr-debian12:latest}"
SUITE="bookworm"
MIRROR="${SMGR_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES=(
    python3 python3-yaml python3-croniter python3-apt
    cron openssh-server openssh-client rsync zstd tar gzip sudo procps ca-certificates logrotate
    # the borg engine (the fleet scenario's shared repository; smgr_borg_packages of the role)
    borgbackup
    # systemd as PID 1 for the timers scenario (podman run --systemd=always IMAGE /sbin/init)
    systemd systemd-sysv dbus
)

command -v podman >/dev/null || die "podman is not installed: run 'make setup' as root"

inputs_hash() {
    {
        printf '%s\n' "$SUITE" "$MIRROR" "${PACKAGES[@]}"
        cat "$0"
    } | sha256sum | cut -d' ' -f1
}

image_hash() {
    podman image inspect --format '{{ index .Labels "smgr.image-hash" }}' "$IMAGE" 2>/dev/null || true
}

want="$(inputs_hash)"
mkdir -p "$BUILD"
exec 9>"$BUILD/test-image.lock"
flock 9

if [ "${FORCE:-0}" != 1 ] && [ "$(image_hash)" = "$want" ]; then
    log "image $IMAGE is up to date (hash ${want:0:12}); skipping build"
    exit 0
fi

[ "$(id -u)" -eq 0 ] || die "building $IMAGE needs root (debootstrap); run as root"
command -v debootstrap >/dev/null || die "debootstrap is not installed: run 'make setup' as root"

rootfs="$BUILD/image-rootfs"
cleanup() {
    if mountpoint -q "$rootfs"; then umount "$rootfs"; fi
    rm -rf "$rootfs"
}
trap cleanup EXIT
cleanup
mkdir -p "$rootfs"
# dpkg fsyncs every file it unpacks; on tmpfs that costs nothing (build time 2-3 min -> well under 1).
if ! mount -t tmpfs -o size=3g,mode=0755 tmpfs "$rootfs" 2>/dev/null; then
    warn "cannot mount a tmpfs on $rootfs; building on disk (slower)"
fi

log "debootstrap $SUITE from $MIRROR into $rootfs (this takes a few minutes)"
started=$SECONDS
deb_log="$BUILD/logs/debootstrap.log"
mkdir -p "$BUILD/logs"
packages_csv="$(IFS=,; printf '%s' "${PACKAGES[*]}")"
# Downloaded .debs are kept in .cache/debootstrap: a rebuild fetches only what changed.
deb_cache="$ROOT/.cache/debootstrap"
mkdir -p "$deb_cache"
if ! debootstrap --variant=minbase --cache-dir="$deb_cache" --include="$packages_csv" \
    "$SUITE" "$rootfs" "$MIRROR" >"$deb_log" 2>&1; then
    tail -n 30 "$deb_log" >&2
    [ -f "$rootfs/debootstrap/debootstrap.log" ] && tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
    die "debootstrap failed; log: $deb_log"
fi

# Inside containers, packages never start services: tests start cron and sshd themselves.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
printf 'deb %s %s main\n' "$MIRROR" "$SUITE" >"$rootfs/etc/apt/sources.list"
mkdir -p "$rootfs/run/sshd"
# Smaller image: package caches and lists are not needed at run time.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
: >"$rootfs/etc/machine-id"

old_id="$(podman image inspect --format '{{ .Id }}' "$IMAGE" 2>/dev/null || true)"
log "importing into podman as $IMAGE"
tar -C "$rootfs" --numeric-owner -c . |
    podman import --quiet \
        --change 'CMD ["/bin/bash"]' \
        --change "LABEL smgr.image-hash=$want" \
        --message "smgr test image ($SUITE minbase)" \
        - "$IMAGE" >/dev/null
if [ -n "$old_id" ]; then
    # The previous build is now untagged; drop it unless a container still uses it.
    podman rmi "$old_id" >/dev/null 2>&1 || true
fi
log "built $IMAGE in $((SECONDS - started))s (hash ${want:0:12})"
