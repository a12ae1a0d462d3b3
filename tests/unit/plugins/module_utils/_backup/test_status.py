# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_backup.status: a job's next run comes from its cron entry or its systemd timer, read with smgr_schedule's own
parsers."""

from __future__ import annotations

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.status import next_run, scheduled_entries
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule import crontab
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import (
    DEFAULT_ENV,
    CronJob,
    render_block,
    render_cron_file,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.timers import TimerJob, render_units

RUNNER = "/opt/server-manager/bin/smgr"


def entry(name: str, expression: str, command: str, disabled: bool = False) -> CronJob:
    return CronJob(name=name, expression=expression, command=command, schedule=expression, disabled=disabled)


ENTRIES = [
    entry("backup-app", "30 2 * * *", f"{RUNNER} backup app"),
    entry("backup-app-data", "0 3 * * *", f"{RUNNER} backup app-data"),
    entry("backup-web", "@hourly", f"{RUNNER} backup web"),
    entry("backup-off", "0 1 * * *", f"{RUNNER} backup off", disabled=True),
    # A command that mentions another job is not that job's entry: the entry name decides.
    entry("report", "0 5 * * *", f"echo {RUNNER} backup other"),
]


def test_next_runs_come_from_the_entries_of_the_owned_cron_file(tmp_path):
    cron = tmp_path / "smgr"
    cron.write_text(render_cron_file(ENTRIES))
    assert "T02:30:00" in next_run("app", scheduled_entries(str(cron)))
    assert "T03:00:00" in next_run("app-data", scheduled_entries(str(cron)))
    assert next_run("web", scheduled_entries(str(cron))).split("T")[1][2:8] == ":00:00"
    assert next_run("off", scheduled_entries(str(cron))) is None
    assert next_run("other", scheduled_entries(str(cron))) is None


def test_lines_not_written_by_smgr_schedule_are_not_entries(tmp_path):
    cron = tmp_path / "smgr"
    cron.write_text(f"0 3 * * * root {RUNNER} backup app\n")
    assert next_run("app", scheduled_entries(str(cron))) is None


def test_without_the_cron_file_the_users_crontab_block_is_read(tmp_path, monkeypatch):
    crontab_text = "MAILTO=me\n0 0 * * * /usr/bin/true\n" + render_block(ENTRIES)
    monkeypatch.setattr(crontab, "read_user_crontab", lambda user: crontab_text)
    missing = str(tmp_path / "missing")
    assert [job.name for job in scheduled_entries(missing)] == sorted(job.name for job in ENTRIES)
    assert "T02:30:00" in next_run("app", scheduled_entries(missing))


def test_no_cron_file_and_no_crontab_means_no_next_run(tmp_path, monkeypatch):
    def no_crontab(user):
        raise OSError("crontab not installed")

    monkeypatch.setattr(crontab, "read_user_crontab", no_crontab)
    assert next_run("app", scheduled_entries(str(tmp_path / "missing"))) is None


def test_jobs_scheduled_as_timers_are_read_from_the_unit_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(crontab, "read_user_crontab", lambda user: "")
    units = tmp_path / "units"
    units.mkdir()
    for job in ENTRIES[:2]:
        for name, text in render_units(TimerJob(job), DEFAULT_ENV).items():
            (units / name).write_text(text)
    entries = scheduled_entries(str(tmp_path / "missing"), str(units))
    assert sorted(entries, key=lambda job: job.name) == sorted(ENTRIES[:2], key=lambda job: job.name)
    assert "T02:30:00" in next_run("app", entries) and next_run("web", entries) is None
