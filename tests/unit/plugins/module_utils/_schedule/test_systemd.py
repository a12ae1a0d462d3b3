# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Planning the systemd backend: which systemctl calls follow from the unit states systemd reports. Pure: the
states are given as ``systemctl show`` prints them; the calls run against a real systemd in the Molecule
scenario ``timers``."""

from __future__ import annotations

import time

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import DEFAULT_ENV, CronJob
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.systemd import (
    UnitDir,
    UnitState,
    diff_of_timers,
    parse_runtime,
    parse_show,
    plan_timers,
    systemd_reads,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.timers import TimerJob, render_units

ENABLED = UnitState("enabled", "active")
STOPPED = UnitState("disabled", "inactive")


def timer(name, expression="0 2 * * *", disabled=False) -> TimerJob:
    return TimerJob(CronJob(name, expression, "/bin/true", expression, disabled=disabled))


def installed(*jobs: TimerJob) -> UnitDir:
    files = {}
    for job in jobs:
        files.update(render_units(job, DEFAULT_ENV))
    return UnitDir("/etc/systemd/system", files, frozenset(), True)


def test_new_jobs_are_written_reloaded_once_and_enabled():
    plan = plan_timers(installed(), [timer("a"), timer("b")], [], True, DEFAULT_ENV, {})
    assert plan.actions == ["systemctl daemon-reload", "systemctl enable --now smgr-a.timer smgr-b.timer"]
    assert plan.summary == {"added": ["a", "b"], "removed": [], "changed": []}


def test_nothing_to_do_when_files_and_states_match():
    plan = plan_timers(installed(timer("a")), [timer("a")], [], True, DEFAULT_ENV, {"smgr-a.timer": ENABLED})
    assert not plan.changed and plan.actions == []


def test_a_timer_stopped_by_hand_is_started_again_and_reported_changed():
    plan = plan_timers(installed(timer("a")), [timer("a")], [], True, DEFAULT_ENV, {"smgr-a.timer": STOPPED})
    assert plan.actions == ["systemctl enable --now smgr-a.timer"] and plan.written == []
    assert plan.summary["changed"] == ["a"]


def test_a_new_calendar_restarts_the_active_timer():
    plan = plan_timers(
        installed(timer("a")), [timer("a", "0 4 * * *")], [], True, DEFAULT_ENV, {"smgr-a.timer": ENABLED}
    )
    assert plan.actions == ["systemctl daemon-reload", "systemctl restart smgr-a.timer"]
    assert plan.written == ["smgr-a.service", "smgr-a.timer"] and plan.summary["changed"] == ["a"]


def test_disabled_and_removed_jobs_are_stopped_before_their_files_go():
    current = installed(timer("a"), timer("b"))
    states = {"smgr-a.timer": ENABLED, "smgr-b.timer": ENABLED}
    plan = plan_timers(current, [timer("a", disabled=True)], [], True, DEFAULT_ENV, states)
    assert plan.actions == ["systemctl disable --now smgr-a.timer smgr-b.timer", "systemctl daemon-reload"]
    assert plan.removed == ["smgr-b.service", "smgr-b.timer"]
    changes = diff_of_timers(plan)[-1]
    assert changes["before"]["smgr-b.timer"] == "enabled" and changes["after"]["smgr-a.timer"] == "disabled"


def test_a_job_at_boot_enables_its_service_without_a_timer():
    plan = plan_timers(installed(), [timer("warm", "@reboot")], [], True, DEFAULT_ENV, {})
    assert plan.actions == ["systemctl daemon-reload", "systemctl enable smgr-warm.service"]  # not started now
    enabled = UnitState("enabled", "inactive")  # it ran at boot and exited: nothing to start again
    again = plan_timers(
        installed(timer("warm", "@reboot")),
        [timer("warm", "@reboot")],
        [],
        True,
        DEFAULT_ENV,
        {"smgr-warm.service": enabled},
    )
    assert not again.changed


def test_files_only_when_systemctl_is_not_called():
    plan = plan_timers(installed(timer("a")), [], [], True, DEFAULT_ENV, None)
    assert not plan.manage and plan.actions == [] and plan.removed == ["smgr-a.service", "smgr-a.timer"]


def test_systemctl_show_output_is_read_per_unit():
    output = (
        "Id=smgr-a.timer\nUnitFileState=enabled\nActiveState=active\n\n"
        "Id=smgr-b.timer\nUnitFileState=\nActiveState=inactive\n"
    )
    assert parse_show(output) == {"smgr-a.timer": ENABLED, "smgr-b.timer": UnitState("", "inactive")}


def test_only_systemds_own_directories_are_managed(tmp_path):
    assert systemd_reads("/etc/systemd/system") and systemd_reads("/run/systemd/system")
    assert not systemd_reads(str(tmp_path))


def test_systemds_view_of_a_timer_is_read_from_show_output_in_utc(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    output = (
        "Id=smgr-a.service\nResult=exit-code\nExecMainStatus=3\n\n"
        "Id=smgr-a.timer\nUnitFileState=enabled\nActiveState=active\n"
        "NextElapseUSecRealtime=Sat 2026-12-05 02:00:00 UTC\nLastTriggerUSec=\n"
    )
    try:
        runtime = parse_runtime(output, ["smgr-a.timer"])["smgr-a.timer"]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert runtime == {
        "enabled": "enabled",
        "active": "active",
        "next_elapse": "2026-12-05T03:00:00+01:00",
        "last_trigger": None,
        "result": "exit-code",
        "exit_status": "3",
    }


def test_units_of_another_target_are_left_alone_and_not_taken():
    theirs = TimerJob(CronJob("b", "0 2 * * *", "/bin/true", "0 2 * * *"), owner="/etc/cron.d/other")
    current = installed(timer("a"), theirs)
    plan = plan_timers(current, [], [], True, DEFAULT_ENV, {}, owner="")
    assert plan.removed == ["smgr-a.service", "smgr-a.timer"] and plan.after_files == {}
    with pytest.raises(SmgrError, match="belongs to another target"):
        plan_timers(current, [timer("b")], [], False, DEFAULT_ENV, None, owner="")


def test_a_job_kept_without_being_asked_for_keeps_its_files():
    current = installed(timer("a"), timer("b"))
    plan = plan_timers(current, [timer("b")], [], False, {"SHELL": "/bin/sh"}, None)
    assert plan.after_files["smgr-a.service"] == current.files["smgr-a.service"]
    assert plan.written == ["smgr-b.service"]  # only the job asked for takes this run's environment


def test_a_timer_whose_service_record_is_unreadable_is_disabled_when_its_files_go():
    current = installed(timer("a"))
    broken = dict(current.files)
    broken["smgr-a.service"] = broken["smgr-a.service"].replace("X-Smgr-Job=", "X-Smgr-Job=garbage")
    plan = plan_timers(
        UnitDir(current.path, broken, frozenset(), True), [], [], True, DEFAULT_ENV, {"smgr-a.timer": ENABLED}
    )
    assert plan.broken == ["smgr-a.service"] and plan.disable == ["smgr-a.timer"]
    assert plan.removed == ["smgr-a.service", "smgr-a.timer"]
