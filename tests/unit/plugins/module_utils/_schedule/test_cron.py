# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Cron schedules: what is accepted, what is written, what it means, when it runs."""

from __future__ import annotations

import importlib.util
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule import cron as _cron
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.cron import (
    FIELDS,
    MACROS,
    PRESETS,
    cron_times,
    describe,
    describe_fallback,
    expand_schedule,
    find_collisions,
    next_runs,
)

SEED = "web1.example.com"
JOB = "nginx"
CRONTAB_USER = "nobody"


def expand(schedule: str, seed: str = SEED, job: str = JOB, allow_reboot: bool = True) -> str:
    return expand_schedule(schedule, seed, job, allow_reboot=allow_reboot)


@pytest.fixture
def local_zone(monkeypatch):
    """Run the test in a named local time zone; the process zone is restored afterwards."""

    def use(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()


# --- presets and macros -------------------------------------------------------------------

SEED_PRESETS = {
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


def test_presets_are_the_nine_of_the_seed():
    assert PRESETS == SEED_PRESETS


@pytest.mark.parametrize(("preset", "expression"), sorted(SEED_PRESETS.items()))
def test_preset_expands_to_its_expression(preset, expression):
    assert expand(preset) == expression


@pytest.mark.parametrize(
    ("macro", "expression"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_macro_expands_to_five_fields(macro, expression):
    assert expand(macro) == expression


def test_reboot_is_kept_where_the_target_allows_it():
    assert expand("@reboot") == "@reboot"
    assert MACROS["@reboot"] == "@reboot"


def test_reboot_is_refused_where_the_target_does_not_allow_it():
    with pytest.raises(SmgrError) as caught:
        expand("@reboot", allow_reboot=False)
    assert "'@reboot' is not supported by this target" in str(caught.value)
    assert caught.value.job == JOB
    assert caught.value.field == "schedule"


# --- the table of valid schedules ------------------------------------------------------------

VALID = [
    ("* * * * *", "* * * * *"),
    ("0 2 * * *", "0 2 * * *"),
    ("  0   2\t* * *  ", "0 2 * * *"),
    ("59 23 31 12 7", "59 23 31 12 7"),
    ("0 0 1 1 0", "0 0 1 1 0"),
    ("007 02 * * *", "7 2 * * *"),
    ("*/15 * * * *", "*/15 * * * *"),
    ("*/59 * * * *", "*/59 * * * *"),
    ("0 */23 * * *", "0 */23 * * *"),
    ("0 0 */30 * *", "0 0 */30 * *"),
    ("0 0 1 */11 *", "0 0 1 */11 *"),
    ("0 0 * * */6", "0 0 * * */6"),
    ("0-30 * * * *", "0-30 * * * *"),
    ("0-59/20 * * * *", "0-59/20 * * * *"),
    ("5/15 * * * *", "5-59/15 * * * *"),
    ("0 1/6 * * *", "0 1-23/6 * * *"),
    ("0 0 * * 1/2", "0 0 * * 1-6/2"),
    ("0 0 1 jan/3 *", "0 0 1 1-12/3 *"),
    ("1,2,3 * * * *", "1,2,3 * * * *"),
    ("*/5,7 * * * *", "*/5,7 * * * *"),
    ("0 9-17/2,20 * * mon-fri", "0 9-17/2,20 * * mon-fri"),
    ("0 2 * * MON", "0 2 * * mon"),
    ("0 2 * * Sun", "0 2 * * sun"),
    ("0 2 * JAN-mar *", "0 2 * jan-mar *"),
    ("0 2 * jan,jul *", "0 2 * jan,jul *"),
    ("0 2 * * sat,sun", "0 2 * * sat,sun"),
    ("0 2 * * fri-7", "0 2 * * fri-7"),
    ("0 2 * * 6-7", "0 2 * * 6-7"),
    ("0 2 * * 0-7", "0 2 * * 0-7"),
    ("0 2 * * 7", "0 2 * * 7"),
    ("0 2 * * 7-7", "0 2 * * 7"),
    ("0 2 * * 1-7/2", "0 2 * * 1-7/2"),
    ("0 2 * * mon-wed/2", "0 2 * * mon-wed/2"),
    ("5-5 * * * *", "5 * * * *"),
    ("0 0 29 2 *", "0 0 29 2 *"),
    ("0 0 30 2,4 *", "0 0 30 2,4 *"),
    ("0 0 1-31/2 * 1", "0 0 1-31/2 * 1"),
    ("0 0 */2 * *", "0 0 */2 * *"),
    ("0 0 * * */2", "0 0 * * */2"),
    ("0 0 13 * 5", "0 0 13 * 5"),
    ("30 4 1,15 * 5", "30 4 1,15 * 5"),
    ("0 22 * * 1-5", "0 22 * * 1-5"),
    ("23 0-20/2 * * *", "23 0-20/2 * * *"),
    ("5 4 * * sun", "5 4 * * sun"),
    ("0 0,12 1 */2 *", "0 0,12 1 */2 *"),
    ("@Hourly", "0 * * * *"),
]


@pytest.mark.parametrize(("schedule", "expression"), VALID)
def test_valid_schedule_is_written_as_expected(schedule, expression):
    assert expand(schedule) == expression


@pytest.mark.parametrize(("schedule", "expression"), VALID)
def test_written_expression_expands_to_itself(schedule, expression):
    assert expand(expression, seed="another-seed") == expression


@pytest.mark.parametrize(("schedule", "expression"), VALID)
def test_written_expression_is_accepted_by_croniter(schedule, expression):
    assert _cron._Croniter.is_valid(expression)


def test_valid_table_is_large_enough():
    assert len(VALID) >= 40


# --- the table of invalid schedules ----------------------------------------------------------

INVALID = [
    ("", "is empty"),
    ("   ", "is empty"),
    ("0 2 * *", "has 4 fields"),
    ("0 2", "has 2 fields"),
    ("* * * * * *", "has 6 fields; cron takes exactly 5 (minute hour day-of-month month day-of-week): a seconds"),
    ("0 0 2 * * * 2026", "has 7 fields"),
    ("0 * * * * 2026", "a seconds or a year field is not supported"),
    ("@daily extra", "has 2 fields"),
    ("@fortnightly", "unknown macro '@fortnightly'; macros are @yearly"),
    ("daily_5am", "unknown preset 'daily_5am'; a schedule is a preset (daily_2am"),
    ("60 * * * *", "minute '60': value 60 is out of range 0-59"),
    ("* 24 * * *", "hour '24': value 24 is out of range 0-23"),
    ("* * 0 * *", "day-of-month '0': value 0 is out of range 1-31"),
    ("* * 32 * *", "day-of-month '32': value 32 is out of range 1-31"),
    ("* * * 0 *", "month '0': value 0 is out of range 1-12"),
    ("* * * 13 *", "month '13': value 13 is out of range 1-12"),
    ("* * * * 8", "day-of-week '8': value 8 is out of range 0-7"),
    ("*/0 * * * *", "minute '*/0': step 0 is not allowed"),
    ("0-59/0 * * * *", "minute '0-59/0': step 0 is not allowed"),
    ("*/60 * * * *", "minute '*/60': step 60 is larger than its range 0-59"),
    ("0 */24 * * *", "hour '*/24': step 24 is larger than its range 0-23"),
    ("0 0 * * */7", "day-of-week '*/7': step 7 is larger than its range 0-6"),
    ("1-2/5 * * * *", "minute '1-2/5': step 5 is larger than its range 1-2"),
    ("55/10 * * * *", "minute '55/10': step 10 is larger than its range 55-59"),
    ("5-1 * * * *", "minute '5-1': range 5-1 runs backwards: Debian cron accepts it but never runs"),
    ("0 23-1 * * *", "hour '23-1': range 23-1 runs backwards"),
    ("0 0 * * fri-mon", "day-of-week 'fri-mon': range 5-1 runs backwards"),
    ("0 0 * * mon-sun", "write '1-7' (7 is Sunday)"),
    ("0 0 * dec-jan *", "month 'dec-jan': range 12-1 runs backwards"),
    ("0 0 * * monday", "day-of-week 'monday': unknown name 'monday'; a value is a number or one of sun, mon"),
    ("0 0 * janu *", "month 'janu': unknown name 'janu'"),
    ("0 mon * * *", "hour 'mon': unknown name 'mon'; a value is a number;"),
    ("0 0 L * *", "day-of-month 'L': 'L' and 'W' (last day, nearest weekday) are not supported by cron"),
    ("0 0 15W * *", "day-of-month '15W': 'L' and 'W'"),
    ("0 0 LW * *", "day-of-month 'LW': 'L' and 'W'"),
    ("0 0 * * 5L", "day-of-week '5L': 'L' and 'W'"),
    ("0 0 * * 5#3", "day-of-week '5#3': '#' (n-th weekday of the month) is not supported"),
    ("0 0 ? * 1", "day-of-month '?': '?' is Quartz syntax"),
    ("0 0 1 * ?", "day-of-week '?': '?' is Quartz syntax"),
    ("0 0 31 2 *", "'0 0 31 2 *': day-of-month 31 does not occur in February: the job would never run"),
    ("0 0 30,31 2 *", "day-of-month 30,31 does not occur in February: the job would never run"),
    ("0 0 31 4,6 *", "does not occur in April, June: the job would never run"),
    ("0 0 31 2 mon", "day-of-month 31 does not occur in February: croniter 1.3 (Debian 12) cannot compute"),
    (
        "0 0 */2 * 1",
        "day-of-month '*/2' with day-of-week '1': as day-of-month starts with '*', cron runs the job only on days "
        "that match both (not, as usual, either), and croniter 1.3 (Debian 12) gets such days wrong; "
        "write day-of-month '1-31/2' to run on days that match either, or make one of the two '*'",
    ),
    ("0 0 13 * */2", "as day-of-week starts with '*'"),
    ("0 0 1 * */1", "write day-of-week '0-6/1'"),
    ("H(5-1) * * * *", "minute 'H(5-1)': H range 5-1 runs backwards"),
    ("H(0-99) * * * *", "minute 'H(0-99)': value 99 is out of range 0-59"),
    ("H/0 * * * *", "minute 'H/0': step 0 is not allowed"),
    ("H/60 * * * *", "minute 'H/60': step 60 is larger than its range 0-59"),
    ("H(0-10)/20 * * * *", "minute 'H(0-10)/20': step 20 is larger than its range 0-10"),
    ("H(1-2 * * * *", "minute 'H(1-2': 'H(1-2' is not a value, range, step or H form"),
    ("H-5 * * * *", "minute 'H-5': unknown name 'h'"),
    ("HH * * * *", "minute 'HH': unknown name 'hh'"),
    ("H() * * * *", "minute 'H()': 'H()' is not a value, range, step or H form"),
    ("0 H(25-30) * * *", "hour 'H(25-30)': value 25 is out of range 0-23"),
    ("1,,2 * * * *", "minute '1,,2': a list has an empty element"),
    ("1, * * * *", "minute '1,': a list has an empty element"),
    (",1 * * * *", "minute ',1': a list has an empty element"),
    ("*,5 * * * *", "minute '*,5': '*' already means every value and cannot be part of a list"),
    ("0 0 13,* * 5", "day-of-month '13,*': '*' already means every value"),
    ("-1 * * * *", "minute '-1': '-1' is not a value, range, step or H form"),
    ("1- * * * *", "minute '1-': '1-' is not a value"),
    ("0-1-2 * * * *", "minute '0-1-2': '0-1-2' is not a value"),
    ("*/2/3 * * * *", "minute '*/2/3': '*/2/3' is not a value"),
    ("**/1 * * * *", "minute '**/1': '**/1' is not a value"),
    ("*-5 * * * *", "minute '*-5': '*-5' is not a value"),
    ("1.5 * * * *", "minute '1.5': invalid character '.'"),
    ("0 2 * * *;reboot", "day-of-week '*;reboot': invalid character ';'"),
    ("$(id) * * * *", "minute '$(id)': invalid character '$'"),
    ("é * * * *", "minute 'é': invalid character 'é'"),
    ("0 2 * * *\n* * * * *", "contains the control character '\\n'"),
    ("0 2 * * *\r", "contains the control character '\\r'"),
    ("0 2 * * \x00", "contains the control character '\\x00'"),
]


@pytest.mark.parametrize(("schedule", "message"), INVALID)
def test_invalid_schedule_fails_naming_job_field_and_problem(schedule, message):
    with pytest.raises(SmgrError) as caught:
        expand(schedule)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"job {JOB!r}: schedule: ")
    assert caught.value.job == JOB
    assert caught.value.field == "schedule"


@pytest.mark.parametrize(("schedule", "message"), INVALID)
def test_invalid_schedule_fails_the_same_without_croniter(monkeypatch, schedule, message):
    monkeypatch.setattr(_cron, "HAS_CRONITER", False)
    with pytest.raises(SmgrError) as caught:
        expand(schedule)
    assert message in str(caught.value)


def test_invalid_table_is_large_enough():
    assert len(INVALID) >= 40


@pytest.mark.parametrize(
    ("schedule", "hint"),
    [
        ("15 * * * 0-9", "day-of-week accepts 0-7 or sun-sat (0 and 7 are Sunday)"),
        ("15 * * 13 *", "month accepts 1-12 or jan-dec"),
        ("61 * * * *", "minute accepts 0-59, '*', ranges a-b, lists a,b, steps */n and a-b/n, and hashed H"),
    ],
)
def test_field_error_says_what_the_field_accepts(schedule, hint):
    with pytest.raises(SmgrError, match="accepts") as caught:
        expand(schedule)
    assert hint in str(caught.value)


def test_a_number_too_long_for_int_is_out_of_range():
    with pytest.raises(SmgrError, match="value of more than 9 digits is out of range 0-59"):
        expand("1" * 5000 + " * * * *")
    with pytest.raises(SmgrError, match="step of more than 9 digits is larger than its range 0-59"):
        expand("*/" + "9" * 5000 + " * * * *")


def test_schedule_that_is_not_a_string_is_refused():
    with pytest.raises(SmgrError, match="must be a string, got int"):
        expand(5)  # type: ignore[arg-type]


def test_valid_schedules_are_accepted_without_croniter(monkeypatch):
    monkeypatch.setattr(_cron, "HAS_CRONITER", False)
    for schedule, expression in VALID:
        assert expand(schedule) == expression


def test_croniter_refusal_is_reported(monkeypatch):
    class Refusing:
        def __init__(self, *args, **kwargs):
            raise ValueError("no thanks")

    monkeypatch.setattr(_cron, "_Croniter", Refusing)
    with pytest.raises(SmgrError, match="'0 2 \\* \\* \\*' is not accepted by croniter: no thanks"):
        expand("0 2 * * *")


# --- hashed fields ---------------------------------------------------------------------------

PINNED = [
    ("web1.example.com", "nginx", "H H * * *", "43 8 * * *"),
    ("web2.example.com", "nginx", "H H * * *", "47 21 * * *"),
    ("web1.example.com", "mailcow", "H/15 H(1-5) * * *", "1-59/15 4 * * *"),
    ("db1", "pg", "H(0-29) H(1-4) H * H", "12 3 24 * 2"),
    ("db1", "pg", "H(0-29)/10 H/6 H/7 H/3 H/2", "2-29/10 0-23/6 3-31/7 1-12/3 0-6/2"),
    ("", "x", "H H H H H", "26 5 21 6 0"),
]


@pytest.mark.parametrize(("seed", "job", "schedule", "expression"), PINNED)
def test_hash_expansion_is_pinned(seed, job, schedule, expression):
    """A change here moves the jobs of every fleet: only change it on purpose."""
    assert expand(schedule, seed=seed, job=job) == expression


def test_h_slash_n_is_written_as_a_plain_cron_range():
    assert expand("H/15 * * * *", seed="web1.example.com", job="mailcow") == "1-59/15 * * * *"


def test_h_slash_n_that_fits_once_is_written_as_one_value():
    minute = expand("H/40 * * * *").split()[0]
    start = int(minute.split("-")[0])
    assert start < 40
    assert minute == (f"{start}-59/40" if start + 40 <= 59 else str(start))


def test_hash_spreads_hosts_over_the_hour_and_day():
    written = [expand("H H * * *", seed=f"host{number}") for number in range(200)]
    minutes = {expression.split()[0] for expression in written}
    hours = {expression.split()[1] for expression in written}
    assert len(minutes) >= 50
    assert len(hours) == 24


def test_hash_differs_per_job_and_per_field():
    minutes_and_hours = [expand("H(0-23) H(0-23) * * *", job=f"job{number}").split()[:2] for number in range(50)]
    assert len({minute for minute, _hour in minutes_and_hours}) > 20
    assert any(minute != hour for minute, hour in minutes_and_hours)


def test_each_h_of_a_list_gets_its_own_value():
    values = [expand("H(0-29),H(30-59) * * * *", job=f"job{number}").split()[0] for number in range(20)]
    assert len({value.split(",")[0] for value in values}) > 5
    assert all(int(value.split(",")[0]) < 30 <= int(value.split(",")[1]) for value in values)


def test_bare_h_in_day_of_month_stays_in_days_every_month_has():
    days = {int(expand("0 0 H * *", job=f"job{number}").split()[2]) for number in range(300)}
    assert days <= set(range(1, 29))
    assert {1, 28} <= days


def test_bare_h_in_day_of_week_never_writes_7():
    days = {expand("0 0 * * H", job=f"job{number}").split()[4] for number in range(100)}
    assert days == {str(day) for day in range(7)}


def test_reboot_has_no_cron_times():
    with pytest.raises(SmgrError, match="'@reboot' runs at system boot and has no times to compute"):
        cron_times("@reboot")


def test_written_expression_with_h_is_refused_by_cron_times():
    with pytest.raises(SmgrError, match="a hashed H must be expanded"):
        cron_times("H * * * *")


@st.composite
def hashed_fields(draw):
    spec = draw(st.sampled_from(FIELDS))
    last = spec.last
    low = draw(st.integers(spec.low, last - 1))
    high = draw(st.integers(low + 1, last))
    kind = draw(st.sampled_from(["H", "range", "step", "range-step"]))
    if kind == "H":
        return spec, "H", spec.low, spec.hash_high, None
    if kind == "range":
        return spec, f"H({low}-{high})", low, high, None
    if kind == "step":
        step = draw(st.integers(1, last - spec.low))
        return spec, f"H/{step}", spec.low, last, step
    step = draw(st.integers(1, high - low))
    return spec, f"H({low}-{high})/{step}", low, high, step


@settings(max_examples=300, deadline=None)
@given(hashed_fields(), st.text(max_size=20), st.text(min_size=1, max_size=20))
def test_hashed_field_is_deterministic_and_inside_its_range(field, seed, job):
    spec, text, low, high, step = field
    words = ["0", "0", "*", "*", "*"]
    words[spec.index] = text
    schedule = " ".join(words)
    first = expand_schedule(schedule, seed, job)
    assert expand_schedule(schedule, seed, job) == first
    assert expand_schedule(first, "other seed", job) == first
    values = _values_of(first.split()[spec.index], spec)
    assert values
    assert all(low <= value <= high for value in values)
    if step is not None:
        start = min(values)
        assert start < low + step
        assert values == set(range(start, high + 1, step))
    else:
        assert len(values) == 1


def _values_of(field: str, spec) -> set[int]:
    words = ["0", "0", "*", "*", "*"]
    words[spec.index] = field
    times = cron_times(" ".join(words))
    return set((times.minutes, times.hours, times.days, times.months, times.weekdays)[spec.index])


# --- generated valid schedules ---------------------------------------------------------------


ITEM_KINDS = ("value", "name", "range", "range-step", "star-step", "value-step", "H", "H-range", "H-step")


def _field_item(spec, integer, choice) -> str:
    """One list element of a field, in every form cron and croniter share (and H).

    ``integer(a, b)`` and ``choice(values)`` pick: hypothesis draws or a seeded random.
    """
    last = spec.last
    kind = choice(ITEM_KINDS)
    if kind == "name" and spec.names:
        name = choice(spec.names)
        return name.upper() if choice((True, False)) else name
    if kind in ("value", "name"):
        return str(integer(spec.low, spec.high))
    low = integer(spec.low, spec.high - 1)
    high = integer(low + 1, spec.high)
    span = f"{_maybe_name(spec, low, choice)}-{_maybe_name(spec, high, choice)}"
    if kind == "range":
        return span
    if kind == "range-step":
        return f"{span}/{integer(1, high - low)}"
    if kind == "star-step":
        return f"*/{integer(1, last - spec.low)}"
    if kind == "value-step":
        start = integer(spec.low, last - 1)
        return f"{start}/{integer(1, last - start)}"
    if kind == "H":
        return "H"
    if kind == "H-range":
        return f"H({low}-{high})"
    return f"H/{integer(1, last - spec.low)}"


def _maybe_name(spec, value: int, choice) -> str:
    index = value - spec.name_base
    if spec.names and 0 <= index < len(spec.names) and choice((True, False)):
        return spec.names[index]
    return str(value)


def _field(spec, integer, choice) -> str:
    if integer(0, 4) == 0:
        return "*"
    return ",".join(_field_item(spec, integer, choice) for _item in range(integer(1, 3)))


@st.composite
def fields(draw, spec):
    return _field(spec, lambda low, high: draw(st.integers(low, high)), lambda values: draw(st.sampled_from(values)))


def random_schedules(seed: int, count: int) -> list[str]:
    """Schedules from the same grammar with a seeded random: cheap in bulk."""
    rng = random.Random(seed)
    return [" ".join(_field(spec, rng.randint, rng.choice) for spec in FIELDS) for _index in range(count)]


@st.composite
def five_field_schedules(draw):
    return " ".join(draw(fields(spec)) for spec in FIELDS)


DAY_REFUSALS = ("does not occur in", "cron runs the job only on days that match both")


def _expanded_or_refused_days(schedule: str, seed: str = SEED, job: str = JOB) -> str | None:
    """The written expression, or None when it is refused for its combination of day fields."""
    try:
        return expand_schedule(schedule, seed, job)
    except SmgrError as exc:
        assert any(refusal in str(exc) for refusal in DAY_REFUSALS), str(exc)
        return None


@settings(max_examples=500, deadline=None)
@given(five_field_schedules(), st.text(max_size=10))
def test_generated_schedule_is_accepted_written_plainly_and_idempotent(schedule, seed):
    written = _expanded_or_refused_days(schedule, seed)
    assume(written is not None)
    assert len(written.split(" ")) == 5
    assert not any(token.startswith("h") for token in re.split("[ ,/()-]", written))
    assert _cron._Croniter.is_valid(written)
    assert expand_schedule(written, "any other seed", "any other job") == written
    assert _crontab_syntax_check(written) == ""


@settings(max_examples=300, deadline=None)
@given(fields(FIELDS[2]), fields(FIELDS[3]), fields(FIELDS[4]))
def test_day_fields_are_refused_exactly_when_cron_and_croniter_disagree(dom, month, dow):
    days = cron_times(expand(f"0 0 {dom} 1 *")).days
    months = cron_times(expand(f"0 0 1 {month} *")).months
    both_anded = "*" not in (dom, dow) and (dom.startswith("*") or dow.startswith("*"))
    missing_day = not dom.startswith("*") and all(day > _days_in(number) for number in months for day in days)
    assert (_expanded_or_refused_days(f"0 0 {dom} {month} {dow}") is None) == (both_anded or missing_day)


def _days_in(month: int) -> int:
    return {2: 29, 4: 30, 6: 30, 9: 30, 11: 30}.get(month, 31)


# --- what cron does with a written expression ------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "weekdays"),
    [
        # observed with Debian's cron daemon: 6-7 runs on Saturday and Sunday
        ("* * * * 6-7", {6, 0}),
        ("* * * * 7", {0}),
        ("* * * * 0-7", {0, 1, 2, 3, 4, 5, 6}),
        ("* * * * 1-7/2", {1, 3, 5, 0}),
        ("* * * * */2", {0, 2, 4, 6}),
        ("* * * * mon-fri", {1, 2, 3, 4, 5}),
        ("* * * * fri-7", {5, 6, 0}),
    ],
)
def test_day_of_week_values_as_cron_reads_them(expression, weekdays):
    assert cron_times(expression).weekdays == frozenset(weekdays)


@pytest.mark.parametrize(
    ("expression", "day_or"),
    [
        ("0 0 13 * 5", True),
        ("0 0 1-31 * 1", True),
        ("0 0 */2 * 1", False),
        ("0 0 13 * */2", False),
        ("0 0 * * 1", False),
        ("0 0 13 * *", False),
    ],
)
def test_day_fields_are_combined_like_vixie_cron(expression, day_or):
    """OR only when neither day field starts with '*' (cron tests the first character)."""
    assert cron_times(expression).day_or is day_or


def _runs_by_cron_rules(expression: str, start: datetime, count: int) -> list[datetime]:
    """Start times by brute force over days, with Vixie cron's day rule written out here."""
    times = cron_times(expression)
    _minute, _hour, dom, _month, dow = expression.split()
    both = dom.startswith("*") or dow.startswith("*")
    minutes_of_day = sorted(hour * 60 + minute for hour in times.hours for minute in times.minutes)
    runs: list[datetime] = []
    day = start.date()
    while len(runs) < count and day < start.date() + timedelta(days=366 * 30):
        by_dom = day.day in times.days
        by_dow = day.isoweekday() % 7 in times.weekdays
        if day.month in times.months and ((by_dom and by_dow) if both else (by_dom or by_dow)):
            midnight = datetime.combine(day, datetime.min.time())
            runs.extend(
                moment
                for moment in (midnight + timedelta(minutes=minute) for minute in minutes_of_day)
                if moment > start
            )
        day += timedelta(days=1)
    return runs[:count]


@st.composite
def month_ends(draw):
    """Late in a month: where croniter 1.3.5 went wrong."""
    first = datetime(draw(st.integers(2020, 2035)), draw(st.integers(1, 12)), 1)
    return first - timedelta(days=draw(st.integers(0, 3))) + timedelta(minutes=draw(st.integers(0, 1439)))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    five_field_schedules(),
    st.one_of(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31)), month_ends()),
)
def test_next_runs_agree_with_cron_rules(local_zone, schedule, start):
    """croniter (as called by next_runs) and the cron day rule give the same start times."""
    local_zone("UTC")
    written = _expanded_or_refused_days(schedule)
    assume(written is not None)
    expected = [moment.isoformat() + "+00:00" for moment in _runs_by_cron_rules(written, start, 5)]
    assert next_runs(written, 5, now=start) == expected


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("0 0 13 * 5", ["2026-01-02", "2026-01-09", "2026-01-13"]),  # the 13th or a Friday
        ("0 0 1-31/2 * 1", ["2026-01-03", "2026-01-05", "2026-01-07"]),  # odd days or Mondays
        ("0 0 */2 * *", ["2026-01-03", "2026-01-05", "2026-01-07"]),
        ("0 0 * * */3", ["2026-01-03", "2026-01-04", "2026-01-07"]),  # Sun, Wed, Sat
        ("0 0 * * 7", ["2026-01-04", "2026-01-11", "2026-01-18"]),
        ("0 0 29 2 *", ["2028-02-29", "2032-02-29", "2036-02-29"]),
        ("0 0 1,31 * *", ["2026-01-31", "2026-02-01", "2026-03-01"]),  # croniter 1.3.5 alone skips 1 March
        ("0 0 1,30 2,3 *", ["2026-02-01", "2026-03-01", "2026-03-30"]),
        # both restricted, one lists every day: OR means every day (croniter alone reads it as AND)
        ("0 0 13 * 0-7", ["2026-01-02", "2026-01-03", "2026-01-04"]),
        ("0 0 1,*/2 * sun-sat", ["2026-01-02", "2026-01-03", "2026-01-04"]),
        ("0 0 1-31 * 1", ["2026-01-02", "2026-01-03", "2026-01-04"]),
    ],
)
def test_next_runs_follow_the_cron_day_rule(local_zone, expression, runs):
    local_zone("UTC")
    assert next_runs(expression, 3, now=datetime(2026, 1, 1, 12, 0)) == [f"{day}T00:00:00+00:00" for day in runs]


