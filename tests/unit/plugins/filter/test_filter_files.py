# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a host's worker pays to find one of the collection's filters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FILTER_PACKAGE = "ansible_collections.smgr.server_manager.plugins.filter"
FILTER_DIR = Path(__file__).resolve().parents[4] / "plugins" / "filter"
FILTER_FILES = sorted(path.stem for path in FILTER_DIR.glob("*.py"))
# module_utils files (not their packages) in sys.modules
MODULE_UTILS_LOADED = (
    "sorted(m for m in sys.modules if '.server_manager.plugins.module_utils.' in m and m.count('.') > 5)"
)


def _in_a_fresh_interpreter(code: str) -> object:
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    return json.loads(completed.stdout)


def test_loading_every_filter_file_imports_no_module_utils():
    """Ansible's Jinja2Loader loads every filter file of a collection to resolve any one of its filters, in each
    forked worker: the files import their module_utils only when their filter runs."""
    assert len(FILTER_FILES) >= 5
    imports = "; ".join(f"import {FILTER_PACKAGE}.{name}" for name in FILTER_FILES)
    assert _in_a_fresh_interpreter(f"import json, sys; {imports}; print(json.dumps({MODULE_UTILS_LOADED}))") == []


@pytest.mark.parametrize(
    "name, arguments, loaded",
    [
        ("backup_jobs_with_secrets", "[], {}", ["_backup.job_secrets"]),
        ("schedule_problems", "{'web': '@daily'}", ["_common.errors", "_schedule.cron"]),
    ],
)
def test_a_filter_imports_what_it_uses_when_it_runs(name, arguments, loaded):
    code = (
        f"import json, sys; from {FILTER_PACKAGE}.{name} import {name}; {name}({arguments}); "
        f"print(json.dumps([m.rsplit('module_utils.', 1)[1] for m in {MODULE_UTILS_LOADED}]))"
    )
    assert _in_a_fresh_interpreter(code) == loaded
