# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a host's worker pays to find one of the collection's filters."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from ansible_collections.smgr.server_manager.tests.support.processes import python_json

FILTER_PACKAGE = "ansible_collections.smgr.server_manager.plugins.filter"
FILTER_DIR = Path(__file__).resolve().parents[4] / "plugins" / "filter"
# where this test imports the collection from (and Ansible from the virtualenv)
SEARCH_PATH = os.pathsep.join(sys.path)
FILTER_FILES = sorted(path.stem for path in FILTER_DIR.glob("*.py"))
# module_utils files (not their packages) in sys.modules
MODULE_UTILS_LOADED = (
    "sorted(m for m in sys.modules if '.server_manager.plugins.module_utils.' in m and m.count('.') > 5)"
)


def test_loading_every_filter_file_imports_no_module_utils():
    """Ansible's Jinja2Loader loads every filter file of a collection to resolve any one of its filters, in each
    forked worker: the files import their module_utils only when their filter runs."""
    assert len(FILTER_FILES) >= 5
    imports = "; ".join(f"import {FILTER_PACKAGE}.{name}" for name in FILTER_FILES)
    assert python_json(f"import json, sys; {imports}; print(json.dumps({MODULE_UTILS_LOADED}))", SEARCH_PATH) == []


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
    assert python_json(code, SEARCH_PATH) == loaded
