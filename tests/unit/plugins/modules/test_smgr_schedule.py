# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""smgr_schedule and smgr_schedule_info as Ansible runs them: argument handling, check mode, bad input."""

from __future__ import annotations

import os

import pytest

from ansible_collections.smgr.server_manager.plugins.modules import smgr_schedule, smgr_schedule_info
from ansible_collections.smgr.server_manager.tests.support.module_harness import run_module


def run(module, args: dict, check: bool = False, diff: bool = False) -> dict:
    return run_module(module, args, check, diff)


GOOD_JOBS = [
    dict(name="backup-nginx", schedule="daily_2am", command="/opt/server-manager/bin/smgr backup nginx"),
    dict(name="cleanup", schedule="H(0-29) 3 * * sun", command="/opt/server-manager/bin/smgr cleanup"),
]


def test_check_real_check_real(target, tmp_path):
    args = dict(target, jobs=GOOD_JOBS, exclusive=True)
    first_check = run(smgr_schedule, args, check=True, diff=True)
    assert first_check["changed"] and not (tmp_path / "cron_d_smgr").exists()
    first = run(smgr_schedule, args, diff=True)
    content = (tmp_path / "cron_d_smgr").read_text()
    assert first["changed"] and first_check["diff"][0]["after"] == content
    assert first["added"] == ["backup-nginx", "cleanup"]
    assert oct(os.stat(tmp_path / "cron_d_smgr").st_mode & 0o777) == "0o644"
    assert not run(smgr_schedule, args, check=True)["changed"]
    assert not run(smgr_schedule, args)["changed"]


def test_mode_drift_is_a_change_and_fixed(target, tmp_path):
    args = dict(target, jobs=GOOD_JOBS)
    run(smgr_schedule, args)
    os.chmod(tmp_path / "cron_d_smgr", 0o600)
    check = run(smgr_schedule, args, check=True, diff=True)
    assert check["changed"] and check["diff"][1] == dict(before=dict(mode="0600"), after=dict(mode="0644"))
    assert run(smgr_schedule, args)["changed"]
    assert os.stat(tmp_path / "cron_d_smgr").st_mode & 0o777 == 0o644
    assert not run(smgr_schedule, args)["changed"]


def test_same_seed_same_minute_other_seed_spreads(target, tmp_path):
    minutes = set()
    for seed in [f"host{n}.example.com" for n in range(12)]:
        args = dict(target, hash_seed=seed, name="backup", schedule="H 2 * * *", command="true")
        first = run(smgr_schedule, args, check=True)["jobs"][0]["expression"]
        assert run(smgr_schedule, args, check=True)["jobs"][0]["expression"] == first
        minutes.add(first)
    assert len(minutes) > 6


def test_info_lists_jobs_and_counts_hand_edits(target, tmp_path):
    run(smgr_schedule, dict(target, jobs=GOOD_JOBS))
    with open(tmp_path / "cron_d_smgr", "a") as handle:
        handle.write("* * * * * root echo hand edit\n")
    info = run(smgr_schedule_info, dict(cron_file=target["cron_file"], next_runs=1))
    assert [job["name"] for job in info["jobs"]] == ["backup-nginx", "cleanup"]
    assert info["jobs"][0]["description"] == "At 02:00"
    assert len(info["jobs"][0]["next_runs"]) == 1
    assert info["foreign_lines"] == 1 and info["exists"] and not info["changed"]


# Each case: extra module arguments, then a text the failure message must contain (naming the field).
BAD_INPUTS = [
    (dict(name="x", schedule="0 2 * * * *", command="true"), "schedule"),
    (dict(name="x", schedule="0 0 2 * * * 2026", command="true"), "schedule"),
    (dict(name="x", schedule="0 2 L * *", command="true"), "schedule"),
    (dict(name="x", schedule="0 2 * * 1#2", command="true"), "schedule"),
    (dict(name="x", schedule="0 2 15W * *", command="true"), "schedule"),
    (dict(name="x", schedule="0 2 ? * *", command="true"), "schedule"),
    (dict(name="x", schedule="60 2 * * *", command="true"), "schedule"),
    (dict(name="x", schedule="0 24 * * *", command="true"), "schedule"),
    (dict(name="x", schedule="0 2 32 * *", command="true"), "schedule"),
    (dict(name="x", schedule="0 2 * 13 *", command="true"), "schedule"),
    (dict(name="x", schedule="0 2 * * 8", command="true"), "schedule"),
    (dict(name="x", schedule="*/0 * * * *", command="true"), "schedule"),
    (dict(name="x", schedule="5-1 * * * *", command="true"), "schedule"),
    (dict(name="x", schedule="H(0-99) * * * *", command="true"), "schedule"),
    (dict(name="x", schedule="H(5-1) * * * *", command="true"), "schedule"),
    (dict(name="x", schedule="H/0 * * * *", command="true"), "schedule"),
    (dict(name="x", schedule="daily_5am", command="true"), "schedule"),
    (dict(name="x", schedule="@fortnightly", command="true"), "schedule"),
    (dict(name="x", schedule="", command="true"), "schedule"),
    (dict(name="x", schedule="0 2 30 feb *", command="true"), "schedule"),
    (dict(name="x", command="true"), "schedule"),
    (dict(name="x", schedule="hourly"), "command"),
    (dict(name="x", schedule="hourly", command="true\nrm -rf /"), "command"),
    (dict(name="x", schedule="hourly", command="true\r"), "command"),
    (dict(name="x", schedule="hourly", command="true\x00"), "command"),
    (dict(name="x", schedule="hourly", command="true\x1b[2J"), "command"),
    (dict(name="x", schedule="hourly", command=""), "command"),
    (dict(name="../etc/passwd", schedule="hourly", command="true"), "name"),
    (dict(name="-rf", schedule="hourly", command="true"), "name"),
    (dict(name=".hidden", schedule="hourly", command="true"), "name"),
    (dict(name="has space", schedule="hourly", command="true"), "name"),
    (dict(name="x" * 65, schedule="hourly", command="true"), "name"),
    (dict(name="x", schedule="hourly", command="true", user="root;id"), "user"),
    (dict(name="x", schedule="hourly", command="true", log="relative/log"), "log"),
    (dict(name="x", schedule="hourly", command="true", log="/var/log/a\nb"), "log"),
    (dict(name="x", schedule="hourly", command="true", cron_file="/etc/cron.d/smgr.conf"), "cron_file"),
    (dict(name="x", schedule="hourly", command="true", crontab_user="no body"), "crontab_user"),
    (dict(name="x", schedule="hourly", command="true", env={"BAD NAME": "1"}), "env"),
    (dict(name="x", schedule="hourly", command="true", env={"PATH": "/bin\nMAILTO=x"}), "env"),
    (dict(jobs=[dict(name="a", schedule="hourly", command="true")] * 2), "listed more than once"),
    (dict(jobs=[dict(name="a", schedule="hourly", command="true"), dict(name="a", state="absent")]), "absent"),
    (dict(jobs=[dict(name="a", schedule="0 2 * * * *", command="true")]), "job 'a': schedule"),
    (dict(name="x", schedule="hourly", command="true", exclusive=True), "exclusive"),
    (dict(name="x", schedule="hourly", command="true", next_runs=-1), "next_runs"),
    (dict(schedule="hourly", command="true"), "name"),
    (dict(name="x", schedule="hourly", command="true", backup=-1), "backup"),
]


