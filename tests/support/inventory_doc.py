# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check docs/inventory.md against the smgr role's argument specification, and the role's defaults against both.

The variables of the role are the options of ``roles/smgr/meta/argument_specs.yml``:

- the ``main`` entry point: ``smgr_prefix``, ``smgr_notifications`` and its keys
  (``smgr_notifications.enabled``), ``smgr_cleanup.retention.keep_days``, ...
- the options of ``smgr_backup_defaults``: the keys of each job of ``smgr_backups``, documented as
  ``smgr_backups.<job>.type`` (required in a job), ``smgr_backups.<job>.retention.keep_days``, ...
- the keys of each job of ``smgr_schedules`` (``smgr_schedules.<name>.command``, ...): the option spec the
  server_profile filter checks them with (``SCHEDULE_JOB_SPEC`` of plugins/module_utils/_backup/profile.py).

docs/inventory.md documents each in a table row ``| `name` | type | default | description |``.
The check fails when a variable is in one and not in the other, when a documented type or default
differs from the specification, or when ``defaults/main.yml`` does not set exactly the ``main``
entry point's variables to their documented defaults.

    python tests/support/inventory_doc.py            # check; exit 1 with the differences
    python tests/support/inventory_doc.py --rows     # print the table rows the specification implies
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
# Run as a script too: the collection's import path (make setup links the checkout there).
sys.path.insert(0, str(ROOT / ".build" / "collections"))
SPECS = ROOT / "roles" / "smgr" / "meta" / "argument_specs.yml"
DEFAULTS = ROOT / "roles" / "smgr" / "defaults" / "main.yml"
DOC = ROOT / "docs" / "inventory.md"

BACKUP_JOB_PREFIX = "smgr_backups.<job>."
SCHEDULE_JOB_PREFIX = "smgr_schedules.<name>."
NO_DEFAULT = "-"
REQUIRED = "required"
ROW = re.compile(r"^\|\s*`(?P<name>[^`]+)`\s*\|(?P<type>[^|]*)\|(?P<default>[^|]*)\|")


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    default: Any
    required: bool
    has_default: bool

    def default_cell(self) -> str:
        if self.required:
            return REQUIRED
        if not self.has_default:
            return NO_DEFAULT
        return f"`{render_value(self.default)}`"


def render_value(value: Any) -> str:
    """A default as one line of YAML flow style (what the docs show in code spans)."""
    return (
        yaml.safe_dump(value, default_flow_style=True, width=10_000, sort_keys=False)
        .strip()
        .removesuffix("...")
        .strip()
    )


def type_of(option: dict[str, Any]) -> str:
    kind = option.get("type", "str")
    if kind == "list":
        return f"list of {option.get('elements', 'str')}"
    return kind


def walk(options: dict[str, Any], prefix: str) -> Iterator[Variable]:
    for name, option in options.items():
        yield Variable(
            name=prefix + name,
            type=type_of(option),
            default=option.get("default"),
            required=bool(option.get("required", False)),
            has_default="default" in option,
        )
        if option.get("options"):
            yield from walk(option["options"], f"{prefix}{name}.")


def spec_variables(specs_path: Path = SPECS) -> dict[str, Variable]:
    from ansible_collections.smgr.server_manager.plugins.module_utils._backup.profile import SCHEDULE_JOB_SPEC

    specs = yaml.safe_load(specs_path.read_text(encoding="utf-8"))["argument_specs"]
    if set(specs) != {"main"}:
        raise ValueError(f"{specs_path}: entry points other than main: {', '.join(sorted(set(specs) - {'main'}))}")
    options = dict(specs["main"]["options"])
    job_keys = dict(options["smgr_backup_defaults"].pop("options"))
    job_keys["type"] = {**job_keys["type"], "required": True}  # optional in the defaults, required in a job
    variables: dict[str, Variable] = {}
    for variable in [
        *walk(options, ""),
        *walk(job_keys, BACKUP_JOB_PREFIX),
        *walk(SCHEDULE_JOB_SPEC, SCHEDULE_JOB_PREFIX),
    ]:
        variables[variable.name] = variable
    return variables


