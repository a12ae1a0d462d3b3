# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The smgr role's backup jobs with their secrets, for smgr_backup (module_utils/_backup/job_secrets.py).

A file of its own, importing one small module_utils file when it runs: the role's smgr_backup task calls it
in each host's worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError


def backup_jobs_with_secrets(backup_jobs: Any, variables: Any) -> list[dict[str, Any]]:
    """The profile's ``backup_jobs`` with each borg job's passphrase from the inventory, for smgr_backup."""
    # Imported here, not at the top: Ansible loads every filter file of the collection to find any one of its
    # filters, in each host's worker (docs/performance.md)
    from ansible_collections.smgr.server_manager.plugins.module_utils._backup.job_secrets import with_backup_secrets

    if not isinstance(backup_jobs, list) or not isinstance(variables, Mapping):
        raise AnsibleFilterError("expects the profile's backup_jobs and the mapping of the smgr_* variables")
    return with_backup_secrets(backup_jobs, variables)


class FilterModule:
    def filters(self) -> dict:
        return {"backup_jobs_with_secrets": backup_jobs_with_secrets}
