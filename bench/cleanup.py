# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""B8: ``smgr cleanup`` over many archives in many jobs against ``find … -mtime +N -delete``.

Both sides start from identical directories: per job, archives one every ``spacing`` hours (half an hour off
the hour, so no archive sits on the 30-day boundary while the bench runs), each with its ``.sha256`` sidecar,
the time in the name equal to the file's mtime. ``keep_days: 30`` and ``find -mtime +29`` then delete exactly
the same files, which the bench checks afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import List, Set, Tuple

from common import Row, Settings, log, seconds, timed

from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix

KEEP_DAYS = 30
HOUR = 3600


def _populate(root: Path, jobs: int, per_job: int, now: float) -> int:
    """``per_job`` empty archives (+ sidecars) for each of ``jobs`` jobs under ``root/<job>``; returns the count.

    Empty, because on a disk mounted with online discard (as this bench's VM disk is) freeing data blocks costs
    each deleting tool the same milliseconds per file and would hide what the tools themselves cost.
    """
    spacing = max(1, 2000 // per_job) * HOUR
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    count = 0
    for index in range(jobs):
        job = f"job{index:02d}"
        directory = root / job
        directory.mkdir(parents=True, mode=0o700)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            for k in range(per_job):
                when = int(now) - (k * spacing + HOUR // 2)
                name = f"bench-{job}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(when))}.tar.zst"
                for file_name in (name, name + ".sha256"):
                    fd = os.open(file_name, flags, 0o600, dir_fd=dir_fd)
                    os.utime(fd, (when, when))
                    os.close(fd)
                    count += 1
        finally:
            os.close(dir_fd)
    return count


def _listing(root: Path) -> Set[Tuple[str, str]]:
    return {(directory.name, name) for directory in root.iterdir() for name in os.listdir(directory)}


def _scratch_area(work: Path) -> Path:
    """A directory on tmpfs (/dev/shm) when there is one: deletions then cost CPU only, which is the strictest
    comparison for ``smgr cleanup`` (no disk latency hides its overhead), and creating 200,000 files takes
    seconds, not minutes. $BENCH_CLEANUP_DIR chooses another place (for example a real backup disk)."""
    chosen = os.environ.get("BENCH_CLEANUP_DIR")
    if not chosen and os.path.isdir("/dev/shm") and os.statvfs("/dev/shm").f_favail > 500_000:
        chosen = "/dev/shm"
    return Path(tempfile.mkdtemp(prefix="smgr-bench-b8-", dir=chosen or str(work)))


def run_cleanup_rows(work: Path, settings: Settings) -> List[Row]:
    area = _scratch_area(work)
    try:
        return _measure(work, area, settings)
    finally:
        shutil.rmtree(area, ignore_errors=True)


def _measure(work: Path, area: Path, settings: Settings) -> List[Row]:
    jobs = settings.cleanup_jobs
    per_job = settings.cleanup_archives // jobs
    prefix = Prefix(work / "host", host="bench")
    prefix.install_runner()
    source = work / "source"
    source.mkdir()
    ours_root = area / "smgr"
    find_root = area / "find"
    for index in range(jobs):
        prefix.add_job(
            name=f"job{index:02d}",
            type="paths",
            paths=[str(source)],
            dest=str(ours_root / f"job{index:02d}"),
            retention={"keep_days": KEEP_DAYS, "keep_min": 3},
        )

    best_ours = best_find = float("inf")
    files = removed = 0
    for attempt in range(settings.repeats):
        log(f"B8: {jobs * per_job} archives in {jobs} jobs under {area}, run {attempt + 1}/{settings.repeats}")
        for root in (ours_root, find_root):
            if root.exists():
                shutil.rmtree(root)
        now = time.time()
        files = _populate(ours_root, jobs, per_job, now)
        _populate(find_root, jobs, per_job, now)
        os.sync()
        best_ours = min(best_ours, timed([str(prefix.bin), "cleanup"]))
        best_find = min(
            best_find, timed(["find", str(find_root), "-type", "f", "-mtime", f"+{KEEP_DAYS - 1}", "-delete"])
        )
        kept_ours, kept_find = _listing(ours_root), _listing(find_root)
        if kept_ours != kept_find:
            raise RuntimeError(
                f"smgr cleanup and find kept different files ({len(kept_ours)} vs {len(kept_find)}): "
                f"{sorted(kept_ours ^ kept_find)[:5]}"
            )
        removed = files - len(kept_ours)
    where = "tmpfs" if str(area).startswith("/dev/shm") else str(area)
    ratio = best_ours / best_find
    return [
        Row(
            "B8",
            f"`smgr cleanup`, {jobs * per_job} archives (+ sidecars) in {jobs} jobs, {removed} files deleted ({where})",
            seconds(best_ours),
            f"find -mtime +{KEEP_DAYS - 1} -delete: {seconds(best_find)}",
            f"{ratio:.2f} × time",
            "≤ 1.5",
            ratio <= 1.5,
        )
    ]
