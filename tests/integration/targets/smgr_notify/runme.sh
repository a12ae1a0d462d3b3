#!/usr/bin/env bash
# Integration test of smgr_notify and `smgr notify` on localhost, against real SMTP servers on 127.0.0.1
# (aiosmtpd, tests/support/smtp_server.py): check mode, idempotence, file mode and owner, the seed's format,
# messages sent and parsed back, every failure cause, bad input, and the password absent from every output.
# Needs the project virtualenv on PATH (aiosmtpd, ansible-playbook); `make integration` runs it so.
# SMGR_KEEP_WORK=1 keeps the work directory (logs, received mail) for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")"
repo="$(cd ../../../.. && pwd)"
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$repo/.build/collections}"
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_RETRY_FILES_ENABLED=0
python="${PYTHON:-python}"

work="$(mktemp -d /tmp/smgr-itest-notify.XXXXXX)"
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "${SMGR_KEEP_WORK:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# start_server NAME MODE [ARGS...]: an SMTP server in the background; its port ends up in $work/NAME.port.
start_server() {
    local name="$1" mode="$2"
    shift 2
    "$python" "$repo/tests/support/smtp_server.py" --mode "$mode" --port 0 --port-file "$work/$name.port" \
        --pidfile "$work/$name.pid" --maildir "$work/mail-$name" --cert-dir "$work/certs" "$@" \
        >"$work/$name.log" 2>&1 &
    pids+=("$!")
    local _
    for _ in $(seq 1 100); do
        [ -s "$work/$name.port" ] && return 0
        kill -0 "$!" 2>/dev/null || break
        sleep 0.1
    done
    echo "SMTP server $name ($mode) did not start:" >&2
    cat "$work/$name.log" >&2
    return 1
}
port() { tr -d '\n' <"$work/$1.port"; }

password="itest-$("$python" -c 'import secrets; print(secrets.token_hex(12))')"
start_server auth starttls-auth --user smgr --password "$password"
start_server tls tls-auth --user smgr --password "$password"
start_server plain plain
start_server refusing plain --refuse admin@example.com --refuse alerts@example.com
start_server silent silent
# The HTTP services of the channels (Apprise's json:// and gotify://): one that answers, one that refuses.
start_receiver() {
    local name="$1" mode="$2"
    PYTHONPATH="$ANSIBLE_COLLECTIONS_PATH" "$python" "$repo/tests/support/http_receiver.py" --mode "$mode" \
        --port-file "$work/$name.port" --record "$work/$name.jsonl" >"$work/$name.log" 2>&1 &
    pids+=("$!")
    local _
    for _ in $(seq 1 100); do
        [ -s "$work/$name.port" ] && return 0
        sleep 0.1
    done
    echo "HTTP receiver $name did not start:" >&2
    cat "$work/$name.log" >&2
    return 1
}
start_receiver hooks ok
start_receiver refusing_hooks refuse
channel_secret="chan-$("$python" -c 'import secrets; print(secrets.token_hex(12))')"
down_port="$(PYTHONPATH="$ANSIBLE_COLLECTIONS_PATH" "$python" -c \
    'from ansible_collections.smgr.server_manager.tests.support.smtp_server import unused_port; print(unused_port())')"

# The password goes to Ansible in a vars file, never on a command line.
umask 077
cat >"$work/vars.yml" <<VARS
work: "$work"
smtp_password: "$password"
ca_file: "$work/certs/ca.pem"
auth_port: $(port auth)
tls_port: $(port tls)
plain_port: $(port plain)
refusing_port: $(port refusing)
silent_port: $(port silent)
down_port: $down_port
hooks_port: $(port hooks)
refusing_hooks_port: $(port refusing_hooks)
channel_secret: "$channel_secret"
VARS
umask 022

status=0
ansible-playbook -i inventory.ini main.yml -e "@$work/vars.yml" --diff -vvvv >"$work/playbook.log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
    grep -E '^(TASK|fatal|failed|ok|changed|  "msg"|.*assert)' "$work/playbook.log" | tail -n 60 >&2 || true
    echo "smgr_notify integration: playbook failed (exit $status)" >&2
    exit 1
fi

# `smgr notify` as cron and the runner call it: the same sender, the file the module wrote.
cli() {
    PYTHONPATH="$ANSIBLE_COLLECTIONS_PATH" "$python" -c \
        'import sys; from ansible_collections.smgr.server_manager.plugins.module_utils._notify.cli import main; sys.exit(main(sys.argv[1:]))' \
        "$@"
}
config="$work/config/notifications.yaml"
cli test --config "$config" --hostname itest-host >"$work/cli.log" 2>&1 || { cat "$work/cli.log" >&2; exit 1; }
echo "df says 95%" | cli send --config "$config" --subject "Disk almost full" --body - --level warning \
    --hostname itest-host >>"$work/cli.log" 2>&1 || { cat "$work/cli.log" >&2; exit 1; }
grep -q '^Subject: \[WARNING\] Disk almost full - itest-host' "$work"/mail-auth/*.eml || {
    echo "smgr notify send: message not received" >&2
    exit 1
}
rc=0
cli test --config "$work/missing.yaml" >>"$work/cli.log" 2>&1 || rc=$?
[ "$rc" -eq 2 ] || { echo "smgr notify with a missing config exited $rc, expected 2" >&2; exit 1; }

# The channel's secret: in its settings file and in the receiver's record (the service got it), nowhere else.
channels_config="$work/channels/notifications.yaml"
grep -qF "$channel_secret" "$channels_config" || { echo "the channel secret is not in $channels_config" >&2; exit 1; }
leaks="$(grep -rlF "$channel_secret" "$work" | grep -v "^$work/channels/" | grep -vxF -e "$work/vars.yml" \
    -e "$work/hooks.jsonl" -e "$work/refusing_hooks.jsonl" || true)"
if [ -n "$leaks" ]; then
    echo "the channel URL's secret leaked into: $leaks" >&2
    exit 1
fi

# The password: in the settings file (else this check proves nothing), and nowhere else.
grep -qF "$password" "$config" || { echo "the password is not in $config" >&2; exit 1; }
leaks="$(grep -rlF "$password" "$work/playbook.log" "$work/cli.log" "$work"/mail-* "$work/config" "$work"/*.log \
    "$work"/*.jsonl | grep -vxF "$config" || true)"
if [ -n "$leaks" ]; then
    echo "the SMTP password leaked into: $leaks" >&2
    exit 1
fi
echo "smgr_notify integration: ok"
