# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Retention: which archives of a job to delete (a pure function) and deleting them (safely).

An archive's age is the UTC timestamp in its name, not its mtime: copies made
without preserving times (to a remote, by hand) keep their place in the order.
Only regular files whose name matches ``<host>-<job>-<timestamp>.tar.(zst|gz)``
for this host and job are ever candidates; symlinks, other jobs' archives,
partial files and anything else in the directory are never touched, and the
newest ``keep_min`` archives are always kept.
"""

from __future__ import annotations

import operator
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from stat import S_ISREG
from typing import Callable, NamedTuple

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import (
    SIDECAR_SUFFIX,
    SUFFIXES,
    archive_name_pattern,
    is_legacy_name,
    legacy_names_claimed,
    parse_archive_name,
    stamp_datetime,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import Retention
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError

_ARCHIVE_SUFFIXES = tuple(SUFFIXES)


# The temp file of a checksum file being written (``_atomic.stage_file``), left behind by a kill.
_SIDECAR_TEMP_RE = re.compile(r"\.(?P<archive>.+)\.sha256\.[A-Za-z0-9_]+\.tmp")


class ArchiveRecord(NamedTuple):
    """One archive of the job: its file name, time (from the name), size, and the size of its sidecar.

    A named tuple, not a dataclass: a scan creates one per archive, and a tuple is made three times faster
    (100,000 archives in B8, docs/performance.md)."""

    name: str
    time: datetime
    size: int
    sidecar_size: int = 0
    compression: str = "zstd"

    @property
    def bytes_on_disk(self) -> int:
        return self.size + self.sidecar_size


# Sort key of records, reversed for newest first (the name breaks ties between two archives of one second).
_newest_first_key = operator.attrgetter("time", "name")


@dataclass
class CleanupResult:
    kept: list[str]
    removed: list[str]
    freed_bytes: int
    dry_run: bool = False


def _period_keys(records: Sequence[ArchiveRecord], count: int | None, key: Callable[[datetime], object]) -> set[str]:
    """The newest archive of each of the ``count`` most recent periods that have an archive."""
    if not count:
        return set()
    kept: set[str] = set()
    seen: set[object] = set()
    for record in records:  # newest first
        period = key(record.time)
        if period in seen:
            continue
        seen.add(period)
        kept.add(record.name)
        if len(seen) >= count:
            break
    return kept


def select_removals(records: Iterable[ArchiveRecord], policy: Retention, now: datetime) -> list[ArchiveRecord]:
    """The records to delete under ``policy`` at ``now``, oldest first. Never returns the newest ``keep_min``."""
    ordered = sorted(records, key=_newest_first_key, reverse=True)
    keep: set[str] = {record.name for record in ordered[: max(policy.keep_min, 1)]}
    if policy.keep_days:
        cutoff = now - timedelta(days=policy.keep_days)
        keep.update(record.name for record in ordered if record.time > cutoff)
    keep |= _period_keys(ordered, policy.keep_daily, lambda when: when.date())
    keep |= _period_keys(ordered, policy.keep_weekly, lambda when: tuple(when.isocalendar())[:2])
    keep |= _period_keys(ordered, policy.keep_monthly, lambda when: (when.year, when.month))
    return [record for record in reversed(ordered) if record.name not in keep]


# --------------------------------------------------------------------------- local directories


def without_claimed_legacy(
    records: list[ArchiveRecord], names: Callable[[], Iterable[str]], host: str, job: str
) -> list[ArchiveRecord]:
    """``records`` without its legacy names when another (host, job) claims names like them (see
    ``legacy_names_claimed``); ``names`` lists the directory, called only when a legacy name is there."""
    if any(is_legacy_name(record.name) for record in records) and legacy_names_claimed(names(), host, job):
        return [record for record in records if not is_legacy_name(record.name)]
    return records


def claimed_legacy_archives(directory: str, host: str, job: str) -> list[str]:
    """Legacy archives in ``directory`` that look like this job's but may be another host's: kept, never counted."""
    fd = _open_directory(directory)
    if fd < 0:
        return []
    try:
        names = os.listdir(fd)
    finally:
        os.close(fd)
    if not legacy_names_claimed(names, host, job):
        return []
    return sorted(name for name in names if is_legacy_name(name) and parse_archive_name(name, host, job))


def _open_directory(directory: str) -> int:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        return os.open(directory, flags)
    except FileNotFoundError:
        return -1
    except OSError as exc:
        raise SmgrError(f"cannot open {directory}: {exc.strerror}") from exc


def scan_archives(directory: str, host: str, job: str) -> list[ArchiveRecord]:
    """This job's archives in ``directory``: regular files only (lstat, symlinks are skipped), newest first."""
    fd = _open_directory(directory)
    if fd < 0:
        return []
    try:
        return _scan_fd(fd, host, job)
    finally:
        os.close(fd)


