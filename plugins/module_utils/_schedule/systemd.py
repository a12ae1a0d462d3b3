# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The systemd backend of smgr_schedule: read the managed units of a unit directory, plan, apply.

Planning is pure (files and unit states in, files and ``systemctl`` calls out), so check mode and diff show
what the real run does. Applying writes the new and changed files, stops and disables what goes, removes its
files, runs ``daemon-reload`` once, then enables and starts what is new (``enable --now``) and restarts the
timers whose calendar changed. A unit directory systemd does not read (a prefix in tests or the demo) gets the
files and no ``systemctl`` call.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property

from ansible_collections.smgr.server_manager.plugins.module_utils._common.atomic import remove_file, write_atomic
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._common.process import run_captured
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import diff_summary, merge_jobs
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.timers import (
    MARKER,
    TimerJob,
    is_managed_file_name,
    parse_service,
    render_units,
)

DEFAULT_UNIT_DIR = "/etc/systemd/system"
# The directories of system units systemd reads: units written elsewhere are files only (no systemctl call).
SYSTEM_UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
)
SYSTEMD_RUNNING_DIR = "/run/systemd/system"  # sd_booted(3): systemd is PID 1 when this directory exists
UNIT_FILE_MODE = 0o644
UNIT_DIR_MODE = 0o755
SYSTEMCTL_TIMEOUT = 120
_ENABLED_STATES = ("enabled", "enabled-runtime")
# How systemctl show prints a time when TZ=UTC (systemd 252; --timestamp= does not apply to show's properties).
SHOW_TIME_FORMAT = "%a %Y-%m-%d %H:%M:%S UTC"
_ACTIVE_STATES = ("active", "activating", "reloading")


@dataclass(frozen=True)
class UnitState:
    """What ``systemctl show`` says of a unit."""

    unit_file_state: str = ""
    active_state: str = ""

    @property
    def enabled(self) -> bool:
        return self.unit_file_state in _ENABLED_STATES

    @property
    def active(self) -> bool:
        return self.active_state in _ACTIVE_STATES


@dataclass(frozen=True)
class UnitDir:
    """A unit directory's managed files (name -> text) and the names of files there that are not ours."""

    path: str
    files: dict[str, str]
    foreign: frozenset[str]
    exists: bool

    @cached_property
    def recorded(self) -> tuple[list[TimerJob], list[str]]:
        """``jobs_of(files)``, parsed once for the plan's several questions."""
        return jobs_of(self.files)


@dataclass
class TimersPlan:
    """The unit files before and after, and the systemctl calls in the order they run."""

    unit_dir: str
    manage: bool
    exists: bool
    before_files: dict[str, str]
    after_files: dict[str, str]
    before_jobs: list[TimerJob]
    after_jobs: list[TimerJob]
    disable: list[str] = field(default_factory=list)
    enable: list[str] = field(default_factory=list)
    enable_at_boot: list[str] = field(default_factory=list)
    restart: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)

    @property
    def written(self) -> list[str]:
        return sorted(name for name, text in self.after_files.items() if self.before_files.get(name) != text)

    @property
    def removed(self) -> list[str]:
        return sorted(set(self.before_files) - set(self.after_files))

    @property
    def reload(self) -> bool:
        return self.manage and bool(self.written or self.removed)

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed or self.disable or self.enable or self.enable_at_boot or self.restart)

    @property
    def actions(self) -> list[str]:
        """The systemctl calls, as command lines, in the order they run."""
        calls = []
        if self.disable:
            calls.append(f"systemctl disable --now {' '.join(self.disable)}")
        if self.reload:
            calls.append("systemctl daemon-reload")
        if self.enable:
            calls.append(f"systemctl enable --now {' '.join(self.enable)}")
        if self.enable_at_boot:
            calls.append(f"systemctl enable {' '.join(self.enable_at_boot)}")
        if self.restart:
            calls.append(f"systemctl restart {' '.join(self.restart)}")
        return calls

    @property
    def summary(self) -> dict[str, list[str]]:
        summary = diff_summary(self.before_jobs, self.after_jobs)
        touched = (
            set(self.written) | set(self.enable) | set(self.enable_at_boot) | set(self.disable) | set(self.restart)
        )
        rewritten = {job.name for job in self.after_jobs if {job.service_name, job.timer_name} & touched}
        summary["changed"] = sorted(set(summary["changed"]) | (rewritten - set(summary["added"])))
        return summary


