# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Restore: find the archive, check it against its sidecar, then extract into a target directory."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import (
    compression_of,
    extract_archive,
    list_members,
    read_sidecar,
    sha256_file,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import BackupJob
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.retention import scan_archives
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError


@dataclass
class RestoreResult:
    archive: str
    target: str | None
    sha256: str | None
    checksum_verified: bool
    warnings: list[str] = field(default_factory=list)


def find_archive(job: BackupJob, host: str, which: str = "latest") -> str:
    """``latest``, an archive name in the job's ``dest``, or a path to an archive file."""
    if which == "latest":
        records = scan_archives(job.dest, host, job.name)
        if not records:
            raise SmgrError(f"no archives in {job.dest}", job=job.name)
        return os.path.join(job.dest, records[0].name)
    path = which if os.sep in which else os.path.join(job.dest, which)
    if not os.path.isfile(path):
        raise SmgrError(f"no such archive: {path}", job=job.name)
    compression_of(path)
    return os.path.abspath(path)


def check_checksum(archive: str, skip: bool = False) -> str | None:
    """The archive's SHA-256 after matching it against ``NAME.sha256``; None when skipped."""
    if skip:
        return None
    expected = read_sidecar(archive)
    if expected is None:
        raise SmgrError(
            f"{os.path.basename(archive)} has no readable checksum file {os.path.basename(archive)}.sha256; "
            "restore with --no-checksum only if you trust this copy"
        )
    actual = sha256_file(archive)
    if actual != expected:
        raise SmgrError(f"{os.path.basename(archive)} does not match its checksum (expected {expected}, got {actual})")
    return actual


def prepare_target(target: str, force: bool) -> None:
    if os.path.lexists(target) and not os.path.isdir(target):
        raise SmgrError(f"restore target {target} exists and is not a directory")
    if os.path.isdir(target):
        if os.listdir(target) and not force:
            raise SmgrError(f"restore target {target} is not empty; use --force to extract over its content")
        return
    try:
        os.makedirs(target, mode=0o700)
    except OSError as exc:
        raise SmgrError(f"cannot create restore target {target}: {exc.strerror}") from exc


def restore(archive: str, target: str, force: bool = False, skip_checksum: bool = False) -> RestoreResult:
    digest = check_checksum(archive, skip_checksum)
    prepare_target(target, force)
    warnings = extract_archive(archive, target)
    return RestoreResult(
        archive=archive, target=target, sha256=digest, checksum_verified=digest is not None, warnings=warnings
    )


def contents(archive: str, emit: Callable[[str], None], skip_checksum: bool = False) -> int:
    """Stream ``tar --list --verbose`` lines of a checksum-checked archive to ``emit``; return the entry count."""
    check_checksum(archive, skip_checksum)
    count = list_members(archive, verbose=True, on_line=emit)[0]
    return count
