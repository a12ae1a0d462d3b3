# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A scheduled job as systemd unit files: ``smgr-<name>.service`` and ``smgr-<name>.timer``.

The service runs the job's command once (``Type=oneshot``) with the cron environment's shell, opening the same
log file the cron entry would (umask 027: mode 0640) in the same way; the timer starts it at the
``OnCalendar=`` times of the job's cron expression (``calendar.on_calendar``). systemd never starts a second
copy of a running service, so no lock is needed. An ``@reboot`` job is a service started at boot
(``WantedBy=multi-user.target``) and has no timer, as cron runs such a line when the daemon starts.

Both files carry the marker that says they are ours. The service keeps the job as given in an ``X-Smgr-Job=``
line (systemd ignores keys starting with ``X-``): a job that is kept but not listed again, and the reports,
are read back from it, as the cron backend reads its marker comments.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.calendar import on_calendar
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.cron import REBOOT
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import CronJob, logged

UNIT_PREFIX = "smgr-"
MARKER = "# Managed by smgr.server_manager (smgr_schedule); changes here are overwritten."
JOB_KEY = "X-Smgr-Job="
IO_CLASSES = ("realtime", "best-effort", "idle")
DEFAULT_SHELL = "/bin/sh"
# cron-only variables: MAILTO is cron's mail of a job's output (a unit's output goes to its log file and the
# journal); SHELL is the interpreter of ExecStart= rather than a variable of the job.
CRON_ONLY_VARIABLES = ("MAILTO", "SHELL")
# Characters of a unit name besides letters and digits (systemd also allows '@' and '\\', which mean more).
_UNIT_NAME_RE = re.compile(r"[A-Za-z0-9:_.-]+")
_MANAGED_FILE_RE = re.compile(r"smgr-[A-Za-z0-9:_.-]+\.(?:service|timer)")
MAX_RANDOMIZED_DELAY = 7 * 24 * 3600
ACCURACY = "1s"


@dataclass(frozen=True)
class TimerJob:
    """A job of the systemd backend: the cron job (same schedule, command, user, log) and the timer's options."""

    job: CronJob
    persistent: bool = True
    randomized_delay: int | None = None
    nice: int | None = None
    io_class: str | None = None
    # The cron target whose configuration the job belongs to (its cron file, or crontab:<user>): a run for one
    # target never changes or removes the units of another in the same unit directory.
    owner: str = ""

    @property
    def name(self) -> str:
        return self.job.name

    @property
    def at_boot(self) -> bool:
        return self.job.expression == REBOOT

    @property
    def service_name(self) -> str:
        return f"{unit_base(self.name)}.service"

    @property
    def timer_name(self) -> str:
        return f"{unit_base(self.name)}.timer"

    @property
    def trigger_unit(self) -> str:
        """The unit that is enabled: the timer, or the service itself for a job run at boot."""
        return self.service_name if self.at_boot else self.timer_name


def unit_base(name: str) -> str:
    """``smgr-<name>``; a name with characters systemd's unit names do not take is refused, not escaped."""
    base = UNIT_PREFIX + name
    if not _UNIT_NAME_RE.fullmatch(base) or len(base) + len(".service") > 255:
        raise SmgrError(f"{name!r} cannot be part of a systemd unit name", job=name, field="name")
    return base


def is_managed_file_name(file_name: str) -> bool:
    return bool(_MANAGED_FILE_RE.fullmatch(file_name))


def systemd_quote(text: str) -> str:
    """One ExecStart= argument in double quotes: systemd reads C escapes there, and expands % specifiers and
    $VARIABLES in command lines, so ``\\``, ``"``, ``%`` and ``$`` are escaped or doubled."""
    if any(character in text for character in "\n\r\x00"):
        raise SmgrError("a command for a systemd unit must be one line")
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'


def environment_line(name: str, value: str) -> str:
    """``Environment="NAME=value"``: C escapes and % specifiers are read there, $VARIABLES are not."""
    escaped = f"{name}={value}".replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'Environment="{escaped}"'


def shell_script(command: str, log_file: str | None) -> str:
    """What the shell runs: the command, with its output appended to ``log_file`` opened as cron's entry
    opens it (umask 027 for the log, the service's umask for the job)."""
    shell_text = f"eval {shlex.quote(command)}"
    return logged(shell_text, log_file) if log_file is not None else shell_text