# --- next runs in the local time zone --------------------------------------------------------


def test_next_runs_carry_the_local_offset(local_zone):
    local_zone("Europe/Berlin")
    assert next_runs("daily_2am", 3, now=datetime(2026, 11, 28, 10, 0)) == [
        "2026-11-29T02:00:00+01:00",
        "2026-11-30T02:00:00+01:00",
        "2026-12-01T02:00:00+01:00",
    ]
    assert next_runs("0 2 * * *", 1, now=datetime(2026, 7, 1, 10, 0)) == ["2026-07-02T02:00:00+02:00"]


def test_next_runs_from_an_aware_time_use_the_local_wall_clock(local_zone):
    local_zone("Europe/Berlin")
    now = datetime(2026, 11, 28, 23, 30, tzinfo=timezone.utc)  # 00:30 on the 29th in Berlin
    assert next_runs("daily_midnight", 1, now=now) == ["2026-11-30T00:00:00+01:00"]
    assert next_runs("daily_2am", 1, now=now) == ["2026-11-29T02:00:00+01:00"]


def test_next_runs_around_the_clock_changes(local_zone):
    local_zone("Europe/Berlin")
    # 02:00 does not exist on 2026-03-29: cron runs the job when the clock jumps to 03:00
    assert next_runs("0 2 * * *", 2, now=datetime(2026, 3, 28, 12, 0)) == [
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:00:00+02:00",
    ]
    # 02:30 happens twice on 2026-10-25: cron runs a fixed-time job once, the first time
    assert next_runs("30 2 * * *", 2, now=datetime(2026, 10, 24, 12, 0)) == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
    ]


