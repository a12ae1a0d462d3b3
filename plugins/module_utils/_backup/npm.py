# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Nginx Proxy Manager (NPM) in Docker: its install directory with a consistent copy of its database.

NPM's compose project lives in ``npm_dir`` (``/root/nginx`` in the old TUI's settings): the compose file,
``data/`` (bind-mounted at ``/data``: proxy host configurations, ``keys.json``, and by default the SQLite
database ``database.sqlite``) and ``letsencrypt/`` (at ``/etc/letsencrypt``). NPM keeps writing its
database while it runs, so the database file is never archived as it lies:

- SQLite (``DB_SQLITE_FILE``, default ``/data/database.sqlite``): copied with SQLite's online backup API
  into the staging directory, then ``PRAGMA integrity_check`` must answer ``ok``;
- MariaDB/MySQL (``DB_MYSQL_HOST`` names a service of the project): dumped with ``docker compose exec``
  running ``mariadb-dump`` (or ``mysqldump``) in that service's container with its own credentials
  (``MYSQL_USER``, ``MYSQL_PASSWORD``, ``MYSQL_DATABASE``); the dump must end with the dump tool's
  ``-- Dump completed`` line. The database's own files (its bind-mounted data directory) are left out.

Everything else of ``npm_dir`` is copied beside it (logs left out) into ``npm/`` of the archive.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import BackupJob
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._common.process import subprocess_env

try:
    import yaml
except ImportError:  # the runner checks PyYAML at start; the module reports it through jobs.HAS_YAML
    yaml = None  # type: ignore[assignment]

COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")  # Compose's order
ARCHIVE_DIR = "npm"  # npm_dir's copy inside the archive
DATABASE_DUMP = "npm-database.sql"
DEFAULT_SQLITE_FILE = "/data/database.sqlite"
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
SKIPPED_DIRS = ("data/logs",)
DUMP_FOOTER = "-- Dump completed"
DUMP_SCRIPT = (
    'dump=$(command -v mariadb-dump || command -v mysqldump) && exec "$dump" --lock-tables --routines '
    '--user="$MYSQL_USER" --password="$MYSQL_PASSWORD" "$MYSQL_DATABASE"'
)


@dataclass(frozen=True)
class NpmDatabase:
    """Where NPM keeps its data: ``kind`` "sqlite" (``path`` on the host) or "mysql" (``service`` of the project,
    ``data_dir`` its bind-mounted data directory on the host, left out of the copy)."""

    kind: str
    path: str | None = None
    service: str | None = None
    data_dir: str | None = None


def find_compose_file(directory: str) -> str | None:
    """The compose file Compose itself would read in ``directory``, or None."""
    found = (os.path.join(directory, name) for name in COMPOSE_FILES)
    return next((path for path in found if os.path.isfile(path)), None)


def compose_file(npm_dir: str, job: str) -> str:
    if not os.path.isdir(npm_dir):
        raise SmgrError(f"{npm_dir} is not a directory (NPM's install directory)", job=job, field="npm_dir")
    path = find_compose_file(npm_dir)
    if path is not None:
        return path
    raise SmgrError(f"no compose file ({', '.join(COMPOSE_FILES)}) in {npm_dir}", job=job, field="npm_dir")


def _environment(service: dict) -> dict[str, str]:
    value = service.get("environment") or {}
    if isinstance(value, list):
        pairs = (str(item).split("=", 1) for item in value)
        return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}
    return {str(key): "" if item is None else str(item) for key, item in value.items()}


def _bind_mounts(service: dict, npm_dir: str) -> dict[str, str]:
    """``{container path: host path}`` of the service's bind mounts (short syntax ``./data:/data`` or long)."""
    mounts = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            source, target = volume.get("source"), volume.get("target")
            if volume.get("type") != "bind":
                continue
        else:
            parts = str(volume).split(":")
            if len(parts) < 2:
                continue
            source, target = parts[0], parts[1]
            if not source.startswith((".", "/", "~")):
                continue  # a named volume
        if source and target:
            mounts[str(target).rstrip("/") or "/"] = os.path.normpath(os.path.join(npm_dir, os.path.expanduser(source)))
    return mounts