def check_timer_options(timer: TimerJob) -> TimerJob:
    """``timer`` if systemd can run it as asked, else SmgrError naming the job and field."""
    name = timer.name
    unit_base(name)
    if timer.nice is not None and not -20 <= timer.nice <= 19:
        raise SmgrError(f"must be between -20 and 19, got {timer.nice}", job=name, field="nice")
    if timer.io_class is not None and timer.io_class not in IO_CLASSES:
        raise SmgrError(f"must be one of {', '.join(IO_CLASSES)}, got {timer.io_class!r}", job=name, field="io_class")
    if timer.randomized_delay is not None and not 0 <= timer.randomized_delay <= MAX_RANDOMIZED_DELAY:
        raise SmgrError(
            f"must be from 0 to {MAX_RANDOMIZED_DELAY} seconds, got {timer.randomized_delay}",
            job=name,
            field="randomized_delay",
        )
    if any(character in timer.job.command for character in "\n\r\x00"):
        raise SmgrError("must be one line", job=name, field="command")
    return timer


def _shell(env: Mapping[str, str]) -> str:
    shell = env.get("SHELL") or DEFAULT_SHELL
    if not shell.startswith("/") or any(character.isspace() for character in shell):
        raise SmgrError(f"must be an absolute path without spaces for a systemd unit, got {shell!r}", field="env.SHELL")
    return shell


def _metadata(timer: TimerJob) -> str:
    fields = dict(asdict(timer.job), **{key: value for key, value in asdict(timer).items() if key != "job"})
    return JOB_KEY + json.dumps(fields, ensure_ascii=True, sort_keys=True, separators=(",", ":"))


def render_service(timer: TimerJob, env: Mapping[str, str]) -> str:
    job = timer.job
    # A job at boot runs like cron's @reboot line: started once, not waited for (boot goes on, and a job that keeps
    # running, or leaves children behind, keeps them); a timed job is one run that the timer waits for.
    kind = ["Type=exec", "KillMode=process"] if timer.at_boot else ["Type=oneshot"]
    lines = [MARKER, "[Unit]", f"Description=smgr job {job.name}", _metadata(timer), "", "[Service]", *kind]
    if job.user != "root":
        lines.append(f"User={job.user}")
    lines.append("WorkingDirectory=~")  # cron starts a job in its user's home directory
    lines += [environment_line(name, value) for name, value in env.items() if name not in CRON_ONLY_VARIABLES]
    lines.append(f"ExecStart={_shell(env)} -c {systemd_quote(shell_script(job.command, job.log))}")
    if timer.nice is not None:
        lines.append(f"Nice={timer.nice}")
    if timer.io_class is not None:
        lines.append(f"IOSchedulingClass={timer.io_class}")
    if timer.at_boot:
        lines += ["", "[Install]", "WantedBy=multi-user.target"]
    return "\n".join(lines) + "\n"


def render_timer(timer: TimerJob) -> str:
    lines = [MARKER, "[Unit]", f"Description=smgr job {timer.name} (timer)", "", "[Timer]"]
    lines += [f"OnCalendar={line}" for line in on_calendar(timer.job.expression, timer.name)]
    lines.append(f"Persistent={'true' if timer.persistent else 'false'}")
    if timer.randomized_delay:
        lines.append(f"RandomizedDelaySec={timer.randomized_delay}")
    # systemd's default accuracy (1 min) may start a run up to a minute late; cron starts it at the minute
    lines.append(f"AccuracySec={ACCURACY}")
    lines += ["", "[Install]", "WantedBy=timers.target"]
    return "\n".join(lines) + "\n"


def render_units(timer: TimerJob, env: Mapping[str, str]) -> dict[str, str]:
    """The unit files of one job by file name (a job run at boot has no timer)."""
    check_timer_options(timer)
    files = {timer.service_name: render_service(timer, env)}
    if not timer.at_boot:
        files[timer.timer_name] = render_timer(timer)
    return files


def parse_service(text: str) -> TimerJob | None:
    """The job a managed service file was written for (None when the file is not ours or its record is broken)."""
    if not text.startswith(MARKER + "\n"):
        return None
    for line in text.splitlines():
        if line.startswith(JOB_KEY):
            try:
                fields = json.loads(line[len(JOB_KEY) :])
                timer_keys = ("persistent", "randomized_delay", "nice", "io_class", "owner")
                options = {key: fields.pop(key) for key in timer_keys if key in fields}
                return TimerJob(CronJob(**fields), **options)
            except (ValueError, TypeError):
                return None
    return None
