# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared pieces of the hardening suite: running a module in-process, tree snapshots, the hostile corpus.

Import as ``from ansible_collections.smgr.server_manager.tests.unit.hardening.helpers import ...``.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import time
from pathlib import Path
from typing import Any, Callable

from ansible.module_utils import basic
from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args

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


def hostile(canary: str) -> list[str]:
    """The corpus with CANARY pointing at ``canary``."""
    return [text.replace(CANARY, canary) for text in HOSTILE]


# --------------------------------------------------------------------------- running modules in-process


class ExitJson(Exception):
    """exit_json was called; args[0] is the result."""


class FailJson(Exception):
    """fail_json was called; args[0] is the result with ``msg``."""


def patch_exits(monkeypatch) -> None:
    """exit_json/fail_json raise with the result as the module built it (before Ansible masks no_log values)."""

    def exit_json(self, **result):
        raise ExitJson(result)

    def fail_json(self, msg, **result):
        raise FailJson(dict(msg=msg, **result))

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(ansible_warnings, "_global_warnings", {})
    monkeypatch.setattr(ansible_warnings, "_global_deprecations", {})


def call(module, args: dict, check: bool = False, diff: bool = True) -> dict:
    """Run ``module.main()`` with ``args``; return the result with ``failed`` set. Any other exception propagates:
    a traceback is a test failure."""
    ansible_warnings._global_warnings = {}
    ansible_warnings._global_deprecations = {}
    try:
        with patch_module_args(dict(args, _ansible_check_mode=check, _ansible_diff=diff)):
            module.main()
    except ExitJson as done:
        return dict(done.args[0], failed=False)
    except FailJson as failed:
        return dict(failed.args[0], failed=True)
    raise AssertionError(f"{module.__name__}.main() returned without exit_json or fail_json")


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
    """Human-readable differences between two snapshots (empty when identical)."""
    problems = [f"created {path}" for path in sorted(set(after) - set(before))]
    problems += [f"removed {path}" for path in sorted(set(before) - set(after))]
    problems += [f"changed {path}" for path in sorted(set(before) & set(after)) if before[path] != after[path]]
    return problems


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
