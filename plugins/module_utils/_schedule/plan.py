# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The smgr_schedule operation: read a cron target, plan the new text, apply it.

Planning is pure (text in, text out) so check mode and diff show exactly what the real run writes;
applying is one atomic write (owned cron file) or one ``crontab(1)`` call (user crontab), preceded by
a backup of the previous version and followed by one audit line.
"""

from __future__ import annotations

import getpass
import os
import socket
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ansible_collections.smgr.server_manager.plugins.module_utils._common.atomic import (
    read_bytes,
    remove_file,
    write_atomic,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.cron import (
    describe,
    expand_schedule,
    find_collisions,
    next_runs,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import (
    DEFAULT_ENV,
    CronJob,
    audit_line,
    backup_previous,
    diff_summary,
    merge_jobs,
    merge_managed_block,
    parse_block,
    parse_cron_file,
    read_user_crontab,
    render_block,
    render_cron_file,
    split_managed_block,
    validate_cron_file,
    validate_jobs,
    validate_name,
    validate_user,
    write_user_crontab,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.timers import (
    IO_CLASSES,
    TimerJob,
    check_timer_options,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.tui import TuiMigration, plan_tui_migration

CRON_FILE_MODE = 0o644
AUDIT_LOG_MODE = 0o640
LOG_DIR_MODE = 0o750
COLLISION_WINDOW_DAYS = 7
# The most next run times a module computes per job: enough for any report, and far from croniter's year-9999
# limit even for a job that runs once every eight years (29 February on a Monday ...).
MAX_NEXT_RUNS = 100

# The options of one job in Ansible's argument-spec form: smgr_schedule's job options and, on the controller,
# the role's check of its cron entries.
JOB_OPTIONS = dict(
    schedule=dict(type="str"),
    command=dict(type="str"),
    user=dict(type="str"),
    log=dict(type="path"),
    prevent_overlap=dict(type="bool", default=True),
    disabled=dict(type="bool", default=False),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    persistent=dict(type="bool", default=True),
    randomized_delay=dict(type="int"),
    nice=dict(type="int"),
    io_class=dict(type="str", choices=list(IO_CLASSES)),
)
BACKENDS = ("cron", "systemd")
# Job options only a systemd unit can honour, with the value that means "not asked for".
TIMER_ONLY_OPTIONS = {"persistent": True, "randomized_delay": None, "nice": None, "io_class": None}


@dataclass(frozen=True)
class JobRequest:
    """One job as the user asked for it (``schedule``/``command`` are None for ``state: absent``)."""

    name: str
    schedule: str | None = None
    command: str | None = None
    user: str | None = None
    log: str | None = None
    prevent_overlap: bool = True
    disabled: bool = False
    state: str = "present"
    persistent: bool = True
    randomized_delay: int | None = None
    nice: int | None = None
    io_class: str | None = None


@dataclass(frozen=True)
class Target:
    """Where the managed entries live: an owned cron file, or a block of ``crontab_user``'s crontab."""

    cron_file: str | None = None
    crontab_user: str | None = None

    @property
    def label(self) -> str:
        return f"crontab:{self.crontab_user}" if self.crontab_user else str(self.cron_file)

    @property
    def backup_basename(self) -> str:
        return f"crontab-{self.crontab_user}" if self.crontab_user else os.path.basename(str(self.cron_file))


@dataclass
class Plan:
    """What a run changes: the whole text before and after, and the job records on both sides."""

    target: Target
    before_text: str
    after_text: str
    before_jobs: list[CronJob]
    after_jobs: list[CronJob]
    exists: bool
    mode_before: int | None = None
    unmanaged: list[str] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, list[str]]:
        return diff_summary(self.before_jobs, self.after_jobs)

    @property
    def mode_wrong(self) -> bool:
        return bool(self.after_text) and self.mode_before is not None and self.mode_before != CRON_FILE_MODE

    @property
    def changed(self) -> bool:
        return self.before_text != self.after_text or self.mode_wrong


def default_hash_seed() -> str:
    """The host's own name: hashed schedules still differ per host when no seed is given."""
    return socket.getfqdn()


def target_from(cron_file: str | None, crontab_user: str | None) -> Target:
    if crontab_user:
        return Target(crontab_user=validate_user(crontab_user, field_name="crontab_user"))
    if not cron_file:
        raise SmgrError("give cron_file or crontab_user", field="cron_file")
    validate_cron_file(cron_file)
    if not os.path.isabs(cron_file):
        raise SmgrError(f"must be an absolute path, got {cron_file!r}", field="cron_file")
    return Target(cron_file=cron_file)


