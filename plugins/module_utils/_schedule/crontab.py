# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render and parse the cron entries smgr owns: a whole cron file, or a marked block in a user's crontab.

Expressions arrive already expanded (see ``_cron.py``); this module only turns job records into the
exact text cron reads, and that text back into the same records.

File format (both targets)
==========================
Every job is two lines, a marker and the job line::

    # smgr-job: {"name": "nginx", "schedule": "daily_2am"}
    0 2 * * * root mkdir -p -m 0700 '/run/lock/smgr' && test -O '/run/lock/smgr' && flock -n ...

- The marker carries what the job line cannot: the name and the schedule as the user gave it. It is
  JSON (sorted keys, ASCII only), so any schedule text is unambiguous and stays on one line; cron
  ignores comment lines entirely, so nothing in it reaches a shell.
- A disabled job keeps both lines, the job line commented out as ``#smgr-disabled: <job line>``.
- The owned cron file (``/etc/cron.d/smgr``) starts with a header comment, then the environment
  (``NAME=value``), then the jobs sorted by name, separated by blank lines. Its job lines carry the
  user field. The same records always give byte-identical text.
- In a user's crontab the jobs and their environment sit between ``# BEGIN smgr.server_manager
  managed block`` and ``# END smgr.server_manager managed block``, without the user field.

The command as cron runs it
===========================
Cron hands the text after the time (and user) fields to ``$SHELL -c`` after its own ``%`` processing:
an unescaped ``%`` ends the command (the rest becomes stdin), ``\\%`` is a literal ``%``, and Debian's
cron also reads ``\\\\`` as one backslash while other crons keep both. The user's command is therefore
never written raw: it is one shell word, single-quoted, and run by the shell as a string:

