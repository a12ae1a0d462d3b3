# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Health of the services the profile backs up, as the old TUI's monitoring watched them.

Which services: those the host's jobs name. A ``mailcow`` job's compose project (``mailcow_dir``) and an
``npm`` job's (``npm_dir``): every service of the compose file must have a container that runs and, when
it has a health check, is healthy (``docker compose ps --all --format json``). An ``nginx`` job: the
system nginx, when installed, must be running and ``nginx -t`` clean. And the TLS certificates those jobs
back up (Let's Encrypt's ``live/*/cert.pem``, NPM's, Mailcow's ``data/assets/ssl/cert.pem``) must not
expire within ``fail_days`` (a problem) or ``warn_days`` (a warning).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import (
    CERT_FAIL_DAYS,
    CERT_WARN_DAYS,
    BackupJob,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.npm import find_compose_file
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._common.process import process_running, run_captured

try:
    import yaml
except ImportError:  # the runner checks PyYAML at start
    yaml = None  # type: ignore[assignment]

COMMAND_TIMEOUT = 60
MAILCOW_COMPOSE = "docker-compose.yml"


@dataclass(frozen=True)
class Finding:
    """One thing the service checks found: ``level`` "problem" or "warning", under the check named ``check``."""

    check: str
    level: str
    message: str


@dataclass(frozen=True)
class ComposeProject:
    label: str
    directory: str
    compose_file: str | None


def compose_projects(jobs: Sequence[BackupJob]) -> list[ComposeProject]:
    """The Mailcow and NPM compose projects the jobs name, each once."""
    projects: dict[str, ComposeProject] = {}
    for job in jobs:
        if job.type == "mailcow" and job.mailcow_dir:
            path = os.path.join(job.mailcow_dir, MAILCOW_COMPOSE)
            projects.setdefault(job.mailcow_dir, ComposeProject("Mailcow", job.mailcow_dir, path))
        elif job.type == "npm" and job.npm_dir:
            project = ComposeProject("Nginx Proxy Manager", job.npm_dir, find_compose_file(job.npm_dir))
            projects.setdefault(job.npm_dir, project)
    return list(projects.values())


def _run(argv: list[str], cwd: str | None = None) -> tuple[int, str, str]:
    done = run_captured(argv, COMMAND_TIMEOUT, cwd)
    return done.status, done.stdout, done.stderr


def parse_compose_ps(output: str) -> list[dict]:
    """``docker compose ps --format json``: one object per line (Compose 2.21 and later) or one array (before)."""
    text = output.strip()
    if not text:
        return []
    if text.startswith("["):
        value = json.loads(text)
        return [item for item in value if isinstance(item, dict)]
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _override_file(compose_file: str) -> str | None:
    stem, suffix = os.path.splitext(compose_file)
    path = f"{stem}.override{suffix}"
    return path if os.path.isfile(path) else None


def compose_services(compose_file: str) -> dict[str, dict]:
    """The project's services, its override file merged in, without those behind a profile (not started by
    ``docker compose up``): ``{name: definition}``."""
    if yaml is None:
        raise SmgrError("PyYAML is required to read compose files")
    services: dict[str, dict] = {}
    for path in (compose_file, _override_file(compose_file)):
        if path is None:
            continue
        with open(path, encoding="utf-8") as handle:
            compose = yaml.safe_load(handle) or {}
        found = compose.get("services") if isinstance(compose, dict) else None
        for name, definition in (found or {}).items() if isinstance(found, dict) else ():
            services.setdefault(str(name), {}).update(definition if isinstance(definition, dict) else {})
    return {name: item for name, item in sorted(services.items()) if not item.get("profiles")}


def _finished_one_shot(container: dict, definition: dict) -> bool:
    """A service without a restart policy that exited 0 has done its job (an init or migration container)."""
    restart = str(definition.get("restart", "no")).strip("'\"")
    return restart == "no" and int(container.get("ExitCode") or 0) == 0


def compose_findings(project: ComposeProject) -> list[Finding]:
    check = f"{project.label} containers"
    if project.compose_file is None or not os.path.isfile(project.compose_file):
        return [Finding(check, "problem", f"no compose file in {project.directory}")]
    # From the project directory without -f, as its operators run it: Compose reads the override file too.
    status, output, errors = _run(["docker", "compose", "ps", "--all", "--format", "json"], cwd=project.directory)
    if status != 0:
        said = errors.strip().splitlines()[-1:] or [f"exit {status}"]
        return [Finding(check, "problem", f"docker compose ps failed: {said[0]}")]
    try:
        containers = parse_compose_ps(output)
        expected = compose_services(project.compose_file)
    except (ValueError, OSError, SmgrError) as exc:
        return [Finding(check, "problem", f"cannot read the project's state: {exc}")]
    findings = []
    seen = set()
    for container in containers:
        service = str(container.get("Service") or "?")
        seen.add(service)
        name = container.get("Name") or service
        state = str(container.get("State") or "unknown").lower()
        health = str(container.get("Health") or "").lower()
        if state != "running":
            if not (state == "exited" and _finished_one_shot(container, expected.get(service, {}))):
                findings.append(Finding(check, "problem", f"{service} ({name}) is {state}"))
        elif health == "unhealthy":
            findings.append(Finding(check, "problem", f"{service} ({name}) is unhealthy"))
        elif health == "starting":
            findings.append(Finding(check, "warning", f"{service} ({name}) is still starting"))
    findings.extend(
        Finding(check, "problem", f"{service} has no container") for service in expected if service not in seen
    )
    return findings


def nginx_findings(proc: str = "/proc") -> tuple[list[Finding], list[str]]:
    """The system nginx, when installed: running (systemd's verdict when systemd runs) and ``nginx -t`` clean.

    Also returns ``nginx -t``'s [warn] lines: shown in the health table, not mailed (many configurations warn
    for ever).
    """
    if shutil.which("nginx") is None:
        return [], []
    findings = []
    if os.path.isdir("/run/systemd/system") and shutil.which("systemctl"):
        status, output, _errors = _run(["systemctl", "is-active", "nginx"])
        if status != 0:
            findings.append(Finding("System nginx", "problem", f"nginx is {output.strip() or 'not active'}"))
    elif not process_running(("nginx",), proc):
        findings.append(Finding("System nginx", "problem", "nginx is not running"))
    status, output, errors = _run(["nginx", "-t"])
    said = [line.strip() for line in (errors + output).splitlines() if line.strip()]
    if status != 0:
        findings.append(Finding("System nginx", "problem", f"nginx -t failed: {(said or ['no output'])[-1]}"))
    return findings, [line for line in said if "[warn]" in line]


def certificate_files(jobs: Sequence[BackupJob]) -> list[str]:
    """The certificates the jobs back up: Let's Encrypt's live certificates, NPM's, Mailcow's."""
    patterns = []
    for job in jobs:
        if job.type == "nginx":
            for path in job.paths:
                if os.path.basename(path.rstrip("/")) == "letsencrypt":
                    patterns.append(os.path.join(path, "live", "*", "cert.pem"))
        elif job.type == "npm" and job.npm_dir:
            patterns.append(os.path.join(job.npm_dir, "letsencrypt", "live", "*", "cert.pem"))
            patterns.append(os.path.join(job.npm_dir, "data", "custom_ssl", "*", "fullchain.pem"))
        elif job.type == "mailcow" and job.mailcow_dir:
            patterns.append(os.path.join(job.mailcow_dir, "data", "assets", "ssl", "cert.pem"))
    found = {path for pattern in patterns for path in glob.glob(pattern)}
    return sorted(found)


def certificate_expiry(path: str) -> datetime:
    """The certificate's notAfter, read with ``openssl x509``."""
    status, output, errors = _run(["openssl", "x509", "-noout", "-enddate", "-in", path])
    if status != 0 or not output.startswith("notAfter="):
        said = errors.strip().splitlines()[-1:] or [f"exit {status}"]
        raise SmgrError(f"cannot read the certificate {path}: {said[0]}")
    text = " ".join(output.strip()[len("notAfter=") :].split())
    try:
        return datetime.strptime(text, "%b %d %H:%M:%S %Y GMT").replace(tzinfo=timezone.utc)
    except ValueError as exc:
        raise SmgrError(f"cannot read the expiry date {text!r} of {path}") from exc


def certificate_findings(
    jobs: Sequence[BackupJob], now: datetime, warn_days: int = CERT_WARN_DAYS, fail_days: int = CERT_FAIL_DAYS
) -> tuple[list[Finding], int]:
    """(findings, number of certificates checked)."""
    findings = []
    files = certificate_files(jobs)
    for path in files:
        try:
            expiry = certificate_expiry(path)
        except SmgrError as exc:
            findings.append(Finding("Certificates", "problem", str(exc)))
            continue
        days = (expiry - now).total_seconds() / 86400
        when = expiry.strftime("%Y-%m-%d %H:%M UTC")
        if days < 0:
            findings.append(Finding("Certificates", "problem", f"{path} expired on {when}"))
        elif days < fail_days:
            findings.append(Finding("Certificates", "problem", f"{path} expires in {days:.1f} days ({when})"))
        elif days < warn_days:
            findings.append(Finding("Certificates", "warning", f"{path} expires in {days:.0f} days ({when})"))
    return findings, len(files)


def service_checks(
    jobs: Sequence[BackupJob], now: datetime, warn_days: int = CERT_WARN_DAYS, fail_days: int = CERT_FAIL_DAYS
) -> tuple[list[Finding], list[tuple[str, bool, str]]]:
    """Every service check the jobs call for: (findings, rows of the health table as (check, fine, detail))."""
    findings: list[Finding] = []
    rows: list[tuple[str, bool, str]] = []
    for project in compose_projects(jobs):
        found = compose_findings(project)
        findings += found
        detail = "; ".join(f.message for f in found) or "every container running and healthy"
        rows.append((f"{project.label} containers", not found, detail))
    if any(job.type == "nginx" for job in jobs) and shutil.which("nginx") is not None:
        found, warned = nginx_findings()
        findings += found
        clean = "running, nginx -t clean" + (f" ({len(warned)} [warn] line(s): {warned[0]})" if warned else "")
        rows.append(("System nginx", not found, "; ".join(f.message for f in found) or clean))
    certificates, count = certificate_findings(jobs, now, warn_days, fail_days)
    if count:
        findings += certificates
        detail = "; ".join(f.message for f in certificates) or f"{count} valid for {warn_days} days or more"
        rows.append(("Certificates", not certificates, detail))
    return findings, rows
