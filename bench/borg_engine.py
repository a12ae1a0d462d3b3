# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""B12: the borg engine of backup jobs over a week of daily runs of the B4 tree (1 % of its files rewritten
before each run after the first): the repository's bytes against the tar engine's seven archives, the time of
``smgr backup`` (create, ``borg check --archives-only``, prune) against bare ``borg create``, and peak memory.

Ours is the real runner artifact under a temporary prefix, as in B4-B7, with two jobs over one tree: ``site-tar``
(engine tar) and ``site`` (engine borg, encryption repokey-blake2, compression zstd,3, verify on: the defaults).
The passphrase file is written as smgr_backup writes it. The bare baseline is ``borg create --compression zstd,3``
into a second repository made the same way (``borg init --encryption=repokey-blake2``, the passphrase in
BORG_PASSPHRASE, its own BORG_BASE_DIR); its first run includes the ``borg init``, as our first run creates the
repository. Every run of a day sees the same tree; ours and the bare run alternate which goes first (the bare
run on the first day).

borg drops the pages of the files it reads from the page cache (after a first borg run of the 1 GiB tree 148 MiB
of it were still cached): the run after it would read the tree from the disk (15 s instead of 9.5 s for the same
``borg create``). So the tree is read into the page cache before every timed run, untimed, and sits there for
every run alike, as in B4-B7.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from common import (
    MemoryResult,
    ProcessSeen,
    Row,
    Settings,
    directory_bytes,
    log,
    measure_succeeded,
    mib,
    run,
    seconds,
)
from data import SEED, change_files, make_mixed_tree, read_tree

from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix

PASSPHRASE = "bench-borg-passphrase"
CHANGED = 0.01  # of the files, rewritten each day
BYTES_TARGET = 0.25
TIME_TARGET = 1.15
MEMORY_TARGET = 1.1  # borg's own peak in our run against bare borg create's


def _borg_step(seen: ProcessSeen) -> str:
    """``create`` for ``/usr/bin/python3 /usr/bin/borg create ...``."""
    for index, word in enumerate(seen.command[:-1]):
        if os.path.basename(word) == "borg":
            return seen.command[index + 1]
    return "?"


