# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The backup_jobs_with_secrets filter: a borg job's passphrase from the inventory, nothing for a tar job."""

from __future__ import annotations

import pytest


@pytest.fixture
def with_secrets(load_filter, filter_error):
    return load_filter("backup_jobs_with_secrets").backup_jobs_with_secrets, filter_error


def test_a_borg_jobs_passphrase_is_put_back_from_the_job_or_the_defaults(with_secrets):
    build, _error = with_secrets
    jobs = [
        {"name": "own", "engine": "borg"},
        {"name": "shared", "engine": "borg"},
        {"name": "web", "engine": "tar"},
    ]
    variables = {
        "smgr_backups": {"own": {"passphrase": "own-secret"}, "shared": {}, "web": {"passphrase": "ignored"}},
        "smgr_backup_defaults": {"passphrase": "fleet-secret"},
    }
    assert build(jobs, variables) == [
        {"name": "own", "engine": "borg", "passphrase": "own-secret"},
        {"name": "shared", "engine": "borg", "passphrase": "fleet-secret"},
        {"name": "web", "engine": "tar"},
    ]


@pytest.mark.parametrize("jobs, variables", [(None, {}), ([], None), ("x", {})])
def test_wrong_input_is_refused(with_secrets, jobs, variables):
    build, AnsibleFilterError = with_secrets
    with pytest.raises(AnsibleFilterError, match="expects the profile's backup_jobs"):
        build(jobs, variables)