def systemd_reads(unit_dir: str) -> bool:
    """Whether systemd loads units from ``unit_dir`` (else the files are written and systemctl is not called)."""
    return os.path.realpath(unit_dir) in SYSTEM_UNIT_DIRS or unit_dir in SYSTEM_UNIT_DIRS


def systemd_running() -> bool:
    return os.path.isdir(SYSTEMD_RUNNING_DIR)


def check_unit_dir(unit_dir: object) -> str:
    """``unit_dir`` if it is an absolute path that is a directory or does not exist yet, else raise."""
    if not isinstance(unit_dir, str) or not unit_dir.startswith("/"):
        raise SmgrError(f"must be an absolute path, got {unit_dir!r}", field="unit_dir")
    if os.path.exists(unit_dir) and not os.path.isdir(unit_dir):
        raise SmgrError(f"{unit_dir} exists and is not a directory", field="unit_dir")
    return unit_dir


def read_unit_dir(unit_dir: str) -> UnitDir:
    """The managed unit files of ``unit_dir`` (``smgr-*.service``/``.timer`` that start with the marker)."""
    try:
        names = os.listdir(unit_dir)
    except FileNotFoundError:
        return UnitDir(unit_dir, {}, frozenset(), False)
    except OSError as exc:
        raise SmgrError(f"cannot read {unit_dir}: {exc.strerror}", field="unit_dir") from exc
    files: dict[str, str] = {}
    foreign = set()
    for name in sorted(names):
        if not is_managed_file_name(name):
            continue
        path = os.path.join(unit_dir, name)
        try:
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            foreign.add(name)
            continue
        if text.startswith(MARKER + "\n"):
            files[name] = text
        else:
            foreign.add(name)
    return UnitDir(unit_dir, files, frozenset(foreign), True)


def jobs_of(files: Mapping[str, str]) -> tuple[list[TimerJob], list[str]]:
    """The jobs recorded in the managed service files, and the managed files that record none."""
    jobs = []
    broken = []
    for name, text in sorted(files.items()):
        if not name.endswith(".service"):
            continue
        job = parse_service(text)
        if job is None or job.service_name != name:
            broken.append(name)
        else:
            jobs.append(job)
    return jobs, broken


def owned_files(current: UnitDir, owner: str) -> tuple[dict[str, str], set[str]]:
    """The managed files of ``owner``'s jobs (and those with no readable record), and the names of the files of
    other owners' jobs, which this run leaves alone."""
    others = {name for job in current.recorded[0] if job.owner != owner for name in (job.service_name, job.timer_name)}
    return {name: text for name, text in current.files.items() if name not in others}, others & set(current.files)


