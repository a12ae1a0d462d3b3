# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cron schedules: presets, macros, 5-field expressions and hashed fields.

``expand_schedule`` turns what a user wrote into the expression written to cron and is
the validator: it accepts only what Debian's cron (Vixie cron 3.0pl1) and croniter both
accept *and* read the same way. ``describe``, ``next_runs`` and ``find_collisions`` work
on the written expression.

Semantics follow Vixie cron, the daemon that runs the jobs:

- day-of-month and day-of-week are combined with OR when both are restricted, and with
  AND when either field starts with ``*`` (the daemon tests the first character, so
  ``*/2`` counts as ``*``); ``next_runs`` passes the matching ``day_or`` to croniter.
  The one case where that AND joins two restricted fields (``0 0 */2 * 1``) is rejected:
  croniter 1.3.5 computes it wrongly and everyone reads it as OR. A day-of-month that
  exists in none of the months (``31 2``) is rejected too (croniter 1.3.5 fails on it);
- croniter reads a day field listing every value (``0-7``) as ``*``; next runs are
  computed with ``* *`` for the day fields in that case, which is what cron's OR means;
- a reversed range (``5-1``, ``fri-mon``, ``mon-sun``) is accepted by crontab(1) but
  matches nothing, while croniter wraps it around: it is rejected;
- ``a/n`` is not cron syntax; it is written as ``a-<last>/n`` (day-of-week: last is 6);
- ``a-a`` is written as ``a`` (croniter 7 reads ``7-7`` as every day).