- ``prevent_overlap``:
  ``mkdir -p -m 0700 DIR && test -O DIR && test ! -h DIR && flock -n DIR/NAME.lock -c 'CMD'``.
  ``flock -c`` runs ``$SHELL -c 'CMD'``: the same shell cron would use, with the whole command
  (pipes, ``&&``, ``;``, comments) under the lock; ``flock -n LOCK CMD`` would lock only the first
  simple command of a pipeline or list. ``/run`` is a tmpfs emptied at boot, so the line creates the
  lock directory itself (0700); ``test -O``/``test ! -h`` refuse to run when somebody else created
  it (or a symlink) first: ``/run/lock`` is world-writable, and that user could otherwise plant
  symlinks for root to follow. Such a refusal is silent (exit 1, no output).
  Root's jobs lock under ``lock_dir``, another user's under ``lock_dir-USER`` (one user cannot
  create files in another's 0700 directory).
- no lock: ``eval 'CMD'``: the cron shell itself runs the string, exactly as if it were the raw line.
- ``log``: ``... >> 'LOG' 2>&1``, around the whole thing (``{ ...; }`` for the locked form), so the
  output of every part of the command lands in the log, not only that of its last simple command.
- Quoting: ``'`` is written as ``'\\''``, every ``%`` becomes ``\\%`` for cron, and an empty ``''`` is
  put between a backslash and a following backslash or ``%``, so the file never holds two adjacent
  backslashes nor a backslash before the ``\\%`` escape: every cron reads it the same way.
- Cron ignores the whole file when one command is longer than 998 characters, and truncates
  environment lines; both limits are checked here.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import subprocess
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import quote

from ansible_collections.smgr.server_manager.plugins.module_utils._common.atomic import remove_file, write_atomic
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError

DEFAULT_LOCK_DIR = "/run/lock/smgr"
DEFAULT_ENV = {
    "SHELL": "/bin/bash",
    "PATH": "/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin",
    "MAILTO": "root",
}
DEFAULT_HEADER = (
    "Managed by the Ansible collection smgr.server_manager (smgr_schedule). Do not edit:\n"
    "changes made here are overwritten on the next run. Each job is a '# smgr-job:' marker\n"
    "line followed by its cron line; '#smgr-disabled: ' marks a disabled job."
)
BLOCK_BEGIN = "# BEGIN smgr.server_manager managed block"
BLOCK_END = "# END smgr.server_manager managed block"
MARKER_PREFIX = "# smgr-job: "
DISABLED_PREFIX = "#smgr-disabled: "

# cron (Debian 3.0pl1) rejects a command part longer than this and then ignores the whole file;
# it silently truncates longer environment lines.
MAX_COMMAND_CHARS = 998
MAX_ENV_LINE_CHARS = 998

CRONTAB_COMMAND = "crontab"
CRONTAB_TIMEOUT = 60

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_USER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CRON_FILE_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")
_MACROS = ("@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_FIELD_RE = re.compile(r"[0-9A-Za-z*,/-]+")
_BACKUP_STAMP_FORMAT = "%Y%m%dT%H%M%S.%fZ"
_BACKUP_STAMP_RE = r"\d{8}T\d{6}\.\d{6}Z"

# The shell text of a command part (after cron's own unescaping). WORD is one single-quoted word
# as _shell_word writes it: quoted segments and \' between them.
_WORD = r"(?:'[^']*'|\\')+"
_LOCKED = (
    rf"mkdir -p -m 0700 (?P<dir>{_WORD}) && test -O (?P<dir2>{_WORD}) && test ! -h (?P<dir3>{_WORD}) && "
    rf"flock -n (?P<lock>{_WORD}) -c (?P<cmd>{_WORD})"
)
_LOG = rf" >> (?P<log>{_WORD}) 2>&1"
# A logged entry runs in a subshell that opens its log with umask 027 (mode 0640: logs may hold what a job
# prints), then gives the job cron's umask back. Lines written before 0.2.0 (log opened by a plain redirection)
# still parse.
LOG_FILE_UMASK = "027"
_LOG_OPEN = rf'\(o=\$\(umask\); umask {LOG_FILE_UMASK}; exec >> (?P<log>{_WORD}) 2>&1; umask "\$o"; '
_SHAPES = (
    (True, False, re.compile(_LOCKED)),
    (True, True, re.compile(rf"{_LOG_OPEN}{_LOCKED}\)")),
    (False, True, re.compile(rf"{_LOG_OPEN}eval (?P<cmd>{_WORD})\)")),
    (True, True, re.compile(rf"\{{ {_LOCKED}; \}}{_LOG}")),
    (False, True, re.compile(rf"eval (?P<cmd>{_WORD}){_LOG}")),
    (False, False, re.compile(rf"eval (?P<cmd>{_WORD})")),
)
_WORD_TOKEN_RE = re.compile(r"'([^']*)'|\\'")
_LINE_WITH_USER_RE = re.compile(r"(?P<expr>@[a-z]+|\S+ \S+ \S+ \S+ \S+) (?P<user>\S+) (?P<cmd>.+)")
_LINE_WITHOUT_USER_RE = re.compile(r"(?P<expr>@[a-z]+|\S+ \S+ \S+ \S+ \S+) (?P<cmd>.+)")
_ENV_LINE_RE = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)")


@dataclass(frozen=True)
class CronJob:
    """One managed cron job. ``expression`` is what cron reads; ``schedule`` is what the user wrote."""

    name: str
    expression: str
    command: str
    schedule: str
    user: str = "root"
    log: str | None = None
    prevent_overlap: bool = True
    disabled: bool = False


@dataclass
class ParsedCron:
    """What a cron file or a managed block holds.

    ``unmanaged`` lists the lines that are not smgr's (hand edits, broken markers): the owned file
    is rewritten without them, so a caller can warn before that happens.
    """

    env: dict[str, str] = field(default_factory=dict)
    jobs: list[CronJob] = field(default_factory=list)
    header: str | None = None
    unmanaged: list[str] = field(default_factory=list)


# --- validation -------------------------------------------------------------------------------


def control_characters(text: str) -> list[str]:
    """Return the control characters in ``text`` (newline, CR, NUL, DEL, C1, ...) as ``U+XXXX`` names."""
    return sorted({f"U+{ord(ch):04X}" for ch in text if unicodedata.category(ch) == "Cc"})


def _require_str(value: object, job: str | None, field_name: str) -> str:
    if not isinstance(value, str):
        raise SmgrError(f"must be a string, got {type(value).__name__}", job=job, field=field_name)
    return value


def _reject_control(text: str, job: str | None, field_name: str) -> None:
    found = control_characters(text)
    if found:
        raise SmgrError(
            f"must not contain control characters (newline, CR, NUL, ...); found {', '.join(found)}",
            job=job,
            field=field_name,
        )


def validate_name(name: object) -> str:
    """Return ``name`` if it can name a job (it becomes part of a lock file name), else raise."""
    job = name if isinstance(name, str) else None
    text = _require_str(name, job, "name")
    if not _NAME_RE.fullmatch(text):
        raise SmgrError(
            "must be 1-64 characters of letters, digits, '_', '.' and '-', starting with a letter or digit",
            job=text,
            field="name",
        )
    return text


def validate_user(user: object, job: str | None = None, field_name: str = "user") -> str:
    """Return ``user`` if it is a portable POSIX user name, else raise."""
    text = _require_str(user, job, field_name)
    if not _USER_RE.fullmatch(text):
        raise SmgrError(
            f"{text!r} is not a valid user name (letters, digits, '_', '.', '-'; at most 32; "
            "not starting with a digit, '.' or '-')",
            job=job,
            field=field_name,
        )
    return text


def validate_expression(expression: object, job: str | None = None) -> str:
    """Return ``expression`` if it has the shape cron reads (5 fields or a macro), else raise.

    Field values are checked by ``_cron.py``; here only what keeps the line intact: single spaces,
    no characters outside cron's field syntax.
    """
    text = _require_str(expression, job, "expression")
    if text.startswith("@"):
        if text not in _MACROS:
            raise SmgrError(
                f"unknown cron macro {text!r}; use one of {', '.join(_MACROS)}", job=job, field="expression"
            )
        return text
    fields = text.split(" ")
    if len(fields) != 5 or not all(_FIELD_RE.fullmatch(part) for part in fields):
        raise SmgrError(
            f"{text!r} is not an expanded cron expression (5 fields separated by single spaces)",
            job=job,
            field="expression",
        )
    return text


def validate_command(command: object, job: str | None = None) -> str:
    """Return ``command`` if cron can run it as written, else raise."""
    text = _require_str(command, job, "command")
    if not text.strip():
        raise SmgrError("must not be empty", job=job, field="command")
    _reject_control(text, job, "command")
    if text.startswith("-"):
        raise SmgrError("must not start with '-' (the shell would read it as an option)", job=job, field="command")
    return text


def validate_absolute_path(path: object, job: str | None, field_name: str) -> str:
    """Return ``path`` if it is an absolute path to a file (not a directory), else raise."""
    text = _require_str(path, job, field_name)
    _reject_control(text, job, field_name)
    if not text.startswith("/"):
        raise SmgrError(f"{text!r} must be an absolute path", job=job, field=field_name)
    if text.endswith("/") or os.path.basename(text) in (".", ".."):
        raise SmgrError(f"{text!r} must name a file, not end with '/', '.' or '..'", job=job, field=field_name)
    return text


def validate_lock_dir(lock_dir: object) -> str:
    """Return ``lock_dir`` if it is an absolute directory path without a trailing '/', else raise."""
    return validate_absolute_path(lock_dir, None, "lock_dir")


def validate_schedule(schedule: object, job: str | None = None) -> str:
    """Return ``schedule`` (kept for the record only) if it is a one-line, non-empty string, else raise."""
    text = _require_str(schedule, job, "schedule")
    if not text.strip():
        raise SmgrError("must not be empty", job=job, field="schedule")
    _reject_control(text, job, "schedule")
    return text


def validate_job(job: CronJob, lock_dir: str = DEFAULT_LOCK_DIR) -> CronJob:
    """Return ``job`` if every field can be written to cron exactly, else raise naming job and field."""
    name = validate_name(job.name)
    validate_expression(job.expression, name)
    validate_command(job.command, name)
    validate_schedule(job.schedule, name)
    validate_user(job.user, name)
    if job.log is not None:
        validate_absolute_path(job.log, name, "log")
    for flag in ("prevent_overlap", "disabled"):
        if not isinstance(getattr(job, flag), bool):
            raise SmgrError(f"must be true or false, got {getattr(job, flag)!r}", job=name, field=flag)
    length = len(render_command(job, lock_dir))
    if length > MAX_COMMAND_CHARS:
        raise SmgrError(
            f"is too long for cron: {length} characters once quoted (with lock and log), cron accepts "
            f"at most {MAX_COMMAND_CHARS} and would ignore the whole file",
            job=name,
            field="command",
        )
    return job


def validate_jobs(jobs: Iterable[CronJob], lock_dir: str = DEFAULT_LOCK_DIR) -> list[CronJob]:
    """Return the jobs sorted by name after validating each and refusing duplicate names."""
    validate_lock_dir(lock_dir)
    seen: set[str] = set()
    result = []
    for job in jobs:
        validate_job(job, lock_dir)
        if job.name in seen:
            raise SmgrError("is listed more than once", job=job.name, field="name")
        seen.add(job.name)
        result.append(job)
    return sorted(result, key=lambda item: item.name)


def validate_env(env: object) -> dict[str, str]:
    """Return ``env`` if every variable can be written as a cron environment line, else raise."""
    if not isinstance(env, dict):
        raise SmgrError(f"must be a mapping of variable names to values, got {type(env).__name__}", field="env")
    for name, value in env.items():
        if not isinstance(name, str) or not _ENV_NAME_RE.fullmatch(name):
            raise SmgrError(f"{name!r} is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)", field="env")
        where = f"env.{name}"
        text = _require_str(value, None, where)
        _reject_control(text, None, where)
        if text != text.strip():
            raise SmgrError("must not start or end with whitespace (cron strips it)", field=where)
        if text[:1] in ("'", '"'):
            raise SmgrError("must not start with a quote character (cron strips quotes)", field=where)
        if len(render_env_line(name, text)) > MAX_ENV_LINE_CHARS:
            raise SmgrError(f"is too long: cron truncates lines over {MAX_ENV_LINE_CHARS} characters", field=where)
    return env


def validate_cron_file(path: object) -> str:
    """Return ``path`` if cron reads a file of that name (run-parts rules: no dots), else raise."""
    text = validate_absolute_path(path, None, "cron_file")
    base = os.path.basename(text)
    if not _CRON_FILE_NAME_RE.fullmatch(base):
        raise SmgrError(
            f"file name {base!r} is skipped by cron: use only letters, digits, '_' and '-' (no dots)",
            field="cron_file",
        )
    return text


# --- quoting ----------------------------------------------------------------------------------


def _shell_word(text: str) -> str:
    """Return ``text`` as one single-quoted shell word that is safe to pass through cron's escaping."""
    out = ["'"]
    previous = ""
    for char in text:
        if char == "'":
            out.append("'\\''")
            previous = "'"
            continue
        if previous == "\\" and char in "\\%":
            out.append("''")
        out.append(char)
        previous = char
    out.append("'")
    return "".join(out)


def _unquote_word(word: str) -> str:
    return "".join(match.group(1) if match.group(1) is not None else "'" for match in _WORD_TOKEN_RE.finditer(word))


def _cron_escape(shell_text: str) -> str:
    """Return the text to put in the cron line so that cron hands ``shell_text`` to the shell."""
    return shell_text.replace("%", "\\%")


def _cron_unescape(line_text: str) -> str | None:
    """Return what Debian's cron hands to the shell, or None if an unescaped ``%`` feeds stdin (not ours)."""
    out = []
    index = 0
    while index < len(line_text):
        char = line_text[index]
        if char == "\\" and index + 1 < len(line_text) and line_text[index + 1] in "\\%":
            out.append(line_text[index + 1])
            index += 2
            continue
        if char == "%":
            return None
        out.append(char)
        index += 1
    return "".join(out)


# --- rendering --------------------------------------------------------------------------------


def lock_dir_for(user: str, lock_dir: str = DEFAULT_LOCK_DIR) -> str:
    """Return the lock directory of ``user``'s jobs: ``lock_dir`` for root, ``lock_dir-USER`` otherwise."""
    return lock_dir if user == "root" else f"{lock_dir}-{user}"


def lock_path(job: CronJob, lock_dir: str = DEFAULT_LOCK_DIR) -> str:
    """Return the flock file of ``job``."""
    return f"{lock_dir_for(job.user, lock_dir)}/{job.name}.lock"


def render_command(job: CronJob, lock_dir: str = DEFAULT_LOCK_DIR) -> str:
    """Return the command part of ``job``'s cron line, exactly as written to the file."""
    command = _shell_word(job.command)
    if job.prevent_overlap:
        directory = _shell_word(lock_dir_for(job.user, lock_dir))
        locked = (
            f"mkdir -p -m 0700 {directory} && test -O {directory} && test ! -h {directory} && "
            f"flock -n {_shell_word(lock_path(job, lock_dir))} -c {command}"
        )
        shell_text = locked
    else:
        shell_text = f"eval {command}"
    if job.log is not None:
        shell_text = logged(shell_text, job.log)
    return _cron_escape(shell_text)


def logged(shell_text: str, log_file: str) -> str:
    """``shell_text`` in a subshell whose output goes to ``log_file``, opened with umask 027 (mode 0640)."""
    return f'(o=$(umask); umask {LOG_FILE_UMASK}; exec >> {_shell_word(log_file)} 2>&1; umask "$o"; {shell_text})'


def render_job_line(job: CronJob, lock_dir: str = DEFAULT_LOCK_DIR, with_user: bool = True) -> str:
    """Return the cron line of ``job`` (commented out when disabled), without the marker."""
    user = f" {job.user}" if with_user else ""
    line = f"{job.expression}{user} {render_command(job, lock_dir)}"
    return f"{DISABLED_PREFIX}{line}" if job.disabled else line


def render_marker(job: CronJob) -> str:
    """Return the marker comment that names ``job`` and keeps its schedule as given."""
    payload = json.dumps({"name": job.name, "schedule": job.schedule}, ensure_ascii=True, sort_keys=True)
    return f"{MARKER_PREFIX}{payload}"


def render_env_line(name: str, value: str) -> str:
    """Return ``NAME=value`` as cron reads it (an empty value needs quotes)."""
    return f'{name}=""' if value == "" else f"{name}={value}"


def _render_env(env: dict[str, str]) -> list[str]:
    return [render_env_line(name, value) for name, value in validate_env(env).items()]


def _render_jobs(jobs: Iterable[CronJob], lock_dir: str, with_user: bool) -> list[list[str]]:
    return [[render_marker(job), render_job_line(job, lock_dir, with_user)] for job in validate_jobs(jobs, lock_dir)]


def render_cron_file(
    jobs: Iterable[CronJob],
    env: dict[str, str] | None = None,
    header: str | None = None,
    lock_dir: str = DEFAULT_LOCK_DIR,
) -> str:
    """Return the whole owned cron file: header comment, environment, then the jobs sorted by name.

    ``env`` None means DEFAULT_ENV and ``header`` None means DEFAULT_HEADER; ``{}`` and ``""`` leave
    them out.
    """
    sections: list[list[str]] = []
    header = DEFAULT_HEADER if header is None else header
    if header:
        _reject_header(header)
        sections.append([f"# {line}".rstrip() for line in header.split("\n")])
    env_lines = _render_env(DEFAULT_ENV if env is None else env)
    if env_lines:
        sections.append(env_lines)
    sections.extend(_render_jobs(jobs, lock_dir, with_user=True))
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


def _reject_header(header: str) -> None:
    if control_characters(header.replace("\n", "")):
        raise SmgrError("must not contain control characters other than newlines", field="header")
    if any(line != line.strip() for line in header.split("\n")):
        raise SmgrError("lines must not start or end with whitespace", field="header")
    if any(f"# {line}".startswith(MARKER_PREFIX) for line in header.split("\n")):
        raise SmgrError("lines must not look like smgr job markers", field="header")


def render_block(jobs: Iterable[CronJob], env: dict[str, str] | None = None, lock_dir: str = DEFAULT_LOCK_DIR) -> str:
    """Return the managed block for a user's crontab, or "" when there are no jobs (no block at all).

    The crontab's owner runs the jobs, so the lines have no user field; give the jobs
    ``user=<crontab owner>`` so that the lock directory is one that user can create.
    """
    job_lines = _render_jobs(jobs, lock_dir, with_user=False)
    env_lines = _render_env(DEFAULT_ENV if env is None else env)
    if not job_lines:
        return ""
    lines = [BLOCK_BEGIN, *env_lines, *(line for pair in job_lines for line in pair), BLOCK_END]
    return "\n".join(lines) + "\n"


# --- parsing ----------------------------------------------------------------------------------


def _split_lines(text: str) -> list[str]:
    """Return the lines of ``text`` with their '\\n' endings (only '\\n' ends a line, as for cron)."""
    lines = text.split("\n")
    result = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        result.append(lines[-1])
    return result


def parse_env_value(raw: str) -> str:
    """Return the value cron gives a variable written as ``raw`` (surrounding blanks and quotes removed)."""
    value = raw.strip(" \t")
    if len(value) >= 2 and value[0] in ("'", '"') and value[-1] == value[0]:
        return value[1:-1]
    return value


def parse_command(command_part: str) -> tuple[str, bool, str | None] | None:
    """Return ``(command, prevent_overlap, log)`` for a command part smgr wrote, or None if it is not one."""
    shell_text = _cron_unescape(command_part)
    if shell_text is None:
        return None
    for prevent_overlap, has_log, pattern in _SHAPES:
        match = pattern.fullmatch(shell_text)
        if match:
            log = _unquote_word(match.group("log")) if has_log else None
            return _unquote_word(match.group("cmd")), prevent_overlap, log
    return None


def _parse_job(marker: str, line: str, with_user: bool, default_user: str) -> CronJob | None:
    try:
        payload = json.loads(marker[len(MARKER_PREFIX) :])
    except ValueError:
        return None
    if not isinstance(payload, dict) or set(payload) != {"name", "schedule"}:
        return None
    disabled = line.startswith(DISABLED_PREFIX)
    if disabled:
        line = line[len(DISABLED_PREFIX) :]
    match = (_LINE_WITH_USER_RE if with_user else _LINE_WITHOUT_USER_RE).fullmatch(line)
    if not match:
        return None
    parsed = parse_command(match.group("cmd"))
    if parsed is None:
        return None
    command, prevent_overlap, log = parsed
    job = CronJob(
        name=payload["name"],
        expression=match.group("expr"),
        command=command,
        schedule=payload["schedule"],
        user=match.group("user") if with_user else default_user,
        log=log,
        prevent_overlap=prevent_overlap,
        disabled=disabled,
    )
    try:
        validate_name(job.name)
        validate_expression(job.expression, job.name)
        validate_command(job.command, job.name)
        validate_schedule(job.schedule, job.name)
        validate_user(job.user, job.name)
        if job.log is not None:
            validate_absolute_path(job.log, job.name, "log")
    except SmgrError:
        return None
    return job


def _parse_entries(lines: list[str], with_user: bool, default_user: str, result: ParsedCron) -> None:
    """Fill ``result`` from ``lines`` (no line endings): env lines, marker + job line pairs, the rest unmanaged."""
    names: set[str] = set()
    index = 0
    while index < len(lines):
        line = lines[index]
        env_match = _ENV_LINE_RE.fullmatch(line)
        if not line.strip():
            pass
        elif line.startswith(MARKER_PREFIX) and index + 1 < len(lines):
            job = _parse_job(line, lines[index + 1], with_user, default_user)
            if job is not None and job.name not in names:
                names.add(job.name)
                result.jobs.append(job)
                index += 2
                continue
            result.unmanaged.append(line)
        elif env_match:
            result.env[env_match.group("name")] = parse_env_value(env_match.group("value"))
        else:
            result.unmanaged.append(line)
        index += 1


def parse_cron_file(text: str) -> ParsedCron:
    """Return the environment, jobs and header of an owned cron file (the inverse of render_cron_file).

    ``header`` is "" when the file has none, so that
    ``render_cron_file(parsed.jobs, parsed.env, parsed.header)`` gives the same text back.
    """
    lines = [line.rstrip("\n") for line in _split_lines(text)]
    header_lines = []
    while lines and lines[0].startswith("#") and not lines[0].startswith(MARKER_PREFIX):
        header_lines.append(lines.pop(0))
    result = ParsedCron(header="\n".join(line[2:] if line.startswith("# ") else line[1:] for line in header_lines))
    _parse_entries(lines, with_user=True, default_user="root", result=result)
    return result


def parse_block(block_text: str | None, user: str = "root") -> ParsedCron:
    """Return the environment and jobs of a managed block (the inverse of render_block).

    Lines in a crontab carry no user: the jobs get ``user`` (the crontab's owner).
    """
    result = ParsedCron()
    if not block_text:
        return result
    lines = [line.rstrip("\n") for line in _split_lines(block_text)]
    if lines[:1] == [BLOCK_BEGIN]:
        lines = lines[1:]
    if lines[-1:] == [BLOCK_END]:
        lines = lines[:-1]
    _parse_entries(lines, with_user=False, default_user=user, result=result)
    return result


# --- a user's crontab -------------------------------------------------------------------------


def split_managed_block(text: str) -> tuple[list[str], str | None, list[str]]:
    """Return ``(lines before, block text or None, lines after)``; lines keep their endings byte for byte."""
    lines = _split_lines(text)
    begins = [index for index, line in enumerate(lines) if line.rstrip("\n") == BLOCK_BEGIN]
    ends = [index for index, line in enumerate(lines) if line.rstrip("\n") == BLOCK_END]
    if not begins and not ends:
        return lines, None, []
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        numbers = ", ".join(str(index + 1) for index in sorted(begins + ends))
        raise SmgrError(
            f"the crontab's smgr.server_manager markers are broken (BEGIN/END lines at {numbers}); "
            f"keep exactly one '{BLOCK_BEGIN}' followed by one '{BLOCK_END}'",
            field="crontab_user",
        )
    begin, end = begins[0], ends[0]
    return lines[:begin], "".join(lines[begin : end + 1]), lines[end + 1 :]


def merge_managed_block(text: str, block: str | None) -> str:
    """Return ``text`` with its managed block replaced by ``block`` (removed when empty).

    Foreign lines keep their bytes and their order; the block goes to the END: environment lines in
    a crontab apply to every line after them, so our SHELL/PATH/MAILTO must not come before a line
    we do not own. (A foreign variable set earlier does reach our jobs unless the block sets it too.)
    """
    before, _old, after = split_managed_block(text)
    foreign = before + after
    if not block:
        return "".join(foreign)
    if not block.endswith("\n"):
        block += "\n"
    if foreign and not foreign[-1].endswith("\n"):
        foreign[-1] += "\n"
    return "".join(foreign) + block


def strip_crontab_header(text: str) -> str:
    """Return ``text`` without the 'DO NOT EDIT THIS FILE' header some crons print with ``crontab -l``."""
    lines = _split_lines(text)
    if lines and lines[0].startswith("# DO NOT EDIT THIS FILE"):
        count = 1
        while count < min(len(lines), 3) and lines[count].startswith("# ("):
            count += 1
        return "".join(lines[count:])
    return text


def _crontab_argv(user: str, *args: str) -> list[str]:
    validate_user(user, field_name="crontab_user")
    try:
        current = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        current = None
    # Only root may use -u; for one's own crontab it is not needed.
    return [CRONTAB_COMMAND, *args] if user == current else [CRONTAB_COMMAND, "-u", user, *args]


def _run_crontab(argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, LC_ALL="C")
    try:
        return subprocess.run(
            argv, input=stdin, capture_output=True, text=True, env=env, timeout=CRONTAB_TIMEOUT, check=False
        )
    except FileNotFoundError as exc:
        raise SmgrError(f"{argv[0]} not found: install cron", field="crontab_user") from exc
    except subprocess.TimeoutExpired as exc:
        raise SmgrError(f"{' '.join(argv)} did not finish within {CRONTAB_TIMEOUT} s", field="crontab_user") from exc


def _no_crontab(result: subprocess.CompletedProcess) -> bool:
    return result.returncode != 0 and "no crontab for" in result.stderr


def read_user_crontab(user: str) -> str:
    """Return ``user``'s crontab as ``crontab -l`` prints it, or "" when the user has none."""
    result = _run_crontab(_crontab_argv(user, "-l"))
    if _no_crontab(result):
        return ""
    if result.returncode != 0:
        raise SmgrError(f"cannot read the crontab of {user}: {result.stderr.strip()}", field="crontab_user")
    return strip_crontab_header(result.stdout)


def write_user_crontab(user: str, text: str) -> None:
    """Install ``text`` as ``user``'s crontab through crontab(1) (removing it when ``text`` is empty)."""
    if not text:
        result = _run_crontab(_crontab_argv(user, "-r"))
        if result.returncode != 0 and not _no_crontab(result):
            raise SmgrError(f"cannot remove the crontab of {user}: {result.stderr.strip()}", field="crontab_user")
        return
    if not text.endswith("\n"):
        text += "\n"
    result = _run_crontab(_crontab_argv(user, "-"), stdin=text)
    if result.returncode != 0:
        raise SmgrError(f"crontab refused the new crontab of {user}: {result.stderr.strip()}", field="crontab_user")


# --- job sets, change records -----------------------------------------------------------------


def merge_jobs(
    current: Iterable[CronJob], desired: Iterable[CronJob], exclusive: bool, absent: Iterable[str] = ()
) -> list[CronJob]:
    """Return the job set to write, sorted by name.

    Desired jobs replace current ones of the same name; with ``exclusive`` only the desired jobs
    remain; names in ``absent`` are removed.
    """
    absent_names = set(absent)
    wanted: dict[str, CronJob] = {}
    for job in desired:
        if job.name in wanted:
            raise SmgrError("is listed more than once", job=job.name, field="name")
        if job.name in absent_names:
            raise SmgrError("is listed both as present and as absent", job=job.name, field="state")
        wanted[job.name] = job
    result = {} if exclusive else {job.name: job for job in current}
    result.update(wanted)
    return [result[name] for name in sorted(result) if name not in absent_names]


def diff_summary(before_jobs: Iterable[CronJob], after_jobs: Iterable[CronJob]) -> dict[str, list[str]]:
    """Return the names of the jobs added, removed and changed between two job sets."""
    before = {job.name: job for job in before_jobs}
    after = {job.name: job for job in after_jobs}
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "changed": sorted(name for name in set(before) & set(after) if before[name] != after[name]),
    }


