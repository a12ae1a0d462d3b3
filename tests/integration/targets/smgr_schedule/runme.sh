#!/usr/bin/env bash
# Integration test of smgr_schedule / smgr_schedule_info on localhost, with the real crontab(1) and cron daemon.
# Needs root (user crontabs, /etc/cron.d). Run by `make integration`.
set -euo pipefail
cd "$(dirname "$0")"

work=$(mktemp -d /tmp/smgr-itest-schedule.XXXXXX)
cron_pid=""
cleanup() {
    if [ -n "$cron_pid" ]; then kill "$cron_pid" 2>/dev/null || true; fi
    rm -f /etc/cron.d/smgr_itest
    crontab -r -u smgr-itest 2>/dev/null || true
    userdel -r smgr-itest 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

id smgr-itest >/dev/null 2>&1 || useradd --create-home --shell /bin/sh smgr-itest

export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
python=$(command -v python3)
run() { ansible-playbook -i localhost, -c local -e "ansible_python_interpreter=$python" -e "work=$work" "$@"; }

# The real daemon runs what smgr_schedule wrote: a `* * * * *` job with % and a pipe. It is written
# first so that the wait for the next minute boundary overlaps the other tests.
run daemon_setup.yml
if pgrep -x cron >/dev/null; then
    echo "a cron daemon is already running; using it" >&2
else
    /usr/sbin/cron -f -L 15 &
    cron_pid=$!
fi

run converge.yml
run crontab_user.yml
run info.yml

# Debian cron rereads /etc/cron.d every minute; the job is due at the next minute boundary or the one after.
for _ in $(seq 1 150); do
    [ -s "$work/daemon-out.txt" ] && break
    sleep 1
done
run daemon_verify.yml
echo "smgr_schedule integration: ok"
