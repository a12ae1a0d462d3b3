# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-job locks: ``fcntl.flock`` on ``<lock_dir>/jobs/<job>.lock``.

The kernel drops a flock when its holder dies (even by SIGKILL), so a crashed
run never leaves a stale lock. The lock files live in a ``jobs/`` subdirectory
so they never collide with the ``<lock_dir>/<name>.lock`` files that
``flock -n`` takes for scheduled commands (smgr_schedule's prevent_overlap):
a cron line named like its job would otherwise lock the runner out of its own job.
"""

from __future__ import annotations

import errno
import fcntl
import os

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError

LOCK_SUBDIR = "jobs"


class AlreadyRunning(SmgrError):
    """Another process holds the job's lock."""


def _ensure_private_dir(path: str) -> None:
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise SmgrError(f"cannot create lock directory {path}: {exc.strerror}") from exc
    info = os.lstat(path)
    if not os.path.isdir(path) or os.path.islink(path):
        raise SmgrError(f"lock directory {path} is not a directory")
    if info.st_mode & 0o022:
        raise SmgrError(f"lock directory {path} is writable by others (mode {info.st_mode & 0o777:04o}); use 0700")


def lock_path(lock_dir: str, job: str) -> str:
    return os.path.join(lock_dir, LOCK_SUBDIR, f"{job}.lock")


class JobLock:
    """``with JobLock(lock_dir, job):`` holds the job's lock or raises AlreadyRunning at once (never waits)."""

    def __init__(self, lock_dir: str, job: str) -> None:
        self.lock_dir = lock_dir
        self.job = job
        self.path = lock_path(lock_dir, job)
        self._fd: int | None = None

    def acquire(self) -> JobLock:
        _ensure_private_dir(self.lock_dir)
        _ensure_private_dir(os.path.dirname(self.path))
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise SmgrError(f"cannot open lock file {self.path}: {exc.strerror}", job=self.job) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise AlreadyRunning(f"already running (lock {self.path} is held)", job=self.job) from None
            raise SmgrError(f"cannot lock {self.path}: {exc.strerror}", job=self.job) from exc
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> JobLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def is_locked(lock_dir: str, job: str) -> bool:
    """Whether a run of ``job`` holds its lock right now (probes without waiting)."""
    path = lock_path(lock_dir, job)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False
