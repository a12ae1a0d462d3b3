# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Subject and body templates of notifications: ``{field}`` placeholders from a fixed list, nothing else.

A template is plain text. ``{host}`` is replaced by the field's value, ``{{`` and ``}}`` are literal braces; any
other use of a brace, and any field not in :data:`FIELDS`, is refused when the template is checked (at converge
time), naming the template. Nothing is evaluated: no attribute access, no indexing, no format specification, no
code. A value is inserted as text; the subject is made one line afterwards, and the HTML part escapes the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError

# The fields every notification fills (empty when they do not apply), documented in docs/notifications.md.
FIELDS = (
    "host",  # the host name
    "event",  # success, failure, recovered, partial, skipped, health, drill, cleanup, test
    "job",  # the backup job (or the maintenance task)
    "type",  # the job type: nginx, mailcow, npm, paths
    "status",  # the status line of the default message
    "time",  # when the run finished, local time with offset
    "duration",  # how long it ran
    "archive",  # the archive written
    "size",  # its size
    "error",  # what went wrong
    "log_tail",  # the last lines of the run's log
    "details",  # the rows of the default message, one "label: value" per line (health checks, cleanup totals)
    "subject",  # the default subject
    "text",  # the default body, as plain text
)
MAX_TEMPLATE_CHARS = 20_000
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def check_template(template: object, where: str) -> str:
    """``template`` if it is text whose placeholders are all known fields, else SmgrError naming ``where``."""
    if not isinstance(template, str):
        raise SmgrError(f"must be text, got {type(template).__name__}", field=where)
    if len(template) > MAX_TEMPLATE_CHARS:
        raise SmgrError(f"is longer than {MAX_TEMPLATE_CHARS} characters", field=where)
    if "\x00" in template:
        raise SmgrError("must not contain NUL characters", field=where)
    for match in _TOKEN.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise SmgrError(f"has a lone {token!r}: write {token * 2} for a literal brace", field=where)
        if name not in FIELDS:
            raise SmgrError(
                f"unknown field {{{name}}}; the fields are: {', '.join(FIELDS)} (no attribute access, no expressions)",
                field=where,
            )
    return template


def render(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each placeholder replaced by its value (a missing value is empty). Checked first."""

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        return str(values.get(match.group(1) or "", ""))

    return _TOKEN.sub(substitute, check_template(template, "template"))
