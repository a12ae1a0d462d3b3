# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service and timer files of a job, checked with the real ``systemd-analyze verify``."""

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import DEFAULT_ENV, CronJob
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.timers import (
    TimerJob,
    parse_service,
    render_units,
    systemd_quote,
    unit_base,
)

COMMANDS = [
    "/opt/server-manager/bin/smgr backup nginx",
    "date +%Y-%m-%d >> /tmp/stamp",
    "echo \"$HOME\" 'single' \\back",
    "tar -czf /tmp/x.tgz /etc | tee /tmp/list; echo done",
]


def timer(name="backup-nginx", expression="17 2 * * *", command="/bin/true", **options) -> TimerJob:
    job_fields = {key: options.pop(key) for key in ("log", "user", "disabled") if key in options}
    return TimerJob(CronJob(name, expression, command, expression, **job_fields), **options)


def verify(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    completed = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *files],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_units_verify_clean_and_read_back(tmp_path, command):
    job = timer(command=command, log="/var/log/smgr/x.log", nice=10, io_class="idle", randomized_delay=300)
    files = render_units(job, DEFAULT_ENV)
    assert verify(tmp_path, files) == (0, "")
    assert sorted(files) == ["smgr-backup-nginx.service", "smgr-backup-nginx.timer"]
    assert "OnCalendar=*-*-* 02:17:00\nPersistent=true\nRandomizedDelaySec=300\n" in files["smgr-backup-nginx.timer"]
    service = files["smgr-backup-nginx.service"]
    assert "Type=oneshot" in service and "Nice=10" in service and "ExecStart=/bin/bash -c " in service
    assert parse_service(service) == job


def test_the_command_runs_as_written_with_its_log(tmp_path):
    """What ExecStart= runs, unquoted as systemd unquotes it, run by the shell: the same output as the command."""
    command = "printf '%s|' \"$0\" 'a b' \\x; echo 100%"
    files = render_units(timer(command=command, log=str(tmp_path / "job.log")), DEFAULT_ENV)
    service = files["smgr-backup-nginx.service"]
    exec_line = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    argv = exec_line[len("ExecStart=") :].split(" ", 2)
    quoted = argv[2]
    assert quoted[0] == quoted[-1] == '"'
    script = quoted[1:-1].replace("%%", "%").replace("$$", "$").replace('\\"', '"').replace("\\\\", "\\")
    subprocess.run([argv[0], argv[1], script], check=True)
    expected = subprocess.run(["/bin/bash", "-c", command], capture_output=True, text=True, check=True).stdout
    assert (tmp_path / "job.log").read_text() == expected


def test_cron_day_or_becomes_two_calendar_lines(tmp_path):
    files = render_units(timer(expression="0 5 1 * 6"), DEFAULT_ENV)
    assert files["smgr-backup-nginx.timer"].count("OnCalendar=") == 2
    assert verify(tmp_path, files) == (0, "")


def test_a_job_at_boot_is_a_service_wanted_by_multi_user(tmp_path):
    files = render_units(timer(expression="@reboot", user="backup"), DEFAULT_ENV)
    assert list(files) == ["smgr-backup-nginx.service"]
    assert "User=backup" in files["smgr-backup-nginx.service"]
    assert "[Install]\nWantedBy=multi-user.target\n" in files["smgr-backup-nginx.service"]


def test_specifiers_and_variables_are_not_expanded_by_systemd():
    assert systemd_quote('a%b $X "q" \\') == '"a%%b $$X \\"q\\" \\\\"'


def test_a_file_that_is_not_ours_or_broken_is_no_job():
    assert parse_service("[Service]\nExecStart=/bin/true\n") is None
    text = render_units(timer(), DEFAULT_ENV)["smgr-backup-nginx.service"]
    assert parse_service(text.replace('"name":', '"nome":')) is None


@pytest.mark.parametrize(
    ("job", "field"),
    [
        (timer(name="bad name"), "name"),
        (timer(nice=20), "nice"),
        (timer(io_class="fast"), "io_class"),
        (timer(randomized_delay=-5), "randomized_delay"),
        (timer(command="a\nb"), "command"),
    ],
)
def test_bad_input_names_the_field(job, field):
    with pytest.raises(SmgrError) as caught:
        render_units(job, DEFAULT_ENV)
    assert caught.value.field == field


def test_unit_names_are_refused_not_escaped():
    with pytest.raises(SmgrError, match="cannot be part of a systemd unit name"):
        unit_base("a@b")


def test_a_multi_line_command_is_refused():
    with pytest.raises(SmgrError, match="one line"):
        systemd_quote("a\nb")
