#!/usr/bin/env bash
# Stand-in for Mailcow's helper-scripts/backup_and_restore.sh (mailcow-dockerized), for tests: Mailcow's
# Docker stack cannot run here. Written from a reading of the real script, not copied from it. It behaves
# like the version named in .standin-version next to this file (default 2025-12):
#   2025-12  zstd dumps (backup_<component>.tar.zst), the image prefetch before anything else
#   2025-03  pigz/gzip dumps (backup_<component>.tar.gz), no prefetch
# and makes the real script's checks, in its order, with its messages and exit codes:
#   - first argument backup|restore; for backup a second argument matching (unanchored, as in the real
#     script) crypt|vmail|redis|rspamd|postfix|mysql|all|--delete-days;
#   - MAILCOW_BACKUP_LOCATION (else a prompt): absolute, not a file, an existing directory (else a prompt to
#     create it), and for backup its mode (stat -Lc %a) must end in 5-7: others must read and enter it;
#   - THREADS must match ^[1-9][0-9]?$ (1-99);
#   - ../docker-compose.yml and ../.env must exist; ../mailcow.conf is sourced; COMPOSE_PROJECT_NAME set;
# and fails as quietly as the real one: each component is a separate `docker run` whose exit status is not
# checked, the MariaDB step joins mariabackup, its prepare step, chown and tar with ";" (a failed mariabackup
# still leaves a valid archive of nothing), and the script ends with status 0. Every container is named
# mailcow-backup. All Docker calls go to the `docker` on PATH (tests: tests/support/docker/docker).
set -u

STANDIN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VERSION="$(head -n1 "${STANDIN_DIR}/.standin-version" 2>/dev/null || echo 2025-12)"
BACKUP_IMAGE="ghcr.io/mailcow/backup:latest"

if [[ -n "${MAILCOW_BACKUP_LOCATION:-}" ]]; then
    BACKUP_LOCATION="${MAILCOW_BACKUP_LOCATION}"
fi
BACKUP_LOCATION="${BACKUP_LOCATION:-}"

if [[ ! ${1:-} =~ (backup|restore) ]]; then
    echo "First parameter needs to be 'backup' or 'restore'"
    exit 1
fi
if [[ ${1} == "backup" && ! ${2:-} =~ (crypt|vmail|redis|rspamd|postfix|mysql|all|--delete-days) ]]; then
    echo "Second parameter needs to be 'vmail', 'crypt', 'redis', 'rspamd', 'postfix', 'mysql', 'all' or '--delete-days'"
    exit 1
fi

# The real script asks until it gets an answer; without a terminal that is for ever.
while [[ -z ${BACKUP_LOCATION} ]]; do
    read -r -e -p "Backup location (absolute path, starting with /): " BACKUP_LOCATION || sleep 1
done
if [[ ! ${BACKUP_LOCATION} =~ ^/ ]]; then
    echo "Backup directory needs to be given as absolute path (starting with /)."
    exit 1
fi
if [[ -f ${BACKUP_LOCATION} ]]; then
    echo "${BACKUP_LOCATION} is a file!"
    exit 1
fi
if [[ ! -d ${BACKUP_LOCATION} ]]; then
    echo "${BACKUP_LOCATION} is not a directory"
    answer=""
    read -r -p "Create it now? [y|N] " answer || true
    [[ ${answer,,} =~ ^(yes|y)$ ]] || exit 1
    mkdir -p "${BACKUP_LOCATION}"
    chmod 755 "${BACKUP_LOCATION}"
elif [[ ${1} == "backup" ]] && ! stat -Lc %a "${BACKUP_LOCATION}" | grep -qE '[0-9][0-9][5-7]'; then
    echo "${BACKUP_LOCATION} is not write-able for others, that's required for a backup."
    exit 1
fi

BACKUP_LOCATION="${BACKUP_LOCATION%/}"
MAILCOW_DIR="$(cd "${STANDIN_DIR}/.." && pwd)"
COMPOSE_FILE="${MAILCOW_DIR}/docker-compose.yml"
ENV_FILE="${MAILCOW_DIR}/.env"
THREADS="${THREADS:-1}"
ARCH="$(uname -m)"

