# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cron expressions as OnCalendar= lines: the next 20 elapses of the real ``systemd-analyze calendar`` equal
croniter's next 20 (through the project's own next_runs) for generated expressions, in UTC, and in a zone with
daylight saving time everywhere except within two hours of a clock change, where cron and systemd are known to
differ (pinned down by the last test and documented in docs/scheduling.md)."""

from __future__ import annotations

import os
import random
import re
import subprocess
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.calendar import on_calendar
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.cron import (
    PRESETS,
    expand_schedule,
    next_runs,
)

BASE = datetime(2025, 12, 31, 23, 59, 30, tzinfo=timezone.utc)  # between minutes: "after" means the same to both
ITERATIONS = 20
ELAPSE = re.compile(r"(?:Next elapse|Iter\. #\d+): \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d):00 UTC")
FIELD_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


DST_ZONE = "Europe/Berlin"
UTC_ELAPSE = re.compile(r"\(in UTC\): \w{3} (\d{4}-\d\d-\d\d \d\d:\d\d):00 UTC")


def systemd_elapses(lines: list[str], base: datetime = BASE, zone: str = "UTC") -> list[str]:
    """The first ITERATIONS distinct elapses of a timer with these OnCalendar= lines in time zone ``zone``, from
    ``base``, in UTC."""
    completed = subprocess.run(
        [
            "systemd-analyze",
            "calendar",
            f"--iterations={ITERATIONS}",
            f"--base-time={base.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC",
            *lines,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": zone, "SYSTEMD_COLORS": "0"},
        check=True,
    )
    pattern = ELAPSE if zone == "UTC" else UTC_ELAPSE
    return sorted(set(pattern.findall(completed.stdout)))[:ITERATIONS]


def cron_elapses(expression: str, base: datetime = BASE, zone: str = "UTC") -> list[str]:
    """cron's next ITERATIONS runs in time zone ``zone`` from ``base``, in UTC."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        runs = next_runs(expression, ITERATIONS, base)
    finally:
        if previous is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = previous
        time.tzset()
    return [f"{datetime.fromisoformat(run).astimezone(timezone.utc):%Y-%m-%d %H:%M}" for run in runs]