def test_next_runs_default_to_now(local_zone):
    local_zone("UTC")
    before = datetime.now(timezone.utc)
    (run,) = next_runs("* * * * *", 1)
    moment = datetime.fromisoformat(run)
    assert before < moment <= before + timedelta(minutes=1, seconds=1)


def test_reboot_has_no_next_runs():
    assert next_runs("@reboot", 5) == []


def test_next_runs_accept_presets_and_macros(local_zone):
    local_zone("UTC")
    now = datetime(2026, 1, 1, 12, 0)
    assert next_runs("weekly_sunday_2am", 1, now=now) == ["2026-01-04T02:00:00+00:00"]
    assert next_runs("@monthly", 1, now=now) == ["2026-02-01T00:00:00+00:00"]


@pytest.mark.parametrize("count", [-1, True, 2.0, "3"])
def test_next_runs_count_must_be_a_whole_number(count):
    with pytest.raises(SmgrError, match="next_runs count must be a whole number >= 0"):
        next_runs("0 2 * * *", count)


def test_next_runs_count_zero_is_empty():
    assert next_runs("0 2 * * *", 0) == []


def test_next_runs_without_croniter_say_what_is_missing(monkeypatch):
    monkeypatch.setattr(_cron, "HAS_CRONITER", False)
    with pytest.raises(SmgrError, match="needs the Python library croniter"):
        next_runs("0 2 * * *", 3)


