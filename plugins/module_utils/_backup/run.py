# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One backup run, start to end: lock, hooks, dump, archive, verify, publish, sync, retention, state.

The order is what makes the archive trustworthy: nothing gets its final name
before it was read back completely and matched its checksum; older archives are
only removed (by retention) after the new one is published; every exit path
removes what this run left half-done (the ``.partial`` file, the staging
directory) and records the result in the state file.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import (
    PARTIAL_SUFFIX,
    VerificationError,
    archive_name,
    create_archive,
    publish,
    sha256_file,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.borg import LOCKED, TIMEOUT, BorgError
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.borg_job import (
    create_backup,
    may_create,
    repository_for,
    retain,
    verify_archive,
    verify_data_due,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.borg_job import drill as borg_drill
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.drill import (
    DrillFailed,
    DrillResult,
    drill_archive,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import (
    DEFAULT_CONFIG_DIR,
    NGINX_DEFAULT_PATHS,
    BackupJob,
    RunnerSettings,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.mailcow import dump_mailcow
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.npm import dump_npm
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.remote import (
    Remote,
    cleanup_remote,
    sync_archive,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.retention import (
    CleanupResult,
    apply_retention,
    claimed_legacy_archives,
    remove_leftovers,
    scan_archives,
    stale_leftovers,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.runlog import (
    RunLog,
    iso,
    utc_now,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.state import (
    known_state,
    load_state,
    record_drill,
    record_run,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._common.lock import AlreadyRunning, JobLock
from ansible_collections.smgr.server_manager.plugins.module_utils._common.process import run_in_session, subprocess_env
from ansible_collections.smgr.server_manager.plugins.module_utils._common.sysinfo import human_bytes

if TYPE_CHECKING:
    from ansible_collections.smgr.server_manager.plugins.module_utils._backup.drill import DrillResult

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_VERIFY = 4
EXIT_PARTIAL = 5
STAGING_PREFIX = ".smgr-staging-"
PING_TIMEOUT = 10
HOOK_LOG_LINES = 20  # last lines of a hook's output copied into the run log


class VerificationFailed(SmgrError):
    """The archive did not read back completely or did not match its checksum."""


class Terminated(SmgrError):
    """SIGTERM/SIGINT/SIGHUP arrived; raised so every cleanup path runs."""


@dataclass
class RunResult:
    """What ``smgr backup JOB --json`` prints and the state file stores as ``last_run``."""

    job: str
    status: str = "failed"
    exit_code: int = EXIT_FAILED
    started: str = ""
    finished: str = ""
    duration: float = 0.0
    archive: str | None = None
    size: int | None = None
    sha256: str | None = None
    entries: int | None = None
    verified: bool = False
    synced: bool | None = None
    remote: str | None = None
    removed: list[str] = field(default_factory=list)
    freed_bytes: int = 0
    remote_removed: list[str] = field(default_factory=list)
    remote_freed_bytes: int = 0
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    recovered: bool = False
    local: str = "failed"  # "ok" once the archive is published here
    offsite: str | None = None  # "ok" or "failed" for a job with a remote, else None
    consecutive_skips: int = 0  # for a skipped run: how many in a row, this one included
    engine: str = "tar"
    original_size: int | None = None  # borg: the bytes of the files archived
    deduplicated_size: int | None = None  # borg: the bytes this archive added to the repository (also ``size``)
    repository_created: bool = False  # borg: this run created the repository
    archives_kept: int | None = None  # borg: the job's archives in the repository after retention

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Notifier:
    """Where run results go; the runner plugs in the e-mail sender (``_backup_notify.MailNotifier``).

    Each method returns None when the message was sent or deliberately skipped, or an error text.
    """

    def backup(self, job: BackupJob, result: RunResult, log_tail: list[str]) -> str | None:
        return None

    def cleanup(self, reports: list[dict[str, Any]], log_tail: list[str]) -> str | None:
        return None

    def health(self, checks: list[tuple[str, bool, str]]) -> str | None:
        return None

    def drill(self, job: BackupJob, result: DrillResult, log_tail: list[str]) -> str | None:
        return None


@dataclass
class RunContext:
    """Everything a run needs from outside: settings, host name, the log, and injectable clock and notifier."""

    settings: RunnerSettings
    host: str
    log: RunLog
    notifier: Notifier = field(default_factory=Notifier)
    now: Callable[[], datetime] = utc_now
    config_dir: str = DEFAULT_CONFIG_DIR  # where a borg job's passphrase file lives

    def borg_repository(self, job: BackupJob) -> Any:
        return repository_for(job, self.config_dir, self.settings.state_dir)


# --------------------------------------------------------------------------- signals


def _raise_terminated(signum: int, _frame: object) -> None:
    raise Terminated(f"stopped by signal {signal.Signals(signum).name}")


TERMINATING_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def install_signal_handlers() -> dict[int, Any]:
    """Turn SIGTERM/SIGINT/SIGHUP into :class:`Terminated`; returns the previous handlers."""
    previous = {}
    for signum in TERMINATING_SIGNALS:
        previous[signum] = signal.signal(signum, _raise_terminated)
    return previous


def restore_signal_handlers(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


# --------------------------------------------------------------------------- small steps


def run_hook(job: BackupJob, key: str, command: str, extra_env: dict[str, str], log: RunLog) -> None:
    """Run ``pre_command``/``post_command`` with ``/bin/sh -c`` under the job's timeout; raise on failure."""
    env = dict(os.environ)
    env.update({"SMGR_JOB": job.name, "SMGR_DEST": job.dest, **extra_env})
    result = run_in_session(["/bin/sh", "-c", command], timeout=job.timeout, tail=HOOK_LOG_LINES, env=env)
    if result.timed_out:
        raise SmgrError(f"did not finish within {job.timeout}s and was stopped", job=job.name, field=key)
    for line in result.tail:
        log.info(job.name, f"{key}: {line}")
    if result.status != 0:
        raise SmgrError(
            f"failed with exit {result.status}: {'; '.join(result.tail[-5:]) or 'no output'}", job=job.name, field=key
        )


def existing_sources(job: BackupJob) -> tuple[list[str], list[str]]:
    """(paths to archive, warnings). Every path given must exist; of an nginx job's default paths
    (``/etc/nginx``, ``/etc/letsencrypt``) a missing one is left out with a warning, as long as one exists."""
    missing = [path for path in job.paths if not os.path.lexists(path)]
    if not missing:
        return list(job.paths), []
    if job.type == "nginx" and job.paths == NGINX_DEFAULT_PATHS and len(missing) < len(job.paths):
        present = [path for path in job.paths if path not in missing]
        return present, [f"default path {path} does not exist on this host: not backed up" for path in missing]
    raise SmgrError(f"path(s) to back up do not exist: {', '.join(missing)}", job=job.name, field="paths")


def nginx_config_test(job: BackupJob, log: RunLog) -> str | None:
    """``nginx -t`` when nginx is installed; a broken configuration is still backed up, with a warning."""
    nginx = shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)), None
    )
    if nginx is None:
        return None
    try:
        completed = subprocess.run(
            [nginx, "-t", "-q"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=60,
            check=False,
            env=subprocess_env(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"nginx -t could not run: {exc}"
    if completed.returncode == 0:
        log.info(job.name, "nginx -t: configuration ok")
        return None
    detail = " ".join(completed.stdout.decode("utf-8", "replace").split())[-300:]
    return f"nginx -t reports a broken configuration (backed up anyway): {detail}"


def ensure_dest(job: BackupJob) -> None:
    try:
        os.makedirs(job.dest, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise SmgrError(f"cannot create {job.dest}: {exc.strerror}", job=job.name, field="dest") from exc
    if not os.path.isdir(job.dest):
        raise SmgrError(f"{job.dest} is not a directory", job=job.name, field="dest")


def remove_crash_leftovers(job: BackupJob, host: str, log: RunLog) -> None:
    """Partial archives, orphan sidecars and staging directories of an earlier killed run (we hold the lock)."""
    leftovers = stale_leftovers(job.dest, host, job.name)
    if leftovers:
        remove_leftovers(job.dest, leftovers)
        log.warning(job.name, f"removed leftovers of an interrupted run: {', '.join(sorted(leftovers))}")
    for entry in os.listdir(job.dest):
        path = os.path.join(job.dest, entry)
        if entry.startswith(STAGING_PREFIX) and os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
            log.warning(job.name, f"removed the staging directory of an interrupted run: {entry}")


def free_archive_name(job: BackupJob, host: str, when: datetime) -> str:
    """The archive name for ``when``; a second later if a run in the same second already used it.

    Names only ever grow: the new archive is named at least a second after the newest one of the job, even if
    that one was moved forward (runs in quick succession) or the clock went back. Retention orders archives by
    the time in their name and must never take the new archive for an old one.
    """
    existing = scan_archives(job.dest, host, job.name)
    if existing:
        when = max(when, existing[0].time + timedelta(seconds=1))
    for offset in range(3600):
        name = archive_name(host, job.name, when + timedelta(seconds=offset), job.compression)
        path = os.path.join(job.dest, name)
        if not os.path.lexists(path) and not os.path.lexists(path + PARTIAL_SUFFIX):
            return name
    raise SmgrError("cannot find a free archive name", job=job.name)


def ping(url: str | None, suffix: str, log: RunLog, job: str) -> None:
    """healthchecks.io-style ping (``/start``, ``""``, ``/fail``); a failing ping is a warning, never a failure."""
    if not url:
        return
    import http.client  # only jobs with a ping_url need the HTTP stack; the runner starts faster without it

    target = url.rstrip("/") + suffix if suffix else url
    try:
        status = http_get(target, PING_TIMEOUT)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        log.warning(job, f"ping {suffix or 'success'} failed (ignored): {exc}")
        return
    if status >= 400:
        log.warning(job, f"ping {suffix or 'success'} failed (ignored): HTTP {status}")


def http_get(url: str, timeout: float) -> int:
    """GET ``url`` (http or https, certificates verified); return the status code."""
    import http.client
    import ssl
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    elif parts.scheme == "http":
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    else:
        raise ValueError(f"unsupported URL scheme {parts.scheme!r}")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        connection.request("GET", path, headers={"User-Agent": "smgr"})
        response = connection.getresponse()
        response.read(1024)
        return response.status
    finally:
        connection.close()


# --------------------------------------------------------------------------- the run


def _prepare_sources(job: BackupJob, ctx: RunContext, staging: str, result: RunResult) -> tuple[list[str], str]:
    """(paths to archive, tar base directory) for the job's type."""
    if job.type == "mailcow":
        ctx.log.info(job.name, f"running Mailcow's backup script for {', '.join(job.mailcow_components)}")
        paths, warnings = dump_mailcow(job, staging, ctx.settings.lock_dir)
        result.warnings.extend(warnings)
        ctx.log.info(job.name, f"Mailcow dump checked: {', '.join(os.path.basename(path) for path in paths)}")
        return paths, staging
    if job.type == "npm":
        ctx.log.info(job.name, f"copying Nginx Proxy Manager's {job.npm_dir} and its database")
        paths, warnings = dump_npm(job, staging)
        ctx.log.info(job.name, "NPM's database copied and checked")
        return paths, staging
    sources, warnings = existing_sources(job)
    if job.type == "nginx":
        warning = nginx_config_test(job, ctx.log)
        if warning:
            warnings.append(warning)
    for warning in warnings:
        result.warnings.append(warning)
        ctx.log.warning(job.name, warning)
    return sources, "/"


def _archive_and_publish(job: BackupJob, ctx: RunContext, sources: list[str], base: str, result: RunResult) -> str:
    name = free_archive_name(job, ctx.host, ctx.now())
    final = os.path.join(job.dest, name)
    partial = final + PARTIAL_SUFFIX
    ctx.log.info(job.name, f"archiving {', '.join(sources)} to {partial} ({job.compression})")
    try:
        archived = create_archive(sources, partial, job.compression, job.exclude, base, verify=job.verify)
    except VerificationError as exc:
        # create_archive has removed the partial file; older archives are untouched.
        raise VerificationFailed(f"verification failed, archive discarded: {exc.reason}", job=job.name) from exc
    for warning in archived.warnings:
        result.warnings.append(warning)
        ctx.log.warning(job.name, f"tar: {warning}")
    result.size, result.sha256 = archived.size, archived.sha256
    if job.verify:
        result.entries = archived.members
        result.verified = True
        ctx.log.info(job.name, f"verified {name}: {result.entries} entries, sha256 {archived.sha256}")
    publish(partial, final, archived.sha256)
    result.archive, result.local = final, "ok"
    ctx.log.info(job.name, f"published {name} ({human_bytes(archived.size)})")
    return final


def _sync_and_retain(job: BackupJob, ctx: RunContext, final: str, result: RunResult) -> None:
    """Remote copy and retention; failures here leave a good local archive, so they make the run partial."""
    problems: list[str] = []
    if job.remote:
        remote = Remote.for_job(job)
        result.remote = remote.display
        try:
            sync_archive(remote, final, result.sha256 or sha256_file(final))
            result.synced, result.offsite = True, "ok"
            ctx.log.info(job.name, f"copied to {remote.display}, remote checksum matches")
            remote_cleanup = cleanup_remote(remote, ctx.host, job.name, job.retention, ctx.now(), dry_run=False)
            result.remote_removed, result.remote_freed_bytes = remote_cleanup.removed, remote_cleanup.freed_bytes
            _log_cleanup(ctx.log, job.name, remote_cleanup, f"on {remote.display}")
        except SmgrError as exc:
            result.synced = result.synced or False
            if not result.synced:
                result.offsite = "failed"
            problems.append(f"remote {remote.display}: {exc}")
            ctx.log.error(job.name, f"remote {remote.display}: {exc}")
    try:
        local = apply_retention(job.dest, ctx.host, job.name, job.retention, ctx.now())
        result.removed, result.freed_bytes = local.removed, local.freed_bytes
        _log_cleanup(ctx.log, job.name, local, f"in {job.dest}")
    except (SmgrError, OSError) as exc:
        problems.append(f"retention: {exc}")
        ctx.log.error(job.name, f"retention: {exc}")
    if problems:
        raise PartialFailure("; ".join(problems))


class PartialFailure(SmgrError):
    """The archive is good and published, but a later step (remote, retention, post_command) failed."""


def _borg_create_and_verify(
    job: BackupJob, ctx: RunContext, repo: Any, sources: list[str], base: str, result: RunResult
) -> None:
    result.engine = "borg"
    warn = _warner(job, ctx, result)
    ctx.log.info(job.name, f"borg create of {', '.join(sources)} in {repo.repository} ({job.compression})")
    created = create_backup(
        job,
        repo,
        ctx.host,
        ctx.now(),
        sources,
        base,
        warn,
        may_init=may_create(known_state(ctx.settings.state_dir, job.name), repo.repository),
    )
    if created.repository_created:
        result.repository_created = True
        ctx.log.info(job.name, f"created the repository {repo.repository} (encryption {job.encryption})")
    stats = created.stats
    result.archive, result.local = f"{repo.repository}::{created.name}", "ok"
    result.size, result.deduplicated_size, result.original_size = (
        stats.deduplicated_size,
        stats.deduplicated_size,
        stats.original_size,
    )
    result.entries = stats.files
    ctx.log.info(
        job.name,
        f"archived {created.name}: {stats.files} files, {human_bytes(stats.original_size)} original, "
        f"{human_bytes(stats.compressed_size)} compressed, "
        f"{human_bytes(stats.deduplicated_size)} new in the repository",
    )
    if job.verify:
        try:
            verify_archive(job, repo, created.name, warn)
        except BorgError as exc:
            if exc.kind in (LOCKED, TIMEOUT):
                raise  # not a verdict on the archive
            _withdraw(job, ctx, repo, created.name)
            raise VerificationFailed(f"borg check of {created.name} failed: {exc}", job=job.name) from exc
        result.verified = True
        ctx.log.info(job.name, f"verified {created.name} (borg check --archives-only)")


def _withdraw(job: BackupJob, ctx: RunContext, repo: Any, name: str) -> None:
    """Delete an archive that failed its check, as the tar engine discards one: restores and drills must never
    take it for the newest good one."""
    try:
        repo.delete(name)
        ctx.log.error(job.name, f"deleted {name}: it failed borg check")
    except SmgrError as exc:
        ctx.log.error(job.name, f"could not delete {name}, which failed borg check: {exc}")


def _borg_retain(job: BackupJob, ctx: RunContext, repo: Any, result: RunResult) -> None:
    try:
        cleanup = retain(job, repo, ctx.host, False, _warner(job, ctx, result))
    except SmgrError as exc:
        ctx.log.error(job.name, f"retention: {exc}")
        raise PartialFailure(f"retention: {exc}") from exc
    result.removed, result.freed_bytes, result.archives_kept = cleanup.removed, cleanup.freed_bytes, len(cleanup.kept)
    _log_cleanup(ctx.log, job.name, cleanup, f"in {repo.repository}")


def _warner(job: BackupJob, ctx: RunContext, result: RunResult) -> Callable[[str], None]:
    def warn(message: str) -> None:
        result.warnings.append(message)
        ctx.log.warning(job.name, message)

    return warn


def _log_cleanup(log: RunLog, job: str, cleanup: CleanupResult, where: str) -> None:
    verb = "would remove" if cleanup.dry_run else "removed"
    if cleanup.removed:
        log.info(
            job,
            f"retention {verb} {len(cleanup.removed)} archive(s) {where}, "
            f"{human_bytes(cleanup.freed_bytes)}: {', '.join(cleanup.removed)}",
        )
    else:
        log.info(job, f"retention: nothing to remove {where} ({len(cleanup.kept)} kept)")


def run_backup(job: BackupJob, ctx: RunContext) -> RunResult:
    """Run one backup of ``job``; never raises SmgrError (the result carries status, exit code and error)."""
    result = RunResult(job=job.name)
    start = ctx.now()
    clock = time.monotonic()
    result.started = iso(start)
    lock = JobLock(ctx.settings.lock_dir, job.name)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        result.status, result.exit_code, result.error = "skipped", EXIT_LOCKED, str(exc)
        result.finished = iso(ctx.now())
        _record_skip(job, ctx, result)
        return result
    except SmgrError as exc:
        result.error = str(exc)
        ctx.log.error(job.name, str(exc))
        result.finished = iso(ctx.now())
        return result
    try:
        _run_locked(job, ctx, result, start)
    finally:
        result.duration = round(time.monotonic() - clock, 3)
        result.finished = iso(ctx.now())
        _finish(job, ctx, result)
        lock.release()
    return result


def _run_locked(job: BackupJob, ctx: RunContext, result: RunResult, start: datetime) -> None:
    staging = os.path.join(job.dest, STAGING_PREFIX + start.strftime("%Y%m%dT%H%M%SZ"))
    pre_ran = False
    ping(job.ping_url, "/start", ctx.log, job.name)
    where = f"repository {job.repository}" if job.is_borg else f"dest {job.dest}"
    ctx.log.info(job.name, f"backup started (type {job.type}, engine {job.engine}, {where})")
    try:
        ensure_dest(job)
        remove_crash_leftovers(job, ctx.host, ctx.log)
        if job.pre_command:
            pre_ran = True
            run_hook(job, "pre_command", job.pre_command, {}, ctx.log)
        sources, base = _prepare_sources(job, ctx, staging, result)
        if job.is_borg:
            repo = ctx.borg_repository(job)
            _borg_create_and_verify(job, ctx, repo, sources, base, result)
            shutil.rmtree(staging, ignore_errors=True)
            _borg_retain(job, ctx, repo, result)
        else:
            final = _archive_and_publish(job, ctx, sources, base, result)
            shutil.rmtree(staging, ignore_errors=True)
            _sync_and_retain(job, ctx, final, result)
        result.status, result.exit_code = "ok", EXIT_OK
    except PartialFailure as exc:
        result.status, result.exit_code, result.error = "partial", EXIT_PARTIAL, exc.reason
    except VerificationFailed as exc:
        result.status, result.exit_code, result.error = "failed", EXIT_VERIFY, str(exc)
        ctx.log.error(job.name, str(exc))
    except BorgError as exc:
        # Another borg process holding the repository is the "previous run still runs" case of a shared one.
        exit_code = EXIT_LOCKED if exc.kind == LOCKED else EXIT_FAILED
        result.status, result.exit_code, result.error = "failed", exit_code, f"job {job.name!r}: {exc}"
        ctx.log.error(job.name, result.error)
    except SmgrError as exc:
        result.status, result.exit_code, result.error = "failed", EXIT_FAILED, str(exc)
        ctx.log.error(job.name, str(exc))
    except OSError as exc:
        result.status, result.exit_code = "failed", EXIT_FAILED
        result.error = f"job {job.name!r}: {exc.strerror or exc} ({exc.filename or ''})"
        ctx.log.error(job.name, result.error)
    finally:
        if os.path.isdir(staging):
            shutil.rmtree(staging, ignore_errors=True)
        if pre_ran and job.post_command:
            _post_command(job, ctx, result)


def _post_command(job: BackupJob, ctx: RunContext, result: RunResult) -> None:
    try:
        run_hook(job, "post_command", job.post_command or "", {"SMGR_STATUS": result.status}, ctx.log)
    except SmgrError as exc:
        ctx.log.error(job.name, str(exc))
        if result.status == "ok":
            result.status, result.exit_code, result.error = "partial", EXIT_PARTIAL, str(exc)
        else:
            result.warnings.append(str(exc))


def _record_skip(job: BackupJob, ctx: RunContext, result: RunResult) -> None:
    """A run skipped because the previous one still runs: logged, counted in the state, mailed once when
    ``notify_after_skips`` runs in a row were skipped."""
    try:
        state = record_run(ctx.settings.state_dir, job.name, result.as_dict())
        result.consecutive_skips = int(state.get("consecutive_skips", 1))
    except SmgrError as exc:
        ctx.log.error(job.name, f"cannot write the state file: {exc}")
        result.consecutive_skips = 1
    ctx.log.warning(job.name, f"{result.error}; this run is skipped ({result.consecutive_skips} skipped in a row)")
    if result.consecutive_skips == job.notify_after_skips:
        try:
            _notify_run(job, ctx, result)
        except Exception as exc:
            ctx.log.error(job.name, f"notification failed: {exc}")


def _finish(job: BackupJob, ctx: RunContext, result: RunResult) -> None:
    """State file, log summary, notification and ping: each best effort, none can change the outcome."""
    try:
        state = record_run(ctx.settings.state_dir, job.name, result.as_dict())
        result.recovered = bool(state.get("recovered"))
    except SmgrError as exc:
        ctx.log.error(job.name, f"cannot write the state file: {exc}")
    if result.status == "ok":
        ctx.log.info(job.name, f"backup ok in {result.duration:.1f}s" + (" (recovered)" if result.recovered else ""))
    else:
        ctx.log.error(job.name, f"backup {result.status} (exit {result.exit_code}): {result.error}")
    try:
        _notify_run(job, ctx, result)
    except Exception as exc:
        ctx.log.error(job.name, f"notification failed: {exc}")
    # A partial run (the off-site copy or retention failed) is not a success for monitoring either.
    ping(job.ping_url, "" if result.status == "ok" else "/fail", ctx.log, job.name)


def _notify_run(job: BackupJob, ctx: RunContext, result: RunResult) -> None:
    error = ctx.notifier.backup(job, result, ctx.log.tail_lines())
    if error:
        ctx.log.error(job.name, f"notification not sent: {error}")


def size_text(result: RunResult) -> str:
    """The archive's size in ``smgr backup``'s text output (borg: what the run added, too)."""
    if result.engine == "borg":
        return (
            f"{human_bytes(result.original_size or 0)} original, "
            f"{human_bytes(result.deduplicated_size or 0)} new in the repository"
        )
    return f"{human_bytes(result.size or 0)} ({result.size} bytes)"


# --------------------------------------------------------------------------- cleanup


def run_cleanup(job: BackupJob, ctx: RunContext, dry_run: bool) -> dict[str, Any]:
    """Retention for one job, locally and on its remote; the job's lock is held so it never races a backup."""
    report: dict[str, Any] = {"job": job.name, "dry_run": dry_run, "removed": [], "freed_bytes": 0}
    lock = JobLock(ctx.settings.lock_dir, job.name)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        report.update(status="already_running", exit_code=EXIT_LOCKED, error=str(exc))
        ctx.log.warning(job.name, f"{exc}; cleanup skipped")
        return report
    try:
        if job.is_borg:
            repo = ctx.borg_repository(job)
            cleanup = retain(job, repo, ctx.host, dry_run, lambda message: ctx.log.warning(job.name, message))
            _log_cleanup(ctx.log, job.name, cleanup, f"in {repo.repository}")
            report.update(status="ok", exit_code=EXIT_OK, removed=cleanup.removed, freed_bytes=cleanup.freed_bytes)
            report.update(kept=len(cleanup.kept), engine="borg", repository=repo.repository)
            return report
        local = apply_retention(job.dest, ctx.host, job.name, job.retention, ctx.now(), dry_run)
        _log_cleanup(ctx.log, job.name, local, f"in {job.dest}")
        report.update(removed=local.removed, freed_bytes=local.freed_bytes, kept=len(local.kept))
        ambiguous = claimed_legacy_archives(job.dest, ctx.host, job.name)
        for name in ambiguous:
            ctx.log.warning(
                job.name,
                f"{name} in {job.dest} is named the old way and may be another host's: kept and not counted; "
                "see docs/restore.md (archive names)",
            )
        if ambiguous:
            report["ambiguous_legacy"] = ambiguous
        report.update(status="ok", exit_code=EXIT_OK)
        if job.remote:
            remote = Remote.for_job(job)
            try:
                remote_result = cleanup_remote(remote, ctx.host, job.name, job.retention, ctx.now(), dry_run)
                _log_cleanup(ctx.log, job.name, remote_result, f"on {remote.display}")
                report.update(remote_removed=remote_result.removed, remote_freed_bytes=remote_result.freed_bytes)
            except SmgrError as exc:
                ctx.log.error(job.name, f"remote cleanup on {remote.display}: {exc}")
                report.update(status="partial", exit_code=EXIT_PARTIAL, error=f"remote {remote.display}: {exc}")
    except (SmgrError, OSError) as exc:
        ctx.log.error(job.name, f"cleanup failed: {exc}")
        report.update(status="failed", exit_code=EXIT_FAILED, error=str(exc))
    finally:
        lock.release()
    return report


def run_drill(job: BackupJob, ctx: RunContext) -> DrillResult:
    """Restore the job's newest archive into a scratch directory and check it; record, log and notify the result.

    Holds the job's lock, so retention never removes the archive while it is read; a job whose backup runs is
    skipped (not recorded)."""
    result = DrillResult(job=job.name)
    start, clock = ctx.now(), time.monotonic()
    result.started = iso(start)
    lock = JobLock(ctx.settings.lock_dir, job.name)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        result.status, result.error = "skipped", str(exc)
        ctx.log.warning(job.name, f"{exc}; drill skipped")
        result.finished = iso(ctx.now())
        return result
    try:
        if job.is_borg:
            _borg_drill(job, ctx, result, start)
        else:
            archives = scan_archives(job.dest, ctx.host, job.name)
            if not archives:
                raise DrillFailed(f"no archive of job {job.name} in {job.dest} to restore")
            result.archive = os.path.join(job.dest, archives[0].name)
            ctx.log.info(job.name, f"restore drill of {archives[0].name}")
            result.entries, result.bytes = drill_archive(result.archive, job.dest)
        result.status = "ok"
        ctx.log.info(
            job.name, f"restore drill ok: {result.entries} entries, {human_bytes(result.bytes)} restored and checked"
        )
    except (SmgrError, OSError) as exc:
        result.error = str(exc) if isinstance(exc, SmgrError) else f"{exc.strerror or exc} ({exc.filename or ''})"
        ctx.log.error(job.name, f"restore drill failed: {result.error}")
    finally:
        lock.release()
        result.duration = round(time.monotonic() - clock, 3)
        result.finished = iso(ctx.now())
    try:
        record_drill(ctx.settings.state_dir, job.name, result.as_dict())
    except SmgrError as exc:
        ctx.log.error(job.name, f"cannot write the state file: {exc}")
    try:
        error = ctx.notifier.drill(job, result, ctx.log.tail_lines())
        if error:
            ctx.log.error(job.name, f"drill notification not sent: {error}")
    except Exception as exc:
        ctx.log.error(job.name, f"drill notification failed: {exc}")
    return result


def _borg_drill(job: BackupJob, ctx: RunContext, result: DrillResult, start: datetime) -> None:
    """Extract and compare the newest archive; weekly also ``borg check --verify-data`` of it."""
    repo = ctx.borg_repository(job)
    try:
        previous = load_state(ctx.settings.state_dir, job.name).get("last_good_drill")
    except SmgrError:
        previous = None
    carried = (previous or {}).get("verified_data_at")
    verify_data = verify_data_due(previous, start)
    ctx.log.info(job.name, "restore drill (borg extract" + (", check --verify-data)" if verify_data else ")"))
    name, result.entries, result.bytes = borg_drill(job, repo, ctx.host, verify_data)
    result.archive = f"{repo.repository}::{name}"
    result.verified_data_at = iso(start) if verify_data else carried


def overall_exit(codes: Sequence[int]) -> int:
    """The most serious of several exit codes: failure > verification > partial > locked > ok."""
    for code in (EXIT_USAGE, EXIT_FAILED, EXIT_VERIFY, EXIT_PARTIAL, EXIT_LOCKED):
        if code in codes:
            return code
    return EXIT_OK
