# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter plugins are controller code, imported inside each test."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest
from ansible.module_utils import _internal

FILTER_PACKAGE = "ansible_collections.smgr.server_manager.plugins.filter"


@pytest.fixture
def load_filter(monkeypatch):
    """``load_filter("server_profile")``: the filter plugin's module.

    Importing controller code switches ansible.module_utils into controller mode for the whole process, which
    changes how the module tests see warnings; monkeypatch restores the flag after each test.
    """
    monkeypatch.setattr(_internal, "is_controller", _internal.is_controller)

    def load(name: str) -> ModuleType:
        return importlib.import_module(f"{FILTER_PACKAGE}.{name}")

    return load


@pytest.fixture
def filter_error(load_filter):
    """Ansible's AnsibleFilterError, imported in controller mode like the filters."""
    return importlib.import_module("ansible.errors").AnsibleFilterError
