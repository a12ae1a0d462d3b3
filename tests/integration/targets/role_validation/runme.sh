#!/usr/bin/env bash
# Bad inventory fails on the controller, naming the variable, before anything on the host is touched.
# Each case applies smgr.server_manager.site to localhost under an empty prefix and asserts that the run
# fails with the expected text and that the prefix is still empty. Run by `make integration`.
set -euo pipefail
cd "$(dirname "$0")"

work=$(mktemp -d /tmp/smgr-itest-validation.XXXXXX)
trap 'rm -rf "$work"' EXIT
python=$(command -v python3)
failures=0

# case name | extra vars (JSON) | text the failure must contain
while IFS='|' read -r name vars expected; do
    [ -n "$name" ] || continue
    prefix="$work/$name"
    mkdir -p "$prefix"
    out="$work/$name.out"
    if ansible-playbook -i localhost, -c local smgr.server_manager.site \
        -e "ansible_python_interpreter=$python" -e "smgr_install_packages=false" \
        -e "{\"smgr_prefix\": \"$prefix\"}" -e "$vars" >"$out" 2>&1; then
        echo "FAIL $name: the run succeeded" >&2
        failures=$((failures + 1))
    elif ! grep -qF -- "$expected" "$out"; then
        echo "FAIL $name: the failure does not say '$expected':" >&2
        grep -E 'fatal|ERROR|msg' "$out" | head -5 >&2
        failures=$((failures + 1))
    elif [ -n "$(ls -A "$prefix")" ]; then
        echo "FAIL $name: files were written under the prefix: $(find "$prefix" | head -5)" >&2
        failures=$((failures + 1))
    else
        echo "ok   $name"
    fi
done <<'CASES'
typo-in-job-key|{"smgr_backups": {"web": {"type": "paths", "paths": ["/srv"], "shedule": "daily_2am"}}}|shedule
bad-type|{"smgr_backups": {"web": {"type": "tarball", "paths": ["/srv"], "schedule": "daily_2am"}}}|tarball
bad-hour|{"smgr_backups": {"web": {"type": "paths", "paths": ["/srv"], "schedule": "0 25 * * *"}}}|job 'backup-web': schedule
seconds-field|{"smgr_schedules": {"x": {"schedule": "0 0 2 * * *", "command": "true"}}}|job 'x': schedule
unknown-preset|{"smgr_cleanup": {"enabled": true, "schedule": "daily_5am"}}|job 'cleanup': schedule
relative-path|{"smgr_backups": {"web": {"type": "paths", "paths": ["srv/app"], "schedule": "daily_2am"}}}|paths[0]: must be an absolute path
bad-job-name|{"smgr_backups": {"../x": {"type": "paths", "paths": ["/srv"], "schedule": "daily_2am"}}}|smgr_backups.../x: invalid job name
long-job-name|{"smgr_backups": {"jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj": {"type": "paths", "paths": ["/srv"]}}}|at most 57
bad-recipient|{"smgr_notifications": {"enabled": true, "smtp_server": "smtp.example.com", "from_email": "a@example.com", "to_emails": "ops@example.com, not-an-address"}}|smgr_notifications: to_emails
reserved-name|{"smgr_schedules": {"cleanup": {"schedule": "hourly", "command": "true"}}}|a name the role uses itself
cron-file-dot|{"smgr_cron_file": "/etc/cron.d/smgr.conf"}|smgr_cron_file
wrong-type|{"smgr_backups": ["nginx"]}|smgr_backups
borg-no-passphrase|{"smgr_backups": {"vault": {"type": "paths", "paths": ["/srv"], "engine": "borg", "repository": "/srv/borg"}}}|job 'vault': passphrase: is required
borg-no-repository|{"smgr_backups": {"vault": {"type": "paths", "paths": ["/srv"], "engine": "borg", "passphrase": "x"}}}|job 'vault': repository: is required
CASES

