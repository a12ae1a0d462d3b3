# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one exception type of the collection: a message a user can act on."""

from __future__ import annotations


class SmgrError(Exception):
    """Invalid input or a failed operation, phrased for the operator.

    ``job`` and ``field`` name where the problem is, so a failure in a list of
    fifty jobs points at the one to fix: ``job 'nginx': schedule: ...``.
    """

    def __init__(self, message: str, job: str | None = None, field: str | None = None) -> None:
        self.job = job
        self.field = field
        self.reason = message
        super().__init__(format_error(message, job, field))


def format_error(message: str, job: str | None = None, field: str | None = None) -> str:
    where = []
    if job is not None:
        where.append(f"job {job!r}")
    if field is not None:
        where.append(field)
    return ": ".join([*where, message])
