# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""B11: the fleet report of a generated fleet (200 hosts x 10 jobs; 20 x 10 in smoke mode): its size, and the time
Chromium (Debian's, driven by Playwright) takes to load and lay it out, against the targets (2 MiB, 2 s)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from common import MIB, Row, Settings, log

from ansible_collections.smgr.server_manager.plugins.module_utils._report.fleet import build_report
from ansible_collections.smgr.server_manager.plugins.module_utils._report.page import render_page
from ansible_collections.smgr.server_manager.tests.support.fleet_data import generated_fleet

CHROMIUM = "/usr/bin/chromium"
SIZE_TARGET = 2 * MIB
TIME_TARGET = 2.0


def _render_seconds(path: Path, repeats: int) -> float:
    """The best of ``repeats`` loads: from navigation to the first frame painted after the load event."""
    from playwright.sync_api import sync_playwright

    best = float("inf")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for _repeat in range(repeats):
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                started = time.perf_counter()
                page.goto(path.as_uri(), wait_until="load")
                page.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
                best = min(best, time.perf_counter() - started)
                page.close()
        finally:
            browser.close()
    return best


def run_report_rows(work: Path, settings: Settings) -> list[Row]:
    hosts, jobs = (20, 10) if settings.quick else (200, 10)
    now = datetime.now(timezone.utc)
    log(f"B11: fleet report of {hosts} hosts x {jobs} jobs (generated), loaded in Chromium")
    started = time.perf_counter()
    report = build_report(generated_fleet(hosts, jobs, now), now)
    page = render_page(report)
    build_seconds = time.perf_counter() - started
    path = work / "smgr-report.html"
    path.write_text(page, encoding="utf-8")
    size = path.stat().st_size
    seconds = _render_seconds(path, settings.repeats)
    path.unlink()
    met = size <= SIZE_TARGET and seconds <= TIME_TARGET
    return [
        Row(
            "B11",
            f"fleet report, {hosts} hosts x {jobs} jobs: page size and load + first paint in Chromium",
            f"{size / MIB:.2f} MiB, {seconds:.2f} s",
            f"targets: {SIZE_TARGET / MIB:.0f} MiB, {TIME_TARGET:.0f} s",
            f"{size / SIZE_TARGET:.2f} x size, {seconds / TIME_TARGET:.2f} x time",
            "≤ 1 (both)",
            met,
            [
                f"{report['summary']['jobs']} entries, {report['summary']['collisions']} collisions; "
                f"data and HTML built in {build_seconds:.2f} s on the controller"
            ],
        )
    ]
