# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Crash-safe file replacement: a reader sees the old file or the new one, never a torn one."""

from __future__ import annotations

import contextlib
import os
import tempfile

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError


def read_bytes(path: str) -> bytes | None:
    """Return the file's content, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SmgrError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:  # a NUL byte in the path
        raise SmgrError(f"cannot read {path!r}: {exc}") from exc


def fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def stage_file(path: str, data: bytes, mode: int, uid: int | None = None, gid: int | None = None) -> str:
    """Write ``data`` to a temp file beside ``path`` (fsynced, final mode and owner); return the temp file's path.

    The temp file is created 0600 by mkstemp and only widened to ``mode`` once
    written, so a secret is never readable by others, not even briefly. Its name
    starts with a dot and contains dots, so cron and run-parts ignore it.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise SmgrError(f"directory {directory} does not exist")
    try:
        fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    except OSError as exc:
        raise SmgrError(f"cannot create a temporary file in {directory}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if uid is not None or gid is not None:
                os.fchown(handle.fileno(), -1 if uid is None else uid, -1 if gid is None else gid)
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
    except BaseException as exc:
        discard_staged(tmp_path)
        if isinstance(exc, OSError):
            raise SmgrError(f"cannot write {path}: {exc.strerror}") from exc
        raise
    return tmp_path


def commit_staged(tmp_path: str, path: str) -> None:
    """Rename a staged file over ``path`` and make the rename durable."""
    try:
        os.rename(tmp_path, path)
    except OSError as exc:
        discard_staged(tmp_path)
        raise SmgrError(f"cannot write {path}: {exc.strerror}") from exc
    fsync_directory(os.path.dirname(os.path.abspath(path)))


def discard_staged(tmp_path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp_path)


def write_atomic(path: str, data: bytes, mode: int, uid: int | None = None, gid: int | None = None) -> None:
    """Replace ``path`` with ``data``: temp file in the same directory, fsync, rename, fsync directory."""
    commit_staged(stage_file(path, data, mode, uid, gid), path)


def remove_file(path: str) -> bool:
    """Delete ``path``; return whether it existed."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise SmgrError(f"cannot remove {path}: {exc.strerror}") from exc
    fsync_directory(os.path.dirname(os.path.abspath(path)))
    return True
