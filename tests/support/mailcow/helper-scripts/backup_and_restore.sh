#!/usr/bin/env bash
# Stand-in for Mailcow's helper-scripts/backup_and_restore.sh, for tests: same arguments
# (`backup <component>... | backup all`), same environment (MAILCOW_BACKUP_LOCATION, THREADS) and
# the same layout: $MAILCOW_BACKUP_LOCATION/mailcow-YYYY-MM-DD-HH-MM-SS/ with mailcow.conf, the
# architecture marker and backup_<component>.tar.zst (mysql: backup_mariadb.tar.zst, like mariabackup).
# Like the real script it exits 0 in the "silent" failure modes.
#
# The mode is the first line of ../.standin-mode (next to helper-scripts/):
#   ok              every component written
#   silent-missing  mysql's archive is not written, exit 0
#   silent-corrupt  redis's archive is garbage, exit 0
#   silent-empty    vmail's archive is empty, exit 0
#   fail            nothing written, exit 1
#   two-dirs        two dump directories, exit 0
#   hang            sleeps (to test the timeout)
# Every call is appended to ../.standin-calls: arguments, THREADS and the backup location.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode="$(head -n1 "$here/.standin-mode" 2>/dev/null || echo ok)"
echo "args=$* threads=${THREADS:-unset} location=${MAILCOW_BACKUP_LOCATION:-unset}" >>"$here/.standin-calls"

if [ "${1:-}" != "backup" ] || [ $# -lt 2 ]; then
    echo "Usage: $0 backup (vmail|crypt|redis|rspamd|postfix|mysql|all)..." >&2
    exit 1
fi
shift
if [ -z "${MAILCOW_BACKUP_LOCATION:-}" ]; then
    echo "Backup location not set" >&2
    exit 1
fi
components=()
for arg in "$@"; do
    case "$arg" in
        all) components=(vmail crypt redis rspamd postfix mysql) ;;
        vmail|crypt|redis|rspamd|postfix|mysql) components+=("$arg") ;;
        *) echo "unknown component $arg" >&2; exit 1 ;;
    esac
done

case "$mode" in
    fail) echo "docker: cannot connect to the Docker daemon" >&2; exit 1 ;;
    hang) exec sleep 600 ;;
esac

dump="$MAILCOW_BACKUP_LOCATION/mailcow-$(date +%Y-%m-%d-%H-%M-%S)"
mkdir -p "$dump"
cp "$here/mailcow.conf" "$dump/mailcow.conf"
touch "$dump/.x86_64"
if [ "$mode" = "two-dirs" ]; then
    mkdir -p "$MAILCOW_BACKUP_LOCATION/mailcow-1999-01-01-00-00-00"
fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for component in "${components[@]}"; do
    archive="backup_${component}.tar.zst"
    [ "$component" = mysql ] && archive="backup_mariadb.tar.zst"
    case "$mode:$component" in
        silent-missing:mysql) echo "mariabackup failed" >&2; continue ;;
        silent-corrupt:redis) head -c 4096 /dev/urandom >"$dump/$archive"; continue ;;
        silent-empty:vmail) : >"$dump/$archive"; continue ;;
    esac
    mkdir -p "$scratch/$component"
    printf 'data of %s\n' "$component" >"$scratch/$component/$component.dat"
    tar -C "$scratch" -cf - "$component" | zstd -q -T"${THREADS:-1}" -o "$dump/$archive"
done
echo "Backup finished"
exit 0
