# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""B8: ``smgr cleanup`` over many archives in many jobs against ``find … -mtime +N -delete``.

Both sides start from identical directories: per job, archives one every ``spacing`` hours (half an hour off
the hour, so no archive sits on the 30-day boundary while the bench runs), each with its ``.sha256`` sidecar,
the time in the name equal to the file's mtime. ``keep_days: 30`` and ``find -mtime +29`` then delete exactly
the same files, which the bench checks afterwards. The files are empty: on this VM's disk (ext4 mounted with
online discard) freeing data blocks costs every deleting tool the same ~1.5 ms per file, which would measure
the disk, not the tools.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

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
                name = f"bench+{job}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(when))}.tar.zst"
                for file_name in (name, name + ".sha256"):
                    fd = os.open(file_name, flags, 0o600, dir_fd=dir_fd)
                    os.utime(fd, (when, when))
                    os.close(fd)
                    count += 1
        finally:
            os.close(dir_fd)
    return count


def _listing(root: Path) -> set[tuple[str, str]]:
    return {(directory.name, name) for directory in root.iterdir() for name in os.listdir(directory)}


def _scratch_area(work: Path) -> Path:
    """Where the archives are created: the bench's work directory (the disk, like a real backup root) unless
    $BENCH_CLEANUP_DIR names another place; /dev/shm (tmpfs) is the strictest one, where deleting costs no
    disk latency that could hide smgr's own overhead (docs/performance.md has both)."""
    chosen = os.environ.get("BENCH_CLEANUP_DIR")
    return Path(tempfile.mkdtemp(prefix="smgr-bench-b8-", dir=chosen or str(work)))


def _is_tmpfs(path: Path) -> bool:
    """Whether ``path`` is on a tmpfs (the longest matching mount point in /proc/mounts)."""
    best, kind = "", ""
    with open("/proc/mounts") as handle:
        for line in handle:
            fields = line.split()
            mount = fields[1]
            if (str(path) + "/").startswith(mount.rstrip("/") + "/") and len(mount) >= len(best):
                best, kind = mount, fields[2]
    return kind == "tmpfs"


def run_cleanup_rows(work: Path, settings: Settings) -> list[Row]:
    area = _scratch_area(work)
    try:
        return _measure(work, area, settings)
    finally:
        shutil.rmtree(area, ignore_errors=True)


def _measure(work: Path, area: Path, settings: Settings) -> list[Row]:
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
    repeats = min(settings.repeats, 2)  # creating 400,000 files on a disk takes a while
    for attempt in range(repeats):
        log(f"B8: {jobs * per_job} archives in {jobs} jobs under {area}, run {attempt + 1}/{repeats}")
        for root in (ours_root, find_root):
            if root.exists():
                shutil.rmtree(root)
        now = time.time()
        files = _populate(ours_root, jobs, per_job, now)
        _populate(find_root, jobs, per_job, now)
        os.sync()
        find_command = ["find", str(find_root), "-type", "f", "-mtime", f"+{KEEP_DAYS - 1}", "-delete"]
        if attempt % 2:  # alternate which side runs first
            best_find = min(best_find, timed(find_command))
            best_ours = min(best_ours, timed([str(prefix.bin), "cleanup"]))
        else:
            best_ours = min(best_ours, timed([str(prefix.bin), "cleanup"]))
            best_find = min(best_find, timed(find_command))
        kept_ours, kept_find = _listing(ours_root), _listing(find_root)
        if kept_ours != kept_find:
            raise RuntimeError(
                f"smgr cleanup and find kept different files ({len(kept_ours)} vs {len(kept_find)}): "
                f"{sorted(kept_ours ^ kept_find)[:5]}"
            )
        removed = files - len(kept_ours)
    where = "tmpfs" if _is_tmpfs(area) else "disk"
    ratio = best_ours / best_find
    return [
        Row(
            "B8",
            f"`smgr cleanup`, {jobs * per_job} archives (+ sidecars) in {jobs} jobs, {removed} files deleted ({where})",
            seconds(best_ours),
            f"find -mtime +{KEEP_DAYS - 1} -delete: {seconds(best_find)}",
            f"{ratio:.2f} x time",
            "≤ 1.5",
            ratio <= 1.5,
        )
    ]