def test_next_runs_of_an_invalid_expression_fail():
    with pytest.raises(SmgrError, match="minute '61': value 61 is out of range"):
        next_runs("61 2 * * *", 3)


# --- describing ----------------------------------------------------------------------------

DESCRIBED = [
    ("daily_2am", "At 02:00"),
    ("daily_3am", "At 03:00"),
    ("daily_4am", "At 04:00"),
    ("daily_midnight", "At 00:00"),
    ("weekly_sunday_2am", "At 02:00, only on Sunday"),
    ("weekly_monday_2am", "At 02:00, only on Monday"),
    ("hourly", "Every hour"),
    ("every_6_hours", "Every 6 hours"),
    ("every_12_hours", "Every 12 hours"),
    ("@yearly", "At 00:00, on day 1 of the month, only in January"),
    ("@annually", "At 00:00, on day 1 of the month, only in January"),
    ("@monthly", "At 00:00, on day 1 of the month"),
    ("@weekly", "At 00:00, only on Sunday"),
    ("@daily", "At 00:00"),
    ("@midnight", "At 00:00"),
    ("@hourly", "Every hour"),
    ("@reboot", "At system boot"),
    ("0 2 * * *", "At 02:00"),
    ("30 14 * * *", "At 14:30"),
    ("45 23 * * sat", "At 23:45, only on Saturday"),
    ("0 2 * * 7", "At 02:00, only on Sunday"),
    ("0 0 15 * *", "At 00:00, on day 15 of the month"),
    ("0 0 1 jul *", "At 00:00, on day 1 of the month, only in July"),
    ("5 * * * *", "At 5 minutes past the hour"),
    ("15 */6 * * *", "At 15 minutes past the hour, every 6 hours"),
    ("*/5 * * * *", "Every 5 minutes"),
    ("* * * * *", "Every minute"),
]