def _lstat(fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _scan_fd(fd: int, host: str, job: str) -> list[ArchiveRecord]:
    records = []
    for name in os.listdir(fd):
        parsed = parse_archive_name(name, host, job)
        if parsed is None:
            continue
        info = _lstat(fd, name)
        if info is None or not stat.S_ISREG(info.st_mode):
            continue
        sidecar = _lstat(fd, name + SIDECAR_SUFFIX)
        sidecar_size = sidecar.st_size if sidecar is not None and stat.S_ISREG(sidecar.st_mode) else 0
        records.append(ArchiveRecord(name, parsed[0], info.st_size, sidecar_size, parsed[1]))
    records.sort(key=_newest_first_key, reverse=True)
    return without_claimed_legacy(records, lambda: os.listdir(fd), host, job)


def _scan_fd_unsized(fd: int, host: str, job: str) -> list[ArchiveRecord]:
    """Like :func:`_scan_fd` without a ``stat`` per file (sizes are 0): the type comes from the directory entry
    (``scandir`` falls back to ``lstat`` where the file system does not report it). Retention only needs names
    and times; it reads each file's type and size again right before removing it, so keeping thousands of
    archives costs no system call each. The loop is :func:`parse_archive_name` inlined, with the bound methods
    looked up once: it runs once per file (see docs/performance.md, B8)."""
    match = archive_name_pattern(host, job).match
    records: list[ArchiveRecord] = []
    append = records.append
    with os.scandir(fd) as entries:
        for entry in entries:
            name = entry.name
            if not name.endswith(_ARCHIVE_SUFFIXES):  # sidecars and the rest: no parsing
                continue
            found = match(name)
            if found is None or not entry.is_file(follow_symlinks=False):
                continue
            try:
                when = stamp_datetime(found.group("stamp"))
            except ValueError:  # digits that are no date: not an archive name
                continue
            append(ArchiveRecord(name, when, 0, 0, SUFFIXES[found.group("suffix")]))
    records.sort(key=_newest_first_key, reverse=True)
    return without_claimed_legacy(records, lambda: os.listdir(fd), host, job)


def _regular_size(fd: int, name: str) -> int:
    info = _lstat(fd, name)
    return info.st_size if info is not None and stat.S_ISREG(info.st_mode) else 0


def _unlink_regular(fd: int, name: str) -> int:
    """Unlink ``name`` relative to the open directory when it is (still) a regular file; return bytes freed."""
    try:
        info = os.lstat(name, dir_fd=fd)
    except FileNotFoundError:
        return 0
    if not S_ISREG(info.st_mode):
        return 0
    try:
        os.unlink(name, dir_fd=fd)
    except FileNotFoundError:
        return 0
    return info.st_size


def apply_retention(
    directory: str, host: str, job: str, policy: Retention, now: datetime, dry_run: bool = False
) -> CleanupResult:
    """Delete what :func:`select_removals` picks (with sidecars) from ``directory``; report names and bytes freed."""
    fd = _open_directory(directory)
    if fd < 0:
        return CleanupResult(kept=[], removed=[], freed_bytes=0, dry_run=dry_run)
    try:
        records = _scan_fd_unsized(fd, host, job)
        removals = select_removals(records, policy, now)
        removed_names = {record.name for record in removals}
        unlink_regular = _unlink_regular
        freed = 0
        removed: list[str] = []
        for record in removals:
            if dry_run:
                freed += _regular_size(fd, record.name) + _regular_size(fd, record.name + SIDECAR_SUFFIX)
                removed.append(record.name)
                continue
            try:
                freed += unlink_regular(fd, record.name) + unlink_regular(fd, record.name + SIDECAR_SUFFIX)
            except OSError as exc:
                raise SmgrError(
                    f"cannot remove {os.path.join(directory, record.name)}: {exc.strerror}", job=job
                ) from exc
            removed.append(record.name)
        if removed and not dry_run:
            os.fsync(fd)
    finally:
        os.close(fd)
    kept = [record.name for record in records if record.name not in removed_names]
    return CleanupResult(kept=kept, removed=removed, freed_bytes=freed, dry_run=dry_run)


def stale_leftovers(directory: str, host: str, job: str) -> dict[str, str]:
    """Partial archives and orphan sidecars of this job left by a crash: name -> kind. Regular files only."""
    fd = _open_directory(directory)
    if fd < 0:
        return {}
    found: dict[str, str] = {}
    try:
        names = set(os.listdir(fd))
        for name in names:
            info = _lstat(fd, name)
            if info is None or not stat.S_ISREG(info.st_mode):
                continue
            sidecar_temp = _SIDECAR_TEMP_RE.fullmatch(name)
            if name.endswith(".partial") and parse_archive_name(name[: -len(".partial")], host, job):
                found[name] = "partial"
            elif sidecar_temp and parse_archive_name(sidecar_temp.group("archive"), host, job):
                found[name] = "checksum temp file"
            elif name.endswith(SIDECAR_SUFFIX):
                base = name[: -len(SIDECAR_SUFFIX)]
                if parse_archive_name(base, host, job) and base not in names:
                    found[name] = "orphan sidecar"
    finally:
        os.close(fd)
    return found


def remove_leftovers(directory: str, names: Iterable[str]) -> int:
    fd = _open_directory(directory)
    if fd < 0:
        return 0
    try:
        return sum(_unlink_regular(fd, name) for name in names)
    finally:
        os.close(fd)
