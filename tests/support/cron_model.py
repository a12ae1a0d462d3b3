# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What cron does with a line, modelled independently of the module, for tests that compare against it."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager


def cron_hands_to_shell(command_part: str, debian: bool = True) -> str:
    """What cron passes to ``$SHELL -c``: a model of do_command.c.

    A backslash escapes '%' (and, on Debian, a backslash); the first unescaped '%' ends the command (the rest would
    be standard input).
    """
    out: list[str] = []
    escaped = False
    for char in command_part:
        if escaped:
            escaped = False
            if char == "%" or (debian and char == "\\"):
                out[-1] = char
                continue
            out.append(char)
            continue
        if char == "%":
            break
        out.append(char)
        escaped = char == "\\"
    return "".join(out)


@contextmanager
def throwaway_user(prefix: str = "smgrt") -> Iterator[str]:
    """A system user for crontab(1) tests, removed (with its crontab) afterwards."""
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["crontab", "-r", "-u", name], capture_output=True, check=False)
        subprocess.run(["userdel", name], check=True)
