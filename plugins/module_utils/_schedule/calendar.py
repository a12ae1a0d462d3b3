# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cron expressions as systemd ``OnCalendar=`` lines that elapse at exactly the same minutes.

The expression is read the way cron reads it (``cron.cron_times``: the values of each field, and whether the
day-of-month and day-of-week fields combine with OR). Each field becomes a list of values (runs of three or
more consecutive values as ``a..b``). One line says what cron says, except when cron ORs the two day fields:
``OnCalendar=`` ANDs a weekday with a date, so that schedule takes two lines, one per day field; a timer with
several ``OnCalendar=`` lines elapses at the union of their times.
"""

from __future__ import annotations

from collections.abc import Iterable

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.cron import REBOOT, cron_times

WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")  # cron's numbering: Sunday is 0


def _runs(values: Iterable[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for value in sorted(values):
        if runs and value == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


def _component(values: frozenset[int], low: int, high: int, width: int) -> str:
    """``*`` for every value, else a comma list with ``a..b`` for runs of three or more."""
    if values == frozenset(range(low, high + 1)):
        return "*"
    parts = []
    for first, last in _runs(values):
        if last - first >= 2:
            parts.append(f"{first:0{width}d}..{last:0{width}d}")
        else:
            parts.extend(f"{value:0{width}d}" for value in range(first, last + 1))
    return ",".join(parts)


def _weekdays(values: frozenset[int]) -> str:
    """Weekday names in cron's order (Sunday first), without ranges: systemd's weekday ranges start on Monday."""
    return ",".join(WEEKDAYS[value] for value in sorted(values))


def on_calendar(expression: str, job: str | None = None) -> list[str]:
    """``OnCalendar=`` values for a written cron expression (5 fields, a preset or a macro, no ``H``)."""
    if expression.strip() == REBOOT:
        raise SmgrError("'@reboot' has no calendar times (a timer would use OnBootSec=)", job=job, field="schedule")
    times = cron_times(expression, job)
    clock = f"{_component(times.hours, 0, 23, 2)}:{_component(times.minutes, 0, 59, 2)}:00"
    months = _component(times.months, 1, 12, 2)
    days = _component(times.days, 1, 31, 2)
    every_weekday = times.weekdays == frozenset(range(7))
    if times.day_or:
        # cron: a day matches when its day of month OR its weekday does
        return [f"*-{months}-{days} {clock}", f"{_weekdays(times.weekdays)} *-{months}-* {clock}"]
    weekday = "" if every_weekday else f"{_weekdays(times.weekdays)} "
    return [f"{weekday}*-{months}-{days} {clock}"]