@pytest.mark.parametrize(("expression", "text"), DESCRIBED)
def test_describe_with_cron_descriptor(expression, text):
    assert _cron.HAS_CRON_DESCRIPTOR
    assert describe(expression) == text


@pytest.mark.parametrize(("expression", "text"), DESCRIBED)
def test_describe_without_cron_descriptor_says_the_same(monkeypatch, expression, text):
    monkeypatch.setattr(_cron, "HAS_CRON_DESCRIPTOR", False)
    assert describe(expression) == text


def test_describe_uses_cron_descriptor_for_other_forms():
    assert describe("0 9-17 * * 1-5") == "At 0 minutes past the hour, between 09:00 and 17:59, Monday through Friday"


def test_describe_fallback_names_the_expression_for_other_forms(monkeypatch):
    monkeypatch.setattr(_cron, "HAS_CRON_DESCRIPTOR", False)
    assert describe("0 9-17 * * 1-5") == (
        "At the times of the cron expression '0 9-17 * * 1-5' (minute hour day-of-month month day-of-week)"
    )


def test_describe_falls_back_when_cron_descriptor_fails(monkeypatch):
    class Failing:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("cannot word it")

    monkeypatch.setattr(_cron, "_ExpressionDescriptor", Failing)
    assert describe("0 2 * * 1") == "At 02:00, only on Monday"


