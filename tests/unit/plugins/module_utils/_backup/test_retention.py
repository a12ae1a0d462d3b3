# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Retention: table-driven over synthetic archive sets, asserting exactly what is removed."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import archive_name
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import Retention
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.retention import (
    ArchiveRecord,
    apply_retention,
    scan_archives,
    select_removals,
    stale_leftovers,
)

NOW = datetime(2026, 3, 15, 12, 0, 0, tzinfo=timezone.utc)


def rec(age_days: float, hour_offset: float = 0, compression: str = "zstd") -> ArchiveRecord:
    when = (NOW - timedelta(days=age_days, hours=hour_offset)).replace(microsecond=0)
    return ArchiveRecord(archive_name("h", "j", when, compression), when, 100, 90, compression)


def ages(records):
    return sorted(round((NOW - r.time).total_seconds() / 86400, 2) for r in records)


TABLE = [
    pytest.param(Retention(30, 3), [rec(d) for d in range(10)], [], id="all-young"),
    pytest.param(Retention(7, 3), [rec(d) for d in range(21)], list(range(7, 21)), id="age-cut-at-7-days"),
    pytest.param(Retention(1, 5), [rec(d) for d in range(10, 21)], list(range(15, 21)), id="keep-min-wins"),
    pytest.param(Retention(0, 2), [rec(d) for d in range(5)], [2, 3, 4], id="count-only"),
    pytest.param(Retention(30, 3), [], [], id="empty"),
    pytest.param(Retention(1, 50), [rec(d) for d in range(40)], [], id="keep-min-above-count"),
    pytest.param(Retention(0, 1), [rec(100)], [], id="single-old-archive-kept"),
    pytest.param(Retention(10, 1), [rec(d) for d in (30, 40, 50)], [40, 50], id="all-old-newest-kept"),
    pytest.param(
        Retention(0, 1, keep_daily=3),
        [rec(d, h) for d in range(6) for h in (0, 6, 12)],
        # newest of days 0, 1, 2 kept (hour offset 0 is the newest of each day at 12:00 UTC)
        sorted([d + h / 24 for d in range(6) for h in (0, 6, 12) if not (d < 3 and h == 0)]),
        id="daily",
    ),
    pytest.param(
        Retention(0, 1, keep_weekly=2),
        [rec(d) for d in range(0, 28)],
        # NOW is Sunday 2026-03-15: weeks are (0..6), (7..13), ...: newest of the two latest weeks: ages 0 and 7
        [d for d in range(28) if d not in (0, 7)],
        id="weekly",
    ),
    pytest.param(
        Retention(0, 1, keep_monthly=3),
        [rec(d) for d in range(0, 120, 5)],
        # March (0), February (15, newest Feb = 2026-02-28 -> age 15), January (45 -> 2026-01-29)
        [d for d in range(0, 120, 5) if d not in (0, 15, 45)],
        id="monthly",
    ),
    pytest.param(
        Retention(3, 1, keep_daily=2, keep_monthly=2),
        [rec(d) for d in range(0, 60, 2)],
        [d for d in range(0, 60, 2) if d not in (0, 2, 16)],
        id="age-plus-daily-plus-monthly",
    ),
    pytest.param(
        Retention(0, 1),
        [rec(5, compression="gzip"), rec(5, compression="zstd")],
        [5],
        id="same-second-two-compressions",
    ),
]


@pytest.mark.parametrize(("policy", "records", "removed_ages"), TABLE)
def test_select_removals(policy, records, removed_ages):
    removed = select_removals(records, policy, NOW)
    assert ages(removed) == sorted(round(a, 2) for a in removed_ages)


@given(
    st.lists(st.integers(min_value=0, max_value=400 * 24), unique=True, max_size=40),
    st.integers(min_value=0, max_value=60),
    st.integers(min_value=1, max_value=10),
    st.one_of(st.none(), st.integers(min_value=1, max_value=10)),
)
@settings(max_examples=150, deadline=None)
def test_invariants(hours, keep_days, keep_min, keep_daily):
    records = [rec(0, h) for h in hours]
    policy = Retention(keep_days, keep_min, keep_daily=keep_daily)
    removed = select_removals(records, policy, NOW)
    newest = sorted(records, key=lambda r: r.time, reverse=True)[:keep_min]
    assert not set(r.name for r in newest) & set(r.name for r in removed)
    assert all(r.time <= NOW - timedelta(days=keep_days) for r in removed) or keep_days == 0
    assert len(removed) <= max(0, len(records) - keep_min)
    assert select_removals([r for r in records if r not in removed], policy, NOW) == []