# A list written as one comma-separated string is accepted without the spaces after the commas.
prefix="$work/comma-list"
mkdir -p "$prefix"
if ansible-playbook -i localhost, -c local smgr.server_manager.site \
    -e "ansible_python_interpreter=$python" -e "smgr_install_packages=false" -e "{\"smgr_prefix\": \"$prefix\"}" \
    -e '{"smgr_notifications": {"enabled": true, "smtp_server": "smtp.example.com", "from_email": "a@example.com",
         "to_emails": "ops@example.com, dev@example.com"}}' >"$work/comma-list.out" 2>&1 &&
    grep -qx -- '  - ops@example.com' "$prefix/opt/server-manager/config/notifications.yaml" 2>/dev/null &&
    grep -qx -- '  - dev@example.com' "$prefix/opt/server-manager/config/notifications.yaml"; then
    echo "ok   comma-list"
else
    echo "FAIL comma-list: to_emails as 'a, b' was not written as two addresses" >&2
    grep -E 'fatal|ERROR|msg' "$work/comma-list.out" | head -5 >&2
    failures=$((failures + 1))
fi

# A borg job's passphrase goes from the inventory to its 0600 file and nowhere else: not in -vvvv output
# (module arguments, the profile fact), not in --diff, not in the job file, not in the runner's output or log;
# the restore playbook gives the tree back.
prefix="$work/borg-secret"
mkdir -p "$prefix/data"
echo "hello" >"$prefix/data/index.html"
secret="borg-itest-$("$python" -c 'import secrets; print(secrets.token_hex(12))')"
# From a vars file, as from an inventory or vault (a value given with -e on the command line is echoed at -vvvv).
cat >"$work/borg-vars.json" <<VARS
{"smgr_prefix": "$prefix", "smgr_backups": {"vault": {"type": "paths", "paths": ["$prefix/data"], "engine": "borg",
 "repository": "$prefix/repo", "passphrase": "$secret", "schedule": "daily_2am"}}}
VARS
borg_vars="@$work/borg-vars.json"
passfile="$prefix/opt/server-manager/config/borg/vault.passphrase"
runner="$prefix/opt/server-manager/bin/smgr"
if ansible-playbook -i localhost, -c local smgr.server_manager.site --diff -vvvv \
    -e "ansible_python_interpreter=$python" -e "smgr_install_packages=false" -e "$borg_vars" \
    >"$work/borg-secret.out" 2>&1 &&
    ansible-playbook -i localhost, -c local smgr.server_manager.site --diff -vvvv \
        -e "ansible_python_interpreter=$python" -e "smgr_install_packages=false" -e "$borg_vars" \
        >"$work/borg-secret-2.out" 2>&1 &&
    grep -q 'changed=0' "$work/borg-secret-2.out" &&
    [ "$(stat -c %a "$passfile")" = 600 ] && [ "$(cat "$passfile")" = "$secret" ] &&
    "$runner" backup vault >"$work/borg-backup.out" 2>&1 &&
    "$runner" list vault >>"$work/borg-backup.out" 2>&1 &&
    grep -q 'vault (.*repo): 1 archive' "$work/borg-backup.out" &&
    ansible-playbook -i localhost, -c local smgr.server_manager.restore -e "ansible_python_interpreter=$python" \
        -e "$borg_vars" -e smgr_job=vault -e "smgr_restore_to=$prefix/restored" >"$work/borg-restore.out" 2>&1 &&
    grep -q 'borg: every chunk authenticated' "$work/borg-restore.out" &&
    cmp -s "$prefix/data/index.html" "$prefix/restored/${prefix#/}/data/index.html" &&
    ! grep -rqF -- "$secret" "$work"/borg-*.out "$prefix/opt/server-manager/config/backups.d" \
        "$prefix/opt/server-manager/logs" "$prefix/opt/server-manager/state"; then
    echo "ok   borg-secret"
else
    echo "FAIL borg-secret: the converge, its idempotence, the passphrase file or a backup failed, or the" \
        "passphrase shows somewhere:" >&2
    grep -lF -- "$secret" "$work"/borg-*.out >&2 || true
    grep -E 'fatal|ERROR|msg|changed=' "$work"/borg-*.out | head -8 >&2
    failures=$((failures + 1))
fi

[ "$failures" -eq 0 ] || { echo "role_validation: $failures case(s) failed" >&2; exit 1; }
echo "role_validation integration: ok"