@pytest.mark.parametrize(("extra", "expected"), BAD_INPUTS, ids=[f"bad{n:02d}" for n in range(len(BAD_INPUTS))])
def test_bad_input_fails_clearly_and_writes_nothing(target, tmp_path, extra, expected):
    run(smgr_schedule, dict(target, name="keep", schedule="hourly", command="true"))
    path = tmp_path / "cron_d_smgr"
    before = path.read_bytes()
    audit_before = (tmp_path / "logs" / "audit.log").read_bytes()
    args = dict(target, **extra)
    if "jobs" in extra or "name" not in extra:
        args.pop("name", None)
    result = run(smgr_schedule, args)
    assert result["failed"], result
    assert expected in result["msg"], result["msg"]
    assert "Traceback" not in result["msg"]
    assert path.read_bytes() == before
    assert (tmp_path / "logs" / "audit.log").read_bytes() == audit_before
    assert not (tmp_path / "backups").exists() or not os.listdir(tmp_path / "backups")


def test_migrate_tui_removes_the_old_entries_from_a_real_crontab(target, tmp_path, throwaway_user):
    from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import (
        read_user_crontab,
        write_user_crontab,
    )

    foreign = "MAILTO=ops@example.com\n17 1 * * * /usr/local/bin/rotate --all\n"
    tui = (
        "# server-manager: backup_nginx\n"
        "0 2 * * * /opt/server-manager/scripts/automated-backup.sh nginx --verify"
        " >> /opt/server-manager/logs/backup-nginx-cron.log 2>&1\n"
    )
    write_user_crontab(throwaway_user, foreign + tui)
    args = dict(target, jobs=GOOD_JOBS, exclusive=True, migrate_tui=True, migrate_tui_user=throwaway_user)
    args["backup_dir"] = str(tmp_path / "backups")
    checked = run(smgr_schedule, args, check=True, diff=True)
    assert checked["changed"] and [entry["name"] for entry in checked["migrated"]] == ["backup_nginx"]
    assert checked["diff"][-1]["after"] == foreign
    assert read_user_crontab(throwaway_user) == foreign + tui  # check mode changed nothing
    done = run(smgr_schedule, args)
    assert done["changed"] and [entry["name"] for entry in done["migrated"]] == ["backup_nginx"]
    assert read_user_crontab(throwaway_user) == foreign
    with open(done["migration_backup_file"], encoding="utf-8") as handle:
        assert handle.read() == foreign + tui
    again = run(smgr_schedule, args)
    assert not again["changed"] and again["migrated"] == []


def test_migrate_tui_in_the_crontab_the_module_manages(tmp_path, throwaway_user):
    from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import (
        BLOCK_BEGIN,
        read_user_crontab,
        write_user_crontab,
    )

    tui = "# server-manager: cleanup\n0 3 * * 0 /opt/server-manager/scripts/cleanup-backups.sh 30\n"
    write_user_crontab(throwaway_user, "# mine\n" + tui)
    args = dict(
        crontab_user=throwaway_user,
        jobs=[dict(name="cleanup", schedule="daily_3am", command="/opt/server-manager/bin/smgr cleanup")],
        exclusive=True,
        migrate_tui=True,
        migrate_tui_user=throwaway_user,
        lock_dir=str(tmp_path / "lock"),
        backup_dir=str(tmp_path / "backups"),
        audit_log="",
        hash_seed="host1",
    )
    done = run(smgr_schedule, args)
    assert done["changed"] and [entry["name"] for entry in done["migrated"]] == ["cleanup"]
    text = read_user_crontab(throwaway_user)
    assert text.startswith("# mine\n" + BLOCK_BEGIN) and "cleanup-backups.sh" not in text
    assert not run(smgr_schedule, args)["changed"]
