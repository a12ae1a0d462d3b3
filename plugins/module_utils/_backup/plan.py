# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The smgr_backup operation: requested jobs and host layout -> a plan (files and directories to change) -> apply.

The plan is pure apart from reading the current files, so check mode, diff mode and the real run share it:
what ``--check --diff`` shows is what the run writes. Every new file content is staged (written to a temp file
beside its target) before any file is replaced, so a write that fails (a full disk, a name too long) fails the
run before anything changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import (
    JOB_KEYS,
    JOBS_SUBDIR,
    PASSPHRASE_SUBDIR,
    RUNNER_SETTINGS_FILE,
    BackupJob,
    RunnerSettings,
    job_file_path,
    passphrase_path,
    render_job,
    render_settings,
    validate_job_name,
    validate_jobs,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.layout import (
    LOGROTATE_MODE,
    DirectoryChange,
    apply_directories,
    plan_directories,
    render_logrotate,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.atomic import (
    commit_staged,
    discard_staged,
    read_bytes,
    remove_file,
    stage_file,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError

CONFIG_MODE = 0o600
SECRET_MODE = 0o600
SECRET_SHOWN = "********"
RUNNER_MODE = 0o755
RUN_LOG_LINES = 40  # lines of the runner's log returned by a run_now


@dataclass(frozen=True)
class JobRequest:
    """One job as the task asks for it: its state and the options it sets (unset ones left out)."""

    state: str
    options: dict[str, Any]

    @property
    def name(self) -> Any:
        return self.options.get("name")


@dataclass(frozen=True)
class DesiredFile:
    """A file the task manages: its content (None: it must not exist) and mode; a secret's content is never
    shown (results and diffs say ``********``)."""

    content: bytes | None
    mode: int
    secret: bool = False


@dataclass(frozen=True)
class FileChange:
    """A managed file whose content or mode differs: ``kind`` is create, update, remove or mode."""

    path: str
    before: bytes | None
    after: bytes | None
    mode: int
    kind: str
    secret: bool = False


@dataclass(frozen=True)
class PlannedJob:
    """A job the task names (or, with exclusive, removes) and its file."""

    name: str
    path: str
    state: str


@dataclass
class Plan:
    """What a run changes; shared by check mode, diff mode and the real run."""

    files: list[FileChange]
    directories: list[DirectoryChange]
    jobs: list[PlannedJob]
    runner_path: str
    runner_sha256: str | None
    run_target: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.files or self.directories)

    def warnings(self) -> list[str]:
        """What the operator must do besides this change: a borg repository's key is still encrypted with the
        old passphrase when only the passphrase file changes."""
        return [
            f"{change.path}: the passphrase changed; borg still needs the old one until you run borg key "
            "change-passphrase on the repository (docs/borg.md, changing the passphrase)"
            for change in self.files
            if change.secret and change.kind == "update"
        ]

    def job_actions(self) -> list[dict[str, str]]:
        kinds = {change.path: change.kind for change in self.files}
        actions = []
        for job in self.jobs:
            kind = kinds.get(job.path)
            if job.state == "absent":
                action = "removed" if kind == "remove" else "absent"
            else:
                action = {"create": "created", "update": "updated", "mode": "updated"}.get(kind or "", "unchanged")
            actions.append(dict(name=job.name, action=action, file=job.path))
        return actions

    def diff(self) -> list[dict[str, str]]:
        diffs = [
            dict(
                before_header=change.path,
                after_header=change.path,
                before="" if change.created else f"directory {change.path} mode {change.before_mode:04o}\n",
                after=f"directory {change.path} mode {change.mode:04o}\n",
            )
            for change in self.directories
        ]
        for change in self.files:
            if change.secret:
                before_text = "" if change.before is None else f"{SECRET_SHOWN}\n"
                after_text = (
                    ""
                    if change.after is None
                    else f"{SECRET_SHOWN}"
                    + (" (changed)\n" if change.before is not None and change.kind == "update" else "\n")
                )
            else:
                render = _runner_text if change.path == self.runner_path else _text
                before_text, after_text = render(change.before), render(change.after)
            if change.kind == "mode":
                before_text += f"# mode {_mode_of(change.path):04o}\n"
                after_text += f"# mode {change.mode:04o}\n"
            diffs.append(
                dict(before_header=change.path, after_header=change.path, before=before_text, after=after_text)
            )
        return diffs


# --------------------------------------------------------------------------- requested jobs


def _job_options(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The options of one job that are set (validate_job reads only those)."""
    options = {key: entry.get(key) for key in JOB_KEYS if entry.get(key) is not None}
    if isinstance(options.get("retention"), dict):
        options["retention"] = {key: value for key, value in options["retention"].items() if value is not None}
    return options


def requested_jobs(params: Mapping[str, Any]) -> list[JobRequest]:
    """The jobs from either ``jobs`` or the single-job options."""
    if params["jobs"] is not None:
        if params["name"] is not None:
            raise SmgrError("jobs and name are mutually exclusive: list the job under jobs", field="name")
        return [JobRequest(entry["state"], _job_options(entry)) for entry in params["jobs"]]
    if params["exclusive"]:
        raise SmgrError("exclusive only applies together with jobs", field="exclusive")
    if params["name"] is None:
        stray = [key for key in JOB_KEYS if key != "name" and params.get(key) is not None]
        if stray:
            raise SmgrError("needs name (or use jobs)", field=stray[0])
        return []
    return [JobRequest(params["state"], _job_options(params))]


def run_target(run_now: Any, requests: list[JobRequest]) -> str | None:
    """The job name ``run_now`` asks for, or None."""
    if run_now in (None, False) or (isinstance(run_now, str) and run_now.lower() in ("", "false", "no")):
        return None
    present = [request.name for request in requests if request.state == "present"]
    if run_now is True or (isinstance(run_now, str) and run_now.lower() in ("true", "yes")):
        if len(present) != 1:
            raise SmgrError(
                f"run_now: true needs exactly one job in the task (found {len(present)}); give the job's name",
                field="run_now",
            )
        return present[0]
    if isinstance(run_now, str):
        name = validate_job_name(run_now)
        if name in [request.name for request in requests if request.state == "absent"]:
            raise SmgrError(f"run_now names job {name!r}, which this task removes", field="run_now")
        return name
    raise SmgrError(f"must be true, false or a job name, got {run_now!r}", field="run_now")


def desired_job_files(
    requests: list[JobRequest], exclusive: bool, config_dir: str, settings: RunnerSettings, existing: Mapping[str, str]
) -> tuple[dict[str, DesiredFile], list[PlannedJob], list[BackupJob]]:
    """runner.yaml and the job files the task wants, the jobs it names, and the validated present jobs."""
    for request in requests:
        if request.state == "absent":
            validate_job_name(request.name)
    present = [request.options for request in requests if request.state == "present"]
    for options in present:
        if options.get("type") is None:
            raise SmgrError("is required with state present", job=options.get("name"), field="type")
    jobs = validate_jobs(present, settings.backup_root)
    names = [request.name for request in requests]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SmgrError("is listed twice", job=duplicates[0], field="name")
    files = {os.path.join(config_dir, RUNNER_SETTINGS_FILE): DesiredFile(render_settings(settings), CONFIG_MODE)}
    planned = []
    for job in jobs:
        path = job_file_path(config_dir, job.name)
        files[path] = DesiredFile(render_job(job), CONFIG_MODE)
        planned.append(PlannedJob(job.name, path, "present"))
    for request in requests:
        if request.state == "absent":
            path = job_file_path(config_dir, request.name)
            files[path] = DesiredFile(None, CONFIG_MODE)
            planned.append(PlannedJob(request.name, path, "absent"))
    if exclusive:
        for name, path in existing.items():
            if name not in names:
                files[path] = DesiredFile(None, CONFIG_MODE)
                planned.append(PlannedJob(name, path, "absent"))
    files.update(passphrase_files(config_dir, jobs, [job.name for job in planned if job.state == "absent"]))
    return files, planned, jobs


def passphrase_files(config_dir: str, jobs: list[BackupJob], removed: list[str]) -> dict[str, DesiredFile]:
    """The passphrase file of each encrypted borg job; none for other jobs, removed ones, or files left behind
    by jobs that no longer use borg (a job switched to tar or to encryption none loses its file)."""
    files = {}
    for job in jobs:
        path = passphrase_path(config_dir, job.name)
        content = (job.passphrase + "\n").encode("utf-8") if job.is_borg and job.passphrase else None
        files[path] = DesiredFile(content, SECRET_MODE, secret=True)
    for name in removed:
        files[passphrase_path(config_dir, name)] = DesiredFile(None, SECRET_MODE, secret=True)
    return files


# --------------------------------------------------------------------------- directories


def layout_directories(params: Mapping[str, Any]) -> list[tuple[str, int, str]]:
    """``(path, mode, option)`` of the directories the task may create: those its files need, and with
    ``create_directories`` every directory of the runner's layout."""
    config_dir = params["config_dir"]
    entries = [(config_dir, 0o750, "config_dir"), (os.path.join(config_dir, JOBS_SUBDIR), 0o700, "config_dir")]
    if any(job.get("engine") == "borg" for job in params.get("jobs") or []) or params.get("engine") == "borg":
        entries.append((os.path.join(config_dir, PASSPHRASE_SUBDIR), 0o700, "config_dir"))
    if params["install_runner"]:
        entries.append((os.path.dirname(params["runner_path"]), RUNNER_MODE, "runner_path"))
    if params["logrotate_file"] is not None and params["logrotate_state"] == "present":
        entries.append((os.path.dirname(params["logrotate_file"]), 0o755, "logrotate_file"))
    if params["create_directories"]:
        entries += [
            (params["state_dir"], 0o750, "state_dir"),
            (params["log_dir"], 0o750, "log_dir"),
            (params["lock_dir"], 0o700, "lock_dir"),
            (params["backup_root"], 0o700, "backup_root"),
            (os.path.dirname(params["cron_file"]), 0o755, "cron_file"),
        ]
    return entries


# --------------------------------------------------------------------------- changes


def _mode_of(path: str) -> int | None:
    try:
        return stat.S_IMODE(os.lstat(path).st_mode)
    except FileNotFoundError:
        return None


def _text(data: bytes | None) -> str:
    return "" if data is None else data.decode("utf-8", "replace")


def _runner_text(data: bytes | None) -> str:
    if data is None:
        return ""
    return f"smgr runner: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}\n"


def file_changes(files: Mapping[str, DesiredFile]) -> list[FileChange]:
    """The files whose content or mode differs from what is wanted, sorted by path."""
    changes = []
    for path, desired in sorted(files.items()):
        before = read_bytes(path)
        secret = desired.secret
        if desired.content is None:
            if before is not None:
                changes.append(FileChange(path, before, None, desired.mode, "remove", secret))
        elif before != desired.content:
            kind = "create" if before is None else "update"
            changes.append(FileChange(path, before, desired.content, desired.mode, kind, secret))
        elif _mode_of(path) != desired.mode:
            changes.append(FileChange(path, before, desired.content, desired.mode, "mode", secret))
    return changes


def check_metrics_file(path: str | None) -> None:
    """The metrics file's directory must exist and be writable (node_exporter's textfile directory is created by
    its package, not by us): checked before anything is written, so a typo fails the task, not every run."""
    if path is None:
        return
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise SmgrError(
            f"the directory of {path} does not exist (node_exporter's textfile directory?)", field="metrics_file"
        )
    if not os.access(directory, os.W_OK):
        raise SmgrError(
            f"{directory} is not writable, so {os.path.basename(path)} cannot be written", field="metrics_file"
        )
    if os.path.isdir(path):
        raise SmgrError(f"{path} is a directory, not a file", field="metrics_file")


def plan(
    params: Mapping[str, Any], settings: RunnerSettings, existing: Mapping[str, str], runner: bytes | None
) -> Plan:
    """Everything the task changes, from its options (smgr_backup's), the runner settings, the job files on the
    host (``existing``: name -> path) and the runner's bytes (None when the runner is not installed)."""
    config_dir = params["config_dir"]
    runner_path = params["runner_path"]
    logrotate_file = params["logrotate_file"]
    requests = requested_jobs(params)
    files, planned, jobs = desired_job_files(requests, params["exclusive"], config_dir, settings, existing)
    target = run_target(params["run_now"], requests)
    if target is not None and target not in [job.name for job in jobs] and target not in existing:
        raise SmgrError(f"run_now names job {target!r}, which is neither in this task nor on the host")
    if runner is not None:
        if runner_path in files:
            raise SmgrError(f"{runner_path} is a configuration file, not a place for the runner", field="runner_path")
        files[runner_path] = DesiredFile(runner, RUNNER_MODE)
    if logrotate_file is not None:
        if logrotate_file in files:
            raise SmgrError(f"{logrotate_file} is already written by this task", field="logrotate_file")
        content = None
        if params["logrotate_state"] == "present":
            content = render_logrotate(params["log_dir"], params["logrotate_frequency"], params["logrotate_rotate"])
        files[logrotate_file] = DesiredFile(content, LOGROTATE_MODE)
    check_metrics_file(settings.metrics_file)
    config_dirs = (
        os.path.normpath(config_dir),
        os.path.normpath(os.path.join(config_dir, JOBS_SUBDIR)),
        os.path.normpath(os.path.join(config_dir, PASSPHRASE_SUBDIR)),
    )
    for path in files:
        # Checked before anything is written: a directory in the way would fail the run halfway.
        if path.endswith("/") or os.path.isdir(path) or os.path.normpath(path) in config_dirs:
            raise SmgrError(f"{path} is a directory, not a file", field="runner_path" if path == runner_path else None)
    changes = file_changes(files)
    directories = plan_directories(layout_directories(params))
    if not params["create_directories"]:
        # Only what the writes need, and only when there are writes.
        writes = any(change.kind != "remove" for change in changes)
        directories = [change for change in directories if change.created and writes]
    return Plan(
        files=changes,
        directories=directories,
        jobs=planned,
        runner_path=runner_path,
        runner_sha256=hashlib.sha256(runner).hexdigest() if runner is not None else None,
        run_target=target,
    )


def apply(change: Plan) -> None:
    """Create the directories, then write the files."""
    apply_directories(change.directories)
    apply_file_changes(change.files)


def apply_file_changes(changes: list[FileChange]) -> None:
    """Stage every new content first, then replace, remove and chmod: a failed write changes nothing."""
    staged: dict[str, str] = {}
    try:
        for change in changes:
            if change.kind in ("create", "update"):
                staged[change.path] = stage_file(change.path, change.after or b"", change.mode)
    except SmgrError:
        for tmp_path in staged.values():
            discard_staged(tmp_path)
        raise
    for change in changes:
        if change.kind == "remove":
            remove_file(change.path)
        elif change.kind == "mode":
            os.chmod(change.path, change.mode)
        else:
            commit_staged(staged[change.path], change.path)


# --------------------------------------------------------------------------- run now


def run_backup_now(runner_path: str, config_dir: str, job_name: str) -> dict[str, Any]:
    """Run one job through the installed runner, as cron does; its JSON result with exit code and log lines."""
    command = [runner_path, "--config-dir", config_dir, "--json", "backup", job_name]
    try:
        completed = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    except OSError as exc:
        raise SmgrError(f"cannot start the runner {runner_path}: {exc.strerror}") from exc
    stdout = completed.stdout.decode("utf-8", "replace")
    stderr = completed.stderr.decode("utf-8", "replace")
    try:
        result = json.loads(stdout)
    except ValueError:
        result = {"status": "failed", "exit_code": completed.returncode, "error": stderr.strip()[-2000:]}
    result["exit_code"] = completed.returncode
    result["log"] = stderr.splitlines()[-RUN_LOG_LINES:]
    return result
