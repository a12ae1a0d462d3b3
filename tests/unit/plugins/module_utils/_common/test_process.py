# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_common.process: the one helper that runs a command in its own session, and the one tail reader."""

from __future__ import annotations

import io
import os
import subprocess
import time

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._common import process
from ansible_collections.smgr.server_manager.plugins.module_utils._common.process import (
    capture_in_session,
    run_in_session,
    subprocess_env,
    tail_lines,
)
from ansible_collections.smgr.server_manager.tests.support.processes import is_alive


def test_tail_lines_keeps_the_last_non_blank_lines():
    handle = io.BytesIO(b"one\n\n  \ntwo\nthree\n")
    assert tail_lines(handle, 2) == ["two", "three"]
    assert tail_lines(io.BytesIO(b""), 5) == []


def test_tail_lines_reads_only_the_end_of_a_large_file():
    handle = io.BytesIO(b"x" * 1_000_000 + b"\nlast line\n")
    assert tail_lines(handle, 1) == ["last line"]


def test_tail_lines_keeps_undecodable_bytes_visible():
    assert tail_lines(io.BytesIO(b"bad \xff byte\n"), 1) == ["bad \\xff byte"]


def test_run_in_session_returns_status_and_combined_output():
    result = run_in_session(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10, tail=5)
    assert result.status == 3
    assert not result.timed_out
    assert result.tail == ["out", "err"]


def test_run_in_session_runs_in_the_given_directory_with_the_given_environment(tmp_path):
    result = run_in_session(
        ["/bin/sh", "-c", 'pwd; echo "$SMGR_TEST"'], timeout=10, tail=5, env={"SMGR_TEST": "yes"}, cwd=str(tmp_path)
    )
    assert result.tail == [str(tmp_path), "yes"]


def with_grandchild(tmp_path):
    """A shell that starts a grandchild (its pid in a file), says "started" and waits; and that pid file."""
    pid_file = tmp_path / "grandchild.pid"
    return ["/bin/sh", "-c", f"sleep 60 & echo $! > {pid_file}; echo started; sleep 30"], pid_file


def assert_ended(pid_file):
    """The grandchild is gone (or a zombie) within seconds: killing only the shell would leave it sleeping."""
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while is_alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            raise AssertionError("the grandchild outlived the timeout")
        time.sleep(0.05)


def test_a_timeout_kills_the_whole_process_group(tmp_path):
    argv, pid_file = with_grandchild(tmp_path)
    started = time.monotonic()
    result = run_in_session(argv, timeout=0.5, tail=5)
    assert time.monotonic() - started < 10
    assert result.timed_out and result.status is None
    assert result.tail == ["started"]
    assert_ended(pid_file)


def test_an_interruption_kills_the_group_and_propagates(monkeypatch, tmp_path):
    def interrupted_wait(self, timeout=None):
        if timeout is not None:
            raise KeyboardInterrupt
        return original_wait(self)

    original_wait = subprocess.Popen.wait
    monkeypatch.setattr(subprocess.Popen, "wait", interrupted_wait)
    with pytest.raises(KeyboardInterrupt):
        run_in_session(["/bin/sh", "-c", "sleep 30"], timeout=60, tail=5)


def test_a_missing_program_raises_oserror():
    with pytest.raises(OSError):
        run_in_session(["/nonexistent/program"], timeout=5, tail=5)


def test_subprocess_env_is_the_c_locale(monkeypatch):
    monkeypatch.setenv("LANGUAGE", "de")
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    env = subprocess_env()
    assert env["LC_ALL"] == "C" and "LANGUAGE" not in env
    assert env["PATH"] == os.environ["PATH"]


def test_capture_in_session_keeps_stdout_and_stderr_apart_and_passes_input():
    result = capture_in_session(["/bin/sh", "-c", "cat; echo err >&2; exit 2"], timeout=10, input_text="in\n")
    assert (result.returncode, result.stdout, result.stderr) == (2, "in\n", "err\n")
    binary = capture_in_session(["/bin/sh", "-c", "printf 'a\\377'"], timeout=10, binary=True)
    assert binary.stdout == b"a\xff"


def test_capture_in_session_timeout_kills_the_whole_process_group(tmp_path):
    argv, pid_file = with_grandchild(tmp_path)
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        capture_in_session(argv, timeout=2)  # time enough to start the grandchild on a loaded machine
    assert time.monotonic() - started < 10
    assert_ended(pid_file)


def test_a_timeout_lets_the_command_clean_up_before_the_kill(tmp_path):
    """SIGTERM first (borg releases its repository lock, a hook removes its files), SIGKILL after the grace."""
    cleaned = tmp_path / "cleaned"
    script = f"trap 'echo done > {cleaned}; exit 0' TERM; sleep 30 & wait"
    result = run_in_session(["/bin/sh", "-c", script], timeout=0.5, tail=5)
    assert result.timed_out and cleaned.read_text() == "done\n"


def test_a_group_that_ignores_sigterm_is_killed_after_the_grace(monkeypatch):
    """A hook that ignores SIGTERM (and its children, which inherit that) still ends: SIGKILL follows."""
    monkeypatch.setattr(process, "GRACE_SECONDS", 0.5)
    started = time.monotonic()
    result = run_in_session(["/bin/sh", "-c", "trap '' TERM; echo started; sleep 30"], timeout=1, tail=5)
    assert result.timed_out and result.tail == ["started"]
    assert time.monotonic() - started < 10
