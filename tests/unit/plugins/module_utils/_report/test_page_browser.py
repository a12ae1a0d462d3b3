# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report in a real Chromium (Debian's package, driven by Playwright): offline, no console error, the
counts of the data, filters, hostile names as text, JavaScript off, 200 % zoom. The screenshot is kept in
.build/artifacts/."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from ansible_collections.smgr.server_manager.plugins.module_utils._report.fleet import build_report
from ansible_collections.smgr.server_manager.plugins.module_utils._report.page import render_page
from ansible_collections.smgr.server_manager.tests.support.fleet_data import gathered_host

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[5] / ".build" / "artifacts"
NOW = datetime(2026, 12, 5, 0, 0, 30, tzinfo=timezone.utc)
HOSTILE = "<script>alert(1)</script>"


def fleet() -> dict:
    rng = random.Random(7)
    hosts = [gathered_host(f"web{index}.example.com", 10, NOW, rng) for index in range(1, 7)]
    hosts[0]["schedules"].append(
        {
            "name": HOSTILE,
            "schedule": "17 2 * * *",
            "expression": "17 2 * * *",
            "description": "At 02:17",
            "next_runs": ["2026-12-05T02:17:00+00:00"],
            "command": "echo '<b>x</b>'",
            "disabled": False,
        }
    )
    hosts.append({"host": "ghost.example.com", "unreachable": True, "error": "unreachable: connection refused"})
    hosts.append({"host": "bare.example.com", "error": "no runner at /opt/server-manager/bin/smgr", "no_runner": True})
    return build_report(hosts, NOW)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    data = fleet()
    path = tmp_path_factory.mktemp("report") / "smgr-report.html"
    path.write_text(render_page(data), encoding="utf-8")
    return data, path


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: make setup installs Debian's chromium")
    with sync_playwright() as driver:
        instance = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield instance
        instance.close()


def open_page(browser, path, **context):
    page = browser.new_context(**context).new_page()
    problems, requests, dialogs = [], [], []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(path.as_uri(), wait_until="load")
    return page, problems, requests, dialogs


def test_the_page_shows_the_data_offline_without_errors(browser, report):
    data, path = report
    page, problems, requests, dialogs = open_page(browser, path, viewport={"width": 1280, "height": 900})
    assert problems == [] and dialogs == []
    assert requests == [path.as_uri()]  # nothing else: no font, image, script or style from anywhere
    assert page.locator("section.host").count() == data["summary"]["hosts"] == 8
    assert page.locator("tr.entry").count() == data["summary"]["jobs"]
    assert page.locator("svg.calendar .collision-mark").count() == len(data["collisions"]) > 0
    assert page.locator("tr.collision-row").count() == len(data["collisions"])
    assert page.locator("script").count() == 1
    hostile = page.locator("tr.entry", has_text=HOSTILE)
    assert hostile.count() == 1 and hostile.locator("th").text_content() == HOSTILE
    assert "At 02:17" in hostile.text_content()
    ghost = page.locator('section.host[data-host="ghost.example.com"]')
    assert "unreachable" in ghost.text_content()
    # times: the viewer's zone as text, UTC in the title
    first_time = page.locator("tr.entry time").first
    assert first_time.get_attribute("title").endswith(" UTC") and "UTC" not in first_time.text_content()[:16]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "fleet-report.png"), full_page=False)


def test_filters_by_host_job_and_state(browser, report):
    data, path = report
    page, problems, _requests, _dialogs = open_page(browser, path)
    page.select_option("#f-host", "web2.example.com")
    web2 = next(host for host in data["hosts"] if host["name"] == "web2.example.com")
    assert page.locator("tr.entry:visible").count() == len(web2["entries"])
    assert page.locator("section.host:visible").count() == 1
    page.select_option("#f-host", "")
    page.fill("#f-job", "cleanup")
    assert page.locator("tr.entry:visible").count() == 6
    page.fill("#f-job", "")
    page.select_option("#f-state", "failing")
    assert page.locator("tr.entry:visible").count() == data["summary"]["failing"]
    assert page.locator("#f-count").text_content() == f"{data['summary']['failing']} job(s) shown"
    assert problems == []


def test_readable_with_javascript_off(browser, report):
    data, path = report
    page, _problems, _requests, _dialogs = open_page(browser, path, java_script_enabled=False)
    assert page.locator("#filters").is_hidden()
    assert page.locator("tr.entry:visible").count() == data["summary"]["jobs"]
    assert page.locator("tr.entry time").first.text_content().endswith(" UTC")


def test_works_at_200_percent_zoom(browser, report):
    _data, path = report
    # 200 % zoom of a 1280 px wide window: 640 CSS pixels at device scale 2
    page, problems, _requests, _dialogs = open_page(
        browser, path, viewport={"width": 640, "height": 900}, device_scale_factor=2
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")  # wide tables scroll inside
    assert page.locator("h1").is_visible() and problems == []
