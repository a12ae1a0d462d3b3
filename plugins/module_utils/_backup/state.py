# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-job state: ``<state_dir>/<job>.json`` with the last run and the last success, written atomically."""

from __future__ import annotations

import json
import os
from typing import Any

from ansible_collections.smgr.server_manager.plugins.module_utils._common.atomic import read_bytes, write_atomic
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError

STATE_MODE = 0o640
STATE_VERSION = 1


def state_path(state_dir: str, job: str) -> str:
    return os.path.join(state_dir, f"{job}.json")


def load_state(state_dir: str, job: str) -> dict[str, Any]:
    """The job's state, or an empty dict when it never ran (or the file is unreadable JSON)."""
    content = read_bytes(state_path(state_dir, job))
    if content is None:
        return {}
    try:
        data = json.loads(content.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def record_run(state_dir: str, job: str, result: dict[str, Any]) -> dict[str, Any]:
    """Store ``result`` as the last run (and as the last success when its status is ok or partial).

    Returns the new state, which also counts consecutive failures and says whether this
    run recovered from a failure (``recovered``).
    """
    previous = load_state(state_dir, job)
    last = previous.get("last_run") or {}
    succeeded = result.get("status") in ("ok", "partial")
    failures = 0 if succeeded else int(previous.get("consecutive_failures", 0)) + 1
    state: dict[str, Any] = {
        "version": STATE_VERSION,
        "job": job,
        "last_run": result,
        "last_success": result if succeeded else previous.get("last_success"),
        "consecutive_failures": failures,
        "recovered": bool(succeeded and last and last.get("status") not in ("ok", "partial", None)),
    }
    try:
        os.makedirs(state_dir, mode=0o750, exist_ok=True)
    except OSError as exc:
        raise SmgrError(f"cannot create state directory {state_dir}: {exc.strerror}") from exc
    write_atomic(state_path(state_dir, job), (json.dumps(state, indent=2, sort_keys=True) + "\n").encode(), STATE_MODE)
    return state


def previous_status(state_dir: str, job: str) -> str | None:
    last = load_state(state_dir, job).get("last_run") or {}
    return last.get("status")
