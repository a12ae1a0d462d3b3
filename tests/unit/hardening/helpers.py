# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared pieces of the hardening suite: running a module in-process, tree snapshots, the hostile corpus.

Import as ``from ansible_collections.smgr.server_manager.tests.unit.hardening.helpers import ...``.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import functools
import json
import os
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

from ansible_collections.smgr.server_manager.tests.support import cron_model

REPO = Path(__file__).resolve().parents[3]
FIGURES_FILE = REPO / ".build" / "hardening-figures.json"

# One corpus of hostile strings, sent into every string field that reaches a cron line, a shell command, a YAML
# file, a mail header or a path. CANARY is replaced by a path per test: if the string ever runs, the file appears.
CANARY = "@CANARY@"
HOSTILE = (
    f"; touch {CANARY}",
    f"&& touch {CANARY}",
    f"| touch {CANARY}",
    f"$(touch {CANARY})",
    f"`touch {CANARY}`",
    f"${{IFS}}touch${{IFS}}{CANARY}",
    f"\ntouch {CANARY}",
    f"\r\ntouch {CANARY}",
    f"x\n* * * * * root touch {CANARY}",
    f"x\r* * * * * root touch {CANARY}",
    f"x\u2028* * * * * root touch {CANARY}",
    "x\u2029y",
    "x\u0085y",
    "x\x00y",
    "x\x0by",
    "x\x1b[2Jy",
    "%",
    "100%",
    f"%touch {CANARY}%",
    "\\%",
    "\\\\%",
    "\\",
    "'",
    '"',
    "'\"'\"",
    f"'; touch {CANARY}; '",
    f'"; touch {CANARY}; "',
    "../../../../etc/passwd",
    "..",
    "../x",
    "a/../../b",
    "-rf",
    "--version",
    f"--to-command=touch {CANARY}",
    f"-oProxyCommand=touch {CANARY}",
    f"-e touch {CANARY}",
    f"--rsh=touch {CANARY}",
    "--checkpoint-action=exec=id",
    " leading space",
    "trailing space ",
    "two  spaces",
    "tab\there",
    "key: value",
    "- item",
    "{flow: mapping}",
    "[a, b]",
    "!!python/object/apply:os.system ['id']",
    "&anchor *alias",
    "# comment",
    "null",
    "~",
    "yes",
    "0o777",
    "1e3",
    "Bcc: evil@example.com",
    "x\nBcc: evil@example.com",
    "x\r\nBcc: evil@example.com",
    "=?utf-8?q?encoded?=",
    "<script>alert(1)</script>",
    "é ü ß 漢字 🙂",
    "\u202eRTL override",
    "\ufeffBOM",
    "x" * 5000,
    "%" * 600,
    "'" * 600,
)

cron_hands_to_shell = cron_model.cron_hands_to_shell


def hostile(canary: str) -> list[str]:
    """The corpus with CANARY pointing at ``canary``."""
    return [text.replace(CANARY, canary) for text in HOSTILE]


# --------------------------------------------------------------------------- running modules in-process


# run_module of tests/support/module_harness.py runs them; the module_exits fixture patches AnsibleModule.


# --------------------------------------------------------------------------- trees


def snapshot(root: str | os.PathLike) -> dict[str, tuple]:
    """Every entry under ``root``: relative path -> (kind, mode, uid, content or link target)."""
    result: dict[str, tuple] = {}
    base = os.fsencode(str(root))
    for directory, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            rel = os.fsdecode(os.path.relpath(path, base))
            if stat.S_ISLNK(info.st_mode):
                content: Any = os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    content = handle.read()
            else:
                content = None
            result[rel] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), info.st_uid, content)
    return result


def tree_difference(before: dict[str, tuple], after: dict[str, tuple]) -> list[str]:
    """Human-readable differences between two snapshots (empty when identical). A new directory is not a
    difference by itself (``makedirs`` may leave one behind when a deeper level cannot be created): what is
    inside it is."""
    problems = [f"created {path}" for path in sorted(set(after) - set(before)) if not stat.S_ISDIR(after[path][0])]
    problems += [f"removed {path}" for path in sorted(set(before) - set(after))]
    problems += [f"changed {path}" for path in sorted(set(before) & set(after)) if before[path] != after[path]]
    return problems


# --------------------------------------------------------------------------- write guard