Hashed fields (``H``, ``H(a-b)``, ``H/n``, ``H(a-b)/n``) are expanded with SHA-256 of the
seed, the job name and the field position, never with croniter's hashing, so the same
seed and job give the same time on every host and with every croniter version.
Changing ``_hash_number`` moves the jobs of every fleet: the unit tests pin its output.
"""

from __future__ import annotations

import calendar
import hashlib
import heapq
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError

try:
    from croniter import croniter as _Croniter
except ImportError:
    _Croniter = None
    HAS_CRONITER = False
    CRONITER_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_CRONITER = True
    CRONITER_IMPORT_ERROR = None

try:
    from cron_descriptor import ExpressionDescriptor as _ExpressionDescriptor
    from cron_descriptor import Options as _DescriptorOptions
except ImportError:
    _ExpressionDescriptor = None
    _DescriptorOptions = None
    HAS_CRON_DESCRIPTOR = False
    CRON_DESCRIPTOR_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_CRON_DESCRIPTOR = True
    CRON_DESCRIPTOR_IMPORT_ERROR = None

FIELD = "schedule"
REBOOT = "@reboot"

PRESETS = {
    "daily_2am": "0 2 * * *",
    "daily_3am": "0 3 * * *",
    "daily_4am": "0 4 * * *",
    "daily_midnight": "0 0 * * *",
    "weekly_sunday_2am": "0 2 * * 0",
    "weekly_monday_2am": "0 2 * * 1",
    "hourly": "0 * * * *",
    "every_6_hours": "0 */6 * * *",
    "every_12_hours": "0 */12 * * *",
}

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
    REBOOT: REBOOT,
}

MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# English on purpose: calendar.day_name follows the process locale
MONTH_TITLES = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)
DAY_TITLES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")

ACCEPTED = (
    "a schedule is a preset ({presets}), a macro ({macros}) or 5 cron fields "
    "'minute hour day-of-month month day-of-week'"
)


@dataclass(frozen=True)
class CronField:
    """One of the five positions of a cron expression and the values it takes."""

    index: int
    name: str
    low: int
    high: int  # highest value crontab(1) accepts (7 for day-of-week: Sunday again)
    last: int  # end of '*' for steps and of 'a/n' (6 for day-of-week)
    hash_high: int  # end of a bare 'H' (28 for day-of-month: runs every month)
    names: tuple[str, ...] = ()
    name_base: int = 0

    @property
    def accepts(self) -> str:
        values = f"{self.low}-{self.high}"
        if self.names:
            values += f" or {self.names[0]}-{self.names[-1]}"
        if self.high == 7:
            values += " (0 and 7 are Sunday)"
        return (
            f"{self.name} accepts {values}, '*', ranges a-b, lists a,b, steps */n and a-b/n, "
            "and hashed H, H(a-b), H/n, H(a-b)/n"
        )


FIELDS = (
    CronField(0, "minute", 0, 59, 59, 59),
    CronField(1, "hour", 0, 23, 23, 23),
    CronField(2, "day-of-month", 1, 31, 31, 28),
    CronField(3, "month", 1, 12, 12, 12, MONTH_NAMES, 1),
    CronField(4, "day-of-week", 0, 7, 6, 6, DAY_NAMES, 0),
)


@dataclass(frozen=True)
class ParsedField:
    """A field as it will be written, and the values cron reads from it."""

    text: str
    values: frozenset[int]

    @property
    def star(self) -> bool:
        """True when cron treats the field as unrestricted for the day rule (first character '*')."""
        return self.text.startswith("*")


@dataclass(frozen=True)
class CronTimes:
    """A written 5-field expression read the way Vixie cron reads it."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0-6, Sunday is 0 (a written 7 counts as 0)
    dom_star: bool
    dow_star: bool

    @property
    def day_or(self) -> bool:
        """How cron combines day-of-month and day-of-week: OR only when neither starts with '*'."""
        return not (self.dom_star or self.dow_star)

    def runs_on(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = day.isoweekday() % 7 in self.weekdays
        return (dom or dow) if self.day_or else (dom and dow)

    def minute_of_day_bits(self) -> int:
        """Bit ``h * 60 + m`` set for every start minute of a day the job runs on."""
        bits = 0
        for hour in self.hours:
            for minute in self.minutes:
                bits |= 1 << (hour * 60 + minute)
        return bits


def expand_schedule(schedule: str, hash_seed: str, job: str, allow_reboot: bool = True) -> str:
    """Return the expression written to cron for ``schedule``: 5 fields or ``@reboot``.

    Raises SmgrError naming the job, the field and what is accepted when the schedule is
    not something cron and croniter both accept and read the same way.
    """
    text = _checked_text(schedule, job)
    words = text.split()
    if len(words) == 1:
        expression = _named_schedule(words[0], job, allow_reboot)
        if expression == REBOOT:
            return REBOOT
        # presets and macros are written out as 5 fields; they are valid by construction
        return expression
    if len(words) != 5:
        raise _error(_field_count_problem(text, len(words)), job)
    fields = tuple(
        _parse_field(word, spec, _Hasher(hash_seed, job, spec.index), job) for word, spec in zip(words, FIELDS)
    )
    expression = " ".join(field.text for field in fields)
    times = _cron_times_of(expression, fields)
    _check_day_fields(times, fields, job)
    _check_with_croniter(times, job)
    return expression


def cron_times(expression: str, job: str | None = None) -> CronTimes:
    """Read a written expression (5 fields, a preset or a macro; no H) the way cron does."""
    text = _checked_text(expression, job)
    words = text.split()
    if len(words) == 1:
        text = _named_schedule(words[0], job, allow_reboot=True)
        if text == REBOOT:
            raise _error("'@reboot' runs at system boot and has no times to compute", job)
        words = text.split()
    if len(words) != 5:
        raise _error(_field_count_problem(text, len(words)), job)
    fields = tuple(_parse_field(word, spec, None, job) for word, spec in zip(words, FIELDS))
    return _cron_times_of(" ".join(field.text for field in fields), fields)


def describe(expression: str) -> str:
    """Return English text for a written expression, 24-hour clock ('At 02:00, only on Sunday')."""
    if _five_fields(expression) == REBOOT:
        return "At system boot"
    times = cron_times(expression)
    if HAS_CRON_DESCRIPTOR:
        described = _described_by_cron_descriptor(times.expression)
        if described:
            return described
    return describe_fallback(times.expression)


def describe_fallback(expression: str) -> str:
    """English text without cron_descriptor: exact for presets, macros and common forms."""
    if _five_fields(expression) == REBOOT:
        return "At system boot"
    five = cron_times(expression).expression
    minute, hour, dom, month, dow = five.split()
    if (dom, month, dow) == ("*", "*", "*"):
        hourly = _describe_within_day(minute, hour)
        if hourly:
            return hourly
    if _is_number(minute) and _is_number(hour):
        clock = f"At {int(hour):02d}:{int(minute):02d}"
        if (dom, month) == ("*", "*") and dow == "*":
            return clock
        weekday = _weekday_number(dow)
        if (dom, month) == ("*", "*") and weekday is not None:
            return f"{clock}, only on {DAY_TITLES[weekday]}"
        if _is_number(dom) and dow == "*" and month == "*":
            return f"{clock}, on day {int(dom)} of the month"
        if _is_number(dom) and dow == "*" and _month_number(month) is not None:
            return f"{clock}, on day {int(dom)} of the month, only in {MONTH_TITLES[_month_number(month) - 1]}"
    return f"At the times of the cron expression '{five}' (minute hour day-of-month month day-of-week)"


def next_runs(expression: str, count: int, now: datetime | None = None) -> list[str]:
    """Return the next ``count`` start times in the host's local time, ISO 8601 with offset.

    ``@reboot`` has no start times: []. ``now`` (default: the current time) may be naive
    (read as local time) or aware. Computed with croniter on the local wall clock, as cron
    runs, with cron's rule for combining day-of-month and day-of-week.
    """
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise SmgrError(f"next_runs count must be a whole number >= 0, got {count!r}")
    if _five_fields(expression) == REBOOT:
        return []
    if not HAS_CRONITER:
        raise SmgrError("computing next runs needs the Python library croniter, which is not installed")
    starts = _croniter_starts(cron_times(expression), _local_wall_clock(now))
    runs: list[str] = []
    for start in starts:
        if len(runs) == count:
            break
        run = _iso_local(start)
        if not runs or runs[-1] != run:  # one start per time: split days overlap, a clock change merges
            runs.append(run)
    return runs


def find_collisions(
    expressions: dict[str, str], days: int = 7, now: datetime | None = None
) -> list[tuple[str, str, str]]:
    """Return (job, job, first shared start) for every pair of jobs starting in the same minute.

    The window is the ``days`` days after ``now`` (local wall clock, the minute of ``now``
    excluded). ``@reboot`` jobs never collide. Pairs come in order of time, then input order.
    Cost: per day, one AND of two 1440-bit masks per pair of jobs running that day.
    """
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise SmgrError(f"collision window must be a whole number of days >= 0, got {days!r}")
    names = list(expressions)
    timed = [(name, cron_times(expr, job=name)) for name, expr in expressions.items() if _five_fields(expr) != REBOOT]
    masks = {name: times.minute_of_day_bits() for name, times in timed}
    start = _local_wall_clock(now).replace(second=0, microsecond=0)
    end = start + timedelta(days=days)
    found: dict[tuple[str, str], datetime] = {}
    day = start.date()
    while day <= end.date():
        window = _window_bits(day, start, end)
        running = [name for name, times in timed if times.runs_on(day) and masks[name] & window]
        for i, first in enumerate(running):
            for second in running[i + 1 :]:
                if (first, second) in found:
                    continue
                shared = masks[first] & masks[second] & window
                if shared:
                    minute = (shared & -shared).bit_length() - 1
                    found[(first, second)] = datetime.combine(day, datetime.min.time()) + timedelta(minutes=minute)
        day += timedelta(days=1)
    order = {name: index for index, name in enumerate(names)}
    pairs = sorted(found.items(), key=lambda item: (item[1], order[item[0][0]], order[item[0][1]]))
    return [(first, second, _iso_local(when)) for (first, second), when in pairs]


# --- reading the text -------------------------------------------------------------------


def _checked_text(schedule: object, job: str | None) -> str:
    if not isinstance(schedule, str):
        raise _error(f"must be a string, got {type(schedule).__name__}; {_accepted()}", job)
    bad = [char for char in schedule if (ord(char) < 32 and char != "\t") or ord(char) == 127]
    if bad:
        raise _error(f"contains the control character {bad[0]!r}; a schedule is one line of text", job)
    text = schedule.strip()
    if not text:
        raise _error(f"is empty; {_accepted()}", job)
    return text


def _named_schedule(word: str, job: str | None, allow_reboot: bool) -> str:
    key = word.lower()
    if key.startswith("@"):
        if key not in MACROS:
            raise _error(f"unknown macro {word!r}; macros are {', '.join(MACROS)}", job)
        if key == REBOOT and not allow_reboot:
            raise _error("'@reboot' is not supported by this target; use a timed schedule", job)
        return MACROS[key]
    if key in PRESETS:
        return PRESETS[key]
    raise _error(f"unknown preset {word!r}; {_accepted()}", job)


def _field_count_problem(text: str, count: int) -> str:
    problem = f"{text!r} has {count} fields; cron takes exactly 5 (minute hour day-of-month month day-of-week)"
    if count in (6, 7):
        problem += ": a seconds or a year field is not supported"
    return problem


def _five_fields(expression: str) -> str:
    """The 5-field text of a written expression, preset or macro; REBOOT for '@reboot'."""
    text = _checked_text(expression, None)
    key = text.lower()
    if key in PRESETS:
        return PRESETS[key]
    if key in MACROS:
        return MACROS[key]
    return " ".join(text.split())


# --- one field --------------------------------------------------------------------------

_ITEM = re.compile(
    r"^(?P<base>\*|h(?:\((?P<hlow>[a-z0-9]+)-(?P<hhigh>[a-z0-9]+)\))?|[a-z0-9]+(?:-[a-z0-9]+)?)"
    r"(?:/(?P<step>[0-9]+))?$"
)
_UNSUPPORTED = re.compile(r"^(?:l|lw|[0-9]*w|[0-9]+l|l-[0-9]+)$")


class _Hasher:
    """Deterministic numbers for the H items of one field of one job."""

    def __init__(self, seed: str, job: str, field_index: int) -> None:
        self.seed = seed
        self.job = job
        self.field_index = field_index

    def number(self, item_index: int) -> int:
        return _hash_number(self.seed, self.job, self.field_index, item_index)


def _hash_number(seed: str, job: str, field_index: int, item_index: int) -> int:
    """A 64-bit number from SHA-256; pinned by tests: a change reshuffles every fleet."""
    material = "\x1f".join(("smgr-cron-v1", str(seed), str(job), str(field_index), str(item_index)))
    return int.from_bytes(hashlib.sha256(material.encode("utf-8", "surrogatepass")).digest()[:8], "big")


def _parse_field(word: str, spec: CronField, hasher: _Hasher | None, job: str | None) -> ParsedField:
    text = word.lower()
    _check_characters(word, text, spec, job)
    items = text.split(",")
    if any(not item for item in items):
        raise _field_error(spec, word, "a list has an empty element", job)
    if len(items) > 1 and "*" in items:
        raise _field_error(spec, word, "'*' already means every value and cannot be part of a list", job)
    parsed = [_parse_item(item, index, spec, hasher, word, job) for index, item in enumerate(items)]
    values = frozenset(value for _item_text, item_values in parsed for value in item_values)
    return ParsedField(",".join(item_text for item_text, _item_values in parsed), values)


def _check_characters(word: str, text: str, spec: CronField, job: str | None) -> None:
    for char, problem in (
        ("?", "'?' is Quartz syntax, not cron; use '*'"),
        ("#", "'#' (n-th weekday of the month) is not supported by cron"),
    ):
        if char in text:
            raise _field_error(spec, word, problem, job)
    for item in text.split(","):
        if _UNSUPPORTED.match(item.split("/")[0]):
            raise _field_error(spec, word, "'L' and 'W' (last day, nearest weekday) are not supported by cron", job)
    for char in word:
        if not (char.isascii() and (char.isalnum() or char in "*,-/()")):
            raise _field_error(spec, word, f"invalid character {char!r}", job)


def _parse_item(
    item: str, index: int, spec: CronField, hasher: _Hasher | None, word: str, job: str | None
) -> tuple[str, frozenset[int]]:
    match = _ITEM.match(item)
    if not match:
        written = word.split(",")[index]
        problem = f"{written!r} is not a value, range, step or H form (H ranges are written H(a-b))"
        raise _field_error(spec, word, problem, job)
    base, step_text = match.group("base"), match.group("step")
    step = None if step_text is None else _number(step_text)
    if step == 0:
        raise _field_error(spec, word, "step 0 is not allowed, a step is 1 or more", job)
    if base == "h" or match.group("hlow") is not None:
        if hasher is None:
            raise _field_error(spec, word, "a hashed H must be expanded with expand_schedule first", job)
        low, high = spec.low, spec.hash_high if step is None else spec.last
        if match.group("hlow") is not None:
            low = _value(match.group("hlow"), spec, word, job)
            high = _value(match.group("hhigh"), spec, word, job)
            if low > high:
                raise _field_error(spec, word, f"H range {low}-{high} runs backwards; write H({high}-{low})", job)
        return _hashed(hasher.number(index), low, high, step, spec, word, job)
    if base == "*":
        if step is None:
            return "*", _span(spec.low, spec.high, 1)
        _check_step(step, spec.low, spec.last, spec, word, job)
        return f"*/{step}", _span(spec.low, spec.high, step)
    if "-" in base:
        first, last = base.split("-")
        low, high = _value(first, spec, word, job), _value(last, spec, word, job)
        _check_order(low, high, spec, word, job)
        if step is None:
            if low == high:
                return _value_text(first, low), frozenset({low})
            return f"{_value_text(first, low)}-{_value_text(last, high)}", _span(low, high, 1)
        _check_step(step, low, high, spec, word, job)
        return f"{_value_text(first, low)}-{_value_text(last, high)}/{step}", _span(low, high, step)
    value = _value(base, spec, word, job)
    if step is None:
        return _value_text(base, value), frozenset({value})
    # 'a/n' is croniter syntax that crontab(1) rejects: write the range it means
    _check_step(step, value, spec.last, spec, word, job)
    return f"{value}-{spec.last}/{step}", _span(value, spec.last, step)


def _hashed(
    number: int, low: int, high: int, step: int | None, spec: CronField, word: str, job: str | None
) -> tuple[str, frozenset[int]]:
    if step is None:
        value = low + number % (high - low + 1)
        return str(value), frozenset({value})
    _check_step(step, low, high, spec, word, job)
    start = low + number % step
    if start + step > high:
        return str(start), frozenset({start})
    return f"{start}-{high}/{step}", _span(start, high, step)


_TOO_BIG = 10**9


def _number(digits: str) -> int:
    """The number written; a very long one stands for 'too big' (int() refuses 4300+ digits)."""
    return int(digits) if len(digits) <= 9 else _TOO_BIG


def _shown(number: int) -> str:
    return "of more than 9 digits" if number == _TOO_BIG else str(number)


def _value(text: str, spec: CronField, word: str, job: str | None) -> int:
    if text.isdigit():
        value = _number(text)
        if not spec.low <= value <= spec.high:
            raise _field_error(spec, word, f"value {_shown(value)} is out of range {spec.low}-{spec.high}", job)
        return value
    if text in spec.names:
        return spec.names.index(text) + spec.name_base
    kind = "a number" if not spec.names else f"a number or one of {', '.join(spec.names)}"
    raise _field_error(spec, word, f"unknown name {text!r}; a value is {kind}", job)


def _value_text(text: str, value: int) -> str:
    """Names stay names (lower case), numbers lose leading zeros."""
    return text if not text.isdigit() else str(value)


def _check_order(low: int, high: int, spec: CronField, word: str, job: str | None) -> None:
    if low > high:
        hint = repr(f"{low}-{spec.last},{spec.low}-{high}")
        if spec.high == 7 and high == 0:
            hint = f"'{low}-7' (7 is Sunday)"
        raise _field_error(
            spec,
            word,
            f"range {low}-{high} runs backwards: Debian cron accepts it but never runs the job then, "
            f"croniter wraps it around; write {hint}",
            job,
        )


def _check_step(step: int, low: int, high: int, spec: CronField, word: str, job: str | None) -> None:
    if step > high - low:
        raise _field_error(
            spec, word, f"step {_shown(step)} is larger than its range {low}-{high}: it would select only {low}", job
        )


def _span(low: int, high: int, step: int) -> frozenset[int]:
    return frozenset(range(low, high + 1, step))


# --- the whole expression ---------------------------------------------------------------


def _cron_times_of(expression: str, fields: tuple[ParsedField, ...]) -> CronTimes:
    minute, hour, dom, month, dow = fields
    return CronTimes(
        expression=expression,
        minutes=minute.values,
        hours=hour.values,
        days=dom.values,
        months=month.values,
        weekdays=frozenset(value % 7 for value in dow.values),
        dom_star=dom.star,
        dow_star=dow.star,
    )


def _check_day_fields(times: CronTimes, fields: tuple[ParsedField, ...], job: str | None) -> None:
    """Reject the day combinations cron and croniter read differently, or never reach."""
    dom, dow = fields[2].text, fields[4].text
    if "*" not in (dom, dow) and (times.dom_star or times.dow_star):
        spec, starred = (FIELDS[2], dom) if times.dom_star else (FIELDS[4], dow)
        unstarred = f"{spec.low}-{spec.last}" + starred[1:]
        raise _error(
            f"day-of-month {dom!r} with day-of-week {dow!r}: as {spec.name} starts with '*', cron runs the job only "
            "on days that match both (not, as usual, either), and croniter 1.3 (Debian 12) gets such days wrong; "
            f"write {spec.name} {unstarred!r} to run on days that match either, or make one of the two '*'",
            job,
        )
    if times.dom_star or any(day <= _longest_month(month) for month in times.months for day in times.days):
        return
    months = ", ".join(MONTH_TITLES[month - 1] for month in sorted(times.months))
    consequence = (
        "the job would never run"
        if not times.day_or
        else "croniter 1.3 (Debian 12) cannot compute such a schedule; write day-of-month '*' to run on the "
        "day-of-week alone"
    )
    raise _error(f"{times.expression!r}: day-of-month {dom} does not occur in {months}: {consequence}", job)


def _check_with_croniter(times: CronTimes, job: str | None) -> None:
    if not HAS_CRONITER:
        return
    try:
        _Croniter(_croniter_form(times), datetime(2001, 1, 1), day_or=times.day_or).get_next(datetime)
    except Exception as exc:  # croniter raises several types; any of them means "not usable"
        raise _error(f"{times.expression!r} is not accepted by croniter: {exc}", job) from exc


def _croniter_form(times: CronTimes) -> str:
    """The expression for croniter, which must read the days as cron does.

    croniter reads a day field that lists every value ('0-7', '1-31') as '*' and then
    ANDs the day fields; cron ORs them, which means every day: say so with '* *'.
    """
    every_day = times.weekdays == frozenset(range(7)) or times.days == frozenset(range(1, 32))
    if not (times.day_or and every_day):
        return times.expression
    minute, hour, _dom, month, _dow = times.expression.split()
    return f"{minute} {hour} * {month} *"


def _croniter_starts(times: CronTimes, start: datetime) -> Iterator[datetime]:
    """Wall-clock start times after ``start`` from croniter, in order (repeats possible).

    A restricted day-of-month is split into one croniter per day and the results merged:
    croniter 1.3.5 (Debian 12) skips the 1st of a month that follows a short month when the
    list also holds days the short month lacks ('0 0 1,31 * *' jumps from 1 Feb to 31 Mar).
    """
    form = _croniter_form(times)
    minute, hour, dom, month, dow = form.split()
    if dom == "*" or len(times.days) == 1:
        return _croniter_iteration(form, start, times.day_or)
    days = sorted(day for day in times.days if any(day <= _longest_month(number) for number in times.months))
    if not days:  # only days the months lack: the day-of-week alone, if cron ORs it
        return _croniter_iteration(f"{minute} {hour} * {month} {dow}", start, False) if times.day_or else iter(())
    forms = [f"{minute} {hour} {day} {month} {dow}" for day in days]
    return heapq.merge(*(_croniter_iteration(single, start, times.day_or) for single in forms))


def _croniter_iteration(expression: str, start: datetime, day_or: bool) -> Iterator[datetime]:
    iterator = _Croniter(expression, start, day_or=day_or)
    while True:
        yield iterator.get_next(datetime)


def _longest_month(month: int) -> int:
    return 29 if month == 2 else calendar.monthrange(2001, month)[1]


# --- describing -------------------------------------------------------------------------


def _described_by_cron_descriptor(expression: str) -> str | None:
    options = _DescriptorOptions()
    options.locale_code = "en_US"
    options.use_24hour_time_format = True
    options.verbose = False
    try:
        return _ExpressionDescriptor(expression, options).get_description()
    except Exception:  # an expression the library cannot word: use the fallback
        return None


def _describe_within_day(minute: str, hour: str) -> str | None:
    if (minute, hour) == ("*", "*"):
        return "Every minute"
    every_minutes = re.fullmatch(r"\*/([0-9]+)", minute)
    if every_minutes and hour == "*":
        return f"Every {int(every_minutes.group(1))} minutes"
    if not _is_number(minute):
        return None
    past = "" if int(minute) == 0 else f"At {int(minute)} minutes past the hour, "
    if hour == "*":
        return f"At {int(minute)} minutes past the hour" if past else "Every hour"
    every_hours = re.fullmatch(r"\*/([0-9]+)", hour)
    if every_hours:
        text = f"every {int(every_hours.group(1))} hours"
        return past + text if past else text.capitalize()
    return None


def _is_number(text: str) -> bool:
    return text.isdigit()


def _weekday_number(text: str) -> int | None:
    """0-6 with Sunday 0, for a single day-of-week value."""
    if text.isdigit() and int(text) <= 7:
        return int(text) % 7
    if text.lower() in DAY_NAMES:
        return DAY_NAMES.index(text.lower())
    return None


def _month_number(text: str) -> int | None:
    if text.isdigit() and 1 <= int(text) <= 12:
        return int(text)
    if text.lower() in MONTH_NAMES:
        return MONTH_NAMES.index(text.lower()) + 1
    return None


# --- time -------------------------------------------------------------------------------


def _local_wall_clock(now: datetime | None) -> datetime:
    """Naive local time: what cron compares its fields with."""
    if now is None:
        return datetime.now()
    if now.tzinfo is not None:
        return now.astimezone().replace(tzinfo=None)
    return now


def _iso_local(wall_clock: datetime) -> str:
    """ISO 8601 with the local offset in force at that wall-clock time.

    A time that a clock change skips (02:30 on a spring-forward night) reads as the first
    minute after the change: cron runs such jobs right after the clock jumps.
    """
    moment = wall_clock
    for _minute in range(24 * 60):
        aware = moment.astimezone()
        if aware.replace(tzinfo=None) == moment:
            return aware.isoformat(timespec="seconds")
        moment = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return wall_clock.astimezone().isoformat(timespec="seconds")


def _window_bits(day: date, start: datetime, end: datetime) -> int:
    """Minutes of ``day`` inside (start, end] as a 1440-bit mask."""
    first = 0
    last = 24 * 60 - 1
    if day == start.date():
        first = start.hour * 60 + start.minute + 1
    if day == end.date():
        last = end.hour * 60 + end.minute
    if first > last:
        return 0
    return ((1 << (last + 1)) - 1) ^ ((1 << first) - 1)


# --- errors -----------------------------------------------------------------------------


def _accepted() -> str:
    return ACCEPTED.format(presets=", ".join(PRESETS), macros=", ".join(MACROS))


def _error(message: str, job: str | None) -> SmgrError:
    return SmgrError(message, job=job, field=FIELD)


def _field_error(spec: CronField, word: str, problem: str, job: str | None) -> SmgrError:
    return _error(f"{spec.name} {word!r}: {problem}; {spec.accepts}", job)
