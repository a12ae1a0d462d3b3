# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Mailcow jobs against the stand-ins of Mailcow's backup script (both versions) and of the Docker CLI.

The stand-ins make the real script's checks and fail as quietly as it does (docs/mailcow.md); the
archives, tar, zstd, pigz/gzip and the runner are real.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading

import pytest

from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix
from ansible_collections.smgr.server_manager.tests.support.docker_world import BACKUP_IMAGE, MailcowHost

VERSIONS = ("2025-12", "2025-03")
COMPONENT_FILES = ("vmail", "crypt", "redis", "rspamd", "postfix", "mariadb")


def setup_job(tmp_path, version="2025-12", name="mail", **job):
    host = MailcowHost(tmp_path / "mailcow-host", version)
    prefix = Prefix(tmp_path / "host")
    prefix.add_job(name=name, type="mailcow", mailcow_dir=str(host.dir), **job)
    return prefix, host


def run(prefix, host, *args, check=None):
    completed = prefix.run("--json", *args, env=host.docker.env, check=check)
    return json.loads(completed.stdout)


def listing(archive):
    return subprocess.run(
        ["tar", "-I", "zstd", "-tf", str(archive)], check=True, capture_output=True, text=True
    ).stdout.splitlines()


def run_script(host, location, *args, input_=None, **env):
    return subprocess.run(
        [str(host.dir / "helper-scripts" / "backup_and_restore.sh"), *args],
        capture_output=True,
        text=True,
        input=input_ if input_ is not None else "",
        env={**os.environ, **host.docker.env, "MAILCOW_BACKUP_LOCATION": str(location), **env},
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_dump_and_install_files_are_checked_and_archived(tmp_path, version):
    prefix, host = setup_job(tmp_path, version, mailcow_threads=3)
    result = run(prefix, host, "backup", "mail", check=0)
    names = listing(result["archive"])
    dump = [n for n in names if re.fullmatch(r"mailcow-\d{4}(-\d\d){5}/", n)]
    assert len(dump) == 1
    suffix = ".tar.zst" if version == "2025-12" else ".tar.gz"
    for component in COMPONENT_FILES:
        assert f"{dump[0]}backup_{component}{suffix}" in names
    assert f"{dump[0]}mailcow.conf" in names
    for install_file in (
        "mailcow.conf",
        "docker-compose.yml",
        "docker-compose.override.yml",
        "data/assets/ssl/cert.pem",
        "data/conf/postfix/extra.cf",
    ):
        assert f"mailcow-dockerized/{install_file}" in names
    assert not [n for n in names if n.endswith(".log")]
    runs = [call for call in host.docker.calls() if call.startswith("run --name mailcow-backup")]
    assert len(runs) == 6
    compressor = "zstd --rsyncable -T3" if version == "2025-12" else "pigz --rsyncable -p 3"
    assert any(compressor in call for call in runs)
    assert [p.name for p in prefix.dest("mail").iterdir() if p.name.startswith(".smgr-staging-")] == []


def test_selected_components_only_without_install_files(tmp_path):
    prefix, _host = setup_job(tmp_path, mailcow_components=["vmail", "mysql"], mailcow_install_files=False)
    names = listing(run(prefix, _host, "backup", "mail", check=0)["archive"])
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.endswith(".tar.zst")) == [
        "backup_mariadb.tar.zst",
        "backup_vmail.tar.zst",
    ]
    assert not [n for n in names if n.startswith("mailcow-dockerized/")]


def test_the_script_refuses_a_location_others_cannot_enter(tmp_path):
    """Why the staging directory is 0755: the script checks the mode before it dumps anything."""
    host = MailcowHost(tmp_path / "mailcow-host")
    location = tmp_path / "private"
    location.mkdir(mode=0o700)
    location.chmod(0o700)
    completed = run_script(host, location, "backup", "all")
    assert completed.returncode == 1
    assert "is not write-able for others, that's required for a backup" in completed.stdout
    assert list(location.iterdir()) == []


