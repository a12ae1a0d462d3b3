# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Running other programs: the C-locale environment, a bounded tail of their output, and a command run in its
own session under a timeout whose whole process group is killed when it expires (or when this process is
interrupted), so no grandchild of a hook or helper script keeps writing after its run ended."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

TAIL_WINDOW = 64 * 1024  # bytes read from the end of an output file to find its last lines


def subprocess_env() -> dict[str, str]:
    """Tools run in the C locale so file names pass through as bytes and messages are stable."""
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    env.pop("LANGUAGE", None)
    return env


def matching_lines(handle: IO[bytes], pattern: re.Pattern[str], limit: int = 20) -> list[str]:
    """The first ``limit`` distinct lines of a seekable binary file that ``pattern`` matches, read as a stream."""
    handle.seek(0)
    found: list[str] = []
    for raw in handle:
        line = raw.decode("utf-8", "backslashreplace").strip()
        if line and pattern.search(line) and line not in found:
            found.append(line)
            if len(found) == limit:
                break
    return found


def last_lines(text: str, count: int) -> list[str]:
    """The last ``count`` non-blank lines of ``text``."""
    return [line for line in text.splitlines() if line.strip()][-count:]


def tail_lines(handle: IO[bytes], count: int) -> list[str]:
    """The last ``count`` non-blank lines of a seekable binary file (its last 64 KiB are read)."""
    handle.seek(0, os.SEEK_END)
    handle.seek(max(0, handle.tell() - TAIL_WINDOW))
    return last_lines(handle.read().decode("utf-8", "backslashreplace"), count)


@dataclass(frozen=True)
class SessionResult:
    """How a command run by :func:`run_in_session` ended: its exit status (None when its time ran out and its
    process group was killed), the last lines of its combined stdout and stderr, and the lines anywhere in it
    that match the caller's pattern (``notable``: error lines a long listing would push out of the tail)."""

    status: int | None
    tail: list[str]
    notable: list[str] = field(default_factory=list)

    @property
    def timed_out(self) -> bool:
        return self.status is None


GRACE_SECONDS = 5.0  # between SIGTERM and SIGKILL when a group is ended: borg releases its lock, hooks clean up


def _end_group(process: subprocess.Popen) -> None:
    """SIGTERM to the process's whole group, SIGKILL to what is left after GRACE_SECONDS, then reap it."""
    with contextlib.suppress(OSError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(OSError):
        os.killpg(process.pid, signal.SIGKILL)  # also a helper that outlived its parent
    process.wait()


@contextlib.contextmanager
def _own_session(argv: Sequence[str], **popen: Any) -> Iterator[subprocess.Popen]:
    """``Popen(argv)`` in a new session; when the block raises (a timeout, an interruption of this process), the
    whole process group is ended before the exception propagates. Raises OSError when ``argv`` cannot start."""
    process = subprocess.Popen(list(argv), start_new_session=True, **popen)
    with process:
        try:
            yield process
        except BaseException:
            _end_group(process)
            raise


def run_in_session(
    argv: Sequence[str],
    timeout: float,
    tail: int,
    env: Mapping[str, str] | None = None,
    cwd: str | None = "/",
    notable: re.Pattern[str] | None = None,
) -> SessionResult:
    """Run ``argv`` in a new session with stdin from /dev/null and stdout+stderr into a temporary file.

    When ``timeout`` seconds pass, or this process is interrupted meanwhile (then the exception propagates),
    the whole process group is ended (SIGTERM, SIGKILL after GRACE_SECONDS) and waited for. Raises OSError
    when ``argv`` cannot start.
    """
    with tempfile.TemporaryFile() as output:
        status: int | None
        try:
            with _own_session(
                argv,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            ) as process:
                status = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            status = None
        return SessionResult(status, tail_lines(output, tail), matching_lines(output, notable) if notable else [])


def capture_in_session(
    argv: Sequence[str],
    timeout: float | None,
    input_text: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    binary: bool = False,
) -> subprocess.CompletedProcess:
    """``subprocess.run(argv, capture_output=True)`` in a new session: stdout and stderr whole and apart (a JSON
    report on stdout), for a tool that starts helpers of its own (borg starts ssh).

    When ``timeout`` seconds pass (then subprocess.TimeoutExpired) or this process is interrupted, the whole
    process group is ended as by :func:`run_in_session` before the exception propagates; ``subprocess.run``
    kills only the child and leaves its helpers running. Raises OSError when ``argv`` cannot start.
    """
    with _own_session(
        argv,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=not binary,
        errors=None if binary else "backslashreplace",
    ) as process:
        stdout, stderr = process.communicate(input_text, timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def command_lines(proc: str = "/proc") -> Iterator[tuple[int, list[bytes]]]:
    """``(pid, argv)`` of every process whose command line can be read (a kernel thread's is empty)."""
    try:
        entries = os.listdir(proc)
    except OSError:
        return
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(os.path.join(proc, entry, "cmdline"), "rb") as handle:
                argv = [arg for arg in handle.read().split(b"\0") if arg]
        except OSError:
            continue
        yield int(entry), argv


def process_running(names: Collection[str], proc: str = "/proc") -> bool:
    """Whether a process whose name (``/proc/<pid>/comm``) is one of ``names`` runs."""
    try:
        entries = os.listdir(proc)
    except OSError:
        return False
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(os.path.join(proc, entry, "comm"), encoding="utf-8", errors="replace") as handle:
                if handle.read().strip() in names:
                    return True
        except OSError:
            continue
    return False


@dataclass(frozen=True)
class Captured:
    """How a short command ended (:func:`run_captured`): 127 when it is not installed, 124 when it timed out."""

    status: int
    stdout: str
    stderr: str

    def last_line(self) -> str:
        """The last line it said (stderr first), or its exit status."""
        lines = (self.stderr or self.stdout).strip().splitlines()
        return lines[-1] if lines else f"exit {self.status}"


def run_captured(
    argv: Sequence[str], timeout: float, cwd: str | None = None, extra_env: Mapping[str, str] | None = None
) -> Captured:
    """A short command (a status query, a cleanup) in the C locale (plus ``extra_env``) with its output kept;
    never raises for a missing program or a timeout."""
    try:
        completed = subprocess.run(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="backslashreplace",
            env={**subprocess_env(), **(extra_env or {})},
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        return Captured(127, "", f"{argv[0]}: not installed")
    except subprocess.TimeoutExpired:
        return Captured(124, "", f"{' '.join(argv[:3])} did not answer within {timeout:g}s")
    return Captured(completed.returncode, completed.stdout, completed.stderr)