def test_describe_fallback_is_public_and_exact():
    assert describe_fallback("0 3 * * mon") == "At 03:00, only on Monday"


def test_describe_refuses_an_invalid_expression():
    with pytest.raises(SmgrError, match="has 6 fields"):
        describe("0 0 2 * * *")


# --- collisions ------------------------------------------------------------------------------


def test_jobs_starting_in_the_same_minute_collide(local_zone):
    local_zone("Europe/Berlin")
    jobs = {"a": "0 2 * * *", "b": "daily_2am", "c": "@reboot", "d": "*/30 * * * *", "e": "0 0 1 1 *"}
    assert find_collisions(jobs, now=datetime(2026, 11, 28, 10, 0)) == [
        ("a", "b", "2026-11-29T02:00:00+01:00"),
        ("a", "d", "2026-11-29T02:00:00+01:00"),
        ("b", "d", "2026-11-29T02:00:00+01:00"),
    ]


def test_collisions_look_only_inside_the_window(local_zone):
    local_zone("Europe/Berlin")
    jobs = {"d": "*/30 * * * *", "e": "@yearly"}
    now = datetime(2026, 11, 28, 10, 0)
    assert find_collisions(jobs, now=now) == []
    assert find_collisions(jobs, days=40, now=now) == [("d", "e", "2027-01-01T00:00:00+01:00")]
    assert find_collisions({"a": "* * * * *", "b": "* * * * *"}, days=0, now=now) == []