def random_field(rng: random.Random, low: int, high: int) -> str:
    kind = rng.choice(["star", "star", "value", "list", "range", "step", "range_step", "star_step"])
    if kind == "star":
        return "*"
    if kind == "value":
        return str(rng.randint(low, high))
    if kind == "list":
        return ",".join(str(v) for v in sorted(rng.sample(range(low, high + 1), rng.randint(2, 4))))
    first = rng.randint(low, high - 1)
    last = rng.randint(first + 1, high)
    if kind == "range":
        return f"{first}-{last}"
    step = rng.randint(2, max(2, (high - low) // 2))
    if kind == "step":
        return f"{first}/{step}"
    if kind == "star_step":
        return f"*/{step}"
    return f"{first}-{last}/{step}"


def generated_expressions(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    found: list[str] = []
    while len(found) < count:
        text = " ".join(random_field(rng, low, high) for low, high in FIELD_RANGES)
        try:
            found.append(expand_schedule(text, "seed", "job"))
        except SmgrError:
            continue  # what the cron backend refuses is not converted either
    return found


def test_examples():
    assert on_calendar("30 2 * * *") == ["*-*-* 02:30:00"]
    assert on_calendar("0 4 * * 0") == ["Sun *-*-* 04:00:00"]
    assert on_calendar("*/15 8-18 * * 1-5") == ["Mon,Tue,Wed,Thu,Fri *-*-* 08..18:00,15,30,45:00"]
    assert on_calendar("0 3 1,15 * 1") == ["*-*-01,15 03:00:00", "Mon *-*-* 03:00:00"]  # cron's OR
    assert on_calendar("0 0 1 1 *") == ["*-01-01 00:00:00"]


def test_reboot_has_no_calendar():
    with pytest.raises(SmgrError, match="OnBootSec"):
        on_calendar("@reboot")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset(name):
    expression = expand_schedule(name, "seed", "job")
    assert systemd_elapses(on_calendar(expression)) == cron_elapses(expression)


def test_generated_expressions_elapse_when_cron_runs():
    """1,000 generated expressions, each against the real systemd-analyze."""
    mismatches = []
    for expression in generated_expressions(1000, seed=20261204):
        lines = on_calendar(expression)
        ours, theirs = systemd_elapses(lines), cron_elapses(expression)
        if ours != theirs:
            mismatches.append((expression, lines, ours[:3], theirs[:3]))
    assert mismatches == []


def clock_changes(zone: str, year: int) -> list[datetime]:
    """The instants (UTC) at which ``zone``'s offset changes in ``year``."""
    tz = ZoneInfo(zone)
    changes = []
    instant = datetime(year, 1, 1, tzinfo=timezone.utc)
    while instant.year == year:
        following = instant + timedelta(hours=1)
        if instant.astimezone(tz).utcoffset() != following.astimezone(tz).utcoffset():
            changes.append(following)
        instant = following
    return changes


def near_a_clock_change(elapse: str, changes: list[datetime]) -> bool:
    instant = datetime.strptime(elapse, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    return any(abs(instant - change) <= timedelta(hours=2) for change in changes)


def test_generated_expressions_elapse_when_cron_runs_in_a_zone_with_daylight_saving_time():
    """500 generated expressions from base times spread over 2026 (a fifth of them just before a clock change):
    the same instants in Europe/Berlin, apart from the hours around the two clock changes."""
    changes = clock_changes(DST_ZONE, 2026) + clock_changes(DST_ZONE, 2027)
    rng = random.Random(20261205)
    mismatches = []
    compared_near_changes = 0
    for expression in generated_expressions(500, seed=20261205):
        if rng.random() < 0.2:
            base = rng.choice(changes[:2]) - timedelta(hours=rng.randint(1, 30), seconds=30)
            compared_near_changes += 1
        else:
            base = BASE + timedelta(days=rng.randint(0, 364), minutes=rng.randint(0, 1439))
        ours, theirs = (
            systemd_elapses(on_calendar(expression), base, DST_ZONE),
            cron_elapses(expression, base, DST_ZONE),
        )
        horizon = min(ours[-1], theirs[-1]) if ours and theirs else ""
        ours = [e for e in ours if e <= horizon and not near_a_clock_change(e, changes)]
        theirs = [e for e in theirs if e <= horizon and not near_a_clock_change(e, changes)]
        if ours != theirs:
            mismatches.append((expression, base, ours[:3], theirs[:3]))
    assert mismatches == [] and compared_near_changes > 50


@pytest.mark.parametrize(
    ("expression", "base", "systemd", "cron"),
    [
        # Spring forward (02:00 CET -> 03:00 CEST): a run inside the skipped hour is skipped by systemd, run at
        # 03:00 CEST by cron (a job of a fixed hour is caught up).
        ("30 2 * * *", "2026-03-28 23:00", ["2026-03-30 00:30"], ["2026-03-29 01:00", "2026-03-30 00:30"]),
        # Fall back (03:00 CEST -> 02:00 CET): both run a fixed time of the repeated hour once, at its first
        # occurrence.
        (
            "30 2 * * *",
            "2026-10-24 22:00",
            ["2026-10-25 00:30", "2026-10-26 01:30"],
            ["2026-10-25 00:30", "2026-10-26 01:30"],
        ),
    ],
)
def test_at_a_clock_change_cron_and_systemd_differ_as_documented(expression, base, systemd, cron):
    start = datetime.strptime(base, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
    assert systemd_elapses(on_calendar(expression), start, DST_ZONE)[: len(systemd)] == systemd
    assert cron_elapses(expression, start, DST_ZONE)[: len(cron)] == cron