if [[ ! ${THREADS} =~ ^[1-9][0-9]?$ ]]; then
    echo "Thread input is not a number!"
    exit 1
fi
echo "Using ${THREADS} Thread(s) for this run."
[[ -f ${COMPOSE_FILE} ]] || { echo "Compose file not found"; exit 1; }
[[ -f ${ENV_FILE} ]] || { echo "Environment file not found"; exit 1; }
echo "Using ${BACKUP_LOCATION} as backup/restore location."
# shellcheck source=/dev/null
source "${MAILCOW_DIR}/mailcow.conf"
if [[ -z ${COMPOSE_PROJECT_NAME:-} ]]; then
    echo "Could not determine compose project name"
    exit 1
fi
echo "Found project name ${COMPOSE_PROJECT_NAME}"
PROJECT="$(echo "${COMPOSE_PROJECT_NAME}" | tr -cd '0-9A-Za-z_-')"

if [[ ${VERSION} == 2025-12 ]]; then
    EXT=zst
    PACK="zstd --rsyncable -T${THREADS}"
    PACK_DB="zstd --rsyncable"
else
    EXT=gz
    PACK="pigz --rsyncable -p ${THREADS}"
    PACK_DB="gzip --rsyncable"
fi

# 2025-12 checks its image first: the registry's digest against the cached one; no registry and no cached
# image ends the script.
prefetch() {
    echo "Checking Docker image: ${BACKUP_IMAGE}"
    local cached remote
    cached="$(docker image inspect "${BACKUP_IMAGE}" --format='{{index .RepoDigests 0}}' 2>/dev/null | cut -d@ -f2)"
    remote="$(docker manifest inspect "${BACKUP_IMAGE}" 2>/dev/null | grep -oP '"digest":\s*"\K[^"]+' | head -n1)"
    if [[ -z ${remote} ]]; then
        echo "Warning: Unable to check remote image"
        if [[ -n ${cached} ]]; then
            echo "Using cached version"
            return 0
        fi
        echo "Error: Image ${BACKUP_IMAGE} not found locally or remotely"
        exit 1
    fi
    if [[ ${cached} != "${remote}" ]]; then
        echo "Image update available, pulling ${BACKUP_IMAGE}"
        docker pull "${BACKUP_IMAGE}" >/dev/null 2>&1 || { echo "Error: Failed to pull ${BACKUP_IMAGE}"; exit 1; }
    fi
}
[[ ${VERSION} == 2025-12 ]] && prefetch

volume() { docker volume ls -qf "name=^${PROJECT}_${1}-vol-1$"; }

# One component's volume archived by a throw-away container; its exit status is not looked at.
dump_volume() {
    local component="$1" target="$2"
    # shellcheck disable=SC2046,SC2086  # unquoted like the real script: no volume gives an empty mount source
    docker run --name mailcow-backup --rm \
        -v ${target}:/backup:z \
        -v $(volume "${component}"):/"${component}":ro,z \
        "${BACKUP_IMAGE}" /bin/tar --warning='no-file-ignored' --use-compress-program="${PACK}" \
        -Pcvpf "/backup/backup_${component}.tar.${EXT}" "/${component}"
}

dump_database() {
    local target="$1" image
    image="$(grep -iEo '(mysql|mariadb):.+' "${COMPOSE_FILE}")"
    if [[ -z ${image} ]]; then
        echo "Could not determine SQL image version, skipping backup..."
        return 0
    fi
    echo "Using SQL image ${image}, starting..."
    # shellcheck disable=SC2046,SC2086  # unquoted like the real script
    docker run --name mailcow-backup --rm \
        --network $(docker network ls -qf "name=^${PROJECT}_mailcow-network$") \
        -v $(volume mysql):/var/lib/mysql/:ro,z \
        -t --entrypoint= \
        --sysctl net.ipv6.conf.all.disable_ipv6=1 \
        -v ${target}:/backup:z \
        ${image} /bin/sh -c "mariabackup --host mysql --user root --password ${DBROOT:-} --backup --rsync --target-dir=/backup_mariadb ; \
        mariabackup --prepare --target-dir=/backup_mariadb ; \
        chown -R 999:999 /backup_mariadb ; \
        /bin/tar --warning='no-file-ignored' --use-compress-program='${PACK_DB}' -Pcvpf /backup/backup_mariadb.tar.${EXT} /backup_mariadb ;"
}

backup() {
    local stamp target
    stamp="$(date +%Y-%m-%d-%H-%M-%S)"
    target="${BACKUP_LOCATION}/mailcow-${stamp}"
    mkdir -p "${target}"
    chmod 755 "${target}"
    cp "${MAILCOW_DIR}/mailcow.conf" "${target}"
    touch "${target}/.${ARCH}"
    command -v docker >/dev/null || { echo "Cannot find docker in local PATH, exiting..." >&2; exit 1; }
    while (($#)); do
        case "$1" in
            --delete-days)
                shift
                if [[ ${1:-} =~ ^[0-9]+$ ]]; then
                    find "${BACKUP_LOCATION}"/mailcow-* -maxdepth 0 -mmin +$((${1} * 60 * 24)) -exec rm -rvf {} \;
                else
                    echo "Parameter of --delete-days is not a number."
                fi
                ;;
            *)
                # "all" falls through every component, as the real script's ;;& cases do.
                for component in vmail crypt redis rspamd postfix mysql; do
                    [[ $1 == all || $1 == "${component}" ]] || continue
                    case "${component}" in
                        redis)
                            # shellcheck disable=SC2046
                            docker exec $(docker ps -qf name=redis-mailcow) redis-cli -a "${REDISPASS:-}" --no-auth-warning save
                            dump_volume redis "${target}"
                            ;;
                        mysql) dump_database "${target}" ;;
                        *) dump_volume "${component}" "${target}" ;;
                    esac
                done
                ;;
        esac
        shift
    done
}