def plan_timers(
    current: UnitDir,
    present: Iterable[TimerJob],
    absent: Iterable[str],
    exclusive: bool,
    env: Mapping[str, str],
    states: Mapping[str, UnitState] | None,
    owner: str = "",
) -> TimersPlan:
    """The files and systemctl calls that make ``current`` hold the jobs of ``owner``; ``states`` is None when
    systemctl is not to be called. Jobs kept without being asked for again keep their files as they are. Pure:
    raises SmgrError before anything is written."""
    mine, others = owned_files(current, owner)
    # Other owners' files are not mine; a file that records no job is nobody's, so it is in mine.
    before_jobs = [job for job in current.recorded[0] if job.owner == owner]
    broken = current.recorded[1]
    present = list(present)
    after_jobs = merge_jobs(before_jobs, present, exclusive, absent)
    asked = {job.name for job in present}
    after_files: dict[str, str] = {}
    for job in after_jobs:
        rendered = render_units(job, env)
        if job.name not in asked and all(name in mine for name in rendered):
            rendered = {name: mine[name] for name in rendered}  # kept as written, whatever this run's env says
        after_files.update(rendered)
    for names, whose in ((current.foreign, "was not written by smgr_schedule"), (others, "belongs to another target")):
        taken = sorted(set(after_files) & names)
        if taken:
            raise SmgrError(
                f"{os.path.join(current.path, taken[0])} exists and {whose}: refusing to overwrite it",
                field="unit_dir",
            )
    plan = TimersPlan(
        current.path, states is not None, current.exists, mine, after_files, before_jobs, after_jobs, broken=broken
    )
    if states is None:
        return plan
    after_triggers = {job.trigger_unit for job in after_jobs}
    leaving = {job.trigger_unit for job in before_jobs} | {name for name in plan.removed if name.endswith(".timer")}
    for unit in sorted(leaving - after_triggers):
        state = states.get(unit, UnitState())
        if state.enabled or state.active:
            plan.disable.append(unit)
    written = set(plan.written)
    for job in after_jobs:
        unit = job.trigger_unit
        state = states.get(unit, UnitState())
        if job.job.disabled:
            if state.enabled or state.active:
                plan.disable.append(unit)
        elif job.at_boot:
            if not state.enabled:
                plan.enable_at_boot.append(unit)  # started at the next boot, as cron runs @reboot lines
        elif not state.enabled or not state.active:
            plan.enable.append(unit)
        elif unit in written:
            plan.restart.append(unit)  # an active timer computes its next elapse from the calendar it started with
    plan.disable.sort()
    return plan


def show_blocks(output: str) -> dict[str, dict[str, str]]:
    """``systemctl show --property=Id,...`` output of several units: each unit's properties by its Id."""
    blocks = {}
    for block in output.strip().split("\n\n"):
        values = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if values.get("Id"):
            blocks[values["Id"]] = values
    return blocks


def parse_show(output: str) -> dict[str, UnitState]:
    """The states in ``systemctl show --property=Id,UnitFileState,ActiveState`` output."""
    return {
        unit: UnitState(values.get("UnitFileState", ""), values.get("ActiveState", ""))
        for unit, values in show_blocks(output).items()
    }


def systemctl(*args: str) -> str:
    """Run systemctl (timestamps in UTC); its output, or SmgrError with what it said."""
    result = run_captured(["systemctl", *args], SYSTEMCTL_TIMEOUT, extra_env={"TZ": "UTC"})
    if result.status != 0:
        raise SmgrError(f"systemctl {' '.join(args)} failed: {result.last_line()}")
    return result.stdout


def unit_states(units: Iterable[str]) -> dict[str, UnitState]:
    names = sorted(set(units))
    if not names:
        return {}
    return parse_show(systemctl("show", "--property=Id,UnitFileState,ActiveState", "--", *names))


def trigger_units(current: UnitDir, present: Iterable[TimerJob]) -> list[str]:
    """The units whose state a plan needs: the triggers of the jobs there and of the jobs asked for, and every
    timer file (a timer whose service has no readable record is disabled when its files go)."""
    timers = {name for name in current.files if name.endswith(".timer")}
    before_jobs = current.recorded[0]
    return sorted({job.trigger_unit for job in [*before_jobs, *present]} | timers)


def apply_timers(plan: TimersPlan) -> None:
    """Write, stop, remove, reload, start: the order that leaves no unit running from a removed file."""
    if plan.written and not os.path.isdir(plan.unit_dir):
        try:
            os.makedirs(plan.unit_dir, mode=UNIT_DIR_MODE)
        except OSError as exc:
            raise SmgrError(f"cannot create {plan.unit_dir}: {exc.strerror}", field="unit_dir") from exc
    owner = 0 if os.geteuid() == 0 else None
    for name in plan.written:
        write_atomic(os.path.join(plan.unit_dir, name), plan.after_files[name].encode("utf-8"), UNIT_FILE_MODE, owner)
    if plan.disable:
        systemctl("disable", "--now", "--", *plan.disable)
    for name in plan.removed:
        remove_file(os.path.join(plan.unit_dir, name))
    if plan.reload:
        systemctl("daemon-reload")
    if plan.enable:
        systemctl("enable", "--now", "--", *plan.enable)
    if plan.enable_at_boot:
        systemctl("enable", "--", *plan.enable_at_boot)
    if plan.restart:
        systemctl("restart", "--", *plan.restart)


