# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service and timer files of a job, checked with the real ``systemd-analyze verify``."""

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.timers import (
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


def verify(tmp_path, units):
    (tmp_path / units.service_name).write_text(units.service)
    (tmp_path / units.timer_name).write_text(units.timer)
    completed = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", units.service_name, units.timer_name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_units_verify_clean(tmp_path, command):
    units = render_units(
        "backup-nginx",
        "17 2 * * *",
        command,
        log_file="/var/log/smgr/x.log",
        nice=10,
        io_class="idle",
        randomized_delay=300,
    )
    assert verify(tmp_path, units) == (0, "")
    assert units.service_name == "smgr-backup-nginx.service" and units.timer_name == "smgr-backup-nginx.timer"
    assert "OnCalendar=*-*-* 02:17:00\nPersistent=true\nRandomizedDelaySec=300\n" in units.timer
    assert "Type=oneshot" in units.service and "Nice=10" in units.service


def test_cron_day_or_becomes_two_calendar_lines(tmp_path):
    units = render_units("drill", "0 5 1 * 6", "/bin/true")
    assert units.timer.count("OnCalendar=") == 2
    assert verify(tmp_path, units) == (0, "")


def test_specifiers_and_variables_are_not_expanded_by_systemd():
    assert systemd_quote('a%b $X "q" \\') == '"a%%b $$X \\"q\\" \\\\"'


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: unit_base("bad name"), "name"),
        (lambda: render_units("j", "0 1 * * *", "x", nice=20), "nice"),
        (lambda: render_units("j", "0 1 * * *", "x", io_class="fast"), "io_class"),
        (lambda: render_units("j", "@reboot", "x"), "schedule"),
    ],
)
def test_bad_input_names_the_field(call, field):
    with pytest.raises(SmgrError) as caught:
        call()
    assert caught.value.field == field


def test_a_multi_line_command_is_refused():
    with pytest.raises(SmgrError, match="one line"):
        systemd_quote("a\nb")
