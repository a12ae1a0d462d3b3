# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The hostile corpus (helpers.HOSTILE) in every smgr_schedule field that reaches a cron line or a shell.

For each string and field the module either refuses it (a message naming the field, the cron file as before) or
writes a file in which cron finds exactly the managed jobs: no extra cron line. Lines are then run the way Debian's
cron runs them (its ``%`` processing, then ``$SHELL -c``): a command reaches the shell exactly as written, and a
string in any other field (log file, lock directory, name, user, environment, hash seed) never runs. The real
cron daemon runs a sample of the corpus in test_load_cron.py.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
from pathlib import Path

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import (
    BLOCK_BEGIN,
    BLOCK_END,
    parse_block,
    parse_cron_file,
    split_managed_block,
)
from ansible_collections.smgr.server_manager.plugins.modules import smgr_schedule
from ansible_collections.smgr.server_manager.tests.support.module_harness import run_module
from ansible_collections.smgr.server_manager.tests.unit.hardening.helpers import (
    cron_entries,
    cron_hands_to_shell,
    hostile,
    record_figures,
)

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
USER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
BASELINE_JOB = dict(name="keep", schedule="daily_2am", command="echo kept")


class Scene:
    """A cron file with one job, a recorder standing in for the shell, a canary that must never appear."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cron_file = root / "cron_d_smgr"
        self.canary = root / "canary"
        self.record = root / "record"
        self.recorder = root / "recorder"
        self.recorder.write_text(f"#!/bin/sh\nprintf '%s' \"$2\" > '{self.record}'\n")
        self.recorder.chmod(0o755)
        self.base = dict(
            cron_file=str(self.cron_file),
            backup=0,
            audit_log=str(root / "audit.log"),
            lock_dir=str(root / "lock"),
            hash_seed="web1",
        )
        assert not run_module(smgr_schedule, dict(self.base, jobs=[BASELINE_JOB]))["failed"]
        self.baseline = self.cron_file.read_bytes()

    def reset(self) -> None:
        self.cron_file.write_bytes(self.baseline)
        for path in (self.record, self.canary):
            if path.exists():
                path.unlink()

    def apply(self, **job) -> dict:
        self.reset()
        return run_module(
            smgr_schedule, dict(self.base, jobs=[BASELINE_JOB, dict(dict(name="inj", schedule="* * * * *"), **job)])
        )

    def entries(self) -> list[tuple[str, str]]:
        return cron_entries(self.cron_file.read_text(encoding="utf-8"))

    def run_line(self, command_part: str, shell: str = "/bin/bash", prelude: str = "") -> subprocess.CompletedProcess:
        """Run a command part as cron would: its % processing, then $SHELL -c with SHELL set (``prelude`` is
        shell text of the test, put before what cron hands over)."""
        env = {"PATH": os.environ["PATH"], "SHELL": shell, "HOME": str(self.root)}
        return subprocess.run(
            ["/bin/bash", "-c", prelude + cron_hands_to_shell(command_part)],
            env=env,
            cwd=self.root,
            capture_output=True,
            check=False,
            timeout=30,
        )


def check_refused_or_exact(scene: Scene, result: dict, field: str, problems: list[str], text: str) -> bool:
    """A refusal names the field and leaves the file as it was; an acceptance gives exactly two cron entries."""
    if result["failed"]:
        named = field in result["msg"] or "is too long for cron" in result["msg"]
        if not named or scene.cron_file.read_bytes() != scene.baseline:
            problems.append(f"{field} {text!r}: refused without naming the field or changed the file: {result['msg']}")
        return False
    entries = scene.entries()
    parsed = parse_cron_file(scene.cron_file.read_text(encoding="utf-8"))
    if len(entries) != 2 or parsed.unmanaged or [job.name for job in parsed.jobs] != ["inj", "keep"]:
        problems.append(f"{field} {text!r}: cron reads {len(entries)} entries, unmanaged {parsed.unmanaged}")
        return False
    return True


def test_command_reaches_the_shell_exactly_and_adds_no_line(tmp_path):
    scene = Scene(tmp_path)
    problems: list[str] = []
    accepted = 0
    for text in hostile(str(scene.canary)):
        for prevent_overlap in (True, False):
            result = scene.apply(command=text, prevent_overlap=prevent_overlap, log=str(tmp_path / "it's 100% log"))
            if not check_refused_or_exact(scene, result, "command", problems, text):
                continue
            accepted += 1
            command_part = next(cmd for _fields, cmd in scene.entries() if "echo kept" not in cmd)
            if prevent_overlap:
                # flock -c runs "$SHELL -c CMD": the recorder as SHELL shows the exact string, and runs nothing.
                completed = scene.run_line(command_part, shell=str(scene.recorder))
            else:
                # eval is a builtin: a function of that name shows the string the shell was asked to evaluate.
                prelude = f"eval() {{ printf '%s' \"$1\" > '{scene.record}'; }}; "
                completed = scene.run_line(command_part, prelude=prelude)
            received = scene.record.read_text() if scene.record.exists() else None
            if received != text or scene.canary.exists():
                detail = completed.stderr[-200:]
                problems.append(f"command {text!r} (lock {prevent_overlap}): the shell got {received!r} ({detail!r})")
    assert problems == []
    record_figures("injection cron command", strings=len(hostile("x")), runs=accepted)
    assert accepted > len(hostile("x"))


@pytest.mark.parametrize("field", ["log", "lock_dir"])
def test_paths_in_a_cron_line_never_run(tmp_path, field):
    """A hostile log file or lock directory is only ever a file name: the real line runs, nothing else does."""
    scene = Scene(tmp_path)
    problems: list[str] = []
    ran = 0
    for text in hostile(str(scene.canary)):
        # A path, not a traversal test: '/' stays a directory separator, so the string is one file name.
        path = str(tmp_path / "target" / text.replace("/", "|"))
        (tmp_path / "target").mkdir(exist_ok=True)
        if field == "log":
            result = scene.apply(command="echo ran", log=path)
        else:
            scene.reset()
            result = run_module(
                smgr_schedule,
                dict(
                    scene.base,
                    lock_dir=path,
                    jobs=[BASELINE_JOB, dict(name="inj", schedule="* * * * *", command="echo ran")],
                ),
            )
        if not check_refused_or_exact(scene, result, field, problems, text):
            continue
        command_part = next(cmd for _fields, cmd in scene.entries() if "echo kept" not in cmd)
        completed = scene.run_line(command_part)
        ran += 1
        if scene.canary.exists():
            problems.append(f"{field} {text!r}: the string ran")
        elif field == "log" and (not os.path.isfile(path) or Path(path).read_text() != "ran\n"):
            problems.append(f"{field} {text!r}: output not in the named file ({completed.stderr[-200:]!r})")
        elif field == "lock_dir" and not os.path.isfile(os.path.join(path, "inj.lock")):
            problems.append(f"{field} {text!r}: no lock file in the named directory ({completed.stderr[-200:]!r})")
    assert problems == []
    record_figures(f"injection cron {field}", strings=len(hostile("x")), executed=ran)
    assert ran > 0


@pytest.mark.parametrize("field", ["name", "user", "schedule", "hash_seed", "env_value", "env_name"])
def test_other_fields_never_add_a_line(tmp_path, field):
    scene = Scene(tmp_path)
    problems: list[str] = []
    accepted = 0
    for text in hostile(str(scene.canary)):
        scene.reset()
        job = dict(name="inj", schedule="H * * * *", command="echo ran")
        args = dict(scene.base)
        if field == "name":
            job["name"] = text
        elif field in ("user", "schedule"):
            job[field] = text
        elif field == "hash_seed":
            args["hash_seed"] = text
        elif field == "env_value":
            args["env"] = {"SHELL": "/bin/bash", "MAILTO": text}
        else:
            args["env"] = {text: "x"}
        result = run_module(smgr_schedule, dict(args, jobs=[BASELINE_JOB, job]))
        reported_field = {"env_value": "env", "env_name": "env"}.get(field, field)
        if result["failed"]:
            if reported_field not in result["msg"] or scene.cron_file.read_bytes() != scene.baseline:
                problems.append(f"{field} {text!r}: {result['msg']}")
            continue
        accepted += 1
        content = scene.cron_file.read_text(encoding="utf-8")
        parsed = parse_cron_file(content)
        if len(cron_entries(content)) != 2 or parsed.unmanaged or len(parsed.jobs) != 2:
            problems.append(
                f"{field} {text!r}: {len(cron_entries(content))} cron entries, unmanaged {parsed.unmanaged}"
            )
        if field == "name" and not NAME_RE.fullmatch(text):
            problems.append(f"name {text!r} accepted")
        if field == "user" and not USER_RE.fullmatch(text):
            problems.append(f"user {text!r} accepted")
        if field == "env_value" and [line for line in content.split("\n") if line.startswith("MAILTO=")] != [
            f"MAILTO={text}"
        ]:
            problems.append(f"env value {text!r} not written as one line")
        for _fields, command in cron_entries(content):
            scene.run_line(command.replace("echo ran", "true").replace("echo kept", "true"))
        if scene.canary.exists():
            problems.append(f"{field} {text!r}: the string ran")
    assert problems == []
    record_figures(f"injection cron {field}", strings=len(hostile("x")), accepted=accepted)


FOREIGN = "# a human's notes\nMAILTO=someone@example.com\n#Ansible: rotate\n17 1 * * * /usr/local/bin/rotate --all\n"


def test_crontab_block_keeps_foreign_lines_and_adds_no_line(tmp_path, throwaway_user):
    """The same corpus as commands in a user's crontab block: crontab(1) accepts or the module refuses; the
    foreign entries stay byte for byte; cron finds exactly one foreign and one managed entry."""
    subprocess.run(["crontab", "-u", throwaway_user, "-"], input=FOREIGN, text=True, check=True)
    base = dict(crontab_user=throwaway_user, backup=0, audit_log="", lock_dir=str(tmp_path / "lock"), hash_seed="h")
    problems: list[str] = []
    accepted = 0
    for text in hostile(str(tmp_path / "canary")):
        result = run_module(
            smgr_schedule, dict(base, jobs=[dict(name="inj", schedule="@daily", command=text)], exclusive=True)
        )
        listed = subprocess.run(
            ["crontab", "-l", "-u", throwaway_user], capture_output=True, text=True, check=True
        ).stdout
        before, block, after = split_managed_block(listed)
        if "".join(before) != FOREIGN or after:
            problems.append(f"{text!r}: foreign lines changed: {listed[:300]!r}")
            continue
        if result["failed"]:
            if "command" not in result["msg"]:
                problems.append(f"{text!r}: {result['msg']}")
            continue
        accepted += 1
        jobs = parse_block(block, user=throwaway_user).jobs
        if len(cron_entries(listed, with_user=False)) != 2 or [job.command for job in jobs] != [text]:
            problems.append(f"{text!r}: {len(cron_entries(listed, with_user=False))} entries, jobs {jobs}")
        if not block.startswith(BLOCK_BEGIN) or not block.rstrip("\n").endswith(BLOCK_END):
            problems.append(f"{text!r}: block markers broken")
    assert pwd.getpwnam(throwaway_user)
    assert problems == []
    record_figures("injection crontab block", strings=len(hostile("x")), accepted=accepted)
    assert accepted > 0
