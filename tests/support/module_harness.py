# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one way tests run a module's main() in-process: exit_json/fail_json raise with the result as the module
built it (before Ansible masks no_log values), and the result comes back with ``failed`` set.

The ``module_exits`` fixture (tests/unit/conftest.py) patches AnsibleModule; :func:`run_module` runs ``main()``.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from ansible.module_utils import basic
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args


class AnsibleExitJson(Exception):
    """exit_json was called; args[0] is the result."""


class AnsibleFailJson(Exception):
    """fail_json was called; args[0] is the result with ``msg``."""


def capture_module_exits(monkeypatch) -> None:
    """Patch AnsibleModule so exit_json/fail_json raise instead of printing and exiting; reset warnings."""

    def exit_json(self, **kwargs):
        raise AnsibleExitJson(kwargs)

    def fail_json(self, msg, **kwargs):
        raise AnsibleFailJson({"msg": msg, **kwargs})

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
    monkeypatch.setattr(ansible_warnings, "_global_deprecations", {})


def run_module(module: ModuleType, args: dict[str, Any], check: bool = False, diff: bool = True) -> dict[str, Any]:
    """Run ``module.main()`` with ``args``; its result with ``failed`` set. Any other exception propagates: a
    traceback is a test failure."""
    ansible_warnings._global_warnings = {}
    ansible_warnings._global_deprecations = {}
    try:
        with patch_module_args(dict(args, _ansible_check_mode=check, _ansible_diff=diff)):
            module.main()
    except AnsibleExitJson as done:
        return dict(done.args[0], failed=False)
    except AnsibleFailJson as failed:
        return dict(failed.args[0], failed=True)
    raise AssertionError(f"{module.__name__}.main() returned without exit_json or fail_json")


def exit_result(module: ModuleType, args: dict[str, Any], check: bool = False, diff: bool = True) -> dict[str, Any]:
    """The result of a run that must succeed."""
    result = run_module(module, args, check, diff)
    assert not result["failed"], result["msg"]
    return result


def fail_result(module: ModuleType, args: dict[str, Any], check: bool = False, diff: bool = True) -> dict[str, Any]:
    """The result of a run that must fail."""
    result = run_module(module, args, check, diff)
    assert result["failed"], f"{module.__name__} succeeded: {result}"
    return result
