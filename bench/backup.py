# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""B4-B7, B9: ``smgr backup`` of a mixed tree against tar+zstd (the limit), tar -czf and borg; peak memory;
``smgr drill`` of the archive against plain extraction.

Ours is the real runner artifact (the zipapp ``smgr_backup`` installs) under a temporary prefix, run as a
subprocess exactly as cron runs it. Every archive, ours and the baselines', is fsynced before its clock
stops (``smgr`` fsyncs the archive; the baselines are followed by ``sync FILE``; borg syncs its segments),
so each side pays for a durable archive. The tree sits in the page cache for every run alike.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from common import (
    MemoryResult,
    Row,
    Settings,
    best_of,
    directory_bytes,
    log,
    measure_memory,
    measure_succeeded,
    mib,
    run,
    seconds,
    throughput,
    timed,
)
from data import make_mixed_tree

from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix

MEMORY_TARGET = 64 * 1024 * 1024


class BackupBench:
    """A prefix with the runner installed and two jobs over one tree: ``plain`` (verify off) and ``verified``."""

    def __init__(self, work: Path, settings: Settings) -> None:
        self.work = work
        self.settings = settings
        self.prefix = Prefix(work / "host", host="bench")
        self.prefix.install_runner()
        self.out = work / "baseline-out"
        self.out.mkdir()

    # ----------------------------------------------------------------- ours

    def add_jobs(self, tree: Path, suffix: str = "") -> tuple[str, str]:
        plain, verified = f"plain{suffix}", f"verified{suffix}"
        self.prefix.add_job(name=plain, type="paths", paths=[str(tree)], verify=False)
        self.prefix.add_job(name=verified, type="paths", paths=[str(tree)], verify=True)
        return plain, verified

    def smgr_backup(self, job: str) -> float:
        """One ``smgr --json backup JOB``; checks that an archive was published (verified when the job says so)."""
        started_archives = len(self.prefix.archives(job))
        elapsed = timed([str(self.prefix.bin), "--json", "backup", job])
        archives = self.prefix.archives(job)
        if len(archives) != started_archives + 1:
            raise RuntimeError(f"smgr backup {job} published no archive")
        self.last_size = archives[-1].stat().st_size
        return elapsed

    def clear_archives(self) -> None:
        for job_dir in Path(self.prefix.settings.backup_root).iterdir():
            shutil.rmtree(job_dir)
        for entry in self.out.iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        os.sync()  # the freed blocks are discarded now, not during the next timed run's fsync

    def smgr_drill(self, job: str) -> float:
        """One ``smgr --json drill JOB``; it must pass."""
        return timed([str(self.prefix.bin), "--json", "drill", job])

    # ----------------------------------------------------------------- baselines

    def tar_extract(self, archive: Path) -> float:
        """Plain extraction of the same archive into a fresh directory, then its removal (as a drill ends)."""
        target = self.out / "extracted"
        target.mkdir()
        return timed(["bash", "-c", f"tar -I zstd -xf {archive} -C {target} && rm -rf {target}"])

    def tar_zstd(self, tree: Path) -> float:
        """The practical limit: GNU tar into zstd -3 with all cores, then sync the file."""
        target = self.out / "limit.tar.zst"
        command = f"tar -I 'zstd -3 -T0' -cf {target} -C / {_relative(tree)} && sync {target}"
        elapsed = timed(["bash", "-c", command])
        self.limit_size = target.stat().st_size
        return elapsed

    def tar_gzip(self, tree: Path) -> float:
        """What the seed-style scripts do: tar -czf, then sync the file."""
        target = self.out / "seed.tar.gz"
        elapsed = timed(["bash", "-c", f"tar -czf {target} -C / {_relative(tree)} && sync {target}"])
        self.gzip_size = target.stat().st_size
        return elapsed

    def borg(self, tree: Path) -> float:
        """``borg create --compression zstd,3`` into a new, unencrypted repository (init is not timed)."""
        repo = self.out / "borg-repo"
        env = {
            "BORG_BASE_DIR": str(self.out / "borg-home"),
            "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "yes",
            "BORG_RELOCATED_REPO_ACCESS_IS_OK": "yes",
        }
        run(["borg", "init", "--encryption=none", str(repo)], env=env)
        elapsed = timed(["borg", "create", "--compression", "zstd,3", f"{repo}::bench", str(tree)], env=env)
        self.borg_size = directory_bytes(repo)
        return elapsed

    # ----------------------------------------------------------------- memory

    def limit_memory(self, tree: Path) -> MemoryResult:
        """The same probe on the limit's pipeline (bash, tar, zstd -T0), for comparison."""
        target = self.out / "limit-memory.tar.zst"
        result = measure_memory(["bash", "-c", f"tar -I 'zstd -3 -T0' -cf {target} -C / {_relative(tree)}"])
        target.unlink()
        return result

    def peak_memory(self, job: str) -> MemoryResult:
        return measure_succeeded([str(self.prefix.bin), "--json", "backup", job], f"smgr backup {job}")


def _relative(path: Path) -> str:
    return str(path).lstrip("/")


