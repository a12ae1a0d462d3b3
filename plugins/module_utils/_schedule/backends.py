# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One smgr_schedule run over both backends: the jobs go to the chosen one, and leave the other.

A job lives in one backend. The run plans both sides first (nothing is written when either is refused), then
writes the chosen backend and only after that removes the same jobs from the other one: when a host switches,
the new entries exist before the old ones go, so no run is missed, and the old ones are gone when the module
returns, so none runs twice. With ``exclusive`` the other backend loses every managed job.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import audit_line, validate_env
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.plan import (
    JobRequest,
    Plan,
    Target,
    apply,
    check_backend,
    current_jobs,
    desired_timers,
    open_audit_log,
    plan,
    write_audit_line,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.systemd import (
    TimersPlan,
    UnitDir,
    apply_timers,
    check_unit_dir,
    plan_timers,
    read_unit_dir,
    systemd_reads,
    systemd_running,
    trigger_units,
    unit_states,
)


@dataclass
class TimersRun:
    """The systemd side of a run: its plan, and whether systemctl is called (a unit directory systemd reads, on a
    host where systemd runs)."""

    plan: TimersPlan

    @property
    def label(self) -> str:
        return f"systemd:{self.plan.unit_dir}"


def timers_side(
    unit_dir: str,
    present: list,
    absent: Iterable[str],
    exclusive: bool,
    env: Mapping[str, str],
    required: bool,
    owner: str,
) -> TimersRun:
    """Plan the unit directory; ``required`` when systemd is the chosen backend (it must then be able to run the
    timers), not when the run only removes what an earlier switch left there."""
    unit_dir = check_unit_dir(unit_dir)
    current: UnitDir = read_unit_dir(unit_dir)
    manage = systemd_reads(unit_dir)
    if manage and not systemd_running():
        if required:
            raise SmgrError(
                f"systemd is not running on this host (no {unit_dir} timers would ever fire): use backend cron, "
                "or a unit_dir outside systemd's directories to only write the files",
                field="backend",
            )
        manage = False  # units left in a directory of a systemd that does not run: only the files go
    states = unit_states(trigger_units(current, present)) if manage else None
    return TimersRun(plan_timers(current, present, absent, exclusive, validate_env(dict(env)), states, owner))


def removal_requests(requests: Iterable[JobRequest], exclusive: bool) -> list[JobRequest]:
    """What the other backend is asked: every managed job gone (exclusive), or the jobs named in this run."""
    return [] if exclusive else [JobRequest(name=request.name, state="absent") for request in requests]


def apply_timers_audited(run: TimersRun, audit_log: str | None, actor: str, now: datetime | None = None) -> None:
    """Apply the systemd plan with one audit line; the audit log is opened first, as for the cron backend."""
    plan_ = run.plan
    audit_fd = open_audit_log(audit_log) if audit_log and plan_.changed else None
    try:
        apply_timers(plan_)
        if audit_fd is not None:
            when = now or datetime.now(timezone.utc)
            write_audit_line(audit_fd, str(audit_log), audit_line(when, run.label, plan_.summary, actor))
    finally:
        if audit_fd is not None:
            os.close(audit_fd)


@dataclass
class ScheduleRun:
    """Both sides of a run, in the order they are applied."""

    backend: str
    cron: Plan
    timers: TimersRun

    @property
    def changed(self) -> bool:
        return self.cron.changed or self.timers.plan.changed


def plan_run(
    backend: str,
    requests: list[JobRequest],
    exclusive: bool,
    target: Target,
    current: tuple[str, bool, int | None],
    unit_dir: str,
    env: Mapping[str, str],
    hash_seed: str,
    lock_dir: str,
) -> ScheduleRun:
    """Plan the chosen backend with the jobs and the other one without them; raises before anything is written.

    ``current`` is the cron target as read (``plan.read_target``), so that a caller that edits it first (the old
    TUI's entries removed from the same crontab) plans from its text.
    """
    check_backend(backend, requests)
    if backend == "systemd":
        present, absent = desired_timers(requests, target, hash_seed)
        timers = timers_side(unit_dir, present, absent, exclusive, env, True, target.label)
        # the cron side only loses jobs: what stays there keeps the environment it was written with
        written_env = current_jobs(target, current[0])[1] or dict(env)
        removals = removal_requests(requests, exclusive)
        cron = plan(target, current, removals, exclusive, written_env, hash_seed, lock_dir)
        return ScheduleRun(backend, cron, timers)
    cron = plan(target, current, requests, exclusive, dict(env), hash_seed, lock_dir)
    names = [] if exclusive else [request.name for request in requests]
    timers = timers_side(unit_dir, [], names, exclusive, env, False, target.label)
    return ScheduleRun(backend, cron, timers)


def apply_run(
    run: ScheduleRun, backup_keep: int, backup_dir: str | None, audit_log: str | None, actor: str
) -> str | None:
    """The chosen backend first, then the other; the cron backup file's path when one was made."""
    backup_file = None
    if run.backend == "systemd":
        if run.timers.plan.changed:
            apply_timers_audited(run.timers, audit_log, actor)
        if run.cron.changed:
            backup_file = apply(run.cron, backup_keep, backup_dir, audit_log, actor)
        return backup_file
    if run.cron.changed:
        backup_file = apply(run.cron, backup_keep, backup_dir, audit_log, actor)
    if run.timers.plan.changed:
        apply_timers_audited(run.timers, audit_log, actor)
    return backup_file
