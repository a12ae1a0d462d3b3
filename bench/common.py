# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared pieces of the bench: settings, rows of the table, timing and process measurement."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
COLLECTIONS = ROOT / ".build" / "collections"
VENV_BIN = Path(sys.executable).parent
MIB = 1024 * 1024


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries only the table."""
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


@dataclass(frozen=True)
class Settings:
    """Input sizes: the targets' sizes in a full run, small ones with BENCH_QUICK=1 (smoke mode)."""

    quick: bool
    tree_bytes: int  # B4-B6, B12 and the large B7 tree
    small_tree_bytes: int  # the small B7 tree
    schedule_jobs: int  # B3
    cleanup_archives: int  # B8, in total
    cleanup_jobs: int
    fleet_sizes: Sequence[int]  # B1/B2
    repeats: int  # timed repetitions of the fast rows (the minimum is reported)
    backup_repeats: int  # B4/B5: a 2-3 s run on a noisy 2-core VM needs more tries to show what it can do
    daily_runs: int  # B12: backups of the tree, a day's changes (1 % of the files) before each after the first

    @classmethod
    def from_env(cls, environ: dict[str, str]) -> Settings:
        if environ.get("BENCH_QUICK", "0") not in ("", "0"):
            return cls(
                quick=True,
                tree_bytes=24 * MIB,
                small_tree_bytes=8 * MIB,
                schedule_jobs=10,
                cleanup_archives=2_000,
                cleanup_jobs=10,
                fleet_sizes=(1, 2),
                repeats=1,
                backup_repeats=1,
                daily_runs=3,
            )
        return cls(
            quick=False,
            tree_bytes=1024 * MIB,
            small_tree_bytes=200 * MIB,
            schedule_jobs=200,
            cleanup_archives=100_000,
            cleanup_jobs=50,
            fleet_sizes=(10, 30),
            repeats=3,
            backup_repeats=5,
            daily_runs=7,
        )


@dataclass
class Row:
    """One line of the table. ``ratio`` is expressed in the unit of ``target``; ``met`` is None for report-only rows."""

    key: str
    what: str
    ours: str
    baseline: str
    ratio: str
    target: str
    met: bool | None
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "reported"
        return "met" if self.met else "**missed**"


def failed_row(key: str, what: str, target: str, error: str) -> Row:
    return Row(key, what, "error", "error", "-", target, False, [error])


def render_table(rows: Sequence[Row]) -> str:
    header = "| # | what | ours | baseline | ratio | target | verdict |\n|---|---|---|---|---|---|---|\n"
    body = "".join(
        f"| {row.key} | {row.what} | {row.ours} | {row.baseline} | {row.ratio} | {row.target} | {row.verdict} |\n"
        for row in rows
    )
    return header + body


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"


def mib(value: float) -> str:
    return f"{value / MIB:.1f} MiB"


def throughput(size: int, elapsed: float) -> str:
    return f"{size / MIB / elapsed:.0f} MiB/s"


# --------------------------------------------------------------------------- running


