# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report on the controller: gathered host results -> report data -> one self-contained HTML page."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ansible.errors import AnsibleFilterError


def fleet_report(
    hosts: Any,
    now: str | None = None,
    window_days: int | None = None,
    collision_window_minutes: int | None = None,
) -> dict[str, Any]:
    """The report's data (times in UTC) from the list of gathered hosts; windows by default as the report's own."""
    # Imported here, not at the top: Ansible loads every filter file of the collection to find any one of its
    # filters, in each host's worker (docs/performance.md)
    from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
    from ansible_collections.smgr.server_manager.plugins.module_utils._report.fleet import (
        COLLISION_WINDOW_MINUTES,
        WINDOW_DAYS,
        build_report,
        parse_time,
    )

    window_days = WINDOW_DAYS if window_days is None else window_days
    collision_window_minutes = (
        COLLISION_WINDOW_MINUTES if collision_window_minutes is None else collision_window_minutes
    )
    if not isinstance(hosts, list) or not all(isinstance(host, Mapping) for host in hosts):
        raise AnsibleFilterError(f"expects a list of gathered hosts (mappings), got {type(hosts).__name__}")
    moment = parse_time(now) if now else datetime.now(timezone.utc)
    if moment is None:
        raise AnsibleFilterError(f"now: not an ISO 8601 time: {now!r}")
    if not 1 <= int(window_days) <= 31:
        raise AnsibleFilterError(f"window_days: must be from 1 to 31, got {window_days!r}")
    if not 0 <= int(collision_window_minutes) <= 1440:
        raise AnsibleFilterError(f"collision_window_minutes: must be from 0 to 1440, got {collision_window_minutes!r}")
    try:
        return build_report(hosts, moment, int(window_days), int(collision_window_minutes))
    except SmgrError as exc:
        raise AnsibleFilterError(str(exc)) from None


def fleet_report_html(report: Any) -> str:
    """The self-contained HTML page of a report made by the fleet_report filter."""
    # Imported here, not at the top: see fleet_report
    from ansible_collections.smgr.server_manager.plugins.module_utils._report.page import render_page

    if not isinstance(report, Mapping) or "hosts" not in report:
        raise AnsibleFilterError("expects the data made by smgr.server_manager.fleet_report")
    return render_page(report)


class FilterModule:
    def filters(self) -> dict:
        return {"fleet_report": fleet_report, "fleet_report_html": fleet_report_html}
