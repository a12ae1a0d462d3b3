# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The layout rule of docs/architecture.md: imports go _common <- _schedule, _notify <- _backup <- _runner."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

MODULE_UTILS = Path(__file__).resolve().parents[4] / "plugins" / "module_utils"
PLUGINS = MODULE_UTILS.parent
PACKAGE = "ansible_collections.smgr.server_manager.plugins.module_utils"
# Which concerns each concern may import (besides itself).
ALLOWED = {
    "_common": set(),
    "_schedule": {"_common"},
    "_notify": {"_common"},
    "_backup": {"_common", "_schedule", "_notify"},
    "_runner": {"_common", "_schedule", "_notify", "_backup"},
    "_report": {"_common", "_schedule"},
}


def imported_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_every_module_utils_file_lives_in_a_concern():
    assert sorted(path.name for path in MODULE_UTILS.iterdir() if path.suffix == ".py") == []
    assert {path.name for path in MODULE_UTILS.iterdir() if path.is_dir() and path.name != "__pycache__"} == set(
        ALLOWED
    )


@pytest.mark.parametrize(
    "path", sorted(MODULE_UTILS.rglob("*.py")), ids=lambda path: str(path.relative_to(MODULE_UTILS))
)
def test_imports_go_one_way(path):
    concern = path.relative_to(MODULE_UTILS).parts[0]
    for name in imported_names(path):
        assert not name.startswith("ansible.") and name != "ansible", f"{path.name} imports Ansible ({name})"
        if name.startswith(PACKAGE + "."):
            other = name[len(PACKAGE) + 1 :].split(".")[0]
            assert other == concern or other in ALLOWED[concern], f"{concern}/{path.name} imports {name}"


@pytest.mark.parametrize("path", sorted((PLUGINS / "modules").glob("*.py")) + sorted((PLUGINS / "filter").glob("*.py")))
def test_modules_and_filters_import_module_utils_only(path):
    for name in imported_names(path):
        if name.startswith("ansible_collections.smgr.server_manager."):
            assert name.startswith(PACKAGE + "."), f"{path.name} imports {name}"
