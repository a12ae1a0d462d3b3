# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller-side backup job validation, so a typo in inventory fails before a host is touched."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError


def backup_job_problems(jobs: object, backup_root: str) -> list[str]:
    """Return one message per invalid job of a list of smgr_backup jobs (empty when all are valid)."""
    # Imported here, not at the top: Ansible loads every filter file of the collection to find any one of its
    # filters, in each host's worker (docs/performance.md)
    from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import validate_job
    from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError

    if not isinstance(jobs, list):
        raise AnsibleFilterError(f"expects a list of smgr_backup jobs, got {type(jobs).__name__}")
    problems = []
    for job in jobs:
        try:
            validate_job(job, backup_root)
        except SmgrError as exc:
            problems.append(str(exc))
    return problems


class FilterModule:
    def filters(self) -> dict:
        return {"backup_job_problems": backup_job_problems}
