# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_runner.build: the import scan that decides which sources go into the runner."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._runner.build import (
    PACKAGE,
    build_runner,
    collect_sources,
    module_source,
    package_imports,
)
from ansible_collections.smgr.server_manager.tests.support.processes import python_json

MODULE_UTILS = Path(__file__).resolve().parents[5] / "plugins" / "module_utils"
# The builder itself holds the runner's entry script as text (an import line in a string) and is never part
# of the runner: every other file is scanned.
BUILDER = MODULE_UTILS / "_runner" / "build.py"
SOURCES = sorted(path for path in MODULE_UTILS.rglob("*.py") if path != BUILDER)


def imports_by_ast(source: str) -> list[str]:
    """The reference reading: Python's own parser."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            inner = node.module[len(PACKAGE) + 1 :]
            if not inner:
                found.update(alias.name for alias in node.names)
            elif "." in inner:
                found.add(inner)
            else:
                found.update(f"{inner}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name[len(PACKAGE) + 1 :] for a in node.names if a.name.startswith(PACKAGE + "."))
    return sorted(found)


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(MODULE_UTILS)))
def test_the_fast_scan_reads_every_module_utils_file_as_python_does(path):
    source = path.read_text()
    assert package_imports(source) == imports_by_ast(source)


def test_every_file_is_scanned_and_the_builder_is_not_in_the_runner():
    assert len(SOURCES) > 20
    assert "_runner.build" not in collect_sources()


def test_lazy_parenthesized_and_aliased_imports_are_found():
    source = f"""
def later():
    from {PACKAGE}._backup.drill import (
        DrillFailed,  # a comment
        drill_archive,
    )
    from {PACKAGE}._notify import cli as notify_cli, mail
import {PACKAGE}._common.errors
"""
    assert package_imports(source) == ["_backup.drill", "_common.errors", "_notify.cli", "_notify.mail"]


def test_sources_are_read_from_a_zip_as_ansiballz_runs_the_module(tmp_path):
    """smgr_backup runs from AnsiballZ's zip: the builder reads the runner's sources through zipimport."""
    sources = collect_sources()
    payload = tmp_path / "payload.zip"
    payload.write_bytes(build_runner({**sources, "_runner.build": BUILDER.read_text()}, sys.executable))
    # find_spec on a zip compiles each module (zipimporter answers get_filename by compiling): not to be used
    script = (
        "import importlib.util, json, zipimport\n"
        f"from {PACKAGE}._runner import build\n"
        "assert isinstance(build.__loader__, zipimport.zipimporter), build.__loader__\n"
        "zipimport.zipimporter.get_filename = importlib.util.find_spec = None\n"
        "print(json.dumps(build.collect_sources()))\n"
    )
    assert python_json(script, str(payload)) == sources


def test_a_missing_source_is_named():
    with pytest.raises(SmgrError, match=r"cannot read .*_backup\.nothing_here .*to build the runner"):
        module_source("_backup.nothing_here")


def test_sources_are_read_through_ansibles_collection_loader(tmp_path):
    """On the controller (the bench, a future action plugin) Ansible's collection loader imports the builder; it
    answers a missing file with None, not OSError."""
    from ansible_collections.smgr.server_manager.plugins.module_utils._runner import build

    # the directory this test imported the collection from (…/ansible_collections/smgr/server_manager/…/build.py)
    collections_root = Path(build.__file__).parents[6]
    assert (collections_root / "ansible_collections" / "smgr" / "server_manager").is_dir()
    script = (
        "import json\n"
        "from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder\n"
        f"_AnsibleCollectionFinder(paths=[{str(collections_root)!r}])._install()\n"
        f"from {PACKAGE}._runner import build\n"
        "assert type(build.__loader__).__name__ == '_AnsibleCollectionLoader', build.__loader__\n"
        "from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError\n"
        "try:\n"
        "    build.module_source('_backup.nothing_here')\n"
        "except SmgrError as exc:\n"
        "    missing = str(exc)\n"
        "print(json.dumps([build.module_source('_common.errors'), missing]))\n"
    )
    errors, missing = python_json(script, "")
    assert errors == (MODULE_UTILS / "_common" / "errors.py").read_text()
    assert "_backup.nothing_here" in missing and "to build the runner: no such file" in missing
