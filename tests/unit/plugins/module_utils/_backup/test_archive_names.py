# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Archive identity: no name of one (host, job) is ever taken for another's, on a shared target too."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import (
    archive_name,
    is_legacy_name,
    parse_archive_name,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import (
    HOST_NAME_RE,
    JOB_NAME_RE,
    Retention,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.remote import parse_listing
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.retention import (
    apply_retention,
    claimed_legacy_archives,
    scan_archives,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
# Valid names, biased towards the characters that separate their parts.
HOSTS = st.from_regex(r"\A[a-z0-9][a-z0-9.-]{0,12}\Z").filter(lambda name: HOST_NAME_RE.match(name) is not None)
JOBS = st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,12}\Z").filter(lambda name: JOB_NAME_RE.match(name) is not None)
TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(timezone.utc))


@settings(max_examples=3000, deadline=None)
@given(HOSTS, JOBS, HOSTS, JOBS, TIMES, st.sampled_from(["zstd", "gzip"]))
def test_a_name_belongs_to_its_own_host_and_job_only(host, job, other_host, other_job, when, compression):
    assume((host, job) != (other_host, other_job))
    name = archive_name(host, job, when, compression)
    assert parse_archive_name(name, host, job) == (when.replace(microsecond=0), compression)
    assert parse_archive_name(name, other_host, other_job) is None
    assert not is_legacy_name(name)


def test_the_names_that_ran_into_each_other_are_now_distinct():
    when = NOW
    web = archive_name("web", "db-main", when, "zstd")
    web_db = archive_name("web-db", "main", when, "zstd")
    assert web != web_db
    assert parse_archive_name(web, "web-db", "main") is None
    assert parse_archive_name(web_db, "web", "db-main") is None


def write(directory, name, age_hours):
    path = directory / name
    path.write_bytes(b"x" * 10)
    (directory / (name + ".sha256")).write_text(f"{'0' * 64}  {name}\n")
    return path


def stamp(age_hours):
    return (NOW - timedelta(hours=age_hours)).strftime("%Y%m%dT%H%M%SZ")


def test_legacy_names_are_still_listed_restorable_and_retained(tmp_path):
    legacy = [write(tmp_path, f"web1-nginx-{stamp(24 * 40 + i)}.tar.zst", 0).name for i in range(3)]
    new = [write(tmp_path, archive_name("web1", "nginx", NOW - timedelta(hours=i), "zstd"), 0).name for i in range(2)]
    listed = [record.name for record in scan_archives(str(tmp_path), "web1", "nginx")]
    assert set(listed) == set(legacy) | set(new)
    assert listed[0] == new[0]  # newest first, old and new names together
    result = apply_retention(str(tmp_path), "web1", "nginx", Retention(keep_days=30, keep_min=3), NOW)
    assert sorted(result.removed) == sorted(legacy[1:])  # the newest legacy one is the third newest overall
    assert claimed_legacy_archives(str(tmp_path), "web1", "nginx") == []


def test_a_shared_target_never_loses_the_other_hosts_archives(tmp_path):
    """web (job db-main) and web-db (job main) share a directory; both wrote web-db-main-<stamp> before 0.2.0."""
    legacy_of_web = write(tmp_path, f"web-db-main-{stamp(1)}.tar.zst", 0).name
    for i in range(3):
        write(tmp_path, archive_name("web", "db-main", NOW - timedelta(hours=i), "zstd"), 0)
        write(tmp_path, archive_name("web-db", "main", NOW - timedelta(days=60 + i), "zstd"), 0)
    policy = Retention(keep_days=30, keep_min=1)
    result = apply_retention(str(tmp_path), "web-db", "main", policy, NOW)
    assert all(name.startswith("web-db+main-") for name in result.removed)
    assert (tmp_path / legacy_of_web).exists()
    assert scan_archives(str(tmp_path), "web-db", "main")[0].name.startswith("web-db+main-")
    assert claimed_legacy_archives(str(tmp_path), "web-db", "main") == [legacy_of_web]
    assert claimed_legacy_archives(str(tmp_path), "web", "db-main") == [legacy_of_web]
    assert len(list(tmp_path.glob("web+db-main-*.tar.zst"))) == 3


def test_remote_listings_follow_the_same_rules():
    lines = [
        f"-rw------- 10 2026/06/01 11:00:00 web-db-main-{stamp(1)}.tar.zst",
        f"-rw------- 10 2026/06/01 11:00:00 {archive_name('web', 'db-main', NOW, 'zstd')}",
        f"-rw------- 10 2026/06/01 11:00:00 {archive_name('web-db', 'main', NOW, 'zstd')}",
    ]
    names = [record.name for record in parse_listing("\n".join(lines), "web-db", "main")]
    assert names == [archive_name("web-db", "main", NOW, "zstd")]