def desired_jobs(requests: Iterable[JobRequest], target: Target, hash_seed: str) -> tuple[list[CronJob], set[str]]:
    """Return the jobs to be present (schedules expanded) and the names to remove."""
    present: list[CronJob] = []
    absent: set[str] = set()
    for request in requests:
        name = validate_name(request.name)
        if request.state == "absent":
            absent.add(name)
            continue
        if request.state != "present":
            raise SmgrError(f"must be present or absent, got {request.state!r}", job=name, field="state")
        if request.schedule is None:
            raise SmgrError("is required when state is present", job=name, field="schedule")
        if request.command is None:
            raise SmgrError("is required when state is present", job=name, field="command")
        present.append(
            CronJob(
                name=name,
                expression=expand_schedule(request.schedule, hash_seed, name),
                command=request.command,
                schedule=request.schedule,
                user=_job_user(request, target),
                log=request.log,
                prevent_overlap=request.prevent_overlap,
                disabled=request.disabled,
            )
        )
    return present, absent


def check_backend(backend: str, requests: Iterable[JobRequest]) -> str:
    """``backend`` if every job's options mean something there, else SmgrError naming the job and field."""
    if backend not in BACKENDS:
        raise SmgrError(f"must be one of {', '.join(BACKENDS)}, got {backend!r}", field="backend")
    if backend == "systemd":
        return backend
    for request in requests:
        for option, unset in TIMER_ONLY_OPTIONS.items():
            if getattr(request, option) != unset:
                raise SmgrError("is an option of systemd timers: use backend systemd", job=request.name, field=option)
    return backend


def desired_timers(requests: Iterable[JobRequest], target: Target, hash_seed: str) -> tuple[list[TimerJob], set[str]]:
    """The jobs of the systemd backend to be present (schedules expanded, options checked) and the names to
    remove; the cron rules for names, users (a user's crontab: that user), schedules, commands and logs apply
    unchanged, and each job belongs to ``target`` (its owner)."""
    requests = list(requests)
    present, absent = desired_jobs(requests, target, hash_seed)
    by_name = {request.name: request for request in requests}
    timers = []
    for job in validate_jobs(present):
        request = by_name[job.name]
        timers.append(
            check_timer_options(
                TimerJob(
                    job, request.persistent, request.randomized_delay, request.nice, request.io_class, target.label
                )
            )
        )
    return timers, absent


def _job_user(request: JobRequest, target: Target) -> str:
    if target.crontab_user is None:
        return validate_user(request.user or "root", job=request.name)
    # A crontab's lines run as its owner; a different user cannot be expressed there.
    if request.user not in (None, target.crontab_user):
        raise SmgrError(
            f"must be unset or {target.crontab_user!r}: entries of a user's crontab run as that user",
            job=request.name,
            field="user",
        )
    return target.crontab_user


def read_target(target: Target) -> tuple[str, bool, int | None]:
    """Return (current text, whether it exists, its mode) of the target."""
    if target.crontab_user:
        text = read_user_crontab(target.crontab_user)
        return text, bool(text), None
    content = read_bytes(str(target.cron_file))
    if content is None:
        return "", False, None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SmgrError(f"{target.cron_file} is not UTF-8 text: refusing to rewrite it", field="cron_file") from exc
    return text, True, stat.S_IMODE(os.stat(str(target.cron_file)).st_mode)


def current_jobs(target: Target, text: str) -> tuple[list[CronJob], dict[str, str], list[str], int]:
    """Return (managed jobs, managed env, unmanaged lines, foreign line count) of the target's text."""
    if target.crontab_user:
        before, block, after = split_managed_block(text)
        parsed = parse_block(block, user=target.crontab_user)
        return parsed.jobs, parsed.env, parsed.unmanaged, len(before) + len(after)
    parsed = parse_cron_file(text)
    return parsed.jobs, parsed.env, parsed.unmanaged, len(parsed.unmanaged)


def plan(
    target: Target,
    current: tuple[str, bool, int | None],
    requests: Iterable[JobRequest],
    exclusive: bool,
    env: dict[str, str] | None,
    hash_seed: str,
    lock_dir: str,
) -> Plan:
    """Compute the text the target must hold. Pure: raises SmgrError before anything is written."""
    text, exists, mode = current
    present, absent = desired_jobs(requests, target, hash_seed)
    before_jobs, _env, unmanaged, _foreign = current_jobs(target, text)
    after_jobs = merge_jobs(before_jobs, present, exclusive, absent)
    env = DEFAULT_ENV if env is None else env
    if target.crontab_user:
        after_text = merge_managed_block(text, render_block(after_jobs, env, lock_dir))
    else:
        # No jobs, no file: "disable all" leaves nothing of ours behind.
        after_text = render_cron_file(after_jobs, env, lock_dir=lock_dir) if after_jobs else ""
    return Plan(target, text, after_text, before_jobs, after_jobs, exists, mode, unmanaged)


