# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Health checks of the backup system: are backups recent, is there room for the next one, does cron run."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import BackupJob
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.state import load_state
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._common.process import process_running
from ansible_collections.smgr.server_manager.plugins.module_utils._common.sysinfo import existing_ancestor

CRON_NAMES = ("cron", "crond")
DEFAULT_MAX_AGE_HOURS = 26
DEFAULT_MIN_FREE = "10%"


@dataclass(frozen=True)
class FreeSpaceThreshold:
    """``10%`` (of the filesystem) or an absolute size like ``5G``/``500M``/``1024`` (bytes)."""

    percent: float | None = None
    bytes: int | None = None

    def describe(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else f"{self.bytes} bytes"


@dataclass(frozen=True)
class HealthProblem:
    check: str
    message: str
    job: str | None = None

    def as_dict(self) -> dict:
        return {"check": self.check, "job": self.job, "message": self.message}


def parse_threshold(text: str) -> FreeSpaceThreshold:
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(%|[KMGT]?)(?:i?B)?\s*", text or "", re.IGNORECASE)
    if not match:
        raise SmgrError(f"--min-free must look like 10% or 5G, got {text!r}")
    number, unit = float(match.group(1)), match.group(2).upper()
    if unit == "%":
        if not 0 <= number < 100:
            raise SmgrError(f"--min-free percentage must be between 0 and 100, got {text!r}")
        return FreeSpaceThreshold(percent=number)
    factor = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}[unit]
    return FreeSpaceThreshold(bytes=int(number * factor))


GAP_RUNS = 400  # upcoming runs examined for a schedule's longest gap (a year of daily runs)
MIN_MARGIN = timedelta(hours=1)


def schedule_margin(gap: timedelta) -> timedelta:
    """Time a run may take and start late: a tenth of the gap, at least an hour (daily: 26.4 hours in all)."""
    return max(MIN_MARGIN, gap / 10)


def longest_gap(expression: str, now: datetime) -> timedelta | None:
    """The longest time between two consecutive runs of a cron expression (None for @reboot)."""
    # Imported here: the schedule parser and croniter are only needed by `smgr health` and `smgr status`.
    from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.cron import next_runs

    starts = [datetime.fromisoformat(text) for text in next_runs(expression, GAP_RUNS, now)]
    if len(starts) < 2:
        return None
    return max(later - earlier for earlier, later in zip(starts, starts[1:]))


def allowed_age(job: BackupJob, expression: str | None, default: timedelta, now: datetime) -> timedelta:
    """How old the job's last success may be: its ``max_age_hours``, else its schedule's longest gap plus a
    margin, else ``default`` (a job without a schedule)."""
    if job.max_age_hours is not None:
        return timedelta(hours=job.max_age_hours)
    gap = None
    if expression is not None:
        try:
            gap = longest_gap(expression, now)
        except SmgrError:
            gap = None
    return gap + schedule_margin(gap) if gap is not None else default


def _age_problem(
    check: str, what: str, record: dict, limit: timedelta, now: datetime, job: str
) -> HealthProblem | None:
    finished = (record or {}).get("finished")
    if not finished:
        return HealthProblem(check, f"has never completed a {what}", job)
    when = datetime.strptime(finished, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=now.tzinfo)
    age = now - when
    if age <= limit:
        return None
    return HealthProblem(
        check,
        f"last {what} is {age.total_seconds() / 3600:.1f} hours old ({finished}), "
        f"more than {limit.total_seconds() / 3600:g} hours",
        job,
    )


def backup_age_problems(
    jobs: Sequence[BackupJob], state_dir: str, limits: dict[str, timedelta], now: datetime
) -> list[HealthProblem]:
    """Jobs whose last full success (status ok: a partial run is none) is older than their limit."""
    problems = []
    for job in jobs:
        state = load_state(state_dir, job.name)
        problem = _age_problem(
            "backup_age", "successful backup", state.get("last_success"), limits[job.name], now, job.name
        )
        if problem is not None:
            problems.append(problem)
    return problems


def offsite_age_problems(
    jobs: Sequence[BackupJob], state_dir: str, limits: dict[str, timedelta], now: datetime
) -> list[HealthProblem]:
    """Jobs with a remote whose last verified off-site copy is older than their limit."""
    problems = []
    for job in jobs:
        if not job.remote:
            continue
        state = load_state(state_dir, job.name)
        record = state.get("last_offsite_success")
        problem = _age_problem("offsite_age", f"off-site copy to {job.remote}", record, limits[job.name], now, job.name)
        if problem is not None:
            failures = state.get("consecutive_offsite_failures", 0)
            if failures:
                problem = HealthProblem(
                    problem.check, f"{problem.message}; {failures} failed copies in a row", job.name
                )
            problems.append(problem)
    return problems


def drill_problems(
    jobs: Sequence[BackupJob], state_dir: str, limit: timedelta, now: datetime
) -> tuple[list[HealthProblem], list[str]]:
    """Jobs whose last restore drill failed or is older than ``limit``; and the jobs not drilled yet (no problem:
    the first scheduled drill has not come)."""
    problems, undrilled = [], []
    for job in jobs:
        drill = load_state(state_dir, job.name).get("last_drill") or {}
        if not drill.get("finished"):
            undrilled.append(job.name)
            continue
        if drill.get("status") != "ok":
            archive = os.path.basename(drill.get("archive") or "") or "no archive"
            problems.append(
                HealthProblem("drill", f"last restore drill failed ({archive}): {drill.get('error')}", job.name)
            )
            continue
        problem = _age_problem("drill", "restore drill", drill, limit, now, job.name)
        if problem is not None:
            problems.append(problem)
    return problems, undrilled


def free_space_problems(jobs: Sequence[BackupJob], threshold: FreeSpaceThreshold) -> list[HealthProblem]:
    problems = []
    seen = set()
    for job in jobs:
        # A borg job's space is its local repository's (its dest only stages dumps).
        watched = job.repository if job.is_borg and (job.repository or "").startswith("/") else job.dest
        where = existing_ancestor(watched)
        info = os.statvfs(where)
        if info.f_fsid in seen and info.f_fsid:
            continue
        seen.add(info.f_fsid)
        free = info.f_bavail * info.f_frsize
        total = info.f_blocks * info.f_frsize
        low = (threshold.percent is not None and total and free * 100.0 / total < threshold.percent) or (
            threshold.bytes is not None and free < threshold.bytes
        )
        if low:
            percent = free * 100.0 / total if total else 0.0
            problems.append(
                HealthProblem(
                    "free_space",
                    f"only {free} bytes ({percent:.1f}%) free on the filesystem of {watched}, "
                    f"below {threshold.describe()}",
                    job.name,
                )
            )
    return problems


def cron_running(proc: str = "/proc") -> bool:
    """Whether a cron daemon (``cron`` or ``crond``) is among the running processes."""
    return process_running(CRON_NAMES, proc)


def cron_problems(proc: str = "/proc") -> list[HealthProblem]:
    if cron_running(proc):
        return []
    return [HealthProblem("cron", "no cron daemon is running: scheduled backups will not start")]


def timer_problems(systemd_dir: str = "/run/systemd/system") -> list[HealthProblem]:
    """The jobs are systemd timers: systemd must be the running init (sd_booted(3): its runtime directory)."""
    if os.path.isdir(systemd_dir):
        return []
    return [HealthProblem("systemd", "systemd is not running: the timers of the scheduled backups will not fire")]
