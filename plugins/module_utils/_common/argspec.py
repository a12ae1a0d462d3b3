# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Options in Ansible's argument-spec form: lists written as one string, and a guard around ansible-core's
argument validation for options with sub-options.

ansible-core (2.19, and devel at the time of writing) looks up fallbacks in the value of an option with
``options`` before it checks that the value is a mapping, so ``jobs: [5]``, ``retention: 30`` or
``send: true`` end in ``TypeError: argument of type 'int' is not iterable``: a Python traceback instead of a
message; its integer check raises OverflowError for ``[9223372036854775808, null, null]``.
:func:`fail_on_validation_crash` turns such crashes into the failure they should have been.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

_SCALARS = (bool, int, float, type(None))


def scalar_sub_options(argument_spec: Mapping[str, Any], params: Any, prefix: str = "") -> list[str]:
    """Where ``params`` holds a number, a boolean or null in place of a mapping of sub-options
    (``jobs[1]``, ``jobs[0].retention``)."""
    found: list[str] = []
    if not isinstance(params, dict):
        return found
    for name, spec in argument_spec.items():
        options = spec.get("options")
        value = params.get(name)
        if not options or value is None:
            continue
        elements = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for index, element in elements:
            where = f"{prefix}{name}" if index is None else f"{prefix}{name}[{index}]"
            if isinstance(element, _SCALARS):
                found.append(where)
            elif isinstance(element, dict):
                found.extend(scalar_sub_options(options, element, where + "."))
    return found


def loose_spec(argument_spec: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The same option names, any value accepted, ``no_log`` kept: enough to read the arguments and fail."""
    return {name: {"type": "raw", "no_log": bool(spec.get("no_log", False))} for name, spec in argument_spec.items()}


def fail_on_validation_crash(
    module_class: Callable[..., Any], argument_spec: Mapping[str, Any], exc: Exception
) -> None:
    """Called when constructing the module raised instead of failing (``module_class`` is AnsibleModule): fail with
    a message, naming the options when ansible-core's sub-option bug was the cause. Never returns."""
    module = module_class(argument_spec=loose_spec(argument_spec), supports_check_mode=True)
    found = scalar_sub_options(argument_spec, module.params)
    if found:
        module.fail_json(msg=f"{', '.join(found)}: must be a mapping of options (or a list of them), not a scalar")
    module.fail_json(msg=f"the arguments could not be validated ({type(exc).__name__}: {exc}); check their types")


def split_list(text: str) -> list[str]:
    """A list written as one comma-separated string, its items without the spaces around them."""
    return [item.strip() for item in text.split(",") if item.strip()]


def split_string_lists(argument_spec: Mapping[str, Any], params: Any) -> Any:
    """``params`` with every ``type: list`` option given as one string split by :func:`split_list`.

    Ansible splits ``"a@x, b@y"`` at the commas but keeps the spaces (``["a@x", " b@y"]``); an inventory that
    writes a list this way means the items without them. Sub-options are followed; nothing else changes.
    """
    if not isinstance(params, dict):
        return params
    result = dict(params)
    for name, spec in argument_spec.items():
        value = result.get(name)
        if spec.get("type") == "list" and isinstance(value, str):
            result[name] = split_list(value)
        elif spec.get("options") and isinstance(value, dict):
            result[name] = split_string_lists(spec["options"], value)
        elif spec.get("options") and isinstance(value, list):
            result[name] = [split_string_lists(spec["options"], item) for item in value]
    return result
