#!/usr/bin/env bash
# `make demo`: the example profile (examples/inventory) applied to this machine, end to end,
# with everything under one directory and without root:
#
#   1. sample data under the demo prefix: an nginx-style configuration tree with a self-signed certificate
#      (openssl, 60 days) in certbot's layout, and an application tree
#   2. a local SMTP server on 127.0.0.1 (STARTTLS + AUTH, private CA) that keeps what it receives
#   3. smgr.server_manager.site: the profile (runner, job definitions, notifications, cron file,
#      logrotate) under the prefix; applied twice, the second run must change nothing
#   4. smgr.server_manager.backup_now: every job backed up now (result table), a restore drill, and
#      smgr health (backup ages, drills, free space, the sample certificate's expiry)
#   5. smgr.server_manager.notify_test: a test notification
#   6. smgr.server_manager.schedules: the schedules with their next runs
#   7. the archives, the subjects of the received mails, and where everything is
# The SMTP server is stopped by its PID at the end (also on failure or Ctrl-C).
#
# Nothing outside the demo directory is touched: no packages, no /etc, no crontab, no ~/.ansible.
# The cron file is written under the prefix, where cron does not read it.
#
# SMGR_DEMO_DIR=DIR  the demo directory (default: demo-out/ in the repository; gitignored).
#                    Runs again reuse it (the profile converges, archives accumulate);
#                    `rm -rf demo-out` starts afresh.
set -euo pipefail
# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"
use_venv

DEMO="${SMGR_DEMO_DIR:-$ROOT/demo-out}"
mkdir -p "$DEMO"
DEMO="$(cd "$DEMO" && pwd)"
PREFIX="$DEMO/host"
SMTP_DIR="$DEMO/smtp"
MAIL_DIR="$DEMO/mail"
LOG_DIR="$DEMO/logs"
INVENTORY="$ROOT/examples/inventory"
VARS_FILE="$DEMO/demo-vars.yml"
PYTHON="$VENV/bin/python"

for tool in tar zstd; do
    command -v "$tool" >/dev/null || die "$tool is not installed (Debian: apt-get install $tool; 'make setup' as root installs it)"
done

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# --- Ansible keeps everything it writes inside the demo directory ----------------------------------
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_PATH"
export ANSIBLE_HOME="$DEMO/ansible"
export ANSIBLE_LOCAL_TEMP="$DEMO/ansible/tmp"
export ANSIBLE_REMOTE_TEMP="$DEMO/ansible/tmp"
export ANSIBLE_RETRY_FILES_ENABLED=false
mkdir -p "$ANSIBLE_LOCAL_TEMP" "$LOG_DIR"
chmod 0700 "$DEMO/ansible"

