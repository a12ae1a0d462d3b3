# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A scheduled job as a systemd service and timer pair (groundwork for a timer backend of smgr_schedule).

``smgr-<name>.service`` runs the job's command once (``Type=oneshot``) through ``/bin/sh -c``, opening the same
log file the cron entry would (umask 027: mode 0640) in the same way; ``smgr-<name>.timer`` starts it at the
``OnCalendar=`` times of the job's cron expression (``calendar.on_calendar``). systemd never starts a second
copy of a running service, so no lock is needed. Both files carry the marker that says they are ours.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.calendar import on_calendar
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import logged

UNIT_PREFIX = "smgr-"
MARKER = "# Managed by smgr.server_manager (smgr_schedule); changes here are overwritten."
IO_CLASSES = ("realtime", "best-effort", "idle")
# Characters of a unit name besides letters and digits (systemd also allows '@' and '\\', which mean more).
_UNIT_NAME_RE = re.compile(r"[A-Za-z0-9:_.-]+")


@dataclass(frozen=True)
class TimerUnits:
    service_name: str
    timer_name: str
    service: str
    timer: str


def unit_base(name: str) -> str:
    """``smgr-<name>``; a name with characters systemd's unit names do not take is refused, not escaped."""
    base = UNIT_PREFIX + name
    if not _UNIT_NAME_RE.fullmatch(base) or len(base) + len(".service") > 255:
        raise SmgrError(f"{name!r} cannot be part of a systemd unit name", job=name, field="name")
    return base


def systemd_quote(text: str) -> str:
    """One ExecStart= argument in double quotes: systemd reads C escapes there, and expands % specifiers and
    $VARIABLES in command lines, so ``\\``, ``"``, ``%`` and ``$`` are escaped or doubled."""
    if any(character in text for character in "\n\r\x00"):
        raise SmgrError("a command for a systemd unit must be one line")
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'


def shell_script(command: str, log_file: str | None) -> str:
    """What ``/bin/sh -c`` runs: the command, with its output appended to ``log_file`` opened as cron's entry
    opens it (umask 027 for the log, the service's umask for the job)."""
    shell_text = f"eval {shlex.quote(command)}"
    return logged(shell_text, log_file) if log_file is not None else shell_text


def render_units(
    name: str,
    expression: str,
    command: str,
    log_file: str | None = None,
    nice: int | None = None,
    io_class: str | None = None,
    persistent: bool = True,
    randomized_delay: int | None = None,
) -> TimerUnits:
    """The service and timer files of one job; ``expression`` is the job's written cron expression."""
    base = unit_base(name)
    if nice is not None and not -20 <= nice <= 19:
        raise SmgrError(f"nice must be between -20 and 19, got {nice}", job=name, field="nice")
    if io_class is not None and io_class not in IO_CLASSES:
        raise SmgrError(f"must be one of {', '.join(IO_CLASSES)}, got {io_class!r}", job=name, field="io_class")
    if randomized_delay is not None and randomized_delay < 0:
        raise SmgrError("must be 0 or more seconds", job=name, field="randomized_delay")
    calendar = on_calendar(expression, name)
    service = [
        MARKER,
        "[Unit]",
        f"Description=smgr job {name}",
        "",
        "[Service]",
        "Type=oneshot",
        f"ExecStart=/bin/sh -c {systemd_quote(shell_script(command, log_file))}",
    ]
    if nice is not None:
        service.append(f"Nice={nice}")
    if io_class is not None:
        service.append(f"IOSchedulingClass={io_class}")
    timer = [MARKER, "[Unit]", f"Description=smgr job {name} (timer)", "", "[Timer]"]
    timer += [f"OnCalendar={line}" for line in calendar]
    timer.append(f"Persistent={'true' if persistent else 'false'}")
    if randomized_delay:
        timer.append(f"RandomizedDelaySec={randomized_delay}")
    timer += ["", "[Install]", "WantedBy=timers.target"]
    return TimerUnits(f"{base}.service", f"{base}.timer", "\n".join(service) + "\n", "\n".join(timer) + "\n")