# --------------------------------------------------------------------------- on disk


def write(path, data=b"x"):
    path.write_bytes(data)
    return path


def name(host, job, days, comp="zstd"):
    return archive_name(host, job, NOW - timedelta(days=days), comp)


def test_apply_only_removes_this_jobs_regular_archives(tmp_path):
    old = NOW - timedelta(days=400)
    mine_old = [name("h", "web", 100), name("h", "web", 200, "gzip")]
    mine_new = [name("h", "web", 0), name("h", "web", 1)]
    for item in mine_old + mine_new:
        write(tmp_path / item, b"12345")
        write(tmp_path / f"{item}.sha256", b"abc")
    foreign = [
        name("h", "web-data", 300),  # another job whose name starts like this one
        name("other", "web", 300),  # another host
        "h-web-garbage.tar.zst",  # not a timestamp
        "h-web-20200101T000000Z.tar.zst.partial",  # partial of a crashed run
        "h-web-20200101T000000Z.tar",  # not our suffix
        "notes.txt",
    ]
    for item in foreign:
        write(tmp_path / item)
    target = tmp_path / "precious"
    write(target, b"do not follow me")
    os.symlink(target, tmp_path / name("h", "web", 500))  # a symlink named like an archive
    os.mkdir(tmp_path / name("h", "web", 600))  # a directory named like an archive

    dry = apply_retention(str(tmp_path), "h", "web", Retention(30, 1), NOW, dry_run=True)
    assert sorted(dry.removed) == sorted(mine_old) and dry.freed_bytes == 2 * (5 + 3)
    assert all((tmp_path / item).exists() for item in mine_old)

    result = apply_retention(str(tmp_path), "h", "web", Retention(30, 1), NOW)
    assert sorted(result.removed) == sorted(mine_old)
    assert result.freed_bytes == 2 * (5 + 3)
    assert sorted(result.kept) == sorted(mine_new)
    remaining = sorted(os.listdir(tmp_path))
    expected = sorted(
        mine_new
        + [f"{n}.sha256" for n in mine_new]
        + foreign
        + ["precious", name("h", "web", 500), name("h", "web", 600)]
    )
    assert remaining == expected
    assert target.read_bytes() == b"do not follow me"
    assert old < NOW


def test_apply_on_missing_directory(tmp_path):
    result = apply_retention(str(tmp_path / "nope"), "h", "web", Retention(), NOW)
    assert result.removed == [] and result.freed_bytes == 0


def test_scan_sorts_newest_first_and_reads_sidecar_size(tmp_path):
    a = archive_name("h", "j", NOW - timedelta(days=2), "zstd")
    b = archive_name("h", "j", NOW - timedelta(days=1), "gzip")
    write(tmp_path / a, b"aaaa")
    write(tmp_path / b, b"bb")
    write(tmp_path / f"{b}.sha256", b"s" * 80)
    records = scan_archives(str(tmp_path), "h", "j")
    assert [(r.name, r.size, r.sidecar_size, r.compression) for r in records] == [
        (b, 2, 80, "gzip"),
        (a, 4, 0, "zstd"),
    ]


def test_stale_leftovers(tmp_path):
    kept = archive_name("h", "j", NOW, "zstd")
    write(tmp_path / kept)
    write(tmp_path / f"{kept}.sha256")
    orphan = archive_name("h", "j", NOW - timedelta(days=1), "zstd")
    write(tmp_path / f"{orphan}.sha256")
    partial = archive_name("h", "j", NOW - timedelta(days=2), "zstd") + ".partial"
    write(tmp_path / partial)
    write(tmp_path / (archive_name("h", "other", NOW, "zstd") + ".partial"))
    assert stale_leftovers(str(tmp_path), "h", "j") == {f"{orphan}.sha256": "orphan sidecar", partial: "partial"}