class BorgBench:
    """A prefix with the runner installed, a tar job and a borg job over one tree; a bare borg repository."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.prefix = Prefix(work / "host", host="bench")
        self.prefix.install_runner()
        self.repository = work / "repo-smgr"
        self.bare_repository = work / "repo-bare"
        self.bare_env = {"BORG_BASE_DIR": str(work / "borg-bare-home"), "BORG_PASSPHRASE": PASSPHRASE}
        self.bare_archives = 0

    def add_jobs(self, tree: Path) -> tuple[str, str]:
        tar_job, borg_job = "site-tar", "site"
        self.prefix.add_job(name=tar_job, type="paths", paths=[str(tree)], verify=True)
        self.prefix.add_job(
            name=borg_job,
            type="paths",
            paths=[str(tree)],
            engine="borg",
            repository=str(self.repository),
            passphrase=PASSPHRASE,
            verify=True,
        )
        self.prefix.write_passphrase(borg_job, PASSPHRASE)
        return tar_job, borg_job

    def smgr_backup(self, job: str, tree: Path) -> tuple[float, dict]:
        """One ``smgr --json backup JOB`` of ``tree`` (cached first): its wall time and result, which must be ``ok``."""
        read_tree(tree)
        started = time.perf_counter()
        completed = run([str(self.prefix.bin), "--json", "backup", job])
        elapsed = time.perf_counter() - started
        result = json.loads(completed.stdout)
        if result.get("status") != "ok":
            raise RuntimeError(f"smgr backup {job}: {result.get('status')}: {result.get('error')}")
        return elapsed, result

    def bare_create(self, tree: Path) -> float:
        """One bare ``borg create --compression zstd,3``; the first also creates the repository (timed)."""
        commands = []
        if self.bare_archives == 0:
            commands.append(["borg", "init", "--encryption=repokey-blake2", str(self.bare_repository)])
        self.bare_archives += 1
        name = f"{self.bare_repository}::bench-{self.bare_archives}"
        commands.append(["borg", "create", "--compression", "zstd,3", name, str(tree)])
        read_tree(tree)
        started = time.perf_counter()
        for command in commands:
            run(command, env=self.bare_env)
        return time.perf_counter() - started

    def bare_memory(self, tree: Path) -> MemoryResult:
        self.bare_archives += 1
        name = f"{self.bare_repository}::bench-{self.bare_archives}"
        read_tree(tree)
        command = ["borg", "create", "--compression", "zstd,3", name, str(tree)]
        return measure_succeeded(command, "borg create", env=self.bare_env)

    def peak_memory(self, job: str, tree: Path) -> MemoryResult:
        read_tree(tree)
        return measure_succeeded([str(self.prefix.bin), "--json", "backup", job], f"smgr backup {job}")


def run_borg_rows(work: Path, settings: Settings) -> list[Row]:
    bench = BorgBench(work)
    tree = work / "tree"
    log(f"B12: generating the mixed tree ({mib(settings.tree_bytes)})")
    stats = make_mixed_tree(tree, settings.tree_bytes)
    os.sync()
    tar_job, borg_job = bench.add_jobs(tree)
    runs = settings.daily_runs
    label = f"{mib(stats.bytes)}, {stats.files} files"

    tar_times: list[float] = []
    ours_times: list[float] = []
    bare_times: list[float] = []
    ours_durations: list[float] = []
    tar_bytes = 0
    changed_files = changed_bytes = 0
    for day in range(runs):
        if day:
            files, size = change_files(tree, CHANGED, SEED + day)
            changed_files, changed_bytes = changed_files + files, changed_bytes + size
            os.sync()  # the day's changes are on disk before any timed run
        log(f"B12: day {day + 1}/{runs}: smgr backup (tar engine, borg engine) and bare borg create")
        elapsed, result = bench.smgr_backup(tar_job, tree)
        tar_times.append(elapsed)
        tar_bytes += int(result["size"])

        def ours() -> None:
            elapsed, result = bench.smgr_backup(borg_job, tree)
            ours_times.append(elapsed)
            ours_durations.append(float(result["duration"]))

        def bare() -> None:
            bare_times.append(bench.bare_create(tree))

        # Alternate which side goes first (the baseline on the first day).
        for action in (bare, ours) if day % 2 == 0 else (ours, bare):
            action()
    tar_stored = sum(path.stat().st_size for path in bench.prefix.archives(tar_job))
    if tar_stored != tar_bytes or len(bench.prefix.archives(tar_job)) != runs:
        raise RuntimeError(f"the tar job kept {tar_stored} bytes, its runs reported {tar_bytes}")
    borg_bytes = directory_bytes(bench.repository)
    bare_bytes = directory_bytes(bench.bare_repository)
    ours_total, bare_total, tar_total = sum(ours_times), sum(bare_times), sum(tar_times)

    log("B12: peak memory of one more day's borg run, ours and bare borg create")
    change_files(tree, CHANGED, SEED + runs)
    os.sync()
    memory = bench.peak_memory(borg_job, tree)
    bare_memory = bench.bare_memory(tree)
    steps = [(seen, _borg_step(seen)) for seen in memory.processes if seen.name == "borg"]
    runner = [seen for seen in memory.processes if seen.name == "smgr"]
    runner_span = runner[0].last - runner[0].first if runner else memory.elapsed
    borg_span = sum(seen.last - seen.first for seen, _step in steps)

    rows: list[Row] = []
    ratio = borg_bytes / tar_bytes
    rows.append(
        Row(
            "B12",
            f"borg engine, {runs} daily runs of the {label} tree ({CHANGED * 100:.0f} % of the files rewritten "
            "daily): stored bytes vs tar engine",
            f"borg repository {mib(borg_bytes)} (runs: {seconds(ours_total)})",
            f"tar engine, {runs} archives: {mib(tar_bytes)} (runs: {seconds(tar_total)})",
            f"{ratio:.2f} x bytes",
            f"≤ {BYTES_TARGET}",
            ratio <= BYTES_TARGET,
            [
                f"{changed_files} files, {mib(changed_bytes)} rewritten over the {runs - 1} days after the first; "
                f"first run: borg {seconds(ours_times[0])}, tar {seconds(tar_times[0])}; the bare borg repository "
                f"of the same runs {mib(bare_bytes)}"
            ],
        )
    )
    ratio = ours_total / bare_total
    later = sum(ours_times[1:]) / sum(bare_times[1:]) if runs > 1 else ratio
    breakdown = ", ".join(f"{step} {seconds(seen.last - seen.first)}" for seen, step in steps)
    rows.append(
        Row(
            "B12",
            f"`smgr backup`, borg engine (create, check --archives-only, prune), the same {runs} runs, "
            "vs bare `borg create`",
            seconds(ours_total),
            f"{runs} x borg create zstd,3: {seconds(bare_total)}",
            f"{ratio:.2f} x time",
            f"≤ {TIME_TARGET}",
            ratio <= TIME_TARGET,
            [
                f"first run (repository created) {seconds(ours_times[0])} vs {seconds(bare_times[0])} (init + "
                f"create); the later {runs - 1}: {seconds(sum(ours_times[1:]))} vs {seconds(sum(bare_times[1:]))}, "
                f"{later:.2f} x time; the runner's own duration (JSON) {seconds(sum(ours_durations))} of the "
                f"{seconds(ours_total)}",
                f"one more day's run under the memory probe (10 ms samples): {seconds(runner_span)} in all, borg "
                f"{breakdown}, the runner alone {seconds(max(0.0, runner_span - borg_span))}; bare borg create "
                f"{seconds(bare_memory.elapsed)}",
            ],
        )
    )
    borg_peak, bare_peak = memory.own_peak("borg"), bare_memory.own_peak("borg")
    ratio = borg_peak / bare_peak
    rows.append(
        Row(
            "B12",
            f"peak memory of `smgr backup`, borg engine, one more daily run (day {runs + 1})",
            f"borg {mib(borg_peak)}, runner {mib(memory.own_peak('smgr'))} (process tree {mib(memory.tree_bound)})",
            f"borg create: {mib(bare_peak)}",
            f"{ratio:.2f} x borg's peak",
            f"≤ {MEMORY_TARGET}",
            ratio <= MEMORY_TARGET,
            [
                "own peak RSS of each program: "
                + ", ".join(
                    f"{seen.name} {_borg_step(seen) + ' ' if seen.name == 'borg' else ''}{mib(seen.peak)}"
                    for seen in memory.processes
                )
                + f"; processes at the peak: {', '.join(memory.peak_processes)}; largest single process (GNU "
                f"time) {mib(memory.largest_process)} vs {mib(bare_memory.largest_process)} (bare)"
            ],
        )
    )
    return rows