# The archive of a component and the program that unpacks it: 2025-12 takes .tar.zst or .tar.gz, 2025-03 .tar.gz.
archive_of() {
    local name="$1" location="$2"
    if [[ ${VERSION} == 2025-12 && -f "${location}/${name}.tar.zst" ]]; then
        echo "${name}.tar.zst|zstd -d -T${THREADS}"
    elif [[ -f "${location}/${name}.tar.gz" ]]; then
        echo "${name}.tar.gz|pigz -d -p ${THREADS}"
    fi
}

restore_volume() {
    local component="$1" location="$2" service="$3" info
    # shellcheck disable=SC2046
    [[ -n ${service} ]] && docker stop $(docker ps -qf "name=${service}") >/dev/null
    info="$(archive_of "backup_${component}" "${location}")"
    if [[ -z ${info} ]]; then
        echo "Error: No backup file found for ${component}"
    else
        # shellcheck disable=SC2046
        docker run -i --name mailcow-backup --rm \
            -v "${location}:/backup:z" \
            -v $(volume "${component}"):/"${component}":z \
            "${BACKUP_IMAGE}" /bin/tar --use-compress-program="${info#*|}" -Pxvf "/backup/${info%%|*}"
    fi
    # shellcheck disable=SC2046
    [[ -n ${service} ]] && docker start $(docker ps -aqf "name=${service}") >/dev/null
    return 0
}