class Confinement:
    """While active, every write, create, rename, delete, mode change or subprocess outside ``root`` is refused
    (EACCES, so nothing happens) and recorded in ``violations``: a module under test can never touch the host,
    whatever its arguments fall back to."""

    WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def __init__(
        self, root: str | os.PathLike, allowed: Callable[[tuple[str, ...]], bool] = lambda argv: False
    ) -> None:
        self.root = os.path.realpath(str(root))
        self.allowed = allowed
        self.violations: list[str] = []

    def inside(self, path: object, dir_fd: int | None = None) -> bool:
        if isinstance(path, int):
            return True  # an open file descriptor: it was checked when it was opened
        text = os.fsdecode(path) if isinstance(path, (bytes, os.PathLike)) else str(path)
        if "\x00" in text:
            return True  # the call fails with ValueError before touching anything
        if dir_fd is not None and not os.path.isabs(text):
            return True  # relative to a directory that was opened inside
        real = os.path.realpath(text)
        return real == os.devnull or real == self.root or real.startswith(self.root + os.sep)

    def refuse(self, what: str, path: object) -> None:
        self.violations.append(f"{what} {path!r}")
        raise PermissionError(errno.EACCES, "outside the hardening sandbox", str(path))

    @contextlib.contextmanager
    def active(self):
        guard = self
        real = {
            name: getattr(os, name)
            for name in ("open", "mkdir", "rename", "replace", "unlink", "remove", "rmdir", "chmod", "chown", "symlink")
        }
        real_open = builtins.open
        real_popen_init = subprocess.Popen.__init__

        def checked(name: str, *path_positions: int):
            def wrapper(*args, **kwargs):
                for position in path_positions:
                    if position < len(args) and not guard.inside(args[position], kwargs.get("dir_fd")):
                        guard.refuse(name, args[position])
                return real[name](*args, **kwargs)

            return wrapper

        def os_open(path, flags, *args, **kwargs):
            if flags & guard.WRITE_FLAGS and not guard.inside(path, kwargs.get("dir_fd")):
                guard.refuse("open for writing", path)
            return real["open"](path, flags, *args, **kwargs)

        def builtin_open(file, mode="r", *args, **kwargs):
            if any(flag in mode for flag in "wax+") and not guard.inside(file):
                guard.refuse("open for writing", file)
            return real_open(file, mode, *args, **kwargs)

        def popen_init(self, args, *rest, **kwargs):
            argv = tuple(str(item) for item in ([args] if isinstance(args, (str, bytes)) else args))
            if not guard.allowed(argv):
                guard.refuse("run", " ".join(argv))
            return real_popen_init(self, args, *rest, **kwargs)

        patched = {
            "open": os_open,
            "mkdir": checked("mkdir", 0),
            "rename": checked("rename", 0, 1),
            "replace": checked("replace", 0, 1),
            "unlink": checked("unlink", 0),
            "remove": checked("remove", 0),
            "rmdir": checked("rmdir", 0),
            "chmod": checked("chmod", 0),
            "chown": checked("chown", 0),
            "symlink": checked("symlink", 1),
        }
        for name, function in patched.items():
            setattr(os, name, function)
        builtins.open = builtin_open
        subprocess.Popen.__init__ = popen_init
        try:
            yield self
        finally:
            for name, function in real.items():
                setattr(os, name, function)
            builtins.open = real_open
            subprocess.Popen.__init__ = real_popen_init


def reset_tree(template: Path, root: Path) -> None:
    """Make ``root`` an exact copy of ``template`` again."""
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(template, root, symlinks=True)


# --------------------------------------------------------------------------- network guard


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def loopback_only(monkeypatch) -> list[str]:
    """Make every name lookup of a host other than loopback fail (no packet leaves the host); returns the refused
    names."""
    refused: list[str] = []
    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in LOOPBACK:
            refused.append(str(name))
            raise socket.gaierror(socket.EAI_NONAME, "hardening tests only reach 127.0.0.1")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    return refused


# --------------------------------------------------------------------------- figures for docs/security.md


def record_figures(name: str, **figures: Any) -> None:
    """Merge ``figures`` under ``name`` into .build/hardening-figures.json (read when updating docs/security.md)."""
    FIGURES_FILE.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = json.loads(FIGURES_FILE.read_text())
    except (OSError, ValueError):
        data = {}
    data[name] = dict(figures, recorded=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    FIGURES_FILE.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds passed; return its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


# --------------------------------------------------------------------------- cron


def cron_entries(text: str, with_user: bool = True) -> list[tuple[str, str]]:
    """The lines cron reads as jobs, as (time fields, command part): everything but blank lines, comments and
    environment lines. Only ``\\n`` ends a line for cron."""
    entries = []
    for line in text.split("\n"):
        stripped = line.strip(" \t")
        if not stripped or stripped.startswith("#"):
            continue
        words = stripped.split(None, 6 if with_user else 5)
        if "=" in words[0] and not stripped.startswith("@"):
            continue  # NAME=value
        if stripped.startswith("@"):
            fields, rest = words[0], stripped.split(None, 2 if with_user else 1)[-1]
        else:
            fields, rest = " ".join(words[:5]), words[-1] if len(words) > 5 else ""
        entries.append((fields, rest))
    return entries


# --------------------------------------------------------------------------- the runner, built once


@functools.cache
def _cached_sources(entry: str = "_runner.cli"):
    from ansible_collections.smgr.server_manager.plugins.module_utils._runner import build as _runner_build

    return _runner_build.collect_sources(entry)


@functools.cache
def _cached_runner(interpreter: str) -> bytes:
    from ansible_collections.smgr.server_manager.plugins.module_utils._runner import build as _runner_build

    return _runner_build.runner_bytes(interpreter, _cached_sources(_runner_build.ENTRY_MODULE))


def fast_runner(monkeypatch) -> None:
    """smgr_backup builds the runner zip on every call (0.3 s); its bytes only depend on the interpreter and the
    sources, so the tests that call the module thousands of times build it once per interpreter."""
    from ansible_collections.smgr.server_manager.plugins.modules import smgr_backup

    monkeypatch.setattr(smgr_backup, "collect_sources", _cached_sources)
    monkeypatch.setattr(smgr_backup, "runner_bytes", lambda interpreter, _sources=None: _cached_runner(interpreter))
