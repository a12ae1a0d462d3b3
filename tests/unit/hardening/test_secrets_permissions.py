# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A full profile converge of this machine (examples/inventory, everything under a temp prefix, as `make demo`
does), with the SMTP password in ansible-vault, then the secrets and the permissions it leaves behind.

Runs, all at -vvvv with an Ansible log file: ``site --diff``; ``site --check --diff`` with a changed password;
``backup_now`` whose notifications fail (the SMTP server refuses the credentials); ``notify_test``, which fails
for the same reason.

Secrets: neither password is in any output, the Ansible log, a diff, a state file, a log, a backup of a previous
file, or any file of the tree except notifications.yaml (0600, root, once).
Permissions: every path of the host layout (docs/architecture.md) has its mode and owner; nothing the collection
created is group- or world-writable; locks are under run/lock (never /tmp) in 0700 directories, and the runner
refuses a lock directory that others can write.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from ansible_collections.smgr.server_manager.tests.support.smtp_server import SmtpServer
from ansible_collections.smgr.server_manager.tests.unit.hardening.helpers import REPO, record_figures

PASSWORD = f"Vault-Smtp-{uuid.uuid4().hex}"
CHANGED_PASSWORD = f"Changed-Smtp-{uuid.uuid4().hex}"
SERVER_PASSWORD = f"Server-Only-{uuid.uuid4().hex}"  # not the configured one: every send fails at AUTH


class Converge:
    """The work directory: inventory, vault, prefix, Ansible's own files, and the output of every run."""

    def __init__(self, work: Path, smtp: SmtpServer) -> None:
        self.work = work
        self.prefix = work / "host"
        self.outputs: dict[str, str] = {}
        self.seconds: dict[str, float] = {}
        self.inventory = work / "inventory"
        shutil.copytree(REPO / "examples" / "inventory", self.inventory)
        self.vault_password_file = work / "vault-pass"
        self.vault_password_file.write_text(uuid.uuid4().hex + "\n")
        self.vault_password_file.chmod(0o600)
        self.vault_file = work / "vault.yml"
        self.vault_file.write_text(f"vault_smgr_smtp_password: {PASSWORD}\n")
        self.ansible("ansible-vault", "encrypt", str(self.vault_file))
        assert PASSWORD.encode() not in self.vault_file.read_bytes()
        self.vars_file = work / "vars.yml"
        self.write_vars(smtp, "{{ vault_smgr_smtp_password }}")
        for directory in ("etc/nginx/conf.d", "etc/letsencrypt/live", "srv/app/cache"):
            (self.prefix / directory).mkdir(parents=True, exist_ok=True)
        (self.prefix / "etc/nginx/nginx.conf").write_text("events {}\n")
        (self.prefix / "srv/app/index.html").write_text("<h1>app</h1>\n")

    def write_vars(self, smtp: SmtpServer, password: str) -> None:
        variables = dict(
            smgr_prefix=str(self.prefix),
            smgr_install_packages=False,
            ansible_become=False,
            ansible_python_interpreter=sys.executable,
            smgr_notifications=dict(
                enabled=True,
                smtp_server="127.0.0.1",
                smtp_port=smtp.port,
                smtp_security="starttls",
                ca_file=smtp.ca_file,
                smtp_user="smgr",
                smtp_password=password,
                from_email="server-manager@example.com",
                to_emails=["ops@example.com"],
                notify_on_success=True,
                notify_on_failure=True,
            ),
        )
        self.vars_file.write_text(yaml.safe_dump(variables))

    def env(self) -> dict[str, str]:
        home = self.work / "ansible"
        return {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "collections"),
            "ANSIBLE_HOME": str(home),
            "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
            "ANSIBLE_REMOTE_TEMP": str(home / "tmp"),
            "ANSIBLE_LOG_PATH": str(self.work / "ansible.log"),
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_VAULT_PASSWORD_FILE": str(self.vault_password_file),
        }

    def ansible(self, *argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(argv), capture_output=True, text=True, env=self.env(), timeout=600, check=True)

    def playbook(self, label: str, name: str, *args: str) -> subprocess.CompletedProcess:
        started = time.monotonic()
        completed = subprocess.run(
            [
                "ansible-playbook",
                "-vvvv",
                "-i",
                str(self.inventory),
                "-e",
                f"@{self.vars_file}",
                "-e",
                f"@{self.vault_file}",
                "--limit",
                "localhost",
                f"smgr.server_manager.{name}",
                *args,
            ],
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=600,
            check=False,
        )
        self.outputs[label] = completed.stdout + completed.stderr
        self.seconds[label] = round(time.monotonic() - started, 1)
        return completed

    def path(self, relative: str) -> Path:
        return self.prefix / relative