def test_collision_window_excludes_now_and_includes_its_end(local_zone):
    local_zone("UTC")
    jobs = {"a": "0 2 * * *", "b": "0 2 * * *"}
    assert find_collisions(jobs, days=1, now=datetime(2026, 1, 1, 2, 0)) == [("a", "b", "2026-01-02T02:00:00+00:00")]
    assert find_collisions(jobs, days=1, now=datetime(2026, 1, 1, 2, 1)) == [("a", "b", "2026-01-02T02:00:00+00:00")]
    assert find_collisions(jobs, days=1, now=datetime(2026, 1, 1, 1, 59)) == [("a", "b", "2026-01-01T02:00:00+00:00")]


def test_collisions_follow_the_cron_day_rule(local_zone):
    local_zone("UTC")
    now = datetime(2026, 1, 1, 12, 0)
    # the 13th or a Friday: Wednesday 14 January, Saturday 14 February are neither
    assert find_collisions({"friday_13": "0 0 13 * 5", "fourteenth": "0 0 14 * *"}, days=60, now=now) == []
    assert find_collisions({"friday_13": "0 0 13 * 5", "sixteenth": "0 0 16 * *"}, days=60, now=now) == [
        ("friday_13", "sixteenth", "2026-01-16T00:00:00+00:00")
    ]
    assert find_collisions({"mondays": "0 0 * * 1", "fifth": "0 0 5 * *"}, now=now) == [
        ("mondays", "fifth", "2026-01-05T00:00:00+00:00")
    ]


def test_collisions_of_200_jobs(local_zone):
    local_zone("UTC")
    now = datetime(2026, 1, 1, 12, 0)
    every_minute = find_collisions({f"job{number}": "* * * * *" for number in range(200)}, now=now)
    assert len(every_minute) == 200 * 199 // 2
    assert {when for _first, _second, when in every_minute} == {"2026-01-01T12:01:00+00:00"}
    hashed = {f"job{number}": expand("H H * * *", job=f"job{number}") for number in range(200)}
    by_time: dict[str, list[str]] = {}
    for name, expression in hashed.items():
        by_time.setdefault(expression, []).append(name)
    expected = {(a, b) for names in by_time.values() for i, a in enumerate(names) for b in names[i + 1 :]}
    assert {(a, b) for a, b, _when in find_collisions(hashed, now=now)} == expected


def _croniter_starts(expression: str, start: datetime, end: datetime) -> list[datetime]:
    starts = []
    for moment in _cron._croniter_starts(cron_times(expression), start):
        if moment > end:
            return starts
        starts.append(moment)
    return starts