# --- 1. Sample data: what a web server would have -------------------------------------------------
step "Sample data under $PREFIX (nginx-style configuration, an application)"
make_tree() {
    local etc="$PREFIX/etc" app="$PREFIX/srv/app"
    mkdir -p "$etc/nginx/conf.d" "$etc/nginx/sites-available" "$etc/nginx/sites-enabled" "$etc/nginx/snippets" \
        "$etc/letsencrypt/archive/demo.example" "$etc/letsencrypt/live/demo.example" \
        "$app/releases/2026.01.0/public" "$app/shared/config" "$app/shared/uploads" "$app/cache" "$app/logs"
    cat >"$etc/nginx/nginx.conf" <<'CONF'
user www-data;
worker_processes auto;
events { worker_connections 768; }
http {
    include /etc/nginx/mime.types;
    include /etc/nginx/conf.d/*.conf;
    include /etc/nginx/sites-enabled/*;
}
CONF
    printf 'gzip on;\ngzip_types text/css application/javascript;\n' >"$etc/nginx/conf.d/gzip.conf"
    printf 'ssl_protocols TLSv1.2 TLSv1.3;\nssl_prefer_server_ciphers off;\n' >"$etc/nginx/snippets/ssl.conf"
    cat >"$etc/nginx/sites-available/demo.example" <<'CONF'
server {
    listen 443 ssl;
    server_name demo.example;
    ssl_certificate /etc/letsencrypt/live/demo.example/fullchain.pem;
    include snippets/ssl.conf;
    root /srv/app/current/public;
}
CONF
    ln -sfn ../sites-available/demo.example "$etc/nginx/sites-enabled/demo.example"
    printf '<h1>demo</h1>\n' >"$app/releases/2026.01.0/public/index.html"
    ln -sfn releases/2026.01.0 "$app/current"
    printf 'DATABASE_URL=postgres://app@localhost/app\n' >"$app/shared/config/app.env"
    chmod 0600 "$app/shared/config/app.env"
    for n in 1 2 3; do printf 'invoice %s\n' "$n" >"$app/shared/uploads/invoice-$n.txt"; done
    head -c 65536 /dev/urandom >"$app/shared/uploads/photo.bin"
    printf 'temporary\n' >"$app/shared/uploads/upload.tmp"
    head -c 4096 /dev/urandom >"$app/cache/page-cache.bin"
    printf 'GET / 200\n' >"$app/logs/access.log"
}
if [ -d "$PREFIX/etc/nginx" ]; then
    log "sample data already there (kept)"
else
    make_tree
    log "created $PREFIX/etc/nginx, $PREFIX/etc/letsencrypt and $PREFIX/srv/app"
fi
# A real (self-signed) certificate in certbot's layout, valid for 60 days: smgr health checks its expiry.
make_certificate() {
    local archive="$PREFIX/etc/letsencrypt/archive/demo.example" live="$PREFIX/etc/letsencrypt/live/demo.example"
    mkdir -p "$archive" "$live"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 60 -subj /CN=demo.example \
        -keyout "$archive/privkey1.pem" -out "$archive/cert1.pem" 2>/dev/null
    cp "$archive/cert1.pem" "$archive/fullchain1.pem"
    for name in cert fullchain privkey; do
        ln -sfn "../../archive/demo.example/${name}1.pem" "$live/$name.pem"
    done
    log "created a certificate for demo.example, valid for 60 days"
}
if ! openssl x509 -noout -in "$PREFIX/etc/letsencrypt/live/demo.example/cert.pem" 2>/dev/null; then
    make_certificate
fi

# --- 2. A local SMTP server ------------------------------------------------------------------------
step "SMTP server on 127.0.0.1 (STARTTLS + AUTH)"
rm -rf "$SMTP_DIR" "$MAIL_DIR"
mkdir -p "$SMTP_DIR" "$MAIL_DIR"
chmod 0700 "$SMTP_DIR"
SMTP_PASSWORD="demo-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
smtp_pid=""
stop_smtp() {
    if [ -n "$smtp_pid" ] && kill -0 "$smtp_pid" 2>/dev/null; then
        kill "$smtp_pid" 2>/dev/null || true
        wait "$smtp_pid" 2>/dev/null || true
        log "SMTP server (PID $smtp_pid) stopped"
    fi
    smtp_pid=""
}
trap stop_smtp EXIT
trap 'exit 130' INT TERM
"$PYTHON" "$ROOT/tests/support/smtp_server.py" --mode starttls-auth --port 0 \
    --port-file "$SMTP_DIR/port" --pidfile "$SMTP_DIR/pid" --maildir "$MAIL_DIR" --cert-dir "$SMTP_DIR" \
    --user demo --password "$SMTP_PASSWORD" >"$LOG_DIR/smtp.log" 2>&1 &
smtp_pid=$!
for _ in $(seq 1 100); do
    [ -s "$SMTP_DIR/port" ] && break
    kill -0 "$smtp_pid" 2>/dev/null || break
    sleep 0.1
done
[ -s "$SMTP_DIR/port" ] || { cat "$LOG_DIR/smtp.log" >&2; die "the SMTP server did not start"; }
SMTP_PORT="$(cat "$SMTP_DIR/port")"
log "listening on 127.0.0.1:$SMTP_PORT (PID $smtp_pid); CA certificate $SMTP_DIR/ca.pem"

# --- The demo's overrides of the example inventory (extra vars) -----------------------------------
( umask 077 && cat >"$VARS_FILE" <<VARS
---
# Written by scripts/demo.sh: what makes the example inventory run on this machine without root.
# On a real fleet none of this is needed (see docs/quickstart.md).
smgr_prefix: "$PREFIX"
smgr_install_packages: false
# Everything stays under the prefix: root's crontab on this machine is not the old TUI's host.
smgr_migrate_tui: false
ansible_become: false
# The demo's Python has PyYAML and croniter; the runner's #! line points at it too.
ansible_python_interpreter: "$PYTHON"
# The demo's SMTP server instead of the example's relay.
smgr_notifications:
  enabled: true
  smtp_server: 127.0.0.1
  smtp_port: $SMTP_PORT
  smtp_security: starttls
  ca_file: "$SMTP_DIR/ca.pem"
  smtp_user: demo
  smtp_password: "$SMTP_PASSWORD"
  from_email: server-manager@demo.example
  to_emails: [ops@demo.example]
  notify_on_success: true
  notify_on_failure: true
VARS
)

playbook() { # NAME [ARGS...]: run smgr.server_manager.NAME against this machine only
    local name="$1"
    shift
    ansible-playbook -i "$INVENTORY" -e "@$VARS_FILE" --limit localhost "smgr.server_manager.$name" "$@" \
        2>&1 | tee "$LOG_DIR/$name.log"
    return "${PIPESTATUS[0]}"
}

# --- 3. The profile --------------------------------------------------------------------------------
step "Apply the example profile (ansible-playbook smgr.server_manager.site)"
playbook site
step "Apply it again: nothing may change"
ansible-playbook -i "$INVENTORY" -e "@$VARS_FILE" --limit localhost smgr.server_manager.site \
    >"$LOG_DIR/site-again.log" 2>&1 || { tail -n 40 "$LOG_DIR/site-again.log" >&2; die "second run failed"; }
recap="$(grep -E '^localhost +:' "$LOG_DIR/site-again.log")"
printf '%s\n' "$recap"
if [[ "$recap" != *"changed=0"* ]]; then
    grep -B2 -E '^changed:' "$LOG_DIR/site-again.log" >&2 || true
    die "the second run changed something (see $LOG_DIR/site-again.log)"
fi

# --- 4. A backup now -------------------------------------------------------------------------------
step "Back up every job now (ansible-playbook smgr.server_manager.backup_now)"
playbook backup_now

step "Restore drill: the newest archive of every job restored and checked (smgr drill)"
"$PREFIX/opt/server-manager/bin/smgr" drill

step "Health: backup ages, drills, free space, the certificate's expiry (smgr health)"
# The demo host's cron daemon is not the point here; the other checks run as cron would run them.
"$PREFIX/opt/server-manager/bin/smgr" health --no-cron-check --no-notify

# --- 5. A test notification ------------------------------------------------------------------------
step "Send a test notification (ansible-playbook smgr.server_manager.notify_test)"
playbook notify_test

# --- 6. Schedules ----------------------------------------------------------------------------------
step "Schedules and next runs (ansible-playbook smgr.server_manager.schedules)"
playbook schedules -e "smgr_report_file=$DEMO/schedules.txt"

step "Fleet report: calendar and status page (ansible-playbook smgr.server_manager.report)"
playbook report -e "smgr_report_path=$DEMO/smgr-report.html"
echo "  open file://$DEMO/smgr-report.html in a browser (its data: $DEMO/smgr-report.html.json)"

# --- 7. What is there now --------------------------------------------------------------------------
step "Archives (smgr list)"
"$PREFIX/opt/server-manager/bin/smgr" list

step "Mail received by the SMTP server"
"$PYTHON" - "$MAIL_DIR" <<'PY'
import email
import email.policy
import pathlib
import sys

messages = sorted(pathlib.Path(sys.argv[1]).glob("*.eml"), key=lambda p: int(p.stem))
for path in messages:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    print(f"  {path.name}: Subject: {message['Subject']}  (To: {message['To']})")
if not messages:
    sys.exit("no mail received")
PY
stop_smtp

step "Where everything is"
cat <<WHERE
  demo directory        $DEMO   (remove it to start afresh)
  the "server" prefix   $PREFIX
    runner              $PREFIX/opt/server-manager/bin/smgr   (try: $PREFIX/opt/server-manager/bin/smgr status)
    configuration       $PREFIX/opt/server-manager/config/   (notifications.yaml, runner.yaml, backups.d/)
    cron file           $PREFIX/etc/cron.d/smgr
    archives            $PREFIX/var/backups/smgr/<job>/
    runner log          $PREFIX/opt/server-manager/logs/smgr.log
    sample data         $PREFIX/etc/nginx, $PREFIX/etc/letsencrypt, $PREFIX/srv/app
  received mail         $MAIL_DIR/   (N.eml)
  schedule report       $DEMO/schedules.txt
  fleet report          $DEMO/smgr-report.html   (open it in a browser; its data: smgr-report.html.json)
  playbook output       $LOG_DIR/
  the example inventory $INVENTORY   (start a real one from it: docs/quickstart.md)
WHERE
log "demo finished"