def diff_of_timers(plan: TimersPlan) -> list[dict]:
    """One diff per unit file written or removed, and one for the units whose state changes."""
    diffs = []
    for name in sorted(set(plan.written) | set(plan.removed)):
        path = os.path.join(plan.unit_dir, name)
        before = plan.before_files.get(name, "")
        after = plan.after_files.get(name, "")
        diffs.append(
            dict(
                before=before,
                after=after,
                before_header=path if name in plan.before_files else f"{path} (absent)",
                after_header=path if name in plan.after_files else f"{path} (absent)",
            )
        )
    if plan.enable or plan.enable_at_boot or plan.disable or plan.restart:
        before = {unit: "enabled" for unit in plan.disable} | {unit: "stopped or disabled" for unit in plan.enable}
        after = {unit: "disabled" for unit in plan.disable} | {unit: "enabled, started" for unit in plan.enable}
        before |= {unit: "disabled" for unit in plan.enable_at_boot}
        after |= {unit: "enabled (starts at boot)" for unit in plan.enable_at_boot}
        for unit in plan.restart:
            before[unit] = "active (previous calendar)"
            after[unit] = "restarted"
        diffs.append(dict(before=before, after=after, before_header="systemd units", after_header="systemd units"))
    return diffs


def timer_report(job: TimerJob) -> dict:
    """The systemd part of a job's report."""
    return {
        "persistent": job.persistent,
        "randomized_delay": job.randomized_delay,
        "nice": job.nice,
        "io_class": job.io_class,
        "units": [job.service_name] if job.at_boot else [job.service_name, job.timer_name],
    }


def timer_runtime(units: Iterable[str]) -> dict[str, dict[str, str | None]]:
    """Next elapse, last trigger and result of each timer (of each service, for jobs run at boot), from systemd."""
    names = sorted(set(units))
    if not names:
        return {}
    services = [name.rsplit(".", 1)[0] + ".service" for name in names]
    output = systemctl(
        "show",
        "--property=Id,UnitFileState,ActiveState,NextElapseUSecRealtime,LastTriggerUSec,Result,ExecMainStatus",
        "--",
        *sorted(set(names) | set(services)),
    )
    return parse_runtime(output, names)


def parse_runtime(output: str, names: Iterable[str]) -> dict[str, dict[str, str | None]]:
    """The report of each trigger unit in ``names`` from ``systemctl show`` output of the units and services."""
    blocks = show_blocks(output)
    runtime = {}
    for name in names:
        timer = blocks.get(name, {})
        service = blocks.get(name.rsplit(".", 1)[0] + ".service", {})
        runtime[name] = {
            "enabled": timer.get("UnitFileState") or None,
            "active": timer.get("ActiveState") or None,
            "next_elapse": _iso(timer.get("NextElapseUSecRealtime")),
            "last_trigger": _iso(timer.get("LastTriggerUSec")),
            "result": service.get("Result") or None,
            "exit_status": service.get("ExecMainStatus") or None,
        }
    return runtime


def _iso(value: str | None) -> str | None:
    """A timestamp as ``systemctl show`` prints it with TZ=UTC (``Sat 2026-12-05 00:16:00 UTC``) as local ISO 8601;
    empty means never. Anything else is returned as printed."""
    if not value or value in ("0", "n/a"):
        return None
    try:
        when = datetime.strptime(value, SHOW_TIME_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return value
    return when.astimezone().isoformat()
