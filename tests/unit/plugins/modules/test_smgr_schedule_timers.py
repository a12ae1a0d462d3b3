# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""smgr_schedule with backend systemd, as Ansible runs it, into a unit directory systemd does not read (files only,
no systemctl): check mode and diff, idempotence, switching backends both ways, bad input. The systemctl side runs
against a real systemd in the Molecule scenario ``timers``."""

from __future__ import annotations

import os
import subprocess

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._schedule import systemd
from ansible_collections.smgr.server_manager.plugins.modules import smgr_schedule, smgr_schedule_info
from ansible_collections.smgr.server_manager.tests.support.module_harness import exit_result, fail_result

JOBS = [
    dict(
        name="backup-nginx",
        schedule="H H(1-4) * * *",
        command="/opt/server-manager/bin/smgr backup nginx",
        log="/var/log/smgr/backup-nginx-cron.log",
        nice=10,
        io_class="idle",
        randomized_delay=300,
    ),
    dict(name="cleanup", schedule="0 3 1 * sun", command="date +%F >> /tmp/stamp; echo $HOME"),
    dict(name="warmup", schedule="@reboot", command="/bin/true"),
    dict(name="paused", schedule="hourly", command="/bin/true", disabled=True),
]
TIMER_OPTIONS = ("nice", "io_class", "randomized_delay", "persistent")


def cron_jobs() -> list[dict]:
    return [{key: value for key, value in job.items() if key not in TIMER_OPTIONS} for job in JOBS]


def unit_files(tmp_path) -> dict[str, str]:
    directory = tmp_path / "units"
    return {path.name: path.read_text() for path in sorted(directory.iterdir())} if directory.exists() else {}


def test_check_real_check_real_writes_what_the_diff_showed(target, tmp_path):
    args = dict(target, backend="systemd", jobs=JOBS, exclusive=True)
    check = exit_result(smgr_schedule, args, check=True)
    assert check["changed"] and unit_files(tmp_path) == {}
    first = exit_result(smgr_schedule, args)
    files = unit_files(tmp_path)
    assert sorted(files) == [
        "smgr-backup-nginx.service",
        "smgr-backup-nginx.timer",
        "smgr-cleanup.service",
        "smgr-cleanup.timer",
        "smgr-paused.service",
        "smgr-paused.timer",
        "smgr-warmup.service",  # @reboot: a service started at boot, no timer
    ]
    shown = {diff["after_header"].rsplit("/", 1)[1]: diff["after"] for diff in check["diff"]}
    assert shown == files
    assert first["units_written"] == sorted(files) and check["units_written"] == first["units_written"]
    assert first["systemd_managed"] is False and first["systemctl"] == []
    assert first["target"] == f"systemd:{tmp_path / 'units'}" and first["backend"] == "systemd"
    assert first["added"] == ["backup-nginx", "cleanup", "paused", "warmup"]
    assert {os.stat(tmp_path / "units" / name).st_mode & 0o777 for name in files} == {0o644}
    assert "OnCalendar=*-*-01 03:00:00\nOnCalendar=Sun *-*-* 03:00:00\n" in files["smgr-cleanup.timer"]
    assert "WantedBy=multi-user.target" in files["smgr-warmup.service"]
    service = files["smgr-backup-nginx.service"]
    assert "Nice=10\nIOSchedulingClass=idle\n" in service and 'Environment="PATH=/usr/local/sbin' in service
    assert "ExecStart=/bin/bash -c " in service and "MAILTO" not in service
    assert "RandomizedDelaySec=300" in files["smgr-backup-nginx.timer"]
    report = {job["name"]: job for job in first["jobs"]}
    assert report["backup-nginx"]["units"] == ["smgr-backup-nginx.service", "smgr-backup-nginx.timer"]
    assert report["paused"]["disabled"] and report["paused"]["next_runs"] == []
    assert not exit_result(smgr_schedule, args, check=True)["changed"]
    assert not exit_result(smgr_schedule, args)["changed"]
    assert "target=systemd:" in (tmp_path / "logs" / "audit.log").read_text()


def test_units_pass_systemd_analyze_verify(target, tmp_path):
    exit_result(smgr_schedule, dict(target, backend="systemd", jobs=JOBS, exclusive=True))
    names = sorted(unit_files(tmp_path))
    completed = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *names],
        cwd=tmp_path / "units",
        capture_output=True,
        text=True,
        check=False,
    )
    # verify checks that the commands exist on this machine: only the smgr runner may be missing here
    problems = [line for line in completed.stderr.splitlines() if "/opt/server-manager/bin/smgr" not in line]
    assert problems == []


def test_jobs_not_listed_are_kept_from_their_record_and_a_single_job_changes_alone(target, tmp_path):
    exit_result(smgr_schedule, dict(target, backend="systemd", jobs=JOBS, exclusive=True))
    before = unit_files(tmp_path)
    single = dict(target, backend="systemd", name="cleanup", schedule="daily_4am", command="/bin/true")
    result = exit_result(smgr_schedule, single)
    assert result["changed_jobs"] == ["cleanup"] and result["units_written"] == [
        "smgr-cleanup.service",
        "smgr-cleanup.timer",
    ]
    after = unit_files(tmp_path)
    assert {name for name in after if after[name] != before[name]} == {"smgr-cleanup.service", "smgr-cleanup.timer"}
    assert len(result["jobs"]) == 4 and not exit_result(smgr_schedule, single)["changed"]
    removed = exit_result(smgr_schedule, dict(target, backend="systemd", name="cleanup", state="absent"))
    assert removed["removed"] == ["cleanup"] and removed["units_removed"] == [
        "smgr-cleanup.service",
        "smgr-cleanup.timer",
    ]


def test_switching_backends_moves_every_job_in_one_run(target, tmp_path):
    cron_file = tmp_path / "cron_d_smgr"
    exit_result(smgr_schedule, dict(target, jobs=cron_jobs(), exclusive=True))
    assert "backup-nginx" in cron_file.read_text()
    to_systemd = dict(target, backend="systemd", jobs=JOBS, exclusive=True)
    check = exit_result(smgr_schedule, to_systemd, check=True)
    everything = ["backup-nginx", "cleanup", "paused", "warmup"]
    assert check["other_backend"] == dict(target=str(cron_file), removed=everything)
    assert cron_file.exists() and unit_files(tmp_path) == {}
    assert check["diff"][-1]["after_header"] == f"{cron_file} (absent)"
    switched = exit_result(smgr_schedule, to_systemd)
    assert (
        not cron_file.exists()
        and len(unit_files(tmp_path)) == 7
        and switched["added"] == sorted(job["name"] for job in JOBS)
    )
    back = exit_result(smgr_schedule, dict(target, jobs=cron_jobs(), exclusive=True))
    assert back["other_backend"]["removed"] == ["backup-nginx", "cleanup", "paused", "warmup"]
    assert unit_files(tmp_path) == {} and back["units_removed"] and "backup-nginx" in cron_file.read_text()
    assert not exit_result(smgr_schedule, dict(target, jobs=cron_jobs(), exclusive=True))["changed"]


def test_a_job_moved_alone_leaves_the_others_where_they_are(target, tmp_path):
    exit_result(smgr_schedule, dict(target, jobs=cron_jobs(), exclusive=True))
    moved = exit_result(smgr_schedule, dict(target, backend="systemd", **JOBS[0]))
    assert moved["other_backend"]["removed"] == ["backup-nginx"]
    text = (tmp_path / "cron_d_smgr").read_text()
    assert "backup-nginx" not in text and "cleanup" in text
    assert sorted(unit_files(tmp_path)) == ["smgr-backup-nginx.service", "smgr-backup-nginx.timer"]


def test_disable_all_removes_only_our_units(target, tmp_path):
    exit_result(smgr_schedule, dict(target, backend="systemd", jobs=JOBS, exclusive=True))
    (tmp_path / "units" / "other.service").write_text("[Service]\nExecStart=/bin/true\n")
    (tmp_path / "units" / "smgr-hand.timer").write_text("[Timer]\nOnCalendar=daily\n")  # no marker: not ours
    result = exit_result(smgr_schedule, dict(target, backend="systemd", jobs=[], exclusive=True))
    assert result["removed"] == ["backup-nginx", "cleanup", "paused", "warmup"]
    assert sorted(unit_files(tmp_path)) == ["other.service", "smgr-hand.timer"]


def test_info_reports_timers_like_cron_entries(target, tmp_path):
    exit_result(smgr_schedule, dict(target, backend="systemd", jobs=JOBS, exclusive=True))
    info = exit_result(smgr_schedule_info, dict(unit_dir=target["unit_dir"], backend="systemd"))
    jobs = {job["name"]: job for job in info["jobs"]}
    assert sorted(jobs) == ["backup-nginx", "cleanup", "paused", "warmup"]
    assert len(jobs["cleanup"]["next_runs"]) == 3 and jobs["cleanup"]["description"]
    assert jobs["backup-nginx"]["timer"] is None  # no systemd reads this directory: nothing to ask it
    assert info["target"] == f"systemd:{target['unit_dir']}" and info["exists"]


BAD = [
    (dict(backend="cron", jobs=[dict(JOBS[1], nice=5)]), "job 'cleanup': nice: is an option of systemd timers"),
    (dict(backend="cron", jobs=[dict(JOBS[1], persistent=False)]), "job 'cleanup': persistent: is an option of"),
    (dict(backend="systemd", jobs=[dict(JOBS[1], nice=25)]), "job 'cleanup': nice: must be between -20 and 19"),
    (
        dict(backend="systemd", jobs=[dict(JOBS[1], randomized_delay=-1)]),
        "job 'cleanup': randomized_delay: must be from 0",
    ),
    (dict(backend="systemd", jobs=[dict(JOBS[1], schedule="61 * * * *")]), "job 'cleanup': schedule:"),
    (dict(backend="systemd", jobs=[dict(JOBS[1], name="bad name")]), "job 'bad name'"),
    (dict(backend="systemd", jobs=[dict(JOBS[1], command="a\nb")]), "job 'cleanup': command:"),
    (dict(backend="systemd", jobs=[dict(JOBS[1])], env=dict(SHELL="bash")), "env.SHELL: must be an absolute path"),
]


@pytest.mark.parametrize(("extra", "expected"), BAD, ids=[str(index) for index in range(len(BAD))])
def test_bad_input_names_the_field_and_writes_nothing(target, tmp_path, extra, expected):
    exit_result(smgr_schedule, dict(target, jobs=cron_jobs()[1:2]))
    cron_before = (tmp_path / "cron_d_smgr").read_text()
    failed = fail_result(smgr_schedule, dict(target, **extra))
    assert expected in failed["msg"]
    assert unit_files(tmp_path) == {} and (tmp_path / "cron_d_smgr").read_text() == cron_before


def test_unit_dir_that_is_a_file_or_a_foreign_unit_is_refused_before_writing(target, tmp_path):
    (tmp_path / "units").write_text("not a directory")
    failed = fail_result(smgr_schedule, dict(target, backend="systemd", jobs=JOBS))
    assert failed["msg"].startswith("unit_dir: ") and "is not a directory" in failed["msg"]
    (tmp_path / "units").unlink()
    (tmp_path / "units").mkdir()
    (tmp_path / "units" / "smgr-cleanup.timer").write_text("[Timer]\nOnCalendar=daily\n")
    failed = fail_result(smgr_schedule, dict(target, backend="systemd", jobs=JOBS))
    assert "smgr-cleanup.timer exists and was not written by smgr_schedule" in failed["msg"]
    assert unit_files(tmp_path) == {"smgr-cleanup.timer": "[Timer]\nOnCalendar=daily\n"}


def test_systemd_unit_dir_on_a_host_without_systemd_fails_before_writing(target, tmp_path, monkeypatch):
    monkeypatch.setattr(systemd, "SYSTEMD_RUNNING_DIR", str(tmp_path / "no-systemd"))  # as in a plain container
    failed = fail_result(smgr_schedule, dict(target, backend="systemd", unit_dir="/etc/systemd/system", jobs=JOBS))
    assert failed["msg"].startswith("backend: systemd is not running on this host")
    assert not [name for name in os.listdir("/etc/systemd/system") if name.startswith("smgr-")]


def test_a_cron_run_for_another_cron_file_leaves_the_timers_alone(target, tmp_path):
    exit_result(smgr_schedule, dict(target, backend="systemd", jobs=JOBS, exclusive=True))
    other = dict(target, cron_file=str(tmp_path / "cron_d_other"))
    result = exit_result(smgr_schedule, dict(other, jobs=cron_jobs()[1:2], exclusive=True))
    assert "other_backend" not in result and len(unit_files(tmp_path)) == 7


def test_a_users_crontab_job_moved_to_systemd_still_runs_as_that_user(target, tmp_path, throwaway_user):
    crontab = dict(target, crontab_user=throwaway_user)
    crontab.pop("cron_file")
    job = dict(name="mine", schedule="@daily", command="id")
    exit_result(smgr_schedule, dict(crontab, **job))
    moved = exit_result(smgr_schedule, dict(crontab, backend="systemd", **job))
    assert moved["jobs"][0]["user"] == throwaway_user and moved["other_backend"]["removed"] == ["mine"]
    assert f"User={throwaway_user}" in unit_files(tmp_path)["smgr-mine.service"]


def test_the_cron_side_keeps_the_environment_it_was_written_with(target, tmp_path):
    exit_result(smgr_schedule, dict(target, jobs=cron_jobs(), exclusive=True, env={"SHELL": "/bin/sh"}))
    before = (tmp_path / "cron_d_smgr").read_text()
    moved = dict(target, backend="systemd", **JOBS[1])
    assert exit_result(smgr_schedule, moved)["other_backend"]["removed"] == ["cleanup"]
    after = (tmp_path / "cron_d_smgr").read_text()
    assert "SHELL=/bin/sh" in after and "PATH=" not in after and after != before
    assert not exit_result(smgr_schedule, moved)["changed"]
