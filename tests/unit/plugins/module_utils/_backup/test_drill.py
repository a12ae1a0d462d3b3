# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Restore drills against real tar + zstd/gzip archives, intact and damaged on purpose."""

from __future__ import annotations

import os

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.drill import (
    DRILL_PREFIX,
    DrillFailed,
    Member,
    compare,
    drill_archive,
)
from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix, make_odd_tree


@pytest.fixture(params=["zstd", "gzip"])
def archived(request, tmp_path):
    prefix = Prefix(tmp_path / "host")
    tree = make_odd_tree(tmp_path / "data")
    prefix.add_job(name="app", type="paths", paths=[str(tree)], compression=request.param)
    archive = prefix.run_json("backup", "app", check=0)["archive"]
    return prefix, archive


def leftovers(directory):
    return [name for name in os.listdir(directory) if name.startswith(DRILL_PREFIX)]


def test_an_intact_archive_passes(archived):
    _prefix, archive = archived
    entries, size = drill_archive(archive, os.path.dirname(archive))
    assert entries > 15 and size > 300_000
    assert leftovers(os.path.dirname(archive)) == []


def test_a_flipped_byte_fails_naming_the_archive(archived):
    _prefix, archive = archived
    with open(archive, "r+b") as handle:
        handle.seek(os.path.getsize(archive) // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(DrillFailed, match=os.path.basename(archive).replace("+", r"\+")):
        drill_archive(archive, os.path.dirname(archive))
    assert leftovers(os.path.dirname(archive)) == []


def test_a_truncated_archive_fails_naming_the_archive(archived):
    _prefix, archive = archived
    os.truncate(archive, os.path.getsize(archive) * 2 // 3)
    with pytest.raises(DrillFailed) as failed:
        drill_archive(archive, os.path.dirname(archive))
    assert os.path.basename(archive) in str(failed.value)
    assert leftovers(os.path.dirname(archive)) == []


def test_a_missing_sidecar_fails(archived):
    _prefix, archive = archived
    os.unlink(archive + ".sha256")
    with pytest.raises(DrillFailed, match="has no checksum sidecar"):
        drill_archive(archive, os.path.dirname(archive))


def test_a_sidecar_that_does_not_match_fails(archived):
    _prefix, archive = archived
    with open(archive + ".sha256", "w") as handle:
        handle.write(f"{'0' * 64}  {os.path.basename(archive)}\n")
    with pytest.raises(DrillFailed, match="its sidecar says 0000"):
        drill_archive(archive, os.path.dirname(archive))


def test_compare_names_every_kind_of_difference(tmp_path):
    (tmp_path / "file").write_text("12345")
    (tmp_path / "file").chmod(0o640)
    (tmp_path / "extra").write_text("x")
    os.symlink("elsewhere", tmp_path / "link")
    members = [
        Member("file", "file", 4, 0o644, ""),
        Member("link", "symlink", 0, 0o777, "target"),
        Member("gone", "file", 1, 0o644, ""),
    ]
    problems = compare(members, str(tmp_path), 0o7777)
    assert problems == [
        "file: 5 bytes, the archive says 4",
        "file: mode 0640, the archive says 0644",
        "link: not the symlink to target",
        "gone: not restored",
        "extra: restored but not in the archive",
    ]


# --------------------------------------------------------------------------- smgr drill, state, health, metrics


def test_smgr_drill_records_mails_and_health_reports_a_failed_drill(tmp_path, smtp_server):
    server = smtp_server("plain")
    prefix = Prefix(tmp_path / "host")
    prefix.configure_mail(server.port)
    data = tmp_path / "data"
    data.mkdir()
    (data / "f.txt").write_text("payload\n")
    prefix.add_job(name="app", type="paths", paths=[str(data)])
    archive = prefix.run_json("backup", "app", check=0)["archive"]

    good = prefix.run_json("drill", "app", check=0)["jobs"][0]
    assert (good["status"], good["archive"], good["entries"]) == ("ok", archive, 2)
    assert prefix.state("app")["last_drill"]["status"] == "ok"

    os.truncate(archive, os.path.getsize(archive) // 2)
    bad = prefix.run_json("drill", check=1)["jobs"][0]
    assert bad["status"] == "failed" and os.path.basename(archive) in bad["error"]
    state = prefix.state("app")
    assert state["last_drill"]["status"] == "failed" and state["last_good_drill"]["status"] == "ok"
    subjects = [message.message()["Subject"] for message in server.wait_for(1)]
    assert subjects == ["[FAILED] Maintenance: restore drill app on testhost"]

    prefix.update_settings(cron_file=str(tmp_path / "cron"))
    (tmp_path / "cron").write_text(_cron_with_drill())
    health = prefix.run_json("health", "--no-cron-check", "--no-notify", check=1)
    (drill,) = [problem for problem in health["problems"] if problem["check"] == "drill"]
    assert drill["job"] == "app"
    assert drill["message"].startswith(f"last restore drill failed ({os.path.basename(archive)})")


def test_smgr_drill_of_an_unknown_job_is_a_usage_error(tmp_path):
    prefix = Prefix(tmp_path / "host")
    completed = prefix.run("drill", "nope", check=2)
    assert "nope" in completed.stderr


def _cron_with_drill() -> str:
    from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import CronJob, render_cron_file

    return render_cron_file([CronJob("drill", "0 5 * * 6", "smgr drill", "0 5 * * 6")])