def apply(
    change: Plan,
    backup_keep: int,
    backup_dir: str | None,
    audit_log: str | None,
    actor: str,
    now: datetime | None = None,
) -> str | None:
    """Write the planned text; return the path of the backup of the previous version, if one was made.

    The audit log is opened before anything is written, so an audit log that cannot be written fails the run
    with the target untouched.
    """
    now = now or datetime.now(timezone.utc)
    audit_fd = None
    if audit_log and change.before_text != change.after_text:
        audit_fd = open_audit_log(audit_log, change.target)
    try:
        backup_file = None
        if change.exists and backup_dir and change.before_text != change.after_text:
            backup_file = backup_previous(
                change.target.backup_basename, change.before_text.encode("utf-8"), backup_dir, backup_keep, now
            )
        if change.target.crontab_user:
            write_user_crontab(change.target.crontab_user, change.after_text)
        elif change.after_text:
            owner = 0 if os.geteuid() == 0 else None
            write_atomic(str(change.target.cron_file), change.after_text.encode("utf-8"), CRON_FILE_MODE, owner, owner)
        else:
            remove_file(str(change.target.cron_file))
        if audit_fd is not None:
            write_audit_line(audit_fd, str(audit_log), audit_line(now, change.target.label, change.summary, actor))
    finally:
        if audit_fd is not None:
            os.close(audit_fd)
    return backup_file


def open_audit_log(path: str, target: Target | None = None) -> int:
    """Open (create) the audit log for appending; refuse the cron file itself as the audit log."""
    if "\x00" in path:
        raise SmgrError("must not contain a NUL character", field="audit_log")
    if target is not None and target.cron_file and os.path.realpath(path) == os.path.realpath(str(target.cron_file)):
        raise SmgrError(f"{path} is the cron file itself: audit lines would become cron lines", field="audit_log")
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, mode=LOG_DIR_MODE, exist_ok=True)
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, AUDIT_LOG_MODE)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise SmgrError(f"cannot append to {path}: {reason}", field="audit_log") from exc


def write_audit_line(fd: int, path: str, line: str) -> None:
    """Append one line; O_APPEND keeps concurrent writers' lines whole."""
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
    except OSError as exc:
        raise SmgrError(f"cannot append to {path}: {exc.strerror}", field="audit_log") from exc


def append_audit_line(path: str, line: str) -> None:
    """Append one line to the audit log at ``path``."""
    fd = open_audit_log(path)
    try:
        write_audit_line(fd, path, line)
    finally:
        os.close(fd)


def check_next_runs(count: int) -> int:
    """Return ``count`` if it is a number of next run times the modules compute (0 to MAX_NEXT_RUNS), else raise."""
    if not 0 <= count <= MAX_NEXT_RUNS:
        raise SmgrError(f"must be from 0 to {MAX_NEXT_RUNS}, got {count}", field="next_runs")
    return count


def job_report(job: CronJob, next_run_count: int, now: datetime | None = None) -> dict:
    """What the modules return per job."""
    return {
        "name": job.name,
        "schedule": job.schedule,
        "expression": job.expression,
        "description": describe(job.expression),
        "next_runs": [] if job.disabled else next_runs(job.expression, next_run_count, now),
        "command": job.command,
        "user": job.user,
        "log": job.log,
        "prevent_overlap": job.prevent_overlap,
        "disabled": job.disabled,
    }


def collision_warnings(jobs: Iterable[CronJob], now: datetime | None = None) -> list[str]:
    """One warning per pair of enabled jobs starting in the same minute within the next 7 days."""
    expressions = {job.name: job.expression for job in jobs if not job.disabled}
    return [
        f"jobs {first!r} and {second!r} start in the same minute (first at {when}); "
        "spread them, for example with an H field"
        for first, second, when in find_collisions(expressions, COLLISION_WINDOW_DAYS, now)
    ]


def tui_migration(
    target: Target, current: tuple[str, bool, int | None], user: str
) -> tuple[TuiMigration, tuple[str, bool, int | None]]:
    """The TUI's entries in ``user``'s crontab; when that crontab is the target itself, the target's text
    without them (the module's plan then starts from it)."""
    user = validate_user(user, field_name="migrate_tui_user")
    if target.crontab_user == user:
        migration = plan_tui_migration(user, current[0])
        return migration, (migration.after, current[1], current[2])
    if os.geteuid() != 0 and user != getpass.getuser():
        # Only root reads another user's crontab; a run without root (under a prefix) has nothing to migrate.
        return plan_tui_migration(user, ""), current
    return plan_tui_migration(user, read_user_crontab(user)), current


def apply_tui_migration(migration: TuiMigration, backup_keep: int, backup_dir: str | None) -> str | None:
    """Copy the crontab to ``backup_dir``, then install it without the TUI's entries; the copy's path."""
    backup_file = None
    if backup_dir:
        now = datetime.now(timezone.utc)
        backup_file = backup_previous(
            f"crontab-{migration.user}", migration.before.encode("utf-8"), backup_dir, backup_keep, now
        )
    write_user_crontab(migration.user, migration.after)
    return backup_file
