# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The smgr role's profile: inventory variables -> module arguments, checked on the controller (module_utils)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator


def plain_data(value: Any) -> Any:
    """``value`` as plain dicts, lists and strings, read once.

    Ansible hands a filter lazy containers that template each item when it is read, and deep-copying them
    (ArgumentSpecValidator copies its parameters) costs a template round per item: with them, checking a
    profile took 100 times as long as with plain data.
    """
    if isinstance(value, Mapping):
        return {plain_data(key): plain_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_data(item) for item in value]
    if isinstance(value, str):
        return str(value)  # drops Ansible's tags (origin, trust); the module arguments carry none
    return value


def check_options(spec: Mapping[str, Any], value: Any) -> tuple[dict[str, Any], list[str]]:
    """Ansible's module argument validation of ``value`` against ``spec``, as AnsibleModule runs it on the host."""
    if not isinstance(value, Mapping):
        return {}, [f"must be a mapping, got {type(value).__name__}"]
    result = ArgumentSpecValidator(dict(spec)).validate(dict(value))
    return result.validated_parameters, [str(message) for message in result.error_messages]


def server_profile(variables: Any) -> dict[str, Any]:
    """The arguments of the role's module calls (``backup_jobs``, ``cron_jobs``, ``notifications``)."""
    # Imported here, not at the top: Ansible loads every filter file of the collection to find any one of its
    # filters, in each host's worker (docs/performance.md)
    from ansible_collections.smgr.server_manager.plugins.module_utils._backup.profile import build_profile
    from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError

    if not isinstance(variables, Mapping):
        raise AnsibleFilterError(f"expects a mapping of the smgr_* variables, got {type(variables).__name__}")
    try:
        return build_profile(plain_data(variables), check_options).as_dict()
    except SmgrError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self) -> dict:
        return {"server_profile": server_profile}
