# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller-side schedule validation, so a typo in inventory fails before a host is touched."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def schedule_problems(schedules: object, hash_seed: str = "") -> list[str]:
    """Return one message per invalid schedule of a job name -> schedule mapping (empty when all are valid)."""
    # Imported here, not at the top: Ansible loads every filter file of the collection to find any one of its
    # filters, in each host's worker (docs/performance.md)
    from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
    from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.cron import expand_schedule

    if not isinstance(schedules, dict):
        raise AnsibleFilterError(f"expects a dict of job name -> schedule, got {type(schedules).__name__}")
    problems = []
    for name, schedule in schedules.items():
        try:
            expand_schedule(schedule, str(hash_seed), str(name))
        except SmgrError as exc:
            problems.append(str(exc))
    return problems


class FilterModule:
    def filters(self) -> dict:
        return {"schedule_problems": schedule_problems}
