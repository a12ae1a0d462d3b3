# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host runner ``smgr``: the command line cron and operators use (documented in docs/runner.md).

    smgr [--config-dir DIR] [--json] backup JOB
    smgr cleanup [JOB...] [--dry-run]
    smgr restore JOB [ARCHIVE|latest] --to DIR [--force] [--no-checksum]
    smgr restore JOB [ARCHIVE|latest] --list
    smgr drill [JOB...]
    smgr list [JOB...]
    smgr status [JOB...]
    smgr health [--max-age HOURS] [--min-free 10%|5G] [--no-cron-check] [--no-notify]
    smgr notify test|send ...

The configuration directory is ``--config-dir``, else ``$SMGR_CONFIG_DIR``, else
``<prefix>/config`` when the runner is ``<prefix>/bin/smgr`` (so
``/opt/server-manager/bin/smgr`` reads ``/opt/server-manager/config``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TextIO

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.health import (
    DEFAULT_MAX_AGE_HOURS,
    DEFAULT_MIN_FREE,
    HealthProblem,
    allowed_age,
    backup_age_problems,
    cron_problems,
    drill_problems,
    free_space_problems,
    longest_gap,
    offsite_age_problems,
    parse_threshold,
    schedule_margin,
    timer_problems,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import (
    CERT_FAIL_DAYS,
    CERT_WARN_DAYS,
    DEFAULT_CONFIG_DIR,
    DRILL_ENTRY,
    BackupJob,
    backup_entry_name,
    certificate_limits_problem,
    list_job_files,
    load_job,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.metrics import write_metrics
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.notify import MailNotifier
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.restore import (
    contents,
    find_archive,
    prepare_target,
    restore,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.run import (
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_USAGE,
    Notifier,
    RunContext,
    install_signal_handlers,
    overall_exit,
    restore_signal_handlers,
    run_backup,
    run_cleanup,
    run_drill,
    size_text,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.runlog import (
    RunLog,
    utc_now,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.services import service_checks
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.status import (
    archive_host,
    archives_of,
    effective_settings,
    job_status,
    scheduled_entries,
    timer_entries,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._common.sysinfo import human_bytes
from ansible_collections.smgr.server_manager.plugins.module_utils._notify import cli as _notify_cli

CONFIG_ENV = "SMGR_CONFIG_DIR"


class UsageError(SmgrError):
    """Bad command line or configuration: exit 2."""


# --------------------------------------------------------------------------- configuration


def resolve_config_dir(option: str | None, environ: dict[str, str], runner_path: str | None) -> str:
    if option:
        return os.path.abspath(option)
    if environ.get(CONFIG_ENV):
        return os.path.abspath(environ[CONFIG_ENV])
    if runner_path:
        bin_dir = os.path.dirname(os.path.realpath(runner_path))
        if os.path.basename(bin_dir) == "bin":
            return os.path.join(os.path.dirname(bin_dir), "config")
    return DEFAULT_CONFIG_DIR


class Runner:
    """One invocation: resolved configuration, output streams, and the verbs."""

    def __init__(
        self, config_dir: str, as_json: bool, stdout: TextIO, stderr: TextIO, notifier: Notifier | None = None
    ) -> None:
        self.config_dir = config_dir
        try:
            self.settings = effective_settings(config_dir)
        except SmgrError as exc:
            raise UsageError(str(exc)) from exc
        self.host = archive_host(self.settings)
        self.as_json = as_json
        self.stdout = stdout
        self.stderr = stderr
        self._notifier = notifier

    def context(self, verb: str) -> RunContext:
        log = RunLog(self.settings.log_dir, verb, echo=self.stderr)
        notifier = self._notifier or MailNotifier(
            self.config_dir, self.settings.archive_host, self.settings.backup_root, self.settings.state_dir
        )
        return RunContext(
            settings=self.settings, host=self.host, log=log, notifier=notifier, config_dir=self.config_dir
        )

    def job(self, name: str) -> BackupJob:
        try:
            return load_job(self.config_dir, name, self.settings.backup_root)
        except SmgrError as exc:
            raise UsageError(str(exc)) from exc

    def jobs(self, names: Sequence[str]) -> list[BackupJob]:
        if names:
            return [self.job(name) for name in names]
        return [self.job(name) for name in list_job_files(self.config_dir)]

    def emit(self, data: Any, text_lines: Sequence[str]) -> None:
        if self.as_json:
            self.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
        else:
            for line in text_lines:
                self.stdout.write(line + "\n")
        self.stdout.flush()

    def write_metrics(self, ctx: RunContext) -> None:
        """Rewrite the metrics file (when configured) from every job's state; a failure is logged, never fatal."""
        path = self.settings.metrics_file
        if not path:
            return
        try:
            write_metrics(path, self.jobs([]), self.settings.state_dir, self.host)
        except (SmgrError, OSError) as exc:
            ctx.log.error(None, f"cannot write the metrics file {path}: {exc}")

    # ----------------------------------------------------------------------- verbs

    def backup(self, args: argparse.Namespace) -> int:
        job = self.job(args.job)
        previous = install_signal_handlers()
        ctx = self.context("backup")
        try:
            result = run_backup(job, ctx)
        finally:
            restore_signal_handlers(previous)
        self.write_metrics(ctx)
        lines = [f"{job.name}: {result.status}" + (f" - {result.error}" if result.error else "")]
        if result.archive:
            checksum = "" if result.engine == "borg" else f", sha256 {result.sha256}"
            lines.append(f"archive: {result.archive} ({size_text(result)}{checksum})")
        if result.removed:
            lines.append(f"retention removed {len(result.removed)} archive(s), freed {human_bytes(result.freed_bytes)}")
        self.emit(result.as_dict(), lines)
        return result.exit_code

    def cleanup(self, args: argparse.Namespace) -> int:
        jobs = self.jobs(args.jobs)
        ctx = self.context("cleanup")
        reports = [run_cleanup(job, ctx, args.dry_run) for job in jobs]
        if not args.dry_run:
            self.write_metrics(ctx)
        if not args.dry_run:
            error = ctx.notifier.cleanup(reports, ctx.log.tail_lines())
            if error:
                ctx.log.error(None, f"notification not sent: {error}")
        verb = "would remove" if args.dry_run else "removed"
        lines = []
        for report in reports:
            removed = report.get("removed", []) + report.get("remote_removed", [])
            freed = report.get("freed_bytes", 0) + report.get("remote_freed_bytes", 0)
            lines.append(
                f"{report['job']}: {report['status']}, {verb} {len(removed)} file(s), "
                f"{human_bytes(freed)}" + (f" - {report['error']}" if report.get("error") else "")
            )
            lines.extend(f"  {name}" for name in removed)
        total = sum(r.get("freed_bytes", 0) + r.get("remote_freed_bytes", 0) for r in reports)
        lines.append(
            f"total: {verb} {sum(len(r.get('removed', [])) for r in reports)} local archive(s), "
            f"{human_bytes(total)} freed"
            if not args.dry_run
            else f"total: {human_bytes(total)} would be freed"
        )
        self.emit({"jobs": reports, "freed_bytes": total, "dry_run": args.dry_run}, lines)
        return overall_exit([report["exit_code"] for report in reports])

    def drill(self, args: argparse.Namespace) -> int:
        jobs = self.jobs(args.jobs)
        ctx = self.context("drill")
        results = [run_drill(job, ctx) for job in jobs]
        self.write_metrics(ctx)
        lines = [
            f"{result.job}: {result.status}"
            + (f", {result.entries} entries, {human_bytes(result.bytes)} checked" if result.status == "ok" else "")
            + (f" - {result.error}" if result.error else "")
            for result in results
        ]
        self.emit({"jobs": [result.as_dict() for result in results]}, lines)
        codes = [{"ok": EXIT_OK, "skipped": EXIT_LOCKED}.get(result.status, EXIT_FAILED) for result in results]
        return overall_exit(codes)

    def restore(self, args: argparse.Namespace) -> int:
        job = self.job(args.job)
        if job.is_borg:
            return self.restore_borg(job, args)
        archive = find_archive(job, self.host, args.archive)
        if args.list:
            count = contents(archive, lambda line: self.stdout.write(line + "\n"), args.no_checksum)
            self.stderr.write(f"{archive}: {count} entries\n")
            return EXIT_OK
        if not args.to:
            raise UsageError("restore needs --to DIR (or --list)")
        log = RunLog(self.settings.log_dir, "restore", echo=self.stderr)
        log.info(job.name, f"restoring {archive} into {args.to}")
        result = restore(archive, os.path.abspath(args.to), args.force, args.no_checksum)
        for warning in result.warnings:
            log.warning(job.name, f"tar: {warning}")
        log.info(job.name, f"restored {os.path.basename(archive)} into {result.target}")
        self.emit(result.__dict__, [f"restored {archive} into {result.target}"])
        return EXIT_OK

    def restore_borg(self, job: BackupJob, args: argparse.Namespace) -> int:
        """``smgr restore`` of a borg job: an archive of the job (``latest`` or its name) extracted by borg."""
        from ansible_collections.smgr.server_manager.plugins.module_utils._backup import borg_job

        repo = borg_job.repository_for(job, self.config_dir, self.settings.state_dir)
        name = borg_job.find_archive(job, repo, self.host, args.archive)
        if args.list:
            items = repo.items(name)
            for item in items:
                self.stdout.write(
                    f"{item.get('mode', '')} {item.get('size', 0):>12} {item.get('mtime', '')} {item.get('path', '')}\n"
                )
            self.stderr.write(f"{repo.repository}::{name}: {len(items)} entries\n")
            return EXIT_OK
        if not args.to:
            raise UsageError("restore needs --to DIR (or --list)")
        target = os.path.abspath(args.to)
        log = RunLog(self.settings.log_dir, "restore", echo=self.stderr)
        log.info(job.name, f"restoring {repo.repository}::{name} into {target}")
        prepare_target(target, args.force)
        warnings = repo.extract(name, target)
        for warning in warnings:
            log.warning(job.name, f"borg: {warning}")
        log.info(job.name, f"restored {name} into {target}")
        data = {
            "archive": f"{repo.repository}::{name}",
            "target": target,
            "warnings": warnings,
            "engine": "borg",
            "sha256": None,  # borg authenticates every chunk it extracts; there is no archive file to hash
            "checksum_verified": None,
        }
        self.emit(data, [f"restored {repo.repository}::{name} into {target}"])
        return EXIT_OK

    def key(self, args: argparse.Namespace) -> int:
        """``smgr key export JOB`` prints the borg repository's key (keep it with the passphrase); ``smgr key import
        JOB FILE`` (``-``: stdin) puts an exported key back (a new machine of a keyfile repository, a damaged key)."""
        job = self.job(args.job)
        if not job.is_borg:
            raise UsageError(f"job {job.name!r} uses engine {job.engine}: it has no borg key")
        if job.encryption == "none":
            raise UsageError(f"job {job.name!r}: the repository is not encrypted (encryption none): it has no key")
        from ansible_collections.smgr.server_manager.plugins.module_utils._backup.borg_job import repository_for

        repo = repository_for(job, self.config_dir, self.settings.state_dir)
        if args.action == "export":
            self.stdout.write(repo.export_key())
            self.stdout.flush()
            return EXIT_OK
        if not args.file:
            raise UsageError("key import needs the exported key's FILE (or - for stdin)")
        try:
            if args.file == "-":
                text = sys.stdin.read()
            else:
                with open(args.file, encoding="utf-8") as handle:
                    text = handle.read()
        except OSError as exc:
            raise UsageError(f"cannot read {args.file}: {exc.strerror}") from exc
        repo.import_key(text)
        self.stderr.write(f"imported the key of {repo.repository}\n")
        return EXIT_OK

    def list_archives(self, args: argparse.Namespace) -> int:
        data = []
        lines = []
        for job in self.jobs(args.jobs):
            if job.is_borg:
                self.list_borg(job, data, lines)
                continue
            archives = archives_of(job, self.host)
            data.append({"job": job.name, "dest": job.dest, "archives": archives})
            lines.append(f"{job.name} ({job.dest}): {len(archives)} archive(s)")
            for item in archives:
                checksum = "sha256 ok-file" if item["sha256"] else "NO CHECKSUM FILE"
                lines.append(f"  {item['time']}  {human_bytes(item['size']):>10}  {item['name']}  ({checksum})")
        self.emit({"jobs": data}, lines)
        return EXIT_OK

    def list_borg(self, job: BackupJob, data: list[dict[str, Any]], lines: list[str]) -> None:
        from ansible_collections.smgr.server_manager.plugins.module_utils._backup.borg_job import listed_archives
        from ansible_collections.smgr.server_manager.plugins.module_utils._backup.state import known_state

        state = known_state(self.settings.state_dir, job.name)
        found, error = listed_archives(job, self.config_dir, self.settings.state_dir, self.host, state)
        if error is not None:
            data.append({"job": job.name, "engine": "borg", "repository": job.repository, "error": error})
            lines.append(f"{job.name} ({job.repository}): cannot list: {error}")
            return
        data.append({"job": job.name, "engine": "borg", "repository": job.repository, "archives": found})
        lines.append(f"{job.name} ({job.repository}): {len(found)} archive(s)")
        for item in found:
            lines.append(
                f"  {item['time']}  {human_bytes(item['original_size'] or 0):>10} original  "
                f"{human_bytes(item['compressed_size'] or 0):>10} compressed  "
                f"{human_bytes(item['deduplicated_size'] or 0):>10} deduplicated  {item['name']}"
            )

    def status(self, args: argparse.Namespace) -> int:
        now = utc_now()
        data = []
        lines = []
        entries = scheduled_entries(self.settings.cron_file, self.settings.unit_dir)
        for job in self.jobs(args.jobs):
            entry = job_status(job, self.settings, now, entries)
            data.append(entry)
            last = entry["last_run"] or {}
            age = entry["last_success_age_hours"]
            lines.append(
                f"{job.name}: last run {last.get('status', 'never')} {last.get('finished', '')}".rstrip()
                + f"; last success {entry['last_success'] or 'never'}"
                + (f" ({age:.1f} h ago)" if age is not None else "")
                + (f"; next run {entry['next_run']}" if entry["next_run"] else "")
                + ("; RUNNING now" if entry["running"] else "")
                + (
                    f"; its state file did not parse (kept as {entry['unreadable_state']['copy']})"
                    if entry["unreadable_state"]
                    else ""
                )
            )
        self.emit({"jobs": data}, lines)
        return EXIT_OK

    def scheduled_expressions(self) -> dict[str, str]:
        """The cron expression of each enabled managed entry, by entry name."""
        entries = scheduled_entries(self.settings.cron_file, self.settings.unit_dir)
        return {entry.name: entry.expression for entry in entries if not entry.disabled}

    def drill_checks(
        self, jobs: list[BackupJob], expressions: dict[str, str], now: datetime
    ) -> tuple[list[HealthProblem], list[tuple[str, bool, str]]]:
        """Problems and the check row of restore drills, when drills are scheduled (none otherwise)."""
        gap = longest_gap(expressions[DRILL_ENTRY], now) if DRILL_ENTRY in expressions else None
        if gap is None:
            return [], []
        limit = gap + schedule_margin(gap)
        problems, undrilled = drill_problems(jobs, self.settings.state_dir, limit, now)
        detail = "; ".join(f"{p.job}: {p.message}" for p in problems) or (
            f"every drill passed within {limit.total_seconds() / 3600:g} hours"
        )
        if undrilled:
            detail += f" (not drilled yet: {', '.join(undrilled)})"
        return problems, [("Restore drills", not problems, detail)]

    def health(self, args: argparse.Namespace) -> int:
        threshold = parse_threshold(args.min_free)
        limits = certificate_limits_problem(args.cert_warn_days, args.cert_fail_days)
        if limits:
            raise UsageError(f"--{limits[0].replace('_', '-')}: {limits[1]}")
        jobs = self.jobs([])
        now = utc_now()
        ctx = self.context("health")
        expressions = self.scheduled_expressions()
        default = timedelta(hours=args.max_age)
        limits = {
            job.name: allowed_age(job, expressions.get(backup_entry_name(job.name)), default, now) for job in jobs
        }
        drills, drill_rows = self.drill_checks(jobs, expressions, now)
        age = backup_age_problems(jobs, self.settings.state_dir, limits, now)
        offsite = offsite_age_problems(jobs, self.settings.state_dir, limits, now)
        space = free_space_problems(jobs, threshold)
        uses_timers = bool(timer_entries(self.settings.unit_dir))
        scheduler_row = "systemd (timers)" if uses_timers else "Cron daemon"
        cron = [] if args.no_cron_check else timer_problems() if uses_timers else cron_problems()
        findings, service_rows = (
            ([], []) if args.no_service_check else service_checks(jobs, now, args.cert_warn_days, args.cert_fail_days)
        )
        services = [HealthProblem(f.check, f.message) for f in findings if f.level == "problem"]
        warnings = [HealthProblem(f.check, f.message) for f in findings if f.level == "warning"]
        problems = age + offsite + drills + space + cron + services
        checks = [
            (
                "Last successful backup",
                not age,
                "; ".join(f"{p.job}: {p.message}" for p in age) or "every job within its limit",
            ),
        ]
        if any(job.remote for job in jobs):
            checks.append(
                (
                    "Off-site copies",
                    not offsite,
                    "; ".join(f"{p.job}: {p.message}" for p in offsite) or "every copy within its job's limit",
                )
            )
        checks += drill_rows
        checks.append(("Free space", not space, "; ".join(p.message for p in space) or f"above {threshold.describe()}"))
        if not args.no_cron_check:
            checks.append((scheduler_row, not cron, "; ".join(p.message for p in cron) or "running"))
        checks += service_rows
        for problem in problems:
            ctx.log.warning(problem.job, f"health: {problem.message}")
        for warning in warnings:
            ctx.log.warning(None, f"health warning: {warning.message}")
        if not problems and not warnings:
            ctx.log.info(None, f"health ok ({len(jobs)} job(s))")
        elif not args.no_notify:
            error = ctx.notifier.health(checks)
            if error:
                ctx.log.error(None, f"health notification not sent: {error}")
        lines = [f"{row_verdict(name, ok, services, warnings)}: {name}: {detail}" for name, ok, detail in checks]
        result = {"ok": not problems, "problems": [p.as_dict() for p in problems]}
        if warnings:
            result["warnings"] = [w.as_dict() for w in warnings]
        self.emit(result, lines)
        return EXIT_OK if not problems else EXIT_FAILED


def row_verdict(name: str, ok: bool, problems: list[HealthProblem], warnings: list[HealthProblem]) -> str:
    """OK, PROBLEM, or WARNING for a check whose findings are only warnings (a certificate expiring soon)."""
    if ok:
        return "OK"
    warned = {warning.check for warning in warnings}
    return "WARNING" if name in warned and name not in {problem.check for problem in problems} else "PROBLEM"


# --------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config-dir",
        default=argparse.SUPPRESS,
        help=f"configuration directory (default: ${CONFIG_ENV} or <prefix>/config)",
    )
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON on stdout")
    parser = argparse.ArgumentParser(prog="smgr", parents=[common], description="Server Manager backup runner.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    backup = verbs.add_parser("backup", parents=[common], help="run one backup job now")
    backup.add_argument("job")
    cleanup = verbs.add_parser("cleanup", parents=[common], help="apply retention (all jobs by default)")
    cleanup.add_argument("jobs", nargs="*")
    cleanup.add_argument("--dry-run", action="store_true", help="only report what would be removed")
    drill = verbs.add_parser(
        "drill", parents=[common], help="restore the newest archive of each job (all by default) and check it"
    )
    drill.add_argument("jobs", nargs="*")
    restore_ = verbs.add_parser("restore", parents=[common], help="extract an archive (checksum checked first)")
    restore_.add_argument("job")
    restore_.add_argument("archive", nargs="?", default="latest", help="latest (default), a name in dest, or a path")
    restore_.add_argument("--to", help="target directory (created; must be empty unless --force)")
    restore_.add_argument("--force", action="store_true", help="extract into a non-empty directory")
    restore_.add_argument("--list", action="store_true", help="list the archive's contents instead of extracting")
    restore_.add_argument(
        "--no-checksum", action="store_true", help="do not require a matching NAME.sha256 (tar engine)"
    )
    key = verbs.add_parser("key", parents=[common], help="borg jobs: export the repository key")
    key.add_argument("action", choices=["export", "import"])
    key.add_argument("job")
    key.add_argument("file", nargs="?", help="import: the exported key (- for stdin)")
    list_ = verbs.add_parser("list", parents=[common], help="list archives per job")
    list_.add_argument("jobs", nargs="*")
    status = verbs.add_parser("status", parents=[common], help="last result, last success, age, next run")
    status.add_argument("jobs", nargs="*")
    health = verbs.add_parser(
        "health", parents=[common], help="check backup age, free space, cron, the services' containers, certificates"
    )
    health.add_argument(
        "--max-age",
        type=float,
        default=DEFAULT_MAX_AGE_HOURS,
        help=f"hours since the last successful backup, for jobs without a schedule (default {DEFAULT_MAX_AGE_HOURS})",
    )
    health.add_argument(
        "--min-free",
        default=DEFAULT_MIN_FREE,
        help=f"free space on backup filesystems, 10%% or 5G (default {DEFAULT_MIN_FREE})",
    )
    health.add_argument(
        "--no-cron-check", action="store_true", help="skip the scheduler check (cron daemon, or systemd for timers)"
    )
    health.add_argument(
        "--no-service-check", action="store_true", help="skip the containers, system nginx and certificate checks"
    )
    health.add_argument(
        "--cert-warn-days",
        type=int,
        default=CERT_WARN_DAYS,
        help=f"a certificate expiring within this many days is a warning (default {CERT_WARN_DAYS})",
    )
    health.add_argument(
        "--cert-fail-days",
        type=int,
        default=CERT_FAIL_DAYS,
        help=f"a certificate expiring within this many days is a problem (default {CERT_FAIL_DAYS})",
    )
    health.add_argument("--no-notify", action="store_true", help="do not send the health notification")
    notify = verbs.add_parser("notify", help="send a test or custom notification (smgr notify --help)", add_help=False)
    notify.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


VERBS = {
    "backup": Runner.backup,
    "cleanup": Runner.cleanup,
    "restore": Runner.restore,
    "drill": Runner.drill,
    "list": Runner.list_archives,
    "key": Runner.key,
    "status": Runner.status,
    "health": Runner.health,
}


def main(
    argv: Sequence[str] | None = None,
    runner_path: str | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: dict[str, str] | None = None,
    notifier: Notifier | None = None,
) -> int:
    """Run the command line; returns the exit code (0 ok, 1 failed, 2 usage, 3 already running,
    4 verification failed, 5 partially ok)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    environ = dict(os.environ) if environ is None else environ
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    config_dir = resolve_config_dir(getattr(args, "config_dir", None), environ, runner_path)
    if args.verb == "notify":
        notifications = os.path.join(config_dir, "notifications.yaml")
        try:
            backup_root: str | None = effective_settings(config_dir).backup_root
        except SmgrError:
            backup_root = None  # the message can go without the backup space row
        return _notify_cli.main(
            args.rest,
            prog="smgr notify",
            default_config=notifications,
            stdout=stdout,
            stderr=stderr,
            backup_root=backup_root,
        )
    try:
        runner = Runner(config_dir, bool(getattr(args, "json", False)), stdout, stderr, notifier)
        return VERBS[args.verb](runner, args)
    except SmgrError as exc:
        code = EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILED
        stderr.write(f"smgr: {exc}\n")
        if getattr(args, "json", False):
            stdout.write(json.dumps({"status": "failed", "error": str(exc), "exit_code": code}) + "\n")
        return code


__all__ = ["EXIT_LOCKED", "main"]
