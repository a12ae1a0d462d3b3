# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Running a module's main() in-process: exit_json/fail_json raise with the result as the module built it."""

from __future__ import annotations

from ansible.module_utils import basic
from ansible.module_utils.common import warnings as ansible_warnings


class AnsibleExitJson(Exception):
    pass


class AnsibleFailJson(Exception):
    pass


def capture_module_exits(monkeypatch) -> None:
    """Patch AnsibleModule so exit_json/fail_json raise instead of printing and exiting; reset warnings."""

    def exit_json(self, **kwargs):
        raise AnsibleExitJson(kwargs)

    def fail_json(self, msg, **kwargs):
        raise AnsibleFailJson({"msg": msg, **kwargs})

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
