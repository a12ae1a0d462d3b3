# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The runner's command line: config discovery, list, status, cleanup, health, exit codes; and how it is built."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import archive_name
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.health import cron_running, parse_threshold
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.state import record_run
from ansible_collections.smgr.server_manager.plugins.module_utils._runner.build import (
    PACKAGE,
    build_runner,
    collect_sources,
    runner_bytes,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._runner.cli import (
    effective_settings,
    resolve_config_dir,
)
from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix
from ansible_collections.smgr.server_manager.tests.support.processes import python_json
from ansible_collections.smgr.server_manager.tests.support.smtp_server import SmtpServer


@pytest.fixture
def prefix(tmp_path):
    return Prefix(tmp_path / "host")


# --------------------------------------------------------------------------- build


def test_runner_is_deterministic_and_self_contained(tmp_path):
    first = runner_bytes("/usr/bin/python3")
    assert first == runner_bytes("/usr/bin/python3")
    assert first.startswith(b"#!/usr/bin/python3\n")
    assert runner_bytes("/usr/bin/python3.11") != first
    path = tmp_path / "smgr"
    path.write_bytes(first)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert {info.date_time for info in archive.infolist()} == {(2020, 1, 1, 0, 0, 0)}
    base = PACKAGE.replace(".", "/")
    for module in (
        "_runner/cli",
        "_backup/archive",
        "_backup/retention",
        "_common/lock",
        "_backup/remote",
        "_backup/mailcow",
        "_notify/mail",
        "_notify/cli",
    ):
        assert f"{base}/{module}.py" in names
    for package in ("", "/_common", "/_schedule", "/_notify", "/_backup", "/_runner"):
        assert f"{base}{package}/__init__.py" in names
    assert "ansible_collections/__init__.py" in names
    assert not [name for name in names if "plugins/modules" in name]


def test_runner_changes_when_a_source_changes():
    sources = collect_sources()
    changed = dict(sources)
    changed["_backup.archive"] = sources["_backup.archive"] + "\n# new version\n"
    assert build_runner(sources, "/usr/bin/python3") != build_runner(changed, "/usr/bin/python3")


def test_runner_runs_with_the_system_python_without_the_venv(tmp_path):
    """The runner needs nothing from the controller's virtualenv: Debian's python3 (+ python3-yaml) runs it."""
    path = tmp_path / "smgr"
    path.write_bytes(runner_bytes("/usr/bin/python3"))
    path.chmod(0o755)
    completed = subprocess.run(
        [str(path), "--help"], capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, check=False
    )
    assert completed.returncode == 0, completed.stderr
    for verb in ("backup", "cleanup", "restore", "list", "status", "health", "notify"):
        assert verb in completed.stdout


def test_a_run_does_not_load_what_only_some_jobs_need(tmp_path):
    """The runner's memory (B7): tarfile (drills, Mailcow's dump check), sqlite3 (NPM), logging and urllib
    (channels) and html's entity table are imported where they are used, not by every run. Checked in the real
    runner file, after the imports of its verbs."""
    path = tmp_path / "smgr"
    path.write_bytes(runner_bytes(sys.executable))
    verbs = ", ".join(("run", "borg_job", "mailcow", "npm", "drill", "status", "health", "restore"))
    code = (
        "import json, sys\n"
        "from ansible_collections.smgr.server_manager.plugins.module_utils._runner import cli\n"
        f"from ansible_collections.smgr.server_manager.plugins.module_utils._backup import {verbs}\n"
        "from ansible_collections.smgr.server_manager.plugins.module_utils._notify import channels, dispatch, mail\n"
        "print(json.dumps(sorted(m for m in ('tarfile', 'sqlite3', 'logging', 'urllib.parse', 'html', 'email')"
        " if m in sys.modules)))\n"
    )
    assert python_json(code, str(path)) == []


def test_bad_interpreter_is_refused():
    with pytest.raises(Exception, match="absolute path"):
        build_runner({}, "python3")


# --------------------------------------------------------------------------- config discovery


def test_config_dir_resolution(tmp_path):
    assert resolve_config_dir("/x/conf", {"SMGR_CONFIG_DIR": "/env"}, "/p/bin/smgr") == "/x/conf"
    assert resolve_config_dir(None, {"SMGR_CONFIG_DIR": "/env"}, "/p/bin/smgr") == "/env"
    assert resolve_config_dir(None, {}, "/p/opt/server-manager/bin/smgr") == "/p/opt/server-manager/config"
    assert resolve_config_dir(None, {}, "/usr/local/smgr") == "/opt/server-manager/config"


def test_runner_finds_config_next_to_bin(prefix, data):
    prefix.add_job(name="app", type="paths", paths=[str(data)])
    completed = prefix.run("list", check=0)  # no --config-dir: <prefix>/bin/smgr -> <prefix>/config
    assert "app (" in completed.stdout


def test_without_runner_yaml_state_and_logs_sit_beside_config(tmp_path):
    config = tmp_path / "opt" / "server-manager" / "config"
    config.mkdir(parents=True)
    settings = effective_settings(str(config))
    assert settings.state_dir == str(tmp_path / "opt" / "server-manager" / "state")
    assert settings.log_dir == str(tmp_path / "opt" / "server-manager" / "logs")
    assert settings.lock_dir == "/run/lock/smgr" and settings.backup_root == "/var/backups/smgr"


# --------------------------------------------------------------------------- exit codes


def test_usage_errors_exit_2(prefix):
    assert prefix.run("frobnicate").returncode == 2
    assert prefix.run("backup").returncode == 2
    unknown = prefix.run("backup", "ghost", check=2)
    assert "no such backup job" in unknown.stderr
    (prefix.config / "backups.d" / "broken.yaml").write_text("name: broken\ntype: paths\npaths: [relative]\n")
    broken = prefix.run("--json", "backup", "broken", check=2)
    assert "job 'broken': paths[0]: must be an absolute path" in broken.stderr
    assert json.loads(broken.stdout)["exit_code"] == 2
    (prefix.config / "runner.yaml").write_text("bogus: 1\n")
    assert "unknown key" in prefix.run("list", check=2).stderr


# --------------------------------------------------------------------------- list, status


def test_list_and_status(prefix, data):
    prefix.add_job(name="app", type="paths", paths=[str(data)])
    prefix.add_job(name="never", type="paths", paths=[str(data)])
    archive = prefix.run_json("backup", "app", check=0)["archive"]
    listed = prefix.run_json("list", check=0)
    app = next(job for job in listed["jobs"] if job["job"] == "app")
    assert [item["path"] for item in app["archives"]] == [archive]
    assert app["archives"][0]["sha256"] and app["archives"][0]["size"] == os.path.getsize(archive)
    status = prefix.run_json("status", check=0)
    by_job = {job["job"]: job for job in status["jobs"]}
    assert by_job["app"]["last_run"]["status"] == "ok" and by_job["app"]["last_success_age_hours"] < 1
    assert by_job["never"]["last_run"] is None and by_job["never"]["last_success"] is None
    assert by_job["app"]["running"] is False
    text = prefix.run("status", "app", check=0).stdout
    assert text.startswith("app: last run ok")


# --------------------------------------------------------------------------- cleanup


def test_cleanup_dry_run_then_real(prefix, data):
    dest = prefix.add_job(name="app", type="paths", paths=[str(data)], retention={"keep_days": 10, "keep_min": 1})
    dest.mkdir(parents=True)
    now = datetime.now(timezone.utc)
    old = [archive_name("testhost", "app", now - timedelta(days=d), "zstd") for d in (20, 30)]
    young = archive_name("testhost", "app", now - timedelta(days=1), "zstd")
    for name in [*old, young]:
        (dest / name).write_bytes(b"0123456789")
    dry = prefix.run_json("cleanup", "--dry-run", check=0)
    assert sorted(dry["jobs"][0]["removed"]) == sorted(old) and dry["freed_bytes"] == 20
    assert all((dest / name).exists() for name in old)
    text = prefix.run("cleanup", "app", check=0).stdout
    assert "removed 2 file(s)" in text and "20 B" in text
    assert sorted(os.listdir(dest)) == [young]


def test_cleanup_skips_a_running_job_with_exit_3(prefix, data):
    from ansible_collections.smgr.server_manager.plugins.module_utils._common.lock import JobLock

    prefix.add_job(name="app", type="paths", paths=[str(data)])
    with JobLock(prefix.settings.lock_dir, "app"):
        result = prefix.run_json("cleanup", check=3)
    assert result["jobs"][0]["status"] == "already_running"


# --------------------------------------------------------------------------- health


def test_health_ok_and_problems_with_notification(prefix, data, tmp_path):

    prefix.add_job(name="app", type="paths", paths=[str(data)])
    prefix.run("backup", "app", check=0)
    ok = prefix.run_json("health", "--no-cron-check", "--min-free", "1", check=0)
    assert ok == {"ok": True, "problems": []}
    with SmtpServer("plain") as server:
        prefix.configure_mail(server.port)
        old = (datetime.now(timezone.utc) - timedelta(hours=50)).strftime("%Y-%m-%dT%H:%M:%SZ")
        record_run(prefix.settings.state_dir, "app", {"status": "ok", "finished": old})
        bad = prefix.run_json("health", "--no-cron-check", "--min-free", "99.9%", check=1)
        checks = {problem["check"] for problem in bad["problems"]}
        assert checks == {"backup_age", "free_space"}
        message = server.wait_for(1)[0].message()
    assert message["Subject"].startswith("[WARNING] Health Check")
    text = message.get_body(("plain",)).get_content()
    assert "more than 26 hours" in text and "below 99.9%" in text


def test_every_runner_mail_carries_the_system_block(prefix, data):
    prefix.add_job(name="app", type="paths", paths=[str(data)])
    with SmtpServer("plain") as server:
        prefix.configure_mail(server.port, notify_on_success=True)
        prefix.run("backup", "app", check=0)
        prefix.run("notify", "test", check=0)
        messages = [received.message() for received in server.wait_for(2)]
    for message in messages:
        text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
        system = text[text.index("\nSystem:\n") : text.index("\n-- \n")]
        for label in ("Host:", "Uptime:", "Load:", "Memory:", "Backup space:"):
            assert label in system, (label, text)
        assert f"on {prefix.settings.backup_root}" in system
        assert "<h3>System</h3>" in message.get_body(("html",)).get_content()


def test_health_cron_check(tmp_path):
    proc = tmp_path / "proc"
    (proc / "1").mkdir(parents=True)
    (proc / "1" / "comm").write_text("systemd\n")
    (proc / "self").mkdir()
    assert cron_running(str(proc)) is False
    (proc / "77").mkdir()
    (proc / "77" / "comm").write_text("cron\n")
    assert cron_running(str(proc)) is True


def test_health_never_ran_is_a_problem(prefix, data):
    prefix.add_job(name="app", type="paths", paths=[str(data)])
    bad = prefix.run_json("health", "--no-cron-check", "--no-notify", check=1)
    assert bad["problems"] == [
        {"check": "backup_age", "job": "app", "message": "has never completed a successful backup"}
    ]


@pytest.mark.parametrize(
    ("text", "percent", "size"),
    [("10%", 10.0, None), ("5G", None, 5 * 1024**3), ("500MiB", None, 500 * 1024**2), ("1024", None, 1024)],
)
def test_threshold_parsing(text, percent, size):
    threshold = parse_threshold(text)
    assert (threshold.percent, threshold.bytes) == (percent, size)


@pytest.mark.parametrize("text", ["", "ten", "100%", "-5G", "5X"])
def test_bad_threshold(text):
    with pytest.raises(Exception, match="--min-free"):
        parse_threshold(text)


# --------------------------------------------------------------------------- notify dispatch


def test_notify_dispatches_to_the_notification_cli(prefix):
    completed = prefix.run("notify", "test", check=2)
    assert "notifications.yaml does not exist" in completed.stderr
    assert str(prefix.config / "notifications.yaml") in completed.stderr