@pytest.fixture(scope="module")
def converged(tmp_path_factory, smtp_cert_dir):
    work = tmp_path_factory.mktemp("converge")
    with SmtpServer("starttls-auth", cert_dir=smtp_cert_dir, user="smgr", password=SERVER_PASSWORD) as smtp:
        scene = Converge(work, smtp)
        site = scene.playbook("site --diff", "site", "--diff")
        assert site.returncode == 0, site.stdout[-4000:]
        again = scene.playbook("site again", "site")
        assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-3000:]
        # A changed password, shown in check mode with a diff: only a marker may appear.
        scene.write_vars(smtp, CHANGED_PASSWORD)
        check = scene.playbook("site --check --diff, password changed", "site", "--check", "--diff")
        assert check.returncode == 0, check.stdout[-4000:]
        assert "******** (changed)" in check.stdout
        scene.write_vars(smtp, "{{ vault_smgr_smtp_password }}")
        # The failing sends: the server refuses the credentials.
        backups = scene.playbook("backup_now, mail refused", "backup_now")
        assert backups.returncode == 0, backups.stdout[-4000:]
        notify = scene.playbook("notify_test, mail refused", "notify_test")
        assert notify.returncode != 0 and "authentication failed for user 'smgr'" in notify.stdout
        assert smtp.messages == []
    record_figures(
        "converge",
        playbook_runs=len(scene.outputs),
        output_bytes=sum(len(text) for text in scene.outputs.values()),
        seconds=scene.seconds,
    )
    return scene


# --------------------------------------------------------------------------- secrets


def test_the_password_is_only_in_notifications_yaml(converged):
    notifications = converged.path("opt/server-manager/config/notifications.yaml")
    content = notifications.read_bytes()
    assert content.count(PASSWORD.encode()) == 1
    info = os.stat(notifications)
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o600, 0, 0)
    leaks = []
    for label, output in converged.outputs.items():
        for secret in (PASSWORD, CHANGED_PASSWORD):
            if secret in output:
                leaks.append(f"output of {label}")
    searched = 0
    for directory, _dirs, files in os.walk(converged.work):
        for name in files:
            path = Path(directory) / name
            if path == notifications or path.is_symlink():
                continue
            data = path.read_bytes()
            searched += 1
            for secret in (PASSWORD, CHANGED_PASSWORD):
                if secret.encode() in data:
                    leaks.append(str(path.relative_to(converged.work)))
    assert leaks == []
    # What was searched includes what matters: the Ansible log, the runner's log and state, the schedule backups.
    assert (converged.work / "ansible.log").stat().st_size > 0
    assert "authentication failed" in converged.path("opt/server-manager/logs/smgr.log").read_text()
    assert any(converged.path("opt/server-manager/state").glob("*.json"))
    record_figures("secrets", files_searched=searched, outputs_searched=len(converged.outputs))


# --------------------------------------------------------------------------- permissions

