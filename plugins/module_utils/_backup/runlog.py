# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The runner's log: one line per event appended to ``<log_dir>/smgr.log``, echoed to stderr.

Line format (documented in docs/runner.md)::

    2026-01-01T02:00:03Z smgr[4242] INFO backup nginx: published host-nginx-20260101T020000Z.tar.zst (1.2 MiB)

The lines of the current run are also kept (bounded) for the failure
notification's log tail. Logging never fails a run: an unwritable log file is
reported once on stderr and the run goes on.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from datetime import datetime, timezone
from typing import TextIO

LOG_FILE = "smgr.log"
LOG_MODE = 0o640
ROTATE_BYTES = 5 * 1024 * 1024
ROTATE_KEEP = 4
TAIL_LINES = 40


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _one_line(text: str) -> str:
    return " ".join(text.replace("\r", " ").split("\n")).rstrip()


class RunLog:
    """Appends to the log file; ``echo`` writes the same lines to a stream (stderr for cron's redirect)."""

    def __init__(self, log_dir: str | None, verb: str, echo: TextIO | None = None) -> None:
        self.path = os.path.join(log_dir, LOG_FILE) if log_dir else None
        self.verb = verb
        self.echo = echo if echo is not None else sys.stderr
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._broken = False

    def _write(self, line: str) -> None:
        if self.path is None or self._broken:
            return
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o750, exist_ok=True)
            self._rotate()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, LOG_MODE)
            try:
                os.write(fd, (line + "\n").encode("utf-8", "backslashreplace"))
            finally:
                os.close(fd)
        except OSError as exc:
            self._broken = True
            self.echo.write(f"smgr: cannot write the log {self.path}: {exc.strerror}\n")

    def _rotate(self) -> None:
        try:
            if os.path.getsize(self.path) < ROTATE_BYTES:
                return
        except OSError:
            return
        for index in range(ROTATE_KEEP - 1, 0, -1):
            older = f"{self.path}.{index}"
            if os.path.exists(older):
                os.replace(older, f"{self.path}.{index + 1}")
        os.replace(self.path, f"{self.path}.1")

    def log(self, level: str, job: str | None, message: str) -> str:
        where = f"{self.verb} {job}" if job else self.verb
        line = f"{iso(utc_now())} smgr[{os.getpid()}] {level} {where}: {_one_line(message)}"
        self.tail.append(line)
        self._write(line)
        if self.echo is not None:
            self.echo.write(line + "\n")
            self.echo.flush()
        return line

    def info(self, job: str | None, message: str) -> None:
        self.log("INFO", job, message)

    def warning(self, job: str | None, message: str) -> None:
        self.log("WARNING", job, message)

    def error(self, job: str | None, message: str) -> None:
        self.log("ERROR", job, message)

    def tail_lines(self) -> list[str]:
        return list(self.tail)