def _audit_value(value: str) -> str:
    # Percent-encode everything outside a small safe set: no space, newline, '=' or ',' can appear
    # raw, so a hostile name can neither add a field nor forge a second line.
    return quote(value, safe="/._-:@+")


def audit_line(when: datetime, target: str, summary: dict[str, list[str]], actor: str) -> str:
    """Return one audit log line (without newline) for a change of ``target``.

    ``when`` must carry a time zone: ``2026-11-28T10:00:00+00:00 target=/etc/cron.d/smgr added=a,b
    removed=c changed= by=ansible``.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("audit_line needs a timezone-aware datetime")
    parts = [when.isoformat(timespec="seconds"), f"target={_audit_value(target)}"]
    for key in ("added", "removed", "changed"):
        parts.append(f"{key}={','.join(_audit_value(name) for name in summary.get(key, []))}")
    parts.append(f"by={_audit_value(actor)}")
    return " ".join(parts)


# --- backups ----------------------------------------------------------------------------------


def backup_previous(path_or_label: str, content: bytes | None, backup_dir: str, keep: int, now: datetime) -> str | None:
    """Keep ``content`` (the previous file) as ``<backup_dir>/<basename>.<UTC timestamp>``, mode 0600.

    Then delete the oldest backups of that basename beyond ``keep``; other files are never touched.
    Returns the new backup's path, or None when there is nothing to keep (no previous content or
    ``keep`` is 0).
    """
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise SmgrError(f"must be a number of backups to keep (0 or more), got {keep!r}", field="backup")
    if content is None or keep == 0:
        return None
    base = os.path.basename(path_or_label.rstrip("/"))
    if not base or base.startswith(".") or control_characters(base):
        raise SmgrError(f"cannot name backups after {path_or_label!r}", field="backup")
    if now.tzinfo is None:
        raise ValueError("backup_previous needs a timezone-aware datetime")
    try:
        os.makedirs(backup_dir, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise SmgrError(f"cannot create {backup_dir}: {exc.strerror}", field="backup") from exc
    stamp = now.astimezone(timezone.utc).strftime(_BACKUP_STAMP_FORMAT)
    path = os.path.join(backup_dir, f"{base}.{stamp}")
    write_atomic(path, content, 0o600)
    for old in backups_of(base, backup_dir)[:-keep]:
        remove_file(os.path.join(backup_dir, old))
    return path


def backups_of(base: str, backup_dir: str) -> list[str]:
    """Return the file names of ``base``'s backups in ``backup_dir``, oldest first."""
    pattern = re.compile(rf"{re.escape(base)}\.{_BACKUP_STAMP_RE}")
    try:
        names = os.listdir(backup_dir)
    except FileNotFoundError:
        return []
    return sorted(
        name
        for name in names
        if pattern.fullmatch(name)
        and os.path.isfile(os.path.join(backup_dir, name))
        and not os.path.islink(os.path.join(backup_dir, name))
    )
