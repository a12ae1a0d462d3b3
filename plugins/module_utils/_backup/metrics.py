# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Metrics for Prometheus: one text file in the exposition format, for node_exporter's textfile collector.

The runner rewrites the whole file atomically after every backup, cleanup and drill, from the jobs' state files
and archives, so a scrape never sees half a file and a job removed from the host leaves it with the next run.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import BackupJob
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.retention import scan_archives
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.state import load_state
from ansible_collections.smgr.server_manager.plugins.module_utils._common.atomic import write_atomic

METRICS_MODE = 0o644  # node_exporter runs as its own user
RUN_STATUSES = ("ok", "partial", "failed")

# name -> (type, help)
METRICS: dict[str, tuple[str, str]] = {
    "smgr_backup_last_success_timestamp_seconds": ("gauge", "End of the last backup run whose every step succeeded."),
    "smgr_backup_last_run_timestamp_seconds": ("gauge", "End of the last backup run."),
    "smgr_backup_last_run_status": ("gauge", "1 for the status of the last backup run (ok, partial, failed)."),
    "smgr_backup_last_run_duration_seconds": ("gauge", "Duration of the last backup run."),
    "smgr_backup_last_archive_size_bytes": ("gauge", "Size of the archive of the last run that published one."),
    "smgr_backup_archives": ("gauge", "Archives of the job kept on this host."),
    "smgr_backup_archives_size_bytes": ("gauge", "Bytes of the archives of the job kept on this host."),
    "smgr_backup_consecutive_failures": ("gauge", "Backup runs in a row that were not ok."),
    "smgr_backup_skipped_runs_total": ("counter", "Runs that did not start because the previous run still ran."),
    "smgr_backup_offsite_ok": ("gauge", "1 when the last run's off-site copy was verified (jobs with a remote)."),
    "smgr_backup_last_offsite_success_timestamp_seconds": (
        "gauge",
        "End of the last run with a verified off-site copy.",
    ),
    "smgr_backup_drill_ok": ("gauge", "1 when the last restore drill passed (jobs that had one)."),
    "smgr_backup_last_drill_timestamp_seconds": ("gauge", "End of the last restore drill."),
}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _timestamp(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def _number(value: float) -> str:
    if math.isfinite(value) and value == int(value):
        return str(int(value))
    return repr(float(value))


def job_samples(job: BackupJob, state: dict[str, Any], host: str) -> Iterable[tuple[str, dict[str, str], float]]:
    """(metric, labels, value) of one job."""
    labels = {"job": job.name, "type": job.type}
    last_run = state.get("last_run") or {}
    success = _timestamp((state.get("last_success") or {}).get("finished"))
    if success is not None:
        yield "smgr_backup_last_success_timestamp_seconds", labels, success
    finished = _timestamp(last_run.get("finished"))
    if finished is not None:
        yield "smgr_backup_last_run_timestamp_seconds", labels, finished
        for status in RUN_STATUSES:
            yield "smgr_backup_last_run_status", {**labels, "status": status}, float(last_run.get("status") == status)
        yield "smgr_backup_last_run_duration_seconds", labels, float(last_run.get("duration") or 0)
    local = state.get("last_local_success") or {}
    if local.get("size") is not None:
        yield "smgr_backup_last_archive_size_bytes", labels, float(local["size"])
    if job.is_borg:
        # The repository may be remote and is locked while a backup runs: the count borg prune reported at the
        # last run; a repository's size on disk is shared by its jobs and hosts, so no size sample.
        kept = local.get("archives_kept")
        if kept is not None:
            yield "smgr_backup_archives", labels, float(kept)
    else:
        archives = scan_archives(job.dest, host, job.name)
        yield "smgr_backup_archives", labels, float(len(archives))
        yield "smgr_backup_archives_size_bytes", labels, float(sum(record.bytes_on_disk for record in archives))
    yield "smgr_backup_consecutive_failures", labels, float(state.get("consecutive_failures", 0))
    yield "smgr_backup_skipped_runs_total", labels, float(state.get("skips_total", 0))
    if job.remote:
        yield "smgr_backup_offsite_ok", labels, float(last_run.get("offsite") == "ok")
        offsite = _timestamp((state.get("last_offsite_success") or {}).get("finished"))
        if offsite is not None:
            yield "smgr_backup_last_offsite_success_timestamp_seconds", labels, offsite
    drill = state.get("last_drill") or {}
    if drill.get("finished"):
        yield "smgr_backup_drill_ok", labels, float(drill.get("status") == "ok")
        yield "smgr_backup_last_drill_timestamp_seconds", labels, _timestamp(drill["finished"]) or 0.0


def render_metrics(jobs: Sequence[BackupJob], state_dir: str, host: str) -> str:
    """The whole file: every metric's HELP and TYPE, then its samples for every job."""
    samples: dict[str, list[tuple[dict[str, str], float]]] = {name: [] for name in METRICS}
    for job in sorted(jobs, key=lambda item: item.name):
        for name, labels, value in job_samples(job, load_state(state_dir, job.name), host):
            samples[name].append((labels, value))
    lines = []
    for name, (kind, text) in METRICS.items():
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
        for labels, value in samples[name]:
            rendered = ",".join(f'{key}="{_label(item)}"' for key, item in labels.items())
            lines.append(f"{name}{{{rendered}}} {_number(value)}")
    return "\n".join(lines) + "\n"


def write_metrics(path: str, jobs: Sequence[BackupJob], state_dir: str, host: str) -> None:
    """Replace ``path`` atomically (mode 0644) with the metrics of ``jobs``; SmgrError when it cannot."""
    owner = 0 if os.geteuid() == 0 else None
    write_atomic(path, render_metrics(jobs, state_dir, host).encode("utf-8"), METRICS_MODE, owner, owner)
