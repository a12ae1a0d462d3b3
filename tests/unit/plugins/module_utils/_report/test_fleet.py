# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report's data: runs expanded as cron reads the expression, collisions, hosts that cannot be read."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._report.fleet import build_report, expand_runs
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.cron import next_runs
from ansible_collections.smgr.server_manager.tests.support.fleet_data import gathered_host

NOW = datetime(2026, 12, 5, 0, 0, 30, tzinfo=timezone.utc)


def entry(name, expression, offset="+00:00", **extra):
    return {
        "name": name,
        "schedule": expression,
        "expression": expression,
        "description": expression,
        "next_runs": [f"2026-12-05T01:00:00{offset}"],
        "disabled": False,
        **extra,
    }


@pytest.mark.parametrize("expression", ["17 2 * * *", "*/20 8-18 * * 1-5", "0 3 1,15 * 0", "45 * * * *", "0 0 29 2 *"])
def test_runs_are_the_cron_runs_of_the_host_zone(expression, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # a zone without daylight saving time: one offset, +05:30
    time.tzset()
    try:
        expected = next_runs(expression, 50, NOW)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    runs = expand_runs(expression, timedelta(hours=5, minutes=30), NOW, NOW + timedelta(days=7))
    in_window = [run for run in expected if datetime.fromisoformat(run) <= NOW + timedelta(days=7)]
    expected_utc = [datetime.fromisoformat(run).astimezone(timezone.utc).isoformat() for run in in_window]
    assert [run.isoformat() for run in runs][: len(expected_utc)] == expected_utc
    if len(expected) < 50:  # every run of the window was computed both ways
        assert len(runs) == len(expected_utc)
    assert os.environ.get("TZ") is None


def test_collisions_on_one_host_and_on_a_shared_target_are_grouped():
    def host(name, schedules, backups=()):
        return {"host": name, "schedules": schedules, "backups": list(backups)}

    web1 = host(
        "web1",
        [entry("backup-site", "0 2 * * *"), entry("cleanup", "0 2 * * 0"), entry("health", "30 7 * * *")],
        [{"name": "site", "remote": "b@vault:/srv", "definition": {"remote_port": 22}}],
    )
    web2 = host(
        "web2",
        [entry("backup-site", "5 2 * * *")],
        [{"name": "site", "remote": "b@vault:/srv", "definition": {"remote_port": 22}}],
    )
    report = build_report([web1, web2], NOW, collision_window_minutes=10)
    kinds = [(c["kind"], c["count"], c["members"]) for c in report["collisions"]]
    assert ("same minute", 1, [["web1", "backup-site"], ["web1", "cleanup"]]) in kinds  # Sunday 6 December
    assert ("shared target", 7, [["web1", "backup-site"], ["web2", "backup-site"]]) in kinds
    assert report["summary"]["collisions"] == 2
    far = build_report([web1, web2], NOW, collision_window_minutes=4)
    assert [c["kind"] for c in far["collisions"]] == ["same minute"]


def test_hosts_that_cannot_be_read_are_kept_and_counted():
    report = build_report(
        [
            {"host": "ghost", "unreachable": True, "error": "unreachable: connection refused"},
            {"host": "bare", "error": "no runner at /opt/server-manager/bin/smgr", "no_runner": True},
            gathered_host("ok", 4, NOW, __import__("random").Random(3)),
        ],
        NOW,
    )
    states = {host["name"]: host["state"] for host in report["hosts"]}
    assert states == {"bare": "no runner", "ghost": "unreachable", "ok": "ok"}
    assert report["summary"]["unreachable"] == 2 and report["summary"]["hosts"] == 3


def test_job_state_comes_from_its_last_runs():
    job = {
        "name": "site",
        "last_run": {"status": "failed", "finished": "2026-12-04T02:00:00Z", "duration": 120},
        "last_success": {"finished": "2026-12-02T02:00:00Z", "duration": 100},
        "archives": [{"time": "2026-12-02T02:00:00Z", "size": 10}, {"time": "2026-12-01T02:00:00Z", "size": 9}],
        "last_drill": {"status": "failed", "finished": "2026-12-03T05:00:00Z"},
        "remote": "b@vault:/srv",
        "definition": {},
    }
    report = build_report([{"host": "web1", "schedules": [entry("backup-site", "0 2 * * *")], "backups": [job]}], NOW)
    (site,) = report["hosts"][0]["entries"]
    assert site["last_status"] == "failed" and site["stale"] and site["age_hours"] == 70.0
    assert site["sizes"] == [["2026-12-01T02:00:00Z", 9], ["2026-12-02T02:00:00Z", 10]]
    assert site["offsite"] == "never" and site["drill"] == "failed" and site["duration"] in (100.0, 120.0)
    assert report["summary"] == {
        "hosts": 1,
        "unreachable": 0,
        "jobs": 1,
        "backups": 1,
        "failing": 1,
        "stale": 1,
        "no_offsite": 1,
        "drills_failed": 1,
        "collisions": 0,
    }
