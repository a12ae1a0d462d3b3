# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The runner's notifications: backup, cleanup, drill and health results, sent with ``notifications.yaml``.

Each result is an event (success, recovered, failure, partial, skipped, cleanup, drill, health) that goes to its
mail routes and channels (``_notify.dispatch``). The default mail keeps its preferences with one addition: the
first success after a failure ("recovered") is mailed whenever ``notify_on_failure`` is on, because whoever got
the failure mail needs to hear that it is fixed, even with ``notify_on_success: false``. A delivery that fails
is returned as one line for the run's log (channels by name) and never fails the run.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import BackupJob
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.run import Notifier, RunResult
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._common.sysinfo import system_rows
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.config import NotifyConfig, load_config
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.dispatch import dispatch
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.mail import (
    BackupReport,
    HealthCheck,
    HealthReport,
    MaintenanceReport,
    Notification,
    backup_notification,
    default_hostname,
    format_size,
    health_notification,
    maintenance_notification,
)

if TYPE_CHECKING:
    from ansible_collections.smgr.server_manager.plugins.module_utils._backup.drill import DrillResult

NOTIFICATIONS_FILE = "notifications.yaml"


def backup_report(job: BackupJob, result: RunResult, log_tail: list[str]) -> BackupReport:
    error = result.error
    if result.status == "partial":
        error = f"the archive is published, but: {result.error}"
    elif result.status == "skipped":
        error = f"the previous run still holds the job's lock: {result.error}"
    return BackupReport(
        job=job.name,
        success=result.status == "ok",
        service=job.type,
        archive=result.archive,
        size_bytes=result.size,
        duration_seconds=result.duration,
        verified=result.verified if result.archive else None,
        error=error,
        log_tail="\n".join(log_tail) if result.status != "ok" else None,
        recovered=result.recovered,
        skipped_in_a_row=result.consecutive_skips if result.status == "skipped" else 0,
    )


BACKUP_EVENTS = {"ok": "success", "failed": "failure", "partial": "partial", "skipped": "skipped"}


def backup_event(result: RunResult) -> str:
    if result.status == "ok":
        return "recovered" if result.recovered else "success"
    return BACKUP_EVENTS.get(result.status, "failure")


class MailNotifier(Notifier):
    """Sends with the settings in ``<config_dir>/notifications.yaml`` (missing file: disabled); the rate limit of
    the channels is kept in ``state_dir``."""

    def __init__(
        self, config_dir: str, host: str | None = None, backup_root: str | None = None, state_dir: str | None = None
    ) -> None:
        self.path = os.path.join(config_dir, NOTIFICATIONS_FILE)
        self.host = host or default_hostname()
        self.backup_root = backup_root
        self.state_dir = state_dir

    def _send(self, notification: Notification, event: str, job: str = "", error: str = "") -> str | None:
        """Dispatch one notification; the problems as one line for the log (None when all went out)."""
        try:
            delivery = dispatch(
                self._config(),
                notification,
                event,
                job=job,
                error=error,
                system=self._system(),
                state_dir=self.state_dir,
            )
        except SmgrError as exc:
            return str(exc)
        return delivery.summary()

    def _system(self) -> tuple[tuple[str, str], ...]:
        """The system block of every message: this host and the free space of the backup root."""
        return system_rows(self.host, self.backup_root)

    def _config(self) -> NotifyConfig:
        return load_config(self.path, missing_ok=True)

    def backup(self, job: BackupJob, result: RunResult, log_tail: list[str]) -> str | None:
        report = backup_report(job, result, log_tail)
        return self._send(backup_notification(report, self.host), backup_event(result), job.name, report.error or "")

    def cleanup(self, reports: list[dict[str, Any]], log_tail: list[str]) -> str | None:
        failed = [report for report in reports if report.get("status") not in ("ok", "already_running")]
        removed = sum(len(report.get("removed", [])) + len(report.get("remote_removed", [])) for report in reports)
        freed = sum(report.get("freed_bytes", 0) + report.get("remote_freed_bytes", 0) for report in reports)
        details: tuple[tuple[str, str], ...] = (
            ("Jobs", ", ".join(report["job"] for report in reports) or "none"),
            ("Files removed", str(removed)),
            ("Space freed", format_size(freed)),
        )
        report = MaintenanceReport(
            task="cleanup",
            success=not failed,
            details=details,
            error="; ".join(f"{item['job']}: {item.get('error')}" for item in failed) or None,
            log_tail="\n".join(log_tail) if failed else None,
        )
        return self._send(maintenance_notification(report, self.host), "cleanup", "cleanup", report.error or "")

    def drill(self, job: BackupJob, result: DrillResult, log_tail: list[str]) -> str | None:
        """``[FAILED] Maintenance: restore drill <job>`` (or SUCCESS, sent with notify_on_success)."""
        details: tuple[tuple[str, str], ...] = (
            ("Job", job.name),
            ("Archive", os.path.basename(result.archive) if result.archive else "none"),
            ("Entries checked", str(result.entries)),
            ("Data restored", format_size(result.bytes)),
        )
        report = MaintenanceReport(
            task=f"restore drill {job.name}",
            success=result.status == "ok",
            details=details,
            duration_seconds=result.duration,
            error=result.error,
            log_tail="\n".join(log_tail) if result.status != "ok" else None,
        )
        return self._send(maintenance_notification(report, self.host), "drill", job.name, report.error or "")

    def health(self, checks: list[tuple[str, bool, str]]) -> str | None:
        report = HealthReport(checks=tuple(HealthCheck(name, ok, detail) for name, ok, detail in checks))
        failing = "; ".join(f"{check.name}: {check.detail}" for check in report.checks if not check.ok)
        return self._send(health_notification(report, self.host), "health", "health", failing)