def _host_path(mounts: dict[str, str], inside: str) -> str | None:
    for target in sorted(mounts, key=len, reverse=True):
        if inside == target or inside.startswith(target + "/"):
            return mounts[target] + inside[len(target) :]
    return None


def _inside(path: str, directory: str) -> bool:
    return path.startswith(directory.rstrip("/") + "/")


def _check_app_mounts(app: dict, npm_dir: str, compose: str, job: str) -> None:
    """NPM's /data and /etc/letsencrypt must be bind mounts of real directories inside npm_dir: anything else
    (a named volume, a directory elsewhere, a symlink) would leave configurations or certificates out unnoticed."""
    mounts = _bind_mounts(app, npm_dir)
    volumes = [str(volume) for volume in app.get("volumes") or [] if not isinstance(volume, dict)]
    for inside, required in (("/data", True), ("/etc/letsencrypt", False)):
        host = mounts.get(inside)
        if host is None:
            named = any(volume.split(":")[1:2] == [inside] for volume in volumes)
            if required or named:
                raise SmgrError(
                    f"NPM's {inside} is not a bind mount in {compose} (an npm job backs up npm_dir; bind-mount "
                    f"./{inside.rsplit('/', 1)[1]}:{inside} as NPM's guide does)",
                    job=job,
                    field="npm_dir",
                )
            continue
        if not _inside(host, npm_dir) or os.path.realpath(host) != host:
            raise SmgrError(
                f"NPM's {inside} is {host}, not a real directory inside {npm_dir} (a symlink or another place "
                "would be archived as a link or not at all)",
                job=job,
                field="npm_dir",
            )


def find_database(npm_dir: str, job: str) -> NpmDatabase:
    path = compose_file(npm_dir, job)
    if yaml is None:
        raise SmgrError("PyYAML is required to read NPM's compose file", job=job)
    try:
        with open(path, encoding="utf-8") as handle:
            compose = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SmgrError(f"cannot read {path}: {exc}", job=job, field="npm_dir") from exc
    services = compose.get("services") if isinstance(compose, dict) else None
    if not isinstance(services, dict):
        raise SmgrError(f"{path} has no services", job=job, field="npm_dir")
    app_name = next(
        (name for name, service in services.items() if "nginx-proxy-manager" in str((service or {}).get("image", ""))),
        None,
    )
    if app_name is None:
        raise SmgrError(f"{path} has no service running jc21/nginx-proxy-manager", job=job, field="npm_dir")
    app = services[app_name] or {}
    _check_app_mounts(app, npm_dir, path, job)
    environment = _environment(app)
    host = environment.get("DB_MYSQL_HOST")
    if host:
        service = next(
            (name for name, item in services.items() if name == host or (item or {}).get("hostname") == host), None
        )
        if service is None:
            raise SmgrError(f"NPM's DB_MYSQL_HOST {host!r} is not a service of {path}", job=job, field="npm_dir")
        data_dir = _host_path(_bind_mounts(services[service] or {}, npm_dir), "/var/lib/mysql")
        return NpmDatabase("mysql", service=service, data_dir=data_dir)
    inside = environment.get("DB_SQLITE_FILE") or DEFAULT_SQLITE_FILE
    database = _host_path(_bind_mounts(app, npm_dir), inside)
    if database is None:
        raise SmgrError(
            f"NPM's database {inside} is not on a bind mount of {path} (a named volume is not backed up by an "
            "npm job; bind-mount ./data:/data as NPM's guide does)",
            job=job,
            field="npm_dir",
        )
    if not _inside(database, npm_dir):
        raise SmgrError(f"NPM's database {database} lies outside {npm_dir}", job=job, field="npm_dir")
    if not os.path.isfile(database):
        raise SmgrError(f"NPM's SQLite database {database} does not exist", job=job, field="npm_dir")
    return NpmDatabase("sqlite", path=database)


