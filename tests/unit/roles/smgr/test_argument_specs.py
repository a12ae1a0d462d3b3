# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The smgr role's inventory interface: argument_specs.yml, defaults/main.yml, docs/inventory.md and the
modules the role passes the variables to must agree."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

from ansible_collections.smgr.server_manager.tests.support import inventory_doc

SPECS = yaml.safe_load(inventory_doc.SPECS.read_text(encoding="utf-8"))["argument_specs"]


def module_options(name: str) -> dict:
    module = importlib.import_module(f"ansible_collections.smgr.server_manager.plugins.modules.{name}")
    return yaml.safe_load(module.DOCUMENTATION)["options"]


def test_docs_defaults_and_spec_agree():
    defaults = yaml.safe_load(inventory_doc.DEFAULTS.read_text(encoding="utf-8"))
    assert inventory_doc.compare(inventory_doc.spec_variables(), inventory_doc.doc_rows(), defaults) == []


def test_the_command_line_check_passes(capsys):
    assert inventory_doc.main([]) == 0
    assert "documents all" in capsys.readouterr().out


def test_every_option_has_a_description():
    missing = [name for name, var in inventory_doc.spec_variables().items() if not var.type]
    assert missing == []
    for entry_point in SPECS.values():
        stack = list(entry_point["options"].items())
        while stack:
            name, option = stack.pop()
            assert option.get("description"), f"{name} has no description"
            stack.extend((option.get("options") or {}).items())


def _doc_with(tmp_path: Path, transform) -> dict:
    text = inventory_doc.DOC.read_text(encoding="utf-8")
    path = tmp_path / "inventory.md"
    path.write_text(transform(text), encoding="utf-8")
    return inventory_doc.doc_rows(path)


def _problems(rows, defaults=None):
    if defaults is None:
        defaults = yaml.safe_load(inventory_doc.DEFAULTS.read_text(encoding="utf-8"))
    return inventory_doc.compare(inventory_doc.spec_variables(), rows, defaults)


def test_an_undocumented_variable_is_reported(tmp_path):
    rows = _doc_with(
        tmp_path, lambda text: "\n".join(line for line in text.splitlines() if "`smgr_lock_dir`" not in line)
    )
    assert _problems(rows) == ["smgr_lock_dir: in argument_specs.yml, not documented in docs/inventory.md"]


def test_a_documented_variable_missing_from_the_spec_is_reported(tmp_path):
    rows = _doc_with(tmp_path, lambda text: text + "\n| `smgr_backups.<job>.bandwidth` | int | - | typo |\n")
    assert len(_problems(rows)) == 1
    assert _problems(rows)[0].startswith("smgr_backups.<job>.bandwidth: documented")


def test_a_wrong_type_or_default_is_reported(tmp_path):
    def edit(text):
        text = text.replace("| `smgr_schedule_backups` | int | `5` |", "| `smgr_schedule_backups` | str | `7` |")
        return text.replace(
            "| `smgr_schedules.<name>.command` | str | required |", "| `smgr_schedules.<name>.command` | str | - |"
        )

    problems = _problems(_doc_with(tmp_path, edit))
    assert problems == [
        "smgr_schedule_backups: documented type 'str', argument_specs.yml says 'int'",
        "smgr_schedule_backups: documented default `7`, argument_specs.yml: `5`",
        "smgr_schedules.<name>.command: documented default '-', argument_specs.yml: required",
    ]


def test_defaults_that_drift_from_the_spec_are_reported():
    defaults = yaml.safe_load(inventory_doc.DEFAULTS.read_text(encoding="utf-8"))
    defaults["smgr_logrotate_rotate"] = 4
    del defaults["smgr_cron_env"]
    defaults["smgr_unknown"] = 1
    assert _problems(inventory_doc.doc_rows(), defaults) == [
        "smgr_cron_env: in argument_specs.yml, not set in roles/smgr/defaults/main.yml",
        "smgr_unknown: set in roles/smgr/defaults/main.yml, not in argument_specs.yml",
        "smgr_logrotate_rotate: defaults/main.yml has 4, argument_specs.yml says 8",
    ]


# The role passes these variables straight to the modules: a renamed module option must show up here.


def test_notification_keys_are_the_options_of_smgr_notify():
    role = SPECS["main"]["options"]["smgr_notifications"]["options"]
    module = module_options("smgr_notify")
    passed_by_the_role = set(module) - {"path", "state", "send", "send_test"}
    assert set(role) == passed_by_the_role
    for name, option in role.items():
        assert option.get("type", "str") == module[name].get("type", "str"), name
        assert option.get("choices") == module[name].get("choices"), name
        if "default" in option:
            assert option["default"] == module[name].get("default"), name


def test_backup_job_keys_are_the_job_options_of_smgr_backup():
    role = SPECS["main"]["options"]["smgr_backup_defaults"]["options"]
    module = module_options("smgr_backup")["jobs"]["suboptions"]
    assert set(role) - {"schedule", "disabled"} == set(module) - {"name", "state"}
    for name in set(role) & set(module):
        assert role[name].get("type", "str") == module[name].get("type", "str"), name
        assert role[name].get("choices") == module[name].get("choices"), name
    assert set(role["retention"]["options"]) == set(module["retention"]["suboptions"])


def test_schedule_job_keys_are_the_job_options_of_smgr_schedule():
    from ansible_collections.smgr.server_manager.plugins.module_utils._backup.profile import SCHEDULE_JOB_SPEC

    module = module_options("smgr_schedule")["jobs"]["suboptions"]
    assert set(SCHEDULE_JOB_SPEC) == set(module) - {"name", "state"}
    for name, option in SCHEDULE_JOB_SPEC.items():
        assert option.get("type", "str") == module[name].get("type", "str"), name


def test_every_entry_point_has_a_tasks_file():
    for entry_point in SPECS:
        assert (inventory_doc.ROOT / "roles" / "smgr" / "tasks" / f"{entry_point}.yml").exists(), entry_point