# The host layout (docs/architecture.md): path, mode (all owned by root).
LAYOUT = [
    ("opt/server-manager/bin/smgr", 0o755),
    ("opt/server-manager/config/notifications.yaml", 0o600),
    ("opt/server-manager/config/backups.d/nginx.yaml", 0o600),
    ("opt/server-manager/config/backups.d/app.yaml", 0o600),
    ("opt/server-manager/logs", 0o750),
    ("opt/server-manager/state/nginx.json", 0o640),
    ("opt/server-manager/state/app.json", 0o640),
    ("etc/cron.d/smgr", 0o644),
    ("run/lock/smgr", 0o700),
    ("var/backups/smgr/nginx", 0o700),
    ("var/backups/smgr/app", 0o700),
]


def test_every_path_has_its_mode_and_owner(converged):
    found = []
    for relative, _mode in LAYOUT:
        info = os.lstat(converged.path(relative))
        found.append((relative, f"{stat.S_IMODE(info.st_mode):04o}", info.st_uid, info.st_gid))
    assert found == [(relative, f"{mode:04o}", 0, 0) for relative, mode in LAYOUT]


def test_nothing_is_group_or_world_writable(converged):
    sample_data = {converged.path(name) for name in ("etc/nginx", "etc/letsencrypt", "srv")}
    writable = []
    checked = 0
    for directory, dirs, files in os.walk(converged.prefix):
        dirs[:] = [name for name in dirs if Path(directory) / name not in sample_data]
        for name in [*dirs, *files]:
            path = Path(directory) / name
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                continue
            checked += 1
            if info.st_mode & 0o022:
                writable.append(f"{path.relative_to(converged.prefix)} {stat.S_IMODE(info.st_mode):04o}")
    assert writable == []
    record_figures("permissions", paths_checked=checked)


def test_locks_are_never_in_tmp(converged):
    cron_text = converged.path("etc/cron.d/smgr").read_text()
    lock_dir = str(converged.path("run/lock/smgr"))
    # Every cron entry that locks uses the profile's lock directory (the prefix's run/lock/smgr, /run/lock/smgr
    # without a prefix), the runner's job locks live below it.
    assert f"mkdir -p -m 0700 '{lock_dir}'" in cron_text
    assert cron_text.count("flock -n '") == cron_text.count(f"flock -n '{lock_dir}/")
    runner_settings = yaml.safe_load(converged.path("opt/server-manager/config/runner.yaml").read_text())
    assert runner_settings["lock_dir"] == lock_dir
    job_locks = sorted(os.listdir(converged.path("run/lock/smgr/jobs")))
    assert job_locks == ["app.lock", "nginx.lock"]
    assert stat.S_IMODE(os.stat(converged.path("run/lock/smgr/jobs")).st_mode) == 0o700
    # The defaults without a prefix, as the role and the modules have them.
    defaults = yaml.safe_load((REPO / "roles/smgr/defaults/main.yml").read_text())
    assert defaults["smgr_lock_dir"] == "{{ smgr_prefix }}/run/lock/smgr"
    from ansible_collections.smgr.server_manager.plugins.module_utils._backup import jobs as _backup_jobs
    from ansible_collections.smgr.server_manager.plugins.module_utils._schedule import crontab as _crontab

    assert _backup_jobs.DEFAULT_LOCK_DIR == _crontab.DEFAULT_LOCK_DIR == "/run/lock/smgr"
    assert not any(line.startswith("/tmp") for line in (_backup_jobs.DEFAULT_LOCK_DIR, _crontab.DEFAULT_LOCK_DIR))


def test_runner_refuses_a_lock_directory_others_can_write(converged):
    lock_dir = converged.path("run/lock/smgr")
    runner = converged.path("opt/server-manager/bin/smgr")
    os.chmod(lock_dir, 0o777)
    try:
        completed = subprocess.run(
            [str(runner), "backup", "app"], capture_output=True, text=True, timeout=120, check=False
        )
    finally:
        os.chmod(lock_dir, 0o700)
    assert completed.returncode == 1
    assert "is writable by others (mode 0777); use 0700" in completed.stderr
