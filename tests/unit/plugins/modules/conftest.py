# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import sys

import pytest


@pytest.fixture(autouse=True)
def _module_exits(module_exits):
    """Every module test runs main() through tests/support/module_harness.py."""


@pytest.fixture
def target(tmp_path):
    """smgr_schedule arguments that keep every file of the run inside tmp_path (cron file, unit directory,
    backups of previous versions, audit log, locks)."""
    return dict(
        cron_file=str(tmp_path / "cron_d_smgr"),
        unit_dir=str(tmp_path / "units"),
        backup_dir=str(tmp_path / "backups"),
        audit_log=str(tmp_path / "logs" / "audit.log"),
        lock_dir=str(tmp_path / "lock"),
        hash_seed="host1",
    )


@pytest.fixture
def base(tmp_path):
    """smgr_backup arguments that keep the whole host layout under tmp_path/host (archive host web1)."""
    root = tmp_path / "host"
    return {
        "config_dir": str(root / "opt/server-manager/config"),
        "runner_path": str(root / "opt/server-manager/bin/smgr"),
        "state_dir": str(root / "opt/server-manager/state"),
        "log_dir": str(root / "opt/server-manager/logs"),
        "lock_dir": str(root / "run/lock/smgr"),
        "backup_root": str(root / "backups"),
        "archive_host": "web1",
        "runner_interpreter": sys.executable,
    }
