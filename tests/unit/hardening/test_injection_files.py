# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The hostile corpus in every string field that reaches a YAML file or a path.

YAML: notifications.yaml (smgr_notify), backups.d/<job>.yaml and runner.yaml (smgr_backup). For every string and
field the module refuses it with a message naming the field (files as before) or writes a file that reads back
as exactly the value given, with no key added: no YAML injection, no tag executed.

Paths: a job name becomes a file name (job file, state file, lock file, archive name, cron lock); a hostile name
is refused by both modules and by the runner, and nothing is written outside the configuration directory.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import (
    JOB_KEYS,
    SETTINGS_KEYS,
    load_job,
    load_settings,
    validate_job,
    validate_settings,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.config import KEYS, load_config
from ansible_collections.smgr.server_manager.plugins.modules import smgr_backup, smgr_notify, smgr_schedule
from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix
from ansible_collections.smgr.server_manager.tests.support.module_harness import run_module
from ansible_collections.smgr.server_manager.tests.unit.hardening.helpers import (
    Confinement,
    fast_runner,
    hostile,
    record_figures,
    snapshot,
    tree_difference,
)

JOB_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
SCHEDULE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def corpus(tmp_path: Path) -> list[str]:
    return hostile(str(tmp_path / "canary"))


# --------------------------------------------------------------------------- notifications.yaml

NOTIFY_BASE = dict(
    enabled=True,
    smtp_server="127.0.0.1",
    smtp_security="starttls",
    smtp_user="smgr",
    smtp_password="Base-password-1",
    from_email="smgr@example.com",
    to_emails=["ops@example.com"],
)
NOTIFY_FIELDS = ("smtp_user", "smtp_password", "smtp_server", "from_email", "to_emails", "ca_file")


@pytest.mark.parametrize("field", NOTIFY_FIELDS)
def test_notifications_yaml_reads_back_exactly(tmp_path, field):
    path = tmp_path / "notifications.yaml"
    base = dict(NOTIFY_BASE, path=str(path))
    assert not run_module(smgr_notify, base)["failed"]
    problems: list[str] = []
    accepted = 0
    for text in corpus(tmp_path):
        value: object = [text] if field == "to_emails" else text
        if field == "ca_file":
            value = str(tmp_path / text.replace("/", "|"))
        assert not run_module(smgr_notify, base)["failed"]
        before = snapshot(tmp_path)
        with Confinement(tmp_path).active() as guard:
            result = run_module(smgr_notify, dict(base, **{field: value}))
        assert guard.violations == []
        if result["failed"]:
            if field not in result["msg"] or tree_difference(before, snapshot(tmp_path)):
                problems.append(f"{field} {text!r}: {result['msg']}")
            continue
        accepted += 1
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if set(document) != {"notifications"} or not set(document["notifications"]) <= set(KEYS):
            problems.append(f"{field} {text!r}: keys {sorted(document['notifications'])}")
        loaded = getattr(load_config(str(path)), field)
        if (list(loaded) if field == "to_emails" else loaded) != value:
            problems.append(f"{field} {text!r}: reads back as {loaded!r}")
    assert problems == []
    record_figures(f"injection yaml notifications {field}", strings=len(corpus(tmp_path)), accepted=accepted)


# --------------------------------------------------------------------------- backups.d and runner.yaml

JOB_STRING_FIELDS = ("paths", "exclude", "dest", "pre_command", "post_command", "remote", "ping_url", "remote_ssh_key")
SETTINGS_FIELDS = ("state_dir", "log_dir", "lock_dir", "backup_root", "cron_file", "archive_host")


def backup_args(tmp_path: Path) -> dict:
    return dict(
        config_dir=str(tmp_path / "config"),
        runner_path=str(tmp_path / "bin" / "smgr"),
        runner_interpreter=sys.executable,
        backup_root=str(tmp_path / "backups"),
        archive_host="web1",
    )


def job_value(field: str, text: str, tmp_path: Path) -> object:
    if field in ("paths", "exclude"):
        return [f"/srv/{text}"] if field == "paths" else [text]
    if field in ("dest", "remote_ssh_key"):
        return f"/srv/{text}"
    if field == "ping_url":
        return f"https://hc.example/{text}"
    if field == "remote":
        return f"backup@127.0.0.1:/srv/{text}"
    return text


@pytest.mark.parametrize("field", JOB_STRING_FIELDS + SETTINGS_FIELDS)
def test_job_files_read_back_exactly(tmp_path, field, monkeypatch):
    fast_runner(monkeypatch)
    base = backup_args(tmp_path)
    job = dict(name="site", type="paths", paths=["/srv/www"])
    if field in ("remote_ssh_key",):
        job["remote"] = "backup@127.0.0.1:/srv/b"
    assert not run_module(smgr_backup, dict(base, jobs=[job]))["failed"]
    problems: list[str] = []
    accepted = 0
    for text in corpus(tmp_path):
        args = dict(base)
        wanted_job = dict(job)
        if field in SETTINGS_FIELDS:
            args[field] = text if field == "archive_host" else f"/srv/{text}"
        else:
            wanted_job[field] = job_value(field, text, tmp_path)
        assert not run_module(smgr_backup, dict(base, jobs=[job]))["failed"]
        before = snapshot(tmp_path)
        with Confinement(tmp_path).active() as guard:
            result = run_module(smgr_backup, dict(args, jobs=[wanted_job], exclusive=True))
        assert guard.violations == []
        after = snapshot(tmp_path)
        if result["failed"]:
            if field not in result["msg"] or tree_difference(before, after):
                problems.append(f"{field} {text!r}: {result['msg'][:300]}")
            continue
        accepted += 1
        written = sorted(os.listdir(tmp_path / "config" / "backups.d"))
        if written != ["site.yaml"]:
            problems.append(f"{field} {text!r}: job files {written}")
        document = yaml.safe_load((tmp_path / "config" / "backups.d" / "site.yaml").read_text(encoding="utf-8"))
        settings_document = yaml.safe_load((tmp_path / "config" / "runner.yaml").read_text(encoding="utf-8"))
        if not set(document) <= set(JOB_KEYS) or not set(settings_document) <= set(SETTINGS_KEYS):
            problems.append(f"{field} {text!r}: keys {sorted(document)} / {sorted(settings_document)}")
        settings = load_settings(str(tmp_path / "config"))
        if field in SETTINGS_FIELDS:
            # What the runner must read is what validation made of the value (paths normalised: /a/../b is /b).
            if getattr(settings, field) != getattr(validate_settings({field: args[field]}), field):
                problems.append(f"{field} {text!r}: runner.yaml reads back {getattr(settings, field)!r}")
            continue
        loaded = load_job(str(tmp_path / "config"), "site", settings.backup_root)
        expected = validate_job(dict(wanted_job), settings.backup_root)
        if loaded != expected:
            problems.append(f"{field} {text!r}: reads back as {getattr(loaded, field)!r}")
    assert problems == []
    record_figures(f"injection yaml backups {field}", strings=len(corpus(tmp_path)), accepted=accepted)


# --------------------------------------------------------------------------- names that become paths


NAME_TRAPS = ("nginx\n", "nginx\r", "a/b", "../nginx", "nginx/..", ".", "..", "-rf", "nginx.yaml", " nginx", "nginx ")


def test_job_names_never_become_paths_elsewhere(tmp_path, monkeypatch):
    """A job name is part of a file name: smgr_backup and smgr_schedule accept only plain names (letters, digits,
    '_', '-'; '.' for cron jobs), refuse the rest with nothing written, and never write outside the sandbox."""
    fast_runner(monkeypatch)
    base = backup_args(tmp_path)
    names = [*corpus(tmp_path), *NAME_TRAPS]
    accepted: list[tuple[str, str]] = []
    for name in names:
        before = snapshot(tmp_path)
        with Confinement(tmp_path).active() as guard:
            results = {
                "backup": run_module(smgr_backup, dict(base, jobs=[dict(name=name, type="paths", paths=["/srv/www"])])),
                "backup absent": run_module(smgr_backup, dict(base, jobs=[dict(name=name, state="absent")])),
                "schedule": run_module(
                    smgr_schedule,
                    dict(
                        cron_file=str(tmp_path / "cron"),
                        backup=0,
                        audit_log="",
                        name=name,
                        schedule="@daily",
                        command="true",
                    ),
                ),
            }
        assert guard.violations == [], (name, guard.violations)
        accepted += [(module, name) for module, result in results.items() if not result["failed"]]
        if all(result["failed"] for result in results.values()):
            assert tree_difference(before, snapshot(tmp_path)) == [], name
            assert all("name" in result["msg"] for result in results.values()), (name, results)
    bad = [
        (module, name)
        for module, name in accepted
        if not (SCHEDULE_NAME_RE if module == "schedule" else JOB_NAME_RE).fullmatch(name)
    ]
    assert bad == []
    jobs_dir = tmp_path / "config" / "backups.d"
    assert all(JOB_NAME_RE.fullmatch(entry[: -len(".yaml")]) for entry in os.listdir(jobs_dir))
    record_figures("injection names", strings=len(names), accepted=len(accepted))


def test_runner_refuses_hostile_job_names(tmp_path):
    """The runner's command line: a hostile job name never reaches a path (exit 2, no state, no lock, no log)."""
    prefix = Prefix(tmp_path / "host")
    prefix.install_runner()
    before = snapshot(tmp_path)
    for name in ("../../etc/passwd", "nginx\n", "a/b", "-rf", "..", "nginx\x1b[2J", "/etc/passwd"):
        for verb in ("backup", "status", "restore"):
            completed = prefix.run(verb, name)
            assert completed.returncode == 2, (verb, name, completed.stderr)
            assert "invalid job name" in completed.stderr or "usage:" in completed.stderr, completed.stderr
    assert tree_difference(before, snapshot(tmp_path)) == []