restore_database() {
    local location="$1" image info answer=""
    image="$(grep -iEo '(mysql|mariadb):.+' "${COMPOSE_FILE}" | head -n1)"
    if [[ -z ${image} ]]; then
        echo "Could not determine SQL image version, skipping restore..."
        return 0
    fi
    if [[ ! -f "${location}/mailcow.conf" ]]; then
        echo "Could not find the corresponding mailcow.conf in ${location}, skipping restore."
        return 0
    fi
    read -r -p "mailcow will be stopped and the currently active mailcow.conf will be modified to use the DB parameters found in ${location}/mailcow.conf - do you want to proceed? [Y|n] " answer || true
    if [[ ${answer,,} =~ ^(no|n)$ ]]; then
        echo "OK, skipped."
        return 0
    fi
    echo "Stopping mailcow..."
    docker compose -f "${COMPOSE_FILE}" --env-file "${ENV_FILE}" down
    info="$(archive_of backup_mariadb "${location}")"
    if [[ -n ${info} ]]; then
        # shellcheck disable=SC2046
        docker run --name mailcow-backup --rm \
            -v $(volume mysql):/backup_mariadb/:rw,z \
            --entrypoint= \
            -v "${location}:/backup:z" \
            "${image}" /bin/bash -c "shopt -s dotglob ; /bin/rm -rf /backup_mariadb/* ; /bin/tar --use-compress-program='${info#*|}' -Pxvf /backup/${info%%|*}"
    fi
    echo "Modifying mailcow.conf..."
    local key value
    for key in DBNAME DBUSER DBPASS DBROOT; do
        value="$(grep -E "^${key}=" "${location}/mailcow.conf" | head -n1 | cut -d= -f2-)"
        sed -i --follow-symlinks "/^${key}=/c\\${key}=${value}" "${MAILCOW_DIR}/mailcow.conf"
    done
    echo "Starting mailcow..."
    docker compose -f "${COMPOSE_FILE}" --env-file "${ENV_FILE}" up -d
}

restore() {
    local location="$1" component
    shift
    command -v docker >/dev/null || { echo "Cannot find docker in local PATH, exiting..." >&2; exit 1; }
    # shellcheck disable=SC2046
    docker stop $(docker ps -qf name=watchdog-mailcow) >/dev/null
    for component in "$@"; do
        case "${component}" in
            vmail)
                restore_volume vmail "${location}" dovecot-mailcow
                local answer=""
                read -r -p "Force a resync now? [y|N] " answer || true
                echo "OK, skipped."
                ;;
            crypt) restore_volume crypt "${location}" dovecot-mailcow ;;
            redis) restore_volume redis "${location}" redis-mailcow ;;
            rspamd) restore_volume rspamd "${location}" rspamd-mailcow ;;
            postfix) restore_volume postfix "${location}" postfix-mailcow ;;
            mysql | mariadb) restore_database "${location}" ;;
        esac
    done
    echo "Starting watchdog-mailcow..."
    # shellcheck disable=SC2046
    docker start $(docker ps -aqf name=watchdog-mailcow) >/dev/null
}

if [[ ${1} == "backup" ]]; then
    shift
    backup "${@,,}"
    exit 0
fi

# restore: pick a restore point, then a dataset (0 = all of them), as the real script asks.
mapfile -t points < <(find "${BACKUP_LOCATION}" -mindepth 1 -maxdepth 1 -type d -name 'mailcow-*' | sort)
if [[ ${#points[@]} -lt 1 ]]; then
    echo "Selected backup location has no subfolders"
    exit 1
fi
for index in "${!points[@]}"; do
    echo "[ $((index + 1)) ] - ${points[index]}/"
done
selection=0
while [[ ${selection} -lt 1 || ${selection} -gt ${#points[@]} ]]; do
    read -r -p "Select a restore point: " selection || exit 1
    [[ ${selection} =~ ^[0-9]+$ ]] || selection=0
done
point="${points[selection - 1]}"
datasets=()
for component in vmail crypt redis rspamd postfix mariadb; do
    [[ -n "$(archive_of "backup_${component}" "${point}")" ]] && datasets+=("${component/mariadb/mysql}")
done
if [[ ${#datasets[@]} -eq 0 ]]; then
    echo "No datasets found"
    exit 1
fi
echo "[ 0 ] - all"
for index in "${!datasets[@]}"; do
    echo "[ $((index + 1)) ] - ${datasets[index]}"
done
selection=-1
while [[ ${selection} -lt 0 || ${selection} -gt ${#datasets[@]} ]]; do
    read -r -p "Select a dataset to restore: " selection || exit 1
    [[ ${selection} =~ ^[0-9]+$ ]] || selection=-1
done
if [[ ${selection} -eq 0 ]]; then
    echo "Restoring ${datasets[*]} from ${point}/..."
    restore "${point}" "${datasets[@]}"
else
    echo "Restoring ${datasets[selection - 1]} from ${point}/..."
    restore "${point}" "${datasets[selection - 1]}"
fi
