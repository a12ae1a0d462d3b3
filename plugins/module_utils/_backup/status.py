# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a host knows of its backup jobs: the runner's settings, each job's archives, last runs and next run.

Shared by the runner (``smgr list``, ``smgr status``) and smgr_backup_info. A job's next run is read from its
cron entry ``backup-<job>`` with the parser smgr_schedule itself uses, in the owned cron file or, when it is
not there, in the managed block of the running user's crontab.
"""

from __future__ import annotations

import os
import re
import socket
from datetime import datetime, timezone
from typing import Any

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import read_sidecar
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import (
    RUNNER_SETTINGS_FILE,
    BackupJob,
    RunnerSettings,
    backup_entry_name,
    load_settings,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.retention import scan_archives
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.runlog import iso
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.state import UNREADABLE_STATE, load_state
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._common.lock import is_locked


def effective_settings(config_dir: str) -> RunnerSettings:
    """``runner.yaml``; without one, state and logs sit beside the config directory (``<prefix>/state``, ``/logs``)."""
    if os.path.exists(os.path.join(config_dir, RUNNER_SETTINGS_FILE)):
        return load_settings(config_dir)
    base = os.path.dirname(config_dir.rstrip("/"))
    return RunnerSettings(state_dir=os.path.join(base, "state"), log_dir=os.path.join(base, "logs"))


def archive_host(settings: RunnerSettings) -> str:
    """The ``<host>`` of archive names: ``archive_host`` or the short host name, made safe for a file name."""
    if settings.archive_host:
        return settings.archive_host
    short = socket.gethostname().split(".")[0]
    return re.sub(r"[^A-Za-z0-9-]", "-", short).strip("-") or "localhost"


def archives_of(job: BackupJob, host: str) -> list[dict[str, Any]]:
    items = []
    for record in scan_archives(job.dest, host, job.name):
        path = os.path.join(job.dest, record.name)
        items.append(
            {
                "name": record.name,
                "path": path,
                "size": record.size,
                "time": iso(record.time),
                "compression": record.compression,
                "sha256": read_sidecar(path),
            }
        )
    return items


def scheduled_entries(cron_file: str, unit_dir: str | None = None) -> list[Any]:
    """The managed jobs of both smgr_schedule backends (a job lives in one): the timers of ``unit_dir`` and the
    entries of the owned cron file, else of the running user's crontab block; cron jobs (``crontab.CronJob``)."""
    return timer_entries(unit_dir) + cron_entries(cron_file) if unit_dir else cron_entries(cron_file)


def timer_entries(unit_dir: str) -> list[Any]:
    """The jobs of the managed systemd timers in ``unit_dir``, as cron jobs (the same schedule and command)."""
    from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.systemd import jobs_of, read_unit_dir

    try:
        jobs, _broken = jobs_of(read_unit_dir(unit_dir).files)
    except SmgrError:
        return []
    return [job.job for job in jobs]


def cron_entries(cron_file: str) -> list[Any]:
    """The managed cron entries of the owned cron file, else of the running user's crontab block."""
    # Imported here: only `smgr status` needs the cron parser, and every backup run starts this program.
    from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import (
        parse_block,
        parse_cron_file,
        read_user_crontab,
        split_managed_block,
    )

    try:
        with open(cron_file, encoding="utf-8", errors="replace") as handle:
            return parse_cron_file(handle.read()).jobs
    except OSError:
        pass
    try:
        import getpass

        user = getpass.getuser()
        _before, block, _after = split_managed_block(read_user_crontab(user))
    except (OSError, SmgrError, KeyError):
        return []
    return parse_block(block, user=user).jobs


def next_run(job: str, entries: list[Any]) -> str | None:
    """The next start of backup job ``job`` by its scheduled entry (None when it has none, or it is disabled)."""
    from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.cron import next_runs

    name = backup_entry_name(job)
    for entry in entries:
        if entry.name == name and not entry.disabled:
            try:
                runs = next_runs(entry.expression, 1)
            except SmgrError:
                return None
            return runs[0] if runs else None
    return None


def job_status(job: BackupJob, settings: RunnerSettings, now: datetime, entries: list[Any]) -> dict[str, Any]:
    state = load_state(settings.state_dir, job.name)
    last_success = (state.get("last_success") or {}).get("finished")
    age = None
    if last_success:
        when = datetime.strptime(last_success, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        age = round((now - when).total_seconds() / 3600, 2)
    return {
        "job": job.name,
        "type": job.type,
        "last_run": state.get("last_run"),
        "last_success": last_success,
        "last_success_age_hours": age,
        "consecutive_failures": state.get("consecutive_failures", 0),
        "unreadable_state": state.get(UNREADABLE_STATE),
        "next_run": next_run(job.name, entries),
        "running": is_locked(settings.lock_dir, job.name),
    }
