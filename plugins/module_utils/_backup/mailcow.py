# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Mailcow: run Mailcow's own dump script, then prove its output instead of trusting its exit code.

``helper-scripts/backup_and_restore.sh backup <components>`` (mailcow-dockerized) writes
``$MAILCOW_BACKUP_LOCATION/mailcow-<date>/backup_<component>.tar.zst`` (``.tar.gz`` before 2025-11;
the database as ``backup_mariadb``), one ``docker run --name mailcow-backup`` per component, and
exits 0 whatever those containers did. What it needs and does not say:

- the backup location must be readable and enterable by others (its mode must end in 5-7), so the
  staging directory is made 0755 inside the job's 0700 directory;
- ``THREADS`` 1-99 (checked with the job);
- its MariaDB step joins ``mariabackup; mariabackup --prepare; chown; tar`` with ``;``: a failed
  mariabackup leaves a valid archive of nothing. So every component archive must decompress, list,
  and hold its tree (``/vmail/``...; the database: ``/backup_mariadb/`` with mariabackup's checkpoint file);
- a timeout kills the script but not its container, whose fixed name then blocks the next run: after a
  timeout the container is removed (``docker rm -f mailcow-backup``), and one host never runs two
  Mailcow jobs at once (a host-wide lock, waited for).

The install files (``mailcow.conf``, the compose files, ``data/assets/ssl``, ``data/conf``, without logs)
are copied next to the dump, so the archive alone rebuilds the host (docs/mailcow.md).
"""

from __future__ import annotations

import fnmatch
import io
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import SUFFIXES, decompressor_command
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import BackupJob
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._common.lock import AlreadyRunning, JobLock
from ansible_collections.smgr.server_manager.plugins.module_utils._common.process import (
    run_captured,
    run_in_session,
    subprocess_env,
    tail_lines,
)

# tarfile is imported where a dump is checked: every backup run loads this module, and only Mailcow jobs read
# their dump as tar.
if TYPE_CHECKING:
    import tarfile

HELPER_SCRIPT = os.path.join("helper-scripts", "backup_and_restore.sh")
CONTAINER_NAME = "mailcow-backup"
# The lock every Mailcow job of a host takes around the script (job names start with a letter or digit).
HOST_LOCK = ".mailcow-script"
LOCK_POLL_SECONDS = 2.0
STAGING_MODE = 0o755
# component -> the tree inside its archive (the script archives /<tree> with tar -P)
COMPONENT_TREES: dict[str, str] = {
    "vmail": "vmail",
    "crypt": "crypt",
    "redis": "redis",
    "rspamd": "rspamd",
    "postfix": "postfix",
    "mysql": "backup_mariadb",
}
# Mailcow since 2025-11 writes zstd dumps (backup_<component>.tar.zst), before pigz/gzip (.tar.gz): the two
# suffixes and decompressors of our own archives (archive.SUFFIXES, archive.decompressor_command).
# mariabackup's checkpoint file: xtrabackup_checkpoints up to MariaDB 11.x, mariadb_backup_checkpoints after;
# --prepare turns its backup_type from full-backuped into full-prepared.
CHECKPOINT_FILES = ("xtrabackup_checkpoints", "mariadb_backup_checkpoints")
PREPARED = re.compile(r"^backup_type\s*=\s*full-prepared\s*$", re.MULTILINE)
READ_SIZE = 1024 * 1024
INSTALL_FILES = ("mailcow.conf", "docker-compose.yml", "docker-compose.override.yml", "data/assets/ssl", "data/conf")
INSTALL_EXCLUDES = ("*.log", "*.log.*", "dump.rdb")
INSTALL_COPY = "mailcow-dockerized"  # beside mailcow-<date>/ in the archive
OUTPUT_TAIL = 15
# Lines of the script's output worth naming in an error even when thousands of tar -v lines follow them.
NOTABLE_OUTPUT = re.compile(
    r"^(Error|Warning: Unable|docker: |Error response|Unable to find image|mariabackup: Error|tar: |"
    r"Thread input|Compose file not found|Environment file not found|Could not determine|Cannot find docker)"
    r"|is not write-able for others|is not a directory|is a file!"
)


@dataclass(frozen=True)
class ComponentArchive:
    component: str
    path: str
    compression: str  # zstd or gzip

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


def helper_script(mailcow_dir: str) -> str:
    return os.path.join(mailcow_dir, HELPER_SCRIPT)


def _joined(lines: Sequence[str]) -> str:
    return "; ".join(lines) or "none"


def remove_container() -> str:
    """``docker rm -f mailcow-backup``; returns what happened, for the error message."""
    done = run_captured(["docker", "rm", "-f", CONTAINER_NAME], timeout=60)
    if done.status == 0:
        return f"its container {CONTAINER_NAME} was removed"
    return f"its container {CONTAINER_NAME} was not removed: {done.last_line()}"


def run_helper(job: BackupJob, staging_dir: str) -> tuple[int, list[str], list[str]]:
    """Run the dump script with a timeout; return (status, output tail, notable lines)."""
    script = helper_script(job.mailcow_dir or "")
    if not os.path.isfile(script):
        raise SmgrError(f"Mailcow's {HELPER_SCRIPT} not found in {job.mailcow_dir}", job=job.name, field="mailcow_dir")
    env = subprocess_env()
    env["MAILCOW_BACKUP_LOCATION"] = staging_dir
    env["THREADS"] = str(job.mailcow_threads or 1)
    result = run_in_session(
        [script, "backup", *job.mailcow_components],
        timeout=job.timeout,
        tail=OUTPUT_TAIL,
        env=env,
        cwd=job.mailcow_dir,
        notable=NOTABLE_OUTPUT,
    )
    if result.timed_out:
        removed = remove_container()
        raise SmgrError(
            f"Mailcow's backup script did not finish within {job.timeout}s and was stopped; {removed}; "
            f"output: {_joined(result.notable or result.tail)}",
            job=job.name,
        )
    return result.status or 0, result.tail, result.notable


def dump_directories(staging_dir: str) -> list[str]:
    return sorted(
        os.path.join(staging_dir, entry)
        for entry in os.listdir(staging_dir)
        if os.path.isdir(os.path.join(staging_dir, entry)) and not os.path.islink(os.path.join(staging_dir, entry))
    )


def archive_stem(component: str) -> str:
    """``backup_vmail``...; the database is ``backup_mariadb`` (never ``backup_mysql``)."""
    tree = COMPONENT_TREES[component]
    return tree if tree.startswith("backup_") else f"backup_{tree}"


def find_component_archive(dump_dir: str, component: str) -> ComponentArchive | None:
    base = os.path.join(dump_dir, archive_stem(component))
    for suffix, compression in SUFFIXES.items():
        path = base + suffix
        if os.path.isfile(path) and not os.path.islink(path):
            return ComponentArchive(component, path, compression)
    return None


def _member_tree(name: str) -> tuple[str, str]:
    """``/vmail/a/b`` or ``vmail/a/b`` -> ("vmail", "a/b")."""
    top, _slash, rest = name.lstrip("/").partition("/")
    return top, rest


def _read_checkpoint(stream: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    handle = stream.extractfile(member)
    return handle.read(65536).decode("utf-8", "backslashreplace") if handle is not None else ""


def archive_problem(archive: ComponentArchive, timeout: float) -> str | None:
    """Why a component archive does not hold its component, or None: it must decompress and read as tar to the
    end, contain its tree, and for the database mariabackup's prepared checkpoint file in that tree.

    One pass: the decompressor's output is read as a tar stream in Python (1 MiB reads), which also gives the
    checkpoint file's content; the decompressor's errors go to a file (no pipe to fill), and it is killed when
    ``timeout`` seconds pass.
    """
    import tarfile

    tree = COMPONENT_TREES[archive.component]
    has_tree = False
    checkpoint: str | None = None
    entries = 0
    tar_error = None
    expired = threading.Event()
    with open(archive.path, "rb") as source, tempfile.TemporaryFile() as errors:
        decompress = subprocess.Popen(
            decompressor_command(archive.compression, None),
            stdin=source,
            stdout=subprocess.PIPE,
            stderr=errors,
            env=subprocess_env(),
        )

        def stop() -> None:
            expired.set()
            decompress.kill()

        timer = threading.Timer(timeout, stop)
        timer.start()
        output = decompress.stdout if decompress.stdout is not None else io.BytesIO()
        try:
            with tarfile.open(fileobj=output, mode="r|", bufsize=READ_SIZE) as stream:
                for member in stream:
                    entries += 1
                    top, rest = _member_tree(member.name)
                    if top == tree:
                        has_tree = True
                        if rest in CHECKPOINT_FILES and member.isfile():
                            checkpoint = _read_checkpoint(stream, member)
            while output.read(READ_SIZE):
                pass  # the end-of-archive padding: the decompressor must finish, not die of SIGPIPE
        except (tarfile.TarError, EOFError, OSError) as exc:
            tar_error = str(exc) or type(exc).__name__
        finally:
            output.close()
            status = decompress.wait()
            timer.cancel()
        decompress_error = (tail_lines(errors, 1) or [""])[0]
    timed_out = expired.is_set()
    if timed_out:
        return f"checking {archive.name} did not finish within {timeout:.0f}s"
    if status != 0:
        return f"{archive.name} is corrupt ({decompress_error or f'{archive.compression} exit {status}'})"
    if tar_error:
        return f"{archive.name} is not a readable tar archive ({tar_error})"
    if not has_tree:
        return (
            f"{archive.name} holds no /{tree}/ ({entries} entries): its container archived nothing "
            "(the script goes on after a failed step)"
        )
    if archive.component == "mysql":
        if checkpoint is None:
            return f"{archive.name} holds no mariabackup checkpoint file in /{tree}/: the database dump failed"
        if not PREPARED.search(checkpoint):
            found = re.search(r"backup_type\s*=\s*(\S+)", checkpoint)
            state = found.group(1) if found else "unknown"
            return f"{archive.name}: mariabackup's --prepare did not complete (backup_type = {state})"
    return None


def dump_problems(dump_dir: str, components: Sequence[str], timeout: float = 3600) -> list[str]:
    """What is wrong with a dump directory: missing, corrupt or empty component archives (empty list = good)."""
    problems = []
    for component in components:
        archive = find_component_archive(dump_dir, component)
        if archive is None:
            problems.append(f"{component}: {archive_stem(component)}.tar.zst (or .tar.gz) is missing")
            continue
        problem = archive_problem(archive, timeout)
        if problem:
            problems.append(f"{component}: {problem}")
    return problems


def copy_install_files(mailcow_dir: str, target: str) -> list[str]:
    """Copy the install files that exist into ``target`` (modes kept, logs left out); return what was copied."""
    copied = []
    ignore = shutil.ignore_patterns(*INSTALL_EXCLUDES)
    for relative in INSTALL_FILES:
        source = os.path.join(mailcow_dir, relative)
        if not os.path.lexists(source):
            continue
        destination = os.path.join(target, relative)
        os.makedirs(os.path.dirname(destination), mode=0o700, exist_ok=True)
        if os.path.isdir(source) and not os.path.islink(source):
            shutil.copytree(source, destination, symlinks=True, ignore=ignore)
        elif not any(fnmatch.fnmatch(os.path.basename(relative), pattern) for pattern in INSTALL_EXCLUDES):
            shutil.copy2(source, destination, follow_symlinks=False)
        copied.append(relative)
    return copied


class HostLock:
    """The host-wide Mailcow lock, waited for up to ``timeout`` seconds (two jobs run one after the other)."""

    def __init__(self, lock_dir: str, job: str, timeout: float) -> None:
        self.lock = JobLock(lock_dir, HOST_LOCK)
        self.job = job
        self.timeout = timeout

    def __enter__(self) -> HostLock:
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self.lock.acquire()
                return self
            except AlreadyRunning:
                if time.monotonic() >= deadline:
                    raise SmgrError(
                        f"another Mailcow job of this host still runs Mailcow's backup script after {self.timeout}s "
                        f"(lock {self.lock.path}); Mailcow's script cannot run twice at once",
                        job=self.job,
                    ) from None
                time.sleep(LOCK_POLL_SECONDS)

    def __exit__(self, *exc_info: object) -> None:
        self.lock.release()


def dump_mailcow(job: BackupJob, staging_dir: str, lock_dir: str) -> tuple[list[str], list[str]]:
    """Run the dump into ``staging_dir`` (created 0755) and copy the install files beside it.

    Returns (paths in ``staging_dir`` to archive, warnings) or raises SmgrError naming what is wrong.
    """
    dest_mode = os.stat(job.dest).st_mode
    if dest_mode & 0o001:
        # The staging directory must be 0755 for the script; only a closed parent keeps the dump (mail, keys,
        # mailcow.conf with the database passwords, written 0644 by the containers) from other users.
        raise SmgrError(
            f"{job.dest} can be entered by every user (mode {dest_mode & 0o7777:04o}); Mailcow's dump inside "
            f"would be readable by them: chmod o-rwx {job.dest}",
            job=job.name,
            field="dest",
        )
    os.makedirs(staging_dir, mode=STAGING_MODE)
    os.chmod(staging_dir, STAGING_MODE)  # the umask must not narrow it: the script checks the mode
    with HostLock(lock_dir, job.name, job.timeout):
        status, output, notable = run_helper(job, staging_dir)
    directories = dump_directories(staging_dir)
    said = _joined(notable or output)
    if len(directories) != 1:
        found = "none" if not directories else ", ".join(os.path.basename(d) for d in directories)
        raise SmgrError(
            f"Mailcow's backup script (exit {status}) left {len(directories)} dump directories ({found}) "
            f"instead of one; it said: {said}",
            job=job.name,
        )
    problems = dump_problems(directories[0], job.expanded_mailcow_components(), job.timeout)
    if problems:
        raise SmgrError(
            f"Mailcow's dump is incomplete (script exit {status}): {'; '.join(problems)}; it said: {said}",
            job=job.name,
        )
    if status != 0:
        raise SmgrError(f"Mailcow's backup script failed with exit {status}: {said}", job=job.name)
    paths = [directories[0]]
    if job.mailcow_install_files:
        install_copy = os.path.join(staging_dir, INSTALL_COPY)
        if copy_install_files(job.mailcow_dir or "", install_copy):
            paths.append(install_copy)
    return paths, []