def test_a_failed_mariabackup_is_caught_although_the_script_exits_0(tmp_path):
    prefix, host = setup_job(tmp_path)
    host.stop("mysql-mailcow")
    location = tmp_path / "by-hand"
    location.mkdir(mode=0o755)
    assert run_script(host, location, "backup", "mysql").returncode == 0  # the script's own verdict
    result = run(prefix, host, "backup", "mail", check=1)
    assert "mysql: backup_mariadb.tar.zst holds no /backup_mariadb/" in result["error"]
    assert "mariabackup: Error: Failed to connect to MariaDB server" in result["error"]
    assert prefix.archives("mail") == []
    assert [p.name for p in prefix.dest("mail").iterdir()] == []


def test_a_database_dump_without_checkpoint_file_is_refused(tmp_path):
    prefix, host = setup_job(tmp_path, mailcow_components=["mysql"])
    host.docker.update(mysql_root_password="changed-after-the-conf")
    result = run(prefix, host, "backup", "mail", check=1)
    assert "Access denied for user 'root'" in result["error"]
    assert "mysql: backup_mariadb.tar.zst holds no /backup_mariadb/" in result["error"]


def test_a_missing_volume_is_named(tmp_path):
    prefix, host = setup_job(tmp_path)
    shutil.rmtree(host.volume("vmail"))
    result = run(prefix, host, "backup", "mail", check=1)
    assert "vmail: backup_vmail.tar.zst (or .tar.gz) is missing" in result["error"]
    assert "docker: invalid spec: :/vmail:ro,z: empty section between colons." in result["error"]


def test_a_container_killed_mid_write_is_caught(tmp_path):
    prefix, host = setup_job(tmp_path)
    host.docker.update(faults={"die_mid_write": "backup_redis.tar.zst"})
    result = run(prefix, host, "backup", "mail", check=1)
    assert "redis: backup_redis.tar.zst is corrupt" in result["error"]


def test_without_registry_and_image_the_scripts_message_is_surfaced(tmp_path):
    prefix, host = setup_job(tmp_path)
    host.docker.update(images={"mariadb:10.11": "sha256:" + "d" * 64})
    result = run(prefix, host, "backup", "mail", check=1)
    assert f"Error: Image {BACKUP_IMAGE} not found locally or remotely" in result["error"]
    assert "left 0 dump directories" in result["error"]


def test_a_cached_image_is_used_without_registry_and_a_newer_one_is_pulled(tmp_path):
    prefix, host = setup_job(tmp_path, mailcow_components=["crypt"])
    run(prefix, host, "backup", "mail", check=0)
    host.docker.update(registry={BACKUP_IMAGE: "sha256:" + "c" * 64})
    run(prefix, host, "backup", "mail", check=0)
    assert host.docker.load()["images"][BACKUP_IMAGE] == "sha256:" + "c" * 64
    assert "pull ghcr.io/mailcow/backup:latest" in host.docker.calls()


def test_timeout_removes_the_container_so_the_next_run_works(tmp_path):
    prefix, host = setup_job(tmp_path, mailcow_components=["crypt"], timeout=2)
    host.docker.update(faults={"run_delay": 30})
    result = run(prefix, host, "backup", "mail", check=1)
    assert "did not finish within 2s and was stopped; its container mailcow-backup was removed" in result["error"]
    assert "mailcow-backup" not in host.docker.containers()
    host.docker.update(faults={})
    assert run(prefix, host, "backup", "mail", check=0)["status"] == "ok"


def test_a_leftover_container_fails_the_run_naming_the_conflict(tmp_path):
    """What our timeout handling prevents: the name of a container left running blocks every component."""
    prefix, host = setup_job(tmp_path, mailcow_components=["crypt"])
    host.docker.add_container("mailcow-backup", BACKUP_IMAGE, None, None, {})
    result = run(prefix, host, "backup", "mail", check=1)
    assert 'Conflict. The container name "/mailcow-backup" is already in use' in result["error"]


