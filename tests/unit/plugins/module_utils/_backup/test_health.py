# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Health: each job's allowed age follows its own schedule; partial runs and stale off-site copies are problems."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._backup import run as run_module
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.health import (
    allowed_age,
    backup_age_problems,
    longest_gap,
    offsite_age_problems,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import validate_job
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.state import record_run
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError

NOW = datetime(2026, 6, 3, 12, 0, tzinfo=timezone.utc)  # a Wednesday
DEFAULT = timedelta(hours=26)


def job(**raw):
    return validate_job({"name": "app", "type": "paths", "paths": ["/srv"], **raw})


def stamp(when):
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("expression", "gap"),
    [
        ("0 2 * * *", timedelta(days=1)),
        ("0 2 * * 0", timedelta(days=7)),
        ("0 2 * * 1-5", timedelta(days=3)),  # Friday to Monday
        ("0 */6 * * *", timedelta(hours=6)),
        ("0 3 1 * *", timedelta(days=31)),
    ],
)
def test_the_longest_gap_of_a_schedule(expression, gap):
    assert longest_gap(expression, NOW) == gap


def test_the_allowed_age_follows_the_schedule_unless_the_job_sets_one():
    assert allowed_age(job(), "0 2 * * *", DEFAULT, NOW) == timedelta(hours=26, minutes=24)
    assert allowed_age(job(), "0 2 * * 0", DEFAULT, NOW) == timedelta(days=7, hours=16, minutes=48)
    assert allowed_age(job(), "0 * * * *", DEFAULT, NOW) == timedelta(hours=2)  # at least an hour of margin
    assert allowed_age(job(max_age_hours=50), "0 2 * * *", DEFAULT, NOW) == timedelta(hours=50)
    assert allowed_age(job(), None, DEFAULT, NOW) == DEFAULT  # not scheduled: the health check's --max-age
    assert allowed_age(job(), "@reboot", DEFAULT, NOW) == DEFAULT


@pytest.mark.parametrize("value", [0, -1, "soon", 24 * 401])
def test_a_bad_max_age_is_refused_naming_the_field(value):
    with pytest.raises(SmgrError, match="job 'app': max_age_hours"):
        job(max_age_hours=value)


def test_a_weekly_job_is_not_stale_after_three_days(tmp_path):
    weekly = job()
    record_run(str(tmp_path), "app", {"status": "ok", "local": "ok", "finished": stamp(NOW - timedelta(days=3))})
    limits = {"app": allowed_age(weekly, "0 2 * * 0", DEFAULT, NOW)}
    assert backup_age_problems([weekly], str(tmp_path), limits, NOW) == []
    assert backup_age_problems([weekly], str(tmp_path), {"app": DEFAULT}, NOW)  # the old single limit


def test_a_partial_run_is_no_success_for_health(tmp_path):
    finished = stamp(NOW - timedelta(hours=1))
    record_run(str(tmp_path), "app", {"status": "partial", "local": "ok", "offsite": "failed", "finished": finished})
    (problem,) = backup_age_problems([job()], str(tmp_path), {"app": DEFAULT}, NOW)
    assert problem.message == "has never completed a successful backup"


def test_an_old_offsite_copy_is_reported_per_job(tmp_path):
    remote_job = job(remote="/mnt/offsite")
    old = stamp(NOW - timedelta(days=3))
    record_run(str(tmp_path), "app", {"status": "ok", "local": "ok", "offsite": "ok", "finished": old})
    for _attempt in range(2):
        finished = stamp(NOW - timedelta(hours=1))
        record_run(
            str(tmp_path), "app", {"status": "partial", "local": "ok", "offsite": "failed", "finished": finished}
        )
    (problem,) = offsite_age_problems([remote_job, job(name="local-only")], str(tmp_path), {"app": DEFAULT}, NOW)
    assert problem.job == "app" and problem.check == "offsite_age"
    assert "off-site copy to /mnt/offsite is 72.0 hours old" in problem.message
    assert "2 failed copies in a row" in problem.message


def test_missing_default_nginx_paths_are_skipped_with_a_warning(tmp_path, monkeypatch):
    etc_nginx, letsencrypt = tmp_path / "nginx", tmp_path / "letsencrypt"
    etc_nginx.mkdir()
    defaults = (str(etc_nginx), str(letsencrypt))
    monkeypatch.setattr(run_module, "NGINX_DEFAULT_PATHS", defaults)
    nginx = validate_job({"name": "web", "type": "nginx", "paths": list(defaults)})
    sources, warnings = run_module.existing_sources(nginx)
    assert sources == [str(etc_nginx)]
    assert warnings == [f"default path {letsencrypt} does not exist on this host: not backed up"]
    explicit = validate_job({"name": "web", "type": "nginx", "paths": [str(etc_nginx), str(tmp_path / "other")]})
    with pytest.raises(SmgrError, match="paths: path"):
        run_module.existing_sources(explicit)
    etc_nginx.rmdir()
    with pytest.raises(SmgrError, match="do not exist"):
        run_module.existing_sources(nginx)
