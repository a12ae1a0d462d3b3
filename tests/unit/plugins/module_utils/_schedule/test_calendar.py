# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""cron expressions as OnCalendar= lines: the next 20 elapses of the real ``systemd-analyze calendar`` equal
croniter's next 20 (through the project's own next_runs) for generated expressions, in UTC."""

from __future__ import annotations

import os
import random
import re
import subprocess
from datetime import datetime, timezone

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


def systemd_elapses(lines: list[str]) -> list[str]:
    """The first ITERATIONS distinct elapses of a timer with these OnCalendar= lines, from BASE, in UTC."""
    completed = subprocess.run(
        [
            "systemd-analyze",
            "calendar",
            f"--iterations={ITERATIONS}",
            f"--base-time={BASE:%Y-%m-%d %H:%M:%S} UTC",
            *lines,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": "UTC", "SYSTEMD_COLORS": "0"},
        check=True,
    )
    return sorted(set(ELAPSE.findall(completed.stdout)))[:ITERATIONS]


def cron_elapses(expression: str) -> list[str]:
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    try:
        runs = next_runs(expression, ITERATIONS, BASE)
    finally:
        if previous is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = previous
    return [run[:16].replace("T", " ") for run in runs]


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