def test_two_mailcow_jobs_of_a_host_run_one_after_the_other(tmp_path):
    prefix, host = setup_job(tmp_path, mailcow_components=["crypt"])
    prefix.add_job(name="mail2", type="mailcow", mailcow_dir=str(host.dir), mailcow_components=["postfix"])
    host.docker.update(faults={"run_delay": 1.5})
    results = {}

    def backup(job):
        results[job] = run(prefix, host, "backup", job)

    threads = [threading.Thread(target=backup, args=(job,)) for job in ("mail", "mail2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {job: result["status"] for job, result in results.items()} == {"mail": "ok", "mail2": "ok"}


@pytest.mark.parametrize("version", VERSIONS)
def test_a_new_host_is_rebuilt_from_the_archive_alone(tmp_path, version):
    """docs/mailcow.md: extract, copy the install files over a fresh install, the script's restore verb."""
    prefix, old = setup_job(tmp_path, version)
    (old.dir / "mailcow.conf").write_text((old.dir / "mailcow.conf").read_text().replace("standin-dbpass", "old-pw"))
    archive = run(prefix, old, "backup", "mail", check=0)["archive"]
    restored = tmp_path / "restore"
    prefix.run("restore", "mail", os.path.basename(archive), "--to", str(restored), check=0)

    new = MailcowHost(tmp_path / "new-host", version)
    for component in ("vmail", "crypt", "redis", "rspamd", "postfix", "mysql"):
        shutil.rmtree(new.volume(component))
        new.volume(component)
    shutil.copytree(restored / "mailcow-dockerized", new.dir, dirs_exist_ok=True, symlinks=True)
    # restore point 1, all datasets, no mailbox resync, yes to the database step
    completed = run_script(new, restored, "restore", input_="1\n0\nn\ny\n")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for component in ("vmail", "crypt", "redis", "rspamd", "postfix"):
        assert tree(new.volume(component)) == tree(old.volume(component)), component
    database = tree(new.volume("mysql"))
    assert {k: v for k, v in database.items() if "checkpoints" not in k} == tree(old.volume("mysql"))
    assert "DBPASS=old-pw" in (new.dir / "mailcow.conf").read_text()
    assert all(c["state"] == "running" for c in new.docker.containers().values() if c["project"])


def tree(root):
    return {
        os.path.relpath(os.path.join(directory, name), root): open(os.path.join(directory, name), "rb").read()
        for directory, _dirs, files in os.walk(root)
        for name in files
    }


def test_missing_mailcow_installation(tmp_path):
    prefix = Prefix(tmp_path / "host")
    prefix.add_job(name="mail", type="mailcow", mailcow_dir=str(tmp_path / "nowhere"))
    result = json.loads(prefix.run("--json", "backup", "mail", check=1).stdout)
    assert "helper-scripts/backup_and_restore.sh not found" in result["error"]


def test_a_failed_prepare_step_is_caught(tmp_path):
    """mariabackup --backup worked, --prepare did not: the archive has the checkpoint file, not prepared."""
    prefix, host = setup_job(tmp_path, mailcow_components=["mysql"])
    host.docker.update(faults={"prepare_fails": True})
    result = run(prefix, host, "backup", "mail", check=1)
    assert "mariabackup's --prepare did not complete (backup_type = full-backuped)" in result["error"]


def test_a_dest_every_user_can_enter_is_refused(tmp_path):
    prefix, host = setup_job(tmp_path, mailcow_components=["crypt"])
    dest = prefix.dest("mail")
    dest.mkdir(parents=True)
    dest.chmod(0o755)
    result = run(prefix, host, "backup", "mail", check=1)
    assert f"{dest} can be entered by every user (mode 0755)" in result["error"]
    assert "mailcow-backup" not in "\n".join(host.docker.calls())
