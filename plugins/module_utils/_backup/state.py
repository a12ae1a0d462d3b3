# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-job state: ``<state_dir>/<job>.json`` with the last run and the last success, written atomically.

Every update reads, changes and replaces the file under an exclusive lock of its own (``.<job>.json.lock``): a
run that is skipped because another holds the job's lock records its skip while that run records its result,
and neither may lose the other's update.

A state file that is there but does not parse reads as empty for what is shown (``load_state``), never as
"never ran" where that decides something (``known_state``, for ``borg_job.may_create``: a borg job's repository
that vanished must not be created anew). The next update keeps its bytes aside as ``<job>.json.unreadable``
and the new state carries ``unreadable_state`` until a run publishes an archive again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from typing import Any

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.runlog import iso, utc_now
from ansible_collections.smgr.server_manager.plugins.module_utils._common.atomic import read_bytes, write_atomic
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError

STATE_MODE = 0o640
STATE_VERSION = 2
# In a state written over one that did not parse: {"time", "copy"}; gone once a run publishes an archive again.
UNREADABLE_STATE = "unreadable_state"


def state_path(state_dir: str, job: str) -> str:
    return os.path.join(state_dir, f"{job}.json")


@contextlib.contextmanager
def _updating(state_dir: str, job: str) -> Iterator[None]:
    """Hold the job's state lock while its state is read, changed and written."""
    try:
        os.makedirs(state_dir, mode=0o750, exist_ok=True)
        fd = os.open(os.path.join(state_dir, f".{job}.json.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise SmgrError(f"cannot lock the state of {job} in {state_dir}: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _parsed(content: bytes | None) -> dict[str, Any] | None:
    """A state file's content: {} when there is no file, None when it is not a JSON object."""
    if content is None:
        return {}
    try:
        data = json.loads(content.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def load_state(state_dir: str, job: str) -> dict[str, Any]:
    """The job's state, or an empty dict when it never ran (or the file is unreadable JSON)."""
    return _parsed(read_bytes(state_path(state_dir, job))) or {}


def known_state(state_dir: str, job: str) -> dict[str, Any] | None:
    """The job's state ({} when it never ran), or None when its history is unknown: its file exists but cannot be
    read or parsed, or it replaced one that did not parse and no run has published an archive since. For the
    decisions where "unknown" must not pass for "never ran"."""
    try:
        state = _parsed(read_bytes(state_path(state_dir, job)))
    except SmgrError:
        return None
    return None if state is None or UNREADABLE_STATE in state else state


def _previous_state(state_dir: str, job: str) -> dict[str, Any]:
    """The state an update starts from. One that does not parse is kept aside (``<job>.json.unreadable``) and
    replaced by a state that says so, never by an empty one."""
    path = state_path(state_dir, job)
    content = read_bytes(path)
    if content is None:
        return {}
    previous = _parsed(content)
    if previous is not None:
        return previous
    copy = f"{path}.unreadable"
    write_atomic(copy, content, STATE_MODE)
    return {UNREADABLE_STATE: {"time": iso(utc_now()), "copy": copy}}


def record_run(state_dir: str, job: str, result: dict[str, Any]) -> dict[str, Any]:
    """Store a run's ``result`` in the job's state; return the new state.

    - ``last_run``: the last run that ran (a skipped one is ``last_skip``); ``last_success``: the last run whose
      every step succeeded (status ``ok``): a ``partial`` run - the archive is there, its off-site copy or
      retention failed - is not one, for health and for "recovered" alike.
    - ``last_local_success``: the last run that published an archive here (ok or partial);
      ``last_offsite_success``: the last run whose off-site copy was verified.
    - ``consecutive_failures`` (runs that were not ok), ``consecutive_offsite_failures``,
      ``consecutive_skips`` (runs skipped because the previous one still ran) and ``skips_total``.
    - ``recovered``: this run is ok and the previous run was not.
    Keys this function does not know (a drill's result) are kept.
    """
    with _updating(state_dir, job):
        return _record_run(state_dir, job, result)


def _record_run(state_dir: str, job: str, result: dict[str, Any]) -> dict[str, Any]:
    previous = _previous_state(state_dir, job)
    state: dict[str, Any] = dict(previous)
    state.update(version=STATE_VERSION, job=job)
    if result.get("status") == "skipped":
        state.update(
            last_skip=result,
            consecutive_skips=int(previous.get("consecutive_skips", 0)) + 1,
            skips_total=int(previous.get("skips_total", 0)) + 1,
            recovered=False,
        )
        return _write(state_dir, job, state)
    status = result.get("status")
    ok = status == "ok"
    offsite = result.get("offsite")
    last = previous.get("last_run") or {}
    offsite_failures = int(previous.get("consecutive_offsite_failures", 0))
    if offsite == "ok":
        offsite_failures = 0
    elif offsite == "failed":
        offsite_failures += 1
    state.update(
        last_run=result,
        last_success=result if ok else previous.get("last_success"),
        last_local_success=result if result.get("local") == "ok" else previous.get("last_local_success"),
        last_offsite_success=result if offsite == "ok" else previous.get("last_offsite_success"),
        consecutive_failures=0 if ok else int(previous.get("consecutive_failures", 0)) + 1,
        consecutive_offsite_failures=offsite_failures,
        consecutive_skips=0,
        recovered=bool(ok and last and last.get("status") != "ok"),
    )
    if result.get("local") == "ok":
        state.pop(UNREADABLE_STATE, None)  # the history is known again from this archive on
    return _write(state_dir, job, state)


def record_drill(state_dir: str, job: str, drill: dict[str, Any]) -> dict[str, Any]:
    """Store a restore drill's result as the job's ``last_drill`` (and ``last_good_drill`` when it passed)."""
    with _updating(state_dir, job):
        state = dict(_previous_state(state_dir, job))
        state.update(version=STATE_VERSION, job=job, last_drill=drill)
        if drill.get("status") == "ok":
            state["last_good_drill"] = drill
        return _write(state_dir, job, state)


def _write(state_dir: str, job: str, state: dict[str, Any]) -> dict[str, Any]:
    try:
        os.makedirs(state_dir, mode=0o750, exist_ok=True)
    except OSError as exc:
        raise SmgrError(f"cannot create state directory {state_dir}: {exc.strerror}") from exc
    write_atomic(state_path(state_dir, job), (json.dumps(state, indent=2, sort_keys=True) + "\n").encode(), STATE_MODE)
    return state
