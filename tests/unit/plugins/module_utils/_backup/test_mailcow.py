# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Mailcow jobs against the stand-in ``backup_and_restore.sh`` (same arguments, same layout, silent failures)."""

from __future__ import annotations

import json
import subprocess

import pytest

from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix, copy_mailcow_standin


def setup_job(tmp_path, mode, **job):
    prefix = Prefix(tmp_path / "host")
    mailcow = copy_mailcow_standin(tmp_path / "mailcow-dockerized", mode)
    prefix.add_job(name="mail", type="mailcow", mailcow_dir=str(mailcow), **job)
    return prefix, mailcow


def archive_listing(archive):
    return subprocess.run(
        f"zstd -dc '{archive}' | tar -tf -", shell=True, check=True, capture_output=True, text=True
    ).stdout.splitlines()


def test_dump_is_checked_and_archived(tmp_path):
    prefix, mailcow = setup_job(tmp_path, "ok", mailcow_threads=3)
    result = prefix.run_json("backup", "mail", check=0)
    names = archive_listing(result["archive"])
    dump = [n for n in names if n.startswith("mailcow-") and n.endswith("/")]
    assert len(dump) == 1
    for component in ("vmail", "crypt", "redis", "rspamd", "postfix", "mariadb"):
        assert f"{dump[0]}backup_{component}.tar.zst" in names
    assert f"{dump[0]}mailcow.conf" in names
    calls = (mailcow / ".standin-calls").read_text().splitlines()
    assert len(calls) == 1 and calls[0].startswith("args=backup all threads=3 location=")
    assert "/.smgr-staging-" in calls[0]
    assert [p.name for p in prefix.dest("mail").iterdir() if p.name.startswith(".smgr-staging-")] == []


def test_selected_components_only(tmp_path):
    prefix, mailcow = setup_job(tmp_path, "ok", mailcow_components=["vmail", "mysql"])
    names = archive_listing(prefix.run_json("backup", "mail", check=0)["archive"])
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.endswith(".tar.zst")) == [
        "backup_mariadb.tar.zst",
        "backup_vmail.tar.zst",
    ]
    assert "args=backup vmail mysql threads=1" in (mailcow / ".standin-calls").read_text()


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("silent-missing", "mysql: backup_mariadb.tar.zst is missing"),
        ("silent-corrupt", "redis: backup_redis.tar.zst is corrupt"),
        ("silent-empty", "vmail: backup_vmail.tar.zst is empty"),
        ("two-dirs", "left 2 dump directories"),
        ("fail", "left 0 dump directories"),
    ],
)
def test_silent_failures_are_caught(tmp_path, mode, expected):
    prefix = setup_job(tmp_path, mode)[0]
    result = json.loads(prefix.run("--json", "backup", "mail", check=1).stdout)
    assert expected in result["error"]
    assert prefix.archives("mail") == []
    assert [p.name for p in prefix.dest("mail").iterdir()] == []  # staging removed too


def test_timeout_stops_the_script(tmp_path):
    prefix = setup_job(tmp_path, "hang", timeout=1)[0]
    result = json.loads(prefix.run("--json", "backup", "mail", check=1).stdout)
    assert "did not finish within 1s and was stopped" in result["error"]


def test_missing_mailcow_installation(tmp_path):
    prefix = Prefix(tmp_path / "host")
    prefix.add_job(name="mail", type="mailcow", mailcow_dir=str(tmp_path / "nowhere"))
    result = json.loads(prefix.run("--json", "backup", "mail", check=1).stdout)
    assert "helper-scripts/backup_and_restore.sh not found" in result["error"]
