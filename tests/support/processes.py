# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What runs on this machine, read from /proc: whether a process is alive, and which ssh clients run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from ansible_collections.smgr.server_manager.plugins.module_utils._common.process import command_lines


def process_name_and_state(pid: int) -> tuple[str, str] | None:
    """``(comm, state)`` from ``/proc/<pid>/stat`` (state ``Z`` for a zombie), or None when there is no such
    process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="backslashreplace") as handle:
            head, tail = handle.read().rsplit(")", 1)
    except (OSError, ValueError):
        return None
    return head.split("(", 1)[1], tail.split()[0]


def is_alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    found = process_name_and_state(pid)
    return found is not None and found[1] != "Z"


def running_pid(pid_file: str, name: str) -> int | None:
    """The PID in ``pid_file`` when a live process called ``name`` has it (a daemon someone else started)."""
    try:
        with open(pid_file, encoding="ascii") as handle:
            pid = int(handle.read().strip())
    except (OSError, ValueError):
        return None
    found = process_name_and_state(pid)
    return pid if found is not None and found[0] == name and found[1] != "Z" else None


def ssh_processes(port: int) -> list[int]:
    """Live ssh client processes whose command line names ``port``."""
    return [
        pid
        for pid, argv in command_lines()
        if argv and os.path.basename(argv[0]) == b"ssh" and str(port).encode() in argv and is_alive(pid)
    ]


def assert_ssh_ends(port: int, seconds: float = 10) -> None:
    """Every ssh client to ``port`` ends within ``seconds``; the ones left are killed and the test fails."""
    deadline = time.monotonic() + seconds
    while ssh_processes(port):
        if time.monotonic() > deadline:
            for pid in ssh_processes(port):
                os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"an ssh client to port {port} outlived the timeout")
        time.sleep(0.1)


def python_json(code: str, pythonpath: str) -> object:
    """What ``code`` prints as JSON, run by this interpreter in a fresh process with only ``pythonpath``
    (a directory or a zip) to import from besides the standard library and the virtualenv."""
    completed = subprocess.run(
        [sys.executable, "-c", code], env={"PYTHONPATH": pythonpath}, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)
