# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bench: every row in one run on this machine; prints one markdown table on stdout.

    bench/run                  # full sizes (under 15 minutes on 2 cores)
    BENCH_QUICK=1 bench/run    # smoke mode: tiny inputs, every row, verdicts meaningless

Progress goes to stderr. The table, the notes of each row and the machine's description are also written to
bench/output/ (ignored by git). Inputs are generated under $BENCH_TMPDIR (default /var/tmp) in a directory
that is removed at the end, also after a failure or Ctrl-C. Exit status 0 when every row ran (whatever the
verdicts), 1 when a row could not be measured.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Callable

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(1, str(BENCH_DIR.parent / ".build" / "collections"))

from backup import run_backup_rows  # noqa: E402
from borg_engine import run_borg_rows  # noqa: E402
from cleanup import run_cleanup_rows  # noqa: E402
from common import ROOT, Row, Settings, failed_row, log, render_table, run  # noqa: E402
from converge import run_converge_rows  # noqa: E402
from report import run_report_rows  # noqa: E402
from schedule import run_schedule_rows  # noqa: E402

Section = tuple[str, Callable[[Path, Settings], list[Row]], list[tuple[str, str, str]]]

# Each section and the rows it yields when it cannot run (so the table always has every row).
SECTIONS: list[Section] = [
    ("converge", run_converge_rows, [
        ("B1", "no-change converge, smaller fleet", "≤ 0.35"),
        ("B1", "no-change converge, larger fleet", "≤ 0.35"),
        ("B2", "first converge, smaller fleet", "≤ 0.5"),
        ("B2", "first converge, larger fleet", "≤ 0.5"),
        ("B10", "no-change converge with systemd timers", "≤ cron's runs"),
    ]),
    ("schedule", run_schedule_rows, [("B3", "smgr_schedule, no change", "≥ 20x faster")]),
    ("backup", run_backup_rows, [
        ("B4", "smgr backup, verify off", "≥ 0.85"),
        ("B5", "smgr backup, verify on", "≤ 1.4"),
        ("B6", "smgr backup vs tar -czf", "≥ 5x faster"),
        ("B6b", "smgr backup vs borg", "report"),
        ("B9", "smgr drill", "≤ 1.3"),
        ("B7", "peak memory, small tree", "≤ 64 MiB"),
        ("B7", "peak memory, large tree", "≤ 64 MiB"),
    ]),
    ("borg", run_borg_rows, [
        ("B12", "borg engine, seven daily runs, stored bytes vs tar engine", "≤ 0.25"),
        ("B12", "borg engine run vs bare borg create", "≤ 1.15"),
        ("B12", "peak memory of a borg run", "≤ 1.1"),
    ]),
    ("cleanup", run_cleanup_rows, [("B8", "smgr cleanup", "≤ 1.5")]),
    ("report", run_report_rows, [("B11", "fleet report, 200 hosts x 10 jobs", "≤ 1 (both)")]),
]  # fmt: skip


class Interrupted(Exception):
    pass


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise Interrupted(f"signal {signum}")


def machine_description(load_before: tuple[float, float, float]) -> list[str]:
    cpu = "?"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as handle:
        memory = int(handle.readline().split()[1]) // 1024
    versions = []
    for name, command in (
        ("tar", ["tar", "--version"]),
        ("zstd", ["zstd", "--version"]),
        ("gzip", ["gzip", "--version"]),
        ("borg", ["borg", "--version"]),
        ("ansible-core", [str(Path(sys.executable).parent / "ansible"), "--version"]),
    ):
        completed = run(command, check=False)
        first = (completed.stdout or completed.stderr).splitlines()[:1]
        versions.append(f"{name}: {first[0].strip(' *') if first else 'missing'}")
    return [
        f"CPU: {os.cpu_count()} x {cpu}; memory {memory} MiB; kernel {platform.release()}",
        f"Python {platform.python_version()}; " + "; ".join(versions),
        f"load average before: {' '.join(f'{x:.2f}' for x in load_before)}; "
        f"after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
    ]


def main() -> int:
    settings = Settings.from_env(dict(os.environ))
    only = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
    load_before = os.getloadavg()
    base = os.environ.get("BENCH_TMPDIR", "/var/tmp")
    work = Path(tempfile.mkdtemp(prefix="smgr-bench-", dir=base))
    signal.signal(signal.SIGTERM, _raise_interrupted)
    signal.signal(signal.SIGHUP, _raise_interrupted)
    started = time.monotonic()
    rows: list[Row] = []
    errors = 0
    log(f"{'quick (smoke) mode' if settings.quick else 'full run'}; work directory {work}")
    try:
        for name, function, fallback in SECTIONS:
            if only and name not in only:
                continue
            section_dir = work / name
            section_dir.mkdir()
            section_started = time.monotonic()
            try:
                rows.extend(function(section_dir, settings))
            except (Interrupted, KeyboardInterrupt):
                raise
            except Exception as exc:
                errors += 1
                log(f"section {name} failed:\n{traceback.format_exc()}")
                error = f"{type(exc).__name__}: {exc}"
                rows.extend(failed_row(key, what, target, error) for key, what, target in fallback)
            finally:
                shutil.rmtree(section_dir, ignore_errors=True)
            log(f"section {name} done in {time.monotonic() - section_started:.0f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - started
    machine = machine_description(load_before)
    table = render_table(rows)
    sys.stdout.write(table)
    sys.stdout.flush()
    output = ROOT / "bench" / "output"
    output.mkdir(exist_ok=True)
    stem = ("quick" if settings.quick else "full") + ("-" + "-".join(sorted(only)) if only else "")
    notes = [f"- {row.key} {row.what}: {note}" for row in rows for note in row.notes]
    (output / f"{stem}.md").write_text(
        table
        + "\n"
        + "\n".join(notes)
        + "\n\n"
        + "\n".join(f"- {line}" for line in machine)
        + f"\n- bench time: {elapsed:.0f} s\n"
    )
    (output / f"{stem}.json").write_text(
        json.dumps({"rows": [asdict(row) for row in rows], "machine": machine, "seconds": elapsed}, indent=2) + "\n"
    )
    log(f"done in {elapsed:.0f} s; details in {output}/{stem}.md")
    for line in machine + notes:
        log(line)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