@dataclass(frozen=True)
class DocRow:
    name: str
    type: str
    default: str
    line: int


def doc_rows(doc_path: Path = DOC) -> dict[str, DocRow]:
    rows: dict[str, DocRow] = {}
    for number, line in enumerate(doc_path.read_text(encoding="utf-8").splitlines(), start=1):
        match = ROW.match(line)
        if match and match["name"].startswith("smgr_"):
            name = match["name"]
            if name in rows:
                raise ValueError(f"{doc_path}:{number}: {name} is documented twice (first on line {rows[name].line})")
            rows[name] = DocRow(name, match["type"].strip(), match["default"].strip(), number)
    return rows


def parse_default_cell(cell: str) -> Any:
    if not (cell.startswith("`") and cell.endswith("`")):
        raise ValueError(f"a default is a code span, {REQUIRED!r} or {NO_DEFAULT!r}, not {cell!r}")
    return yaml.safe_load(cell[1:-1])


def compare(variables: dict[str, Variable], rows: dict[str, DocRow], defaults: dict[str, Any]) -> list[str]:
    """Every difference, as a message a maintainer can act on (empty when all agree)."""
    problems = []
    for name in sorted(set(variables) - set(rows)):
        problems.append(f"{name}: in argument_specs.yml, not documented in docs/inventory.md")
    for name in sorted(set(rows) - set(variables)):
        problems.append(f"{name}: documented (docs/inventory.md line {rows[name].line}), not in argument_specs.yml")
    for name in sorted(set(variables) & set(rows)):
        variable, row = variables[name], rows[name]
        if row.type != variable.type:
            problems.append(f"{name}: documented type {row.type!r}, argument_specs.yml says {variable.type!r}")
        if row.default in (REQUIRED, NO_DEFAULT):
            if row.default != variable.default_cell():
                problems.append(
                    f"{name}: documented default {row.default!r}, argument_specs.yml: {variable.default_cell()}"
                )
            continue
        try:
            documented = parse_default_cell(row.default)
        except (ValueError, yaml.YAMLError) as exc:
            problems.append(f"{name}: docs/inventory.md line {row.line}: {exc}")
            continue
        if variable.required or not variable.has_default or documented != variable.default:
            problems.append(f"{name}: documented default {row.default}, argument_specs.yml: {variable.default_cell()}")
    main = {name: var for name, var in variables.items() if "." not in name}
    for name in sorted(set(main) - set(defaults)):
        problems.append(f"{name}: in argument_specs.yml, not set in roles/smgr/defaults/main.yml")
    for name in sorted(set(defaults) - set(main)):
        problems.append(f"{name}: set in roles/smgr/defaults/main.yml, not in argument_specs.yml")
    for name in sorted(set(main) & set(defaults)):
        if defaults[name] != main[name].default:
            problems.append(
                f"{name}: defaults/main.yml has {render_value(defaults[name])}, "
                f"argument_specs.yml says {render_value(main[name].default)}"
            )
    return problems


def table_rows(variables: dict[str, Variable]) -> list[str]:
    return [f"| `{var.name}` | {var.type} | {var.default_cell()} | |" for var in variables.values()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--rows", action="store_true", help="print the table rows the specification implies")
    args = parser.parse_args(argv)
    variables = spec_variables()
    if args.rows:
        print("\n".join(table_rows(variables)))
        return 0
    defaults = yaml.safe_load(DEFAULTS.read_text(encoding="utf-8")) or {}
    problems = compare(variables, doc_rows(), defaults)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(
            f"{len(problems)} difference(s) between docs/inventory.md, argument_specs.yml and defaults", file=sys.stderr
        )
        return 1
    print(f"docs/inventory.md documents all {len(variables)} variables of argument_specs.yml; defaults agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