def copy_sqlite(source: str, target: str, job: str) -> None:
    """SQLite's online backup API: a consistent copy while NPM writes; then the copy's integrity check."""
    if os.path.lexists(target) or os.path.realpath(target) == os.path.realpath(source):
        raise SmgrError(f"refusing to copy NPM's database onto {target}", job=job)
    import sqlite3  # here: every backup run loads this module, only NPM jobs with SQLite need it (0.8 MiB)

    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    origin = copy = None
    try:
        origin = sqlite3.connect(source, timeout=60)
        copy = sqlite3.connect(target)
        origin.backup(copy)
        verdict = [row[0] for row in copy.execute("PRAGMA integrity_check")]
    except sqlite3.Error as exc:
        raise SmgrError(f"copying NPM's SQLite database {source} failed: {exc}", job=job) from exc
    finally:
        for connection in (copy, origin):
            if connection is not None:
                connection.close()
    if verdict != ["ok"]:
        raise SmgrError(f"the copy of NPM's database fails PRAGMA integrity_check: {'; '.join(verdict[:5])}", job=job)


def dump_mysql(compose: str, service: str, target: str, job: BackupJob) -> None:
    """``docker compose exec -T SERVICE`` running the dump tool with the container's own credentials."""
    with open(target, "wb") as output:
        os.chmod(target, 0o600)
        try:
            completed = subprocess.run(
                ["docker", "compose", "-f", compose, "exec", "-T", service, "sh", "-c", DUMP_SCRIPT],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.PIPE,
                env=subprocess_env(),
                cwd=os.path.dirname(compose),
                timeout=job.timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise SmgrError("docker is not installed: cannot dump NPM's database", job=job.name) from exc
        except subprocess.TimeoutExpired as exc:
            raise SmgrError(f"dumping NPM's database did not finish within {job.timeout}s", job=job.name) from exc
    said = completed.stderr.decode("utf-8", "backslashreplace").strip().splitlines()[-3:]
    if completed.returncode != 0:
        raise SmgrError(
            f"dumping NPM's database (service {service}) failed with exit {completed.returncode}: "
            f"{'; '.join(said) or 'no output'}",
            job=job.name,
        )
    if not _ends_with_footer(target):
        raise SmgrError(
            f"the dump of NPM's database (service {service}) is incomplete: no '{DUMP_FOOTER}' line at its end",
            job=job.name,
        )


def _ends_with_footer(path: str) -> bool:
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - 4096))
        lines = handle.read().decode("utf-8", "backslashreplace").strip().splitlines()
    return bool(lines) and lines[-1].startswith(DUMP_FOOTER)


def copy_install_dir(npm_dir: str, target: str, left_out: list[str]) -> None:
    """Copy ``npm_dir`` (symlinks as links, modes kept) without the paths in ``left_out`` and logs."""
    left_out_paths = {os.path.normpath(path) for path in left_out}
    left_out_paths.update(os.path.join(npm_dir, path) for path in SKIPPED_DIRS)

    def ignore(directory: str, names: list[str]) -> list[str]:
        return [name for name in names if os.path.join(directory, name) in left_out_paths]

    shutil.copytree(npm_dir, target, symlinks=True, ignore=ignore)


def dump_npm(job: BackupJob, staging_dir: str) -> tuple[list[str], list[str]]:
    """Copy NPM's install directory and a consistent copy (or dump) of its database into ``staging_dir``.

    Returns (paths to archive, warnings) or raises SmgrError naming what is wrong (nothing is archived then).
    """
    npm_dir = os.path.realpath(job.npm_dir or "")  # a symlinked install directory is fine, links inside are not
    database = find_database(npm_dir, job.name)
    os.makedirs(staging_dir, mode=0o700)
    target = os.path.join(staging_dir, ARCHIVE_DIR)
    if database.kind == "sqlite":
        database_file = database.path or ""
        copy_install_dir(npm_dir, target, [database_file + suffix for suffix in ("", *SQLITE_SIDE_FILES)])
        copy_sqlite(database_file, os.path.join(target, os.path.relpath(database_file, npm_dir)), job.name)
    else:
        copy_install_dir(npm_dir, target, [database.data_dir] if database.data_dir else [])
        dump_mysql(compose_file(npm_dir, job.name), database.service or "", os.path.join(target, DATABASE_DUMP), job)
    return [target], []