def run_backup_rows(work: Path, settings: Settings) -> list[Row]:
    bench = BackupBench(work, settings)
    tree = work / "tree"
    log(f"B4-B6: generating the mixed tree ({mib(settings.tree_bytes)})")
    stats = make_mixed_tree(tree, settings.tree_bytes)
    os.sync()  # the new tree is on disk before any timed run (the page cache still holds it, for every run alike)
    size = stats.bytes
    plain, verified = bench.add_jobs(tree)
    label = f"{mib(size)}, {stats.files} files"
    rows: list[Row] = []

    log(f"B4/B5: smgr backup (verify off, on) and tar | zstd -3 -T0, best of {settings.backup_repeats}")
    ours_plain, ours_verified, limit = best_of(
        settings.backup_repeats,
        lambda: bench.smgr_backup(plain),
        lambda: bench.smgr_backup(verified),
        lambda: bench.tar_zstd(tree),
        between=bench.clear_archives,
    )
    ratio = limit / ours_plain  # throughput ratio = inverse time ratio
    rows.append(
        Row(
            "B4",
            f"`smgr backup` {label}, verify off",
            f"{seconds(ours_plain)} ({throughput(size, ours_plain)})",
            f"tar -I 'zstd -3 -T0': {seconds(limit)} ({throughput(size, limit)})",
            f"{ratio:.2f} x throughput",
            "≥ 0.85",
            ratio >= 0.85,
            [f"archive {mib(bench.last_size)} (ours) vs {mib(bench.limit_size)} (tar | zstd)"],
        )
    )
    ratio = ours_verified / limit
    rows.append(
        Row(
            "B5",
            f"`smgr backup` {label}, verify on",
            seconds(ours_verified),
            f"tar -I 'zstd -3 -T0': {seconds(limit)}",
            f"{ratio:.2f} x time",
            "≤ 1.4",
            ratio <= 1.4,
        )
    )

    log("B6: tar -czf and borg create --compression zstd,3 (one run each)")
    gzip_time = bench.tar_gzip(tree)
    bench.clear_archives()
    borg_time = bench.borg(tree)
    bench.clear_archives()
    speedup = gzip_time / ours_verified
    rows.append(
        Row(
            "B6",
            f"`smgr backup` {label}, verify on, vs `tar -czf`",
            seconds(ours_verified),
            f"tar -czf: {seconds(gzip_time)}",
            f"{speedup:.1f}x faster",
            "≥ 5x faster",
            speedup >= 5,
            [f"tar -czf archive {mib(bench.gzip_size)}"],
        )
    )
    borg_ratio = borg_time / ours_verified
    rows.append(
        Row(
            "B6b",
            f"`smgr backup` {label}, verify on, vs borg",
            seconds(ours_verified),
            f"borg create zstd,3 (new repo): {seconds(borg_time)}",
            f"{borg_ratio:.1f}x faster" if borg_ratio >= 1 else f"{1 / borg_ratio:.1f}x slower",
            "report",
            None,
            [f"borg repository {mib(bench.borg_size)}"],
        )
    )

    log(f"B9: smgr drill and tar -I zstd -xf of the same archive, best of {settings.backup_repeats}")
    bench.smgr_backup(verified)
    archive = bench.prefix.archives(verified)[-1]
    archive_size = archive.stat().st_size
    ours_drill, plain_extract = best_of(
        settings.backup_repeats, lambda: bench.smgr_drill(verified), lambda: bench.tar_extract(archive)
    )
    bench.clear_archives()
    ratio = ours_drill / plain_extract
    rows.append(
        Row(
            "B9",
            f"`smgr drill` of the {mib(archive_size)} archive of the {label} tree",
            seconds(ours_drill),
            f"tar -I zstd -xf + rm -rf: {seconds(plain_extract)}",
            f"{ratio:.2f} x time",
            "≤ 1.3",
            ratio <= 1.3,
            [
                f"archive {mib(archive_size)}; both restore into a fresh directory and remove it (a drill always "
                "removes its scratch directory); ours also checks the SHA-256 sidecar and every entry"
            ],
        )
    )

    log("B7: peak memory of smgr backup (verify on) on the large tree")
    large = bench.peak_memory(verified)
    large_limit = bench.limit_memory(tree)
    bench.clear_archives()
    shutil.rmtree(tree)

    small_tree = work / "small-tree"
    log(f"B7: generating the small tree ({mib(settings.small_tree_bytes)})")
    small_stats = make_mixed_tree(small_tree, settings.small_tree_bytes, seed=2)
    os.sync()
    _small_plain, small_verified = bench.add_jobs(small_tree, "-small")
    small = bench.peak_memory(small_verified)
    small_limit = bench.limit_memory(small_tree)
    bench.clear_archives()
    shutil.rmtree(small_tree)
    for memory, limit_memory, tree_size in ((small, small_limit, small_stats.bytes), (large, large_limit, size)):
        rows.append(
            Row(
                "B7",
                f"peak memory of `smgr backup` (verify on), {mib(tree_size)} tree",
                f"{mib(memory.tree_bound)} (process tree; sampled {mib(memory.tree_sampled)})",
                f"tar \\| zstd -T0: {mib(limit_memory.tree_bound)}",
                "—",
                "≤ 64 MiB",
                memory.tree_bound <= MEMORY_TARGET,
                [
                    f"processes at the peak (own peak RSS): {', '.join(memory.peak_processes)}; "
                    f"largest single process {mib(memory.largest_process)}"
                ],
            )
        )
    return rows
