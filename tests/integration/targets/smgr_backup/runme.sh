#!/usr/bin/env bash
# Integration test of smgr_backup / smgr_backup_info and the runner they install, on localhost:
# real tar, zstd, gzip, rsync to a local path and over a real sshd on 127.0.0.1, a real SMTP server,
# and the Mailcow stand-in. Everything lives under a temp prefix. Run by `make integration` (needs root
# for sshd). Exits non-zero on the first failure; cleans up in any case.
set -euo pipefail
cd "$(dirname "$0")"
root="$(cd ../../../.. && pwd)"

work=$(mktemp -d /tmp/smgr-itest-backup.XXXXXX)
sshd_pid=""
smtp_pid=""
cleanup() {
    if [ -n "$sshd_pid" ]; then kill "$sshd_pid" 2>/dev/null || true; fi
    if [ -n "$smtp_pid" ]; then kill "$smtp_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

python=${ANSIBLE_PYTHON_INTERPRETER:-$(command -v python3)}

# --- sshd on 127.0.0.1 with throwaway keys --------------------------------------------------------
mkdir -m 700 "$work/ssh"
ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/client_key"
cp "$work/ssh/client_key.pub" "$work/ssh/authorized_keys"
ssh_port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "[127.0.0.1]:$ssh_port $(cut -d' ' -f1,2 "$work/ssh/host_key.pub")" >"$work/ssh/known_hosts"
cat >"$work/ssh/sshd_config" <<CONF
Port $ssh_port
ListenAddress 127.0.0.1
HostKey $work/ssh/host_key
PidFile $work/ssh/sshd.pid
AuthorizedKeysFile $work/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel ERROR
UseDNS no
CONF
mkdir -p /run/sshd
/usr/sbin/sshd -D -e -f "$work/ssh/sshd_config" 2>"$work/ssh/sshd.log" &
sshd_pid=$!

# --- SMTP server on 127.0.0.1 ----------------------------------------------------------------------
"$python" "$root/tests/support/smtp_server.py" --mode plain --port 0 --port-file "$work/smtp.port" \
    --pidfile "$work/smtp.pid" --maildir "$work/mail" &
smtp_pid=$!

for _ in $(seq 1 200); do
    if [ -s "$work/smtp.port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$ssh_port") 2>/dev/null; then break; fi
    sleep 0.05
done
[ -s "$work/smtp.port" ] || { echo "SMTP server did not start" >&2; exit 1; }

# --- data to back up -------------------------------------------------------------------------------
mkdir -p "$work/data/nginx/sites" "$work/data/letsencrypt/archive/example.org" "$work/data/letsencrypt/live/example.org"
echo "server { listen 80; }" >"$work/data/nginx/sites/default"
echo "CERT" >"$work/data/letsencrypt/archive/example.org/cert1.pem"
ln -s ../../archive/example.org/cert1.pem "$work/data/letsencrypt/live/example.org/cert.pem"
printf 'spaces\n' >"$work/data/nginx/name with spaces"
# Mailcow: the stand-ins of its backup script and of the Docker CLI (docs/mailcow.md); the module runs the
# runner with this PATH, so the runner's `docker` is the stand-in.
mailcow_host=$("$python" "$root/tests/support/docker_world.py" mailcow "$work/mailcow-host")
PATH="$(sed -n 2p <<<"$mailcow_host"):$PATH"
export PATH

export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
run() {
    ansible-playbook -i localhost, -c local -e "work=$work" -e "ssh_port=$ssh_port" \
        -e "smtp_port=$(cat "$work/smtp.port")" -e "support=$root/tests/support" "$@"
}

run converge.yml
run run_now.yml
run restore.yml
run notify.yml
echo "smgr_backup integration: ok"
