# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bench in smoke mode (BENCH_QUICK=1): every row of the table is measured, so the bench code cannot rot.

Only the shape is checked, never a verdict: timings are not assertions (docs/performance.md has the numbers).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_ROWS = [
    "B1",
    "B1",
    "B2",
    "B2",
    "B10",
    "B3",
    "B4",
    "B5",
    "B6",
    "B6b",
    "B9",
    "B7",
    "B7",
    "B12",
    "B12",
    "B12",
    "B8",
    "B11",
]
COLUMNS = ["#", "what", "ours", "baseline", "ratio", "target", "verdict"]


def _cells(line: str) -> list:
    """The cells of a markdown table row; ``\\|`` inside a cell is an escaped pipe, not a separator."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])]


def test_quick_bench_prints_every_row(tmp_path):
    env = {**os.environ, "BENCH_QUICK": "1", "BENCH_TMPDIR": str(tmp_path)}
    env.pop("BENCH_ONLY", None)
    completed = subprocess.run(
        ["bash", str(ROOT / "bench" / "run")], capture_output=True, text=True, env=env, timeout=900, check=False
    )
    assert completed.returncode == 0, completed.stderr[-5000:]
    lines = [line for line in completed.stdout.splitlines() if line.startswith("|")]
    assert _cells(lines[0]) == COLUMNS
    assert re.fullmatch(r"\|(---\|){7}", lines[1])
    rows = [_cells(line) for line in lines[2:]]
    assert [row[0] for row in rows] == EXPECTED_ROWS
    for row in rows:
        assert len(row) == len(COLUMNS), row
        assert "error" not in (row[2], row[3]), row
        assert row[6] in ("met", "**missed**", "reported"), row
    assert list(tmp_path.iterdir()) == []  # the bench removed its inputs
