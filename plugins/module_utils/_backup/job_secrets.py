# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A backup job's secrets (a borg job's passphrase): which keys they are, and how the role hands them on.

Kept apart from the profile and the job rules: the role's smgr_backup task puts the secrets back with
:func:`with_backup_secrets` in every host's worker, and this file is all it loads there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Only on the host in a file of its own (0600), never in the job file, a result or a diff.
SECRET_JOB_KEYS = ("passphrase",)


def with_backup_secrets(backup_jobs: list[dict[str, Any]], variables: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The profile's backup jobs with their secrets (a borg job's passphrase) from smgr_backups or
    smgr_backup_defaults put back: the role hands them to smgr_backup, whose option is no_log, and the profile
    (a host fact that -v shows) never holds them. The profile has checked them already."""
    backups = variables.get("smgr_backups") or {}
    defaults = variables.get("smgr_backup_defaults") or {}
    jobs = []
    for job in backup_jobs:
        given = backups.get(job.get("name")) if isinstance(backups, Mapping) else None
        given = given if isinstance(given, Mapping) else {}
        secrets = {}
        for key in SECRET_JOB_KEYS:
            value = given.get(key, defaults.get(key) if isinstance(defaults, Mapping) else None)
            if value is not None and job.get("engine") == "borg":
                secrets[key] = value
        jobs.append({**job, **secrets})
    return jobs