@st.composite
def sparse_schedules(draw):
    minute = str(draw(st.integers(0, 59)))
    return " ".join([minute, *(draw(fields(spec)) for spec in FIELDS[1:])])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sparse_schedules(),
    sparse_schedules(),
    st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)),
    st.integers(0, 10),
)
def test_first_collision_agrees_with_croniter(local_zone, first, second, now, days):
    local_zone("UTC")
    first, second = _expanded_or_refused_days(first, job="one"), _expanded_or_refused_days(second, job="two")
    assume(first is not None and second is not None)
    start = now.replace(second=0, microsecond=0)
    end = start + timedelta(days=days)
    shared = sorted(set(_croniter_starts(first, start, end)) & set(_croniter_starts(second, start, end)))
    expected = [("one", "two", shared[0].isoformat() + "+00:00")] if shared else []
    assert find_collisions({"one": first, "two": second}, days=days, now=now) == expected


def test_collisions_name_the_job_with_an_invalid_expression():
    with pytest.raises(SmgrError) as caught:
        find_collisions({"good": "0 2 * * *", "bad": "0 25 * * *"})
    assert caught.value.job == "bad"
    assert "hour '25'" in str(caught.value)


@pytest.mark.parametrize("days", [-1, True, 1.5])
def test_collision_window_must_be_whole_days(days):
    with pytest.raises(SmgrError, match="collision window must be a whole number of days"):
        find_collisions({"a": "0 2 * * *"}, days=days)


# --- real crontab(1) ---------------------------------------------------------------------------


def _crontab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["crontab", "-u", CRONTAB_USER, *args], capture_output=True, text=True, check=False)


def _install_for_nobody(expressions: list[str]) -> None:
    """Install the expressions as one crontab of user nobody, check it, and remove it again."""
    saved = _crontab("-l")
    lines = "".join(
        f"{expression} /bin/true # smgr test__cron {number}\n" for number, expression in enumerate(expressions)
    )
    with tempfile.NamedTemporaryFile("w", suffix=".crontab") as handle:
        handle.write(lines)
        handle.flush()
        try:
            installed = _crontab(handle.name)
            assert installed.returncode == 0, f"crontab(1) refused: {installed.stderr}\n{lines}"
            listed = _crontab("-l")
            assert listed.returncode == 0
            assert all(line in listed.stdout.splitlines() for line in lines.splitlines())
        finally:
            _restore_crontab(saved)
    after = _crontab("-l")
    assert "smgr test__cron" not in after.stdout
    assert after.returncode == saved.returncode


def _crontab_syntax_check(expression: str) -> str:
    """crontab(1)'s own check (-n: dry run, nothing installed); returns its complaint or ''."""
    with tempfile.NamedTemporaryFile("w", suffix=".crontab") as handle:
        handle.write(f"{expression} /bin/true\n")
        handle.flush()
        checked = _crontab("-n", handle.name)
    return "" if checked.returncode == 0 else checked.stderr


def _restore_crontab(saved: subprocess.CompletedProcess) -> None:
    if saved.returncode != 0:
        _crontab("-r")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".crontab") as handle:
        handle.write(saved.stdout)
        handle.flush()
        _crontab(handle.name)


def test_crontab_accepts_every_preset_macro_and_table_entry():
    written = [expand(schedule) for schedule in [*PRESETS, *MACROS]] + [expression for _schedule, expression in VALID]
    assert "@reboot" in written
    _install_for_nobody(written)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_crontab_accepts_200_generated_expressions_in_one_file(seed):
    written = [expression for expression in map(_expanded_or_refused_days, random_schedules(seed, 200)) if expression]
    assert len(written) > 150
    _install_for_nobody(written)


def test_crontab_itself_refuses_what_only_croniter_reads():
    """Why 'a/n' is rewritten: crontab(1) refuses it."""
    saved = _crontab("-l")
    with tempfile.NamedTemporaryFile("w", suffix=".crontab") as handle:
        handle.write("5/15 * * * * /bin/true\n")
        handle.flush()
        try:
            refused = _crontab(handle.name)
        finally:
            _restore_crontab(saved)
    assert refused.returncode != 0
    assert "bad minute" in refused.stderr
    assert expand("5/15 * * * *") == "5-59/15 * * * *"


# --- optional libraries ------------------------------------------------------------------------


def test_libraries_are_present_here():
    assert _cron.HAS_CRONITER
    assert _cron.CRONITER_IMPORT_ERROR is None
    assert _cron.HAS_CRON_DESCRIPTOR
    assert _cron.CRON_DESCRIPTOR_IMPORT_ERROR is None


def test_without_the_libraries_the_module_imports_and_validates(monkeypatch):
    monkeypatch.setitem(sys.modules, "croniter", None)
    monkeypatch.setitem(sys.modules, "cron_descriptor", None)
    spec = importlib.util.spec_from_file_location("cron_without_libraries", _cron.__file__)
    bare = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bare)  # dataclasses look their module up
    spec.loader.exec_module(bare)
    assert bare.HAS_CRONITER is False
    assert "croniter" in bare.CRONITER_IMPORT_ERROR
    assert bare.HAS_CRON_DESCRIPTOR is False
    assert "cron_descriptor" in bare.CRON_DESCRIPTOR_IMPORT_ERROR
    assert bare.expand_schedule("H/15 H(1-5) * * *", SEED, "mailcow") == "1-59/15 4 * * *"
    assert bare.describe("weekly_monday_2am") == "At 02:00, only on Monday"
    with pytest.raises(SmgrError, match="day-of-week 'mon-sun': range 1-0 runs backwards"):
        bare.expand_schedule("0 0 * * mon-sun", SEED, JOB)
    with pytest.raises(SmgrError, match="needs the Python library croniter"):
        bare.next_runs("0 2 * * *", 1)
