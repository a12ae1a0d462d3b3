# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller-side filters report exactly what the modules would refuse on the host."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def filters(load_filter, filter_error):
    return (
        load_filter("schedule_problems").schedule_problems,
        load_filter("backup_job_problems").backup_job_problems,
        filter_error,
    )


def test_valid_schedules_have_no_problems(filters):
    schedule_problems, _backup_job_problems, _error = filters
    assert schedule_problems({"a": "daily_2am", "b": "H H(1-4) * * *", "c": "@weekly"}, "host1") == []


def test_each_invalid_schedule_is_named(filters):
    schedule_problems, _backup_job_problems, _error = filters
    problems = schedule_problems({"ok": "hourly", "bad": "0 25 * * *", "worse": "0 0 2 * * *"}, "host1")
    assert len(problems) == 2
    assert problems[0].startswith("job 'bad': schedule")
    assert problems[1].startswith("job 'worse': schedule")


def test_backup_jobs_checked_like_the_module(filters):
    _schedule_problems, backup_job_problems, _error = filters
    jobs = [
        {"name": "app", "type": "paths", "paths": ["/srv/app"]},
        {"name": "rel", "type": "paths", "paths": ["srv/app"]},
        {"name": "kind", "type": "tarball", "paths": ["/srv"]},
    ]
    problems = backup_job_problems(jobs, "/var/backups/smgr")
    assert len(problems) == 2
    assert "job 'rel'" in problems[0] and "absolute" in problems[0]
    assert "job 'kind'" in problems[1] and "type" in problems[1]


@pytest.mark.parametrize("value", ["daily_2am", ["x"], None])
def test_wrong_input_types_are_refused(filters, value):
    schedule_problems, backup_job_problems, AnsibleFilterError = filters
    with pytest.raises(AnsibleFilterError):
        schedule_problems(value)
    if not isinstance(value, list):
        with pytest.raises(AnsibleFilterError):
            backup_job_problems(value, "/var/backups/smgr")