def run(
    command: Sequence[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess:
    completed = subprocess.run(
        list(command),
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=str(cwd) if cwd else None,
        check=False,
    )
    if check and completed.returncode != 0:
        output = f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
        raise RuntimeError(f"{' '.join(command)} exited {completed.returncode}:\n{output}")
    return completed


def timed(
    command: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None, check: bool = True
) -> float:
    """Wall time of one run of ``command``, in seconds."""
    started = time.perf_counter()
    run(command, env=env, cwd=cwd, check=check)
    return time.perf_counter() - started


def best_of(
    repeats: int,
    *actions: Callable[[], Any],
    between: Callable[[], None] | None = None,
    key: Callable[[Any], float] = float,
) -> list[Any]:
    """Run the actions alternately ``repeats`` times (so a burst of load hits each alike); the best of each: the
    one with the smallest ``key`` (an action returns its time, or a result whose ``key`` is its time)."""
    best: list[Any] = [None] * len(actions)
    for _repeat in range(repeats):
        for index, action in enumerate(actions):
            outcome = action()
            if best[index] is None or key(outcome) < key(best[index]):
                best[index] = outcome
            if between is not None:
                between()
    return best


# --------------------------------------------------------------------------- memory


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", "rb") as handle:
                found.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


def _tree(pid: int) -> list[tuple[int, int]]:
    """``pid`` and all its descendants (through /proc/PID/task/TID/children), each with its parent (0 for ``pid``)."""
    found, stack = [], [(pid, 0)]
    while stack:
        current, parent = stack.pop()
        found.append((current, parent))
        stack.extend((child, current) for child in _children(current))
    return found


def _memory(pid: int) -> tuple[str, int, int]:
    """(name, VmRSS, VmHWM) of ``pid``, sizes in bytes: its command name (comm), resident now, and the most it has
    ever been resident."""
    name, rss, hwm = "", 0, 0
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"Name:"):
                    name = line.split(b":", 1)[1].strip().decode("utf-8", "replace")
                elif line.startswith(b"VmRSS:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith(b"VmHWM:"):
                    hwm = int(line.split()[1]) * 1024
    except OSError:
        pass
    return name, rss, hwm


def _command_line(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return [word.decode("utf-8", "replace") for word in handle.read().split(b"\0") if word]
    except OSError:
        return []


@dataclass
class ProcessSeen:
    """One program of a measured process tree as the samples saw it (a process that execs again: once per name)."""

    pid: int
    name: str  # the command name (comm: a script's file name, e.g. borg, smgr)
    command: list[str]  # its command line when first seen under this name
    first: float  # seconds after the start when a sample first saw it
    last: float  # ... and last saw it: last - first is its run time to within the sampling interval
    peak: int  # its own peak RSS (VmHWM) at the last sample


@dataclass
class MemoryResult:
    elapsed: float
    tree_bound: int  # the largest sum, over processes alive together, of each one's own peak RSS (VmHWM)
    tree_sampled: int  # the largest sum of the current RSS of every process of the tree, as sampled
    largest_process: int  # ru_maxrss of the largest single process (kernel accounting, exact)
    returncode: int
    peak_processes: list[str] = field(default_factory=list)
    processes: list[ProcessSeen] = field(default_factory=list)  # every program of the tree, in order of start

    def own_peak(self, name: str) -> int:
        """The largest own peak RSS of the programs called ``name`` (as sampled; 0 when none was seen)."""
        return max((seen.peak for seen in self.processes if seen.name == name), default=0)


def measure_memory(command: Sequence[str], env: dict[str, str] | None = None, interval: float = 0.01) -> MemoryResult:
    """Run ``command`` and measure the memory of its whole process tree.

    Every ``interval`` seconds the tree is walked; for the processes alive at that moment both the sum of their
    current RSS and the sum of their peak RSS (VmHWM) are taken. The latter is an upper bound of what the tree
    held at once that no sampling gap can miss (each process's own peak is exact). A child caught between its fork
    and its exec (its command line still its parent's) is left out: it shares its parent's pages and shows the
    parent's peak as its own, which would count the parent twice. GNU time adds the kernel's
    maximum RSS of the largest single process: it runs the command as its own child, because a process forked
    from this (large) bench process would report this process's size as its maximum even after exec.
    """
    started = time.perf_counter()
    with tempfile.NamedTemporaryFile(prefix="bench-time-") as report:
        process = subprocess.Popen(
            ["/usr/bin/time", "-f", "%M", "-o", report.name, *command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )
        peak: dict[str, object] = {"bound": 0, "sampled": 0, "who": []}
        seen: dict[tuple[int, str], ProcessSeen] = {}
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                tree = _tree(process.pid)
                lines = {pid: _command_line(pid) for pid, _parent in tree}
                # Not GNU time itself, nor a child that has not exec'd yet.
                pids = [pid for pid, parent in tree if pid != process.pid and lines[pid] != lines.get(parent)]
                sizes = [(pid, *_memory(pid)) for pid in pids]
                now = time.perf_counter() - started
                peak["sampled"] = max(int(peak["sampled"]), sum(rss for _pid, _name, rss, _hwm in sizes))
                bound = sum(hwm for _pid, _name, _rss, hwm in sizes)
                if bound > int(peak["bound"]):
                    peak["bound"] = bound
                    peak["who"] = [f"{_comm(pid)} {hwm / MIB:.1f} MiB" for pid, _name, _rss, hwm in sizes if hwm]
                for pid, name, _rss, hwm in sizes:
                    if not name:  # gone between the walk and the read
                        continue
                    entry = seen.get((pid, name))
                    if entry is None:
                        entry = seen[(pid, name)] = ProcessSeen(pid, name, lines[pid], now, now, hwm)
                    entry.last, entry.peak = now, max(entry.peak, hwm)
                done.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        returncode = process.wait()
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        lines = Path(report.name).read_text().split()
    largest = int(lines[-1]) * 1024 if lines and lines[-1].isdigit() else 0
    processes = sorted(seen.values(), key=lambda entry: entry.first)
    return MemoryResult(
        elapsed, int(peak["bound"]), int(peak["sampled"]), largest, returncode, list(peak["who"]), processes
    )


def measure_succeeded(command: Sequence[str], what: str, env: dict[str, str] | None = None) -> MemoryResult:
    """:func:`measure_memory` of a command that must succeed (``what`` names it in the error)."""
    result = measure_memory(command, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{what} exited {result.returncode} under the memory probe")
    return result


def directory_bytes(root: Path) -> int:
    """What ``du --apparent-size`` sums: the sizes of the files under ``root``."""
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as handle:
            return handle.read().strip()
    except OSError:
        return "?"
