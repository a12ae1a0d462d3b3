# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Crash consistency: SIGKILL at random moments while each writer writes, KILLS times per writer.

A forked child (already warm: imports done, so it writes within microseconds) rewrites its file over and over,
alternating between two versions; the parent kills the child's whole process group (the child, crontab(1), tar,
zstd) after a random delay, then checks what a reader finds. Writers: the owned cron file (smgr_schedule, with its
backups of previous versions), a user's crontab block (smgr_schedule through crontab(1)), notifications.yaml
(smgr_notify), the job definitions (smgr_backup), the runner (smgr_backup), and the runner publishing archives and
applying retention (smgr backup).

After every kill each file is the old or the new version, never torn nor missing; every published archive is
complete (it matches its checksum file, and decompresses at the end); no archive is lost: the newest one before
the kill is still there and retention never leaves fewer than keep_min; only temp files (dot-names cron and
run-parts ignore), ``.partial`` files and orphan checksum files can be left, and the next run removes the
runner's leftovers.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import (
    parse_archive_name,
    read_sidecar,
    sha256_file,
    verify_archive,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.lock import is_locked
from ansible_collections.smgr.server_manager.plugins.module_utils._runner import cli as _runner
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import split_managed_block
from ansible_collections.smgr.server_manager.plugins.modules import smgr_backup, smgr_notify, smgr_schedule
from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix
from ansible_collections.smgr.server_manager.tests.support.module_harness import run_module
from ansible_collections.smgr.server_manager.tests.unit.hardening.helpers import (
    fast_runner,
    record_figures,
    wait_until,
)

KILLS = 200
TEMP_RE = re.compile(r"\..+\.tmp")


def mean_duration(write: Callable[[], None], samples: int = 6) -> float:
    started = time.monotonic()
    for _sample in range(samples):
        write()
    return (time.monotonic() - started) / samples


def kill_loop(
    name: str,
    write: Callable[[], None],
    check: Callable[[], None],
    kills: int = KILLS,
    diagnose: Callable[[], str] = lambda: "",
    settle: Callable[[], None] = lambda: None,
) -> None:
    """Fork a child that runs ``write`` in a loop; SIGKILL its process group after a random delay; ``check``."""
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    mean = mean_duration(write)
    check()
    started = time.monotonic()
    for _kill in range(kills):
        pid = os.fork()
        if pid == 0:  # the child: write until killed
            status = 1
            try:
                os.setpgid(0, 0)
                while True:
                    write()
            finally:
                os._exit(status)
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)  # also here: the kill may come before the child ran a single instruction
        time.sleep(rng.uniform(0, 2.5 * mean))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        _pid, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status), f"{name}: the writer ended by itself ({status}): it failed: {diagnose()}"
        settle()
        check()
    record_figures(
        f"crash {name}",
        kills=kills,
        mean_write_ms=round(mean * 1000, 2),
        seconds=round(time.monotonic() - started, 1),
        seed=seed,
    )


class Toggle:
    """Two versions of a module's arguments; ``write`` applies the one the target does not hold now."""

    def __init__(self, module, first: dict, second: dict, current: Callable[[], object]) -> None:
        self.module = module
        self.versions = (first, second)
        self.current = current
        result = run_module(module, second)
        assert not result["failed"], result
        self.seen = [current()]
        result = run_module(module, first)
        assert not result["failed"], result
        self.seen.insert(0, current())
        assert self.seen[0] != self.seen[1]

    def write(self) -> None:
        index = 1 if self.current() == self.seen[0] else 0
        result = run_module(self.module, self.versions[index])
        if result["failed"]:
            raise AssertionError(result["msg"])


def temp_leftovers(directory: Path) -> list[str]:
    return [entry for entry in os.listdir(directory) if TEMP_RE.fullmatch(entry)]


# --------------------------------------------------------------------------- module writers


def test_cron_file(tmp_path):
    cron_file = tmp_path / "cron.d" / "smgr"
    cron_file.parent.mkdir()
    base = dict(cron_file=str(cron_file), backup=3, backup_dir=str(tmp_path / "backups"), hash_seed="h")
    base["audit_log"] = str(tmp_path / "audit.log")
    first = dict(base, jobs=[dict(name="a", schedule="@daily", command="echo a")], exclusive=True)
    second = dict(base, jobs=[dict(name=n, schedule="H * * * *", command=f"echo {n} %") for n in "abc"], exclusive=True)
    toggle = Toggle(smgr_schedule, first, second, cron_file.read_bytes)

    def check() -> None:
        assert cron_file.read_bytes() in toggle.seen
        assert os.stat(cron_file).st_mode & 0o777 == 0o644
        for backup in (tmp_path / "backups").iterdir():
            if not TEMP_RE.fullmatch(backup.name):
                assert backup.read_bytes() in toggle.seen, backup
        # A temp file left by a kill starts with a dot and contains dots: cron never reads it.
        assert set(os.listdir(cron_file.parent)) - set(temp_leftovers(cron_file.parent)) == {"smgr"}
        for line in (tmp_path / "audit.log").read_text().splitlines(keepends=True):
            assert line.endswith("\n") and " target=" in line

    kill_loop("cron file", toggle.write, check)


def test_user_crontab_block(tmp_path, throwaway_user):
    foreign = "# kept\nMAILTO=someone@example.com\n17 1 * * * /usr/local/bin/rotate\n"
    subprocess.run(["crontab", "-u", throwaway_user, "-"], input=foreign, text=True, check=True)

    def listed() -> str:
        return subprocess.run(
            ["crontab", "-l", "-u", throwaway_user], capture_output=True, text=True, check=True
        ).stdout

    base = dict(crontab_user=throwaway_user, backup=0, audit_log="", lock_dir=str(tmp_path / "lock"), hash_seed="h")
    first = dict(base, jobs=[dict(name="a", schedule="@daily", command="echo a")], exclusive=True)
    second = dict(base, jobs=[dict(name=n, schedule="@hourly", command=f"echo {n}") for n in "abc"], exclusive=True)
    toggle = Toggle(smgr_schedule, first, second, listed)

    def check() -> None:
        text = listed()
        assert text in toggle.seen, text
        before, _block, after = split_managed_block(text)
        assert "".join(before) == foreign and after == []

    kill_loop("user crontab block", toggle.write, check)


def test_notifications_yaml(tmp_path):
    path = tmp_path / "notifications.yaml"
    base = dict(
        path=str(path),
        enabled=True,
        smtp_server="127.0.0.1",
        smtp_user="smgr",
        from_email="smgr@example.com",
        to_emails=["ops@example.com"],
    )
    toggle = Toggle(
        smgr_notify,
        dict(base, smtp_password="first-Secret-1"),
        dict(base, smtp_password="second-Secret-2"),
        path.read_bytes,
    )

    def check() -> None:
        assert path.read_bytes() in toggle.seen
        assert os.stat(path).st_mode & 0o777 == 0o600
        for leftover in temp_leftovers(tmp_path):
            assert os.stat(tmp_path / leftover).st_mode & 0o777 == 0o600, "a temp copy of the password is readable"

    kill_loop("notifications.yaml", toggle.write, check)


def test_job_definitions(tmp_path, monkeypatch):
    fast_runner(monkeypatch)
    config = tmp_path / "config"
    base = dict(config_dir=str(config), backup_root=str(tmp_path / "backups"), install_runner=False, exclusive=True)
    first = dict(base, jobs=[dict(name="a", type="paths", paths=["/srv/a"]), dict(name="b", type="nginx")])
    second = dict(
        base, jobs=[dict(name=n, type="paths", paths=[f"/srv/{n}", "/etc"], compression="gzip") for n in "bcd"]
    )
    versions: dict[str, set[bytes | None]] = {}

    def files() -> dict[str, bytes]:
        jobs = config / "backups.d"
        return {name: (jobs / name).read_bytes() for name in sorted(os.listdir(jobs)) if name.endswith(".yaml")}

    toggle = Toggle(smgr_backup, first, second, files)
    for seen in toggle.seen:
        for name in {*toggle.seen[0], *toggle.seen[1]}:
            versions.setdefault(name, set()).add(seen.get(name))

    def check() -> None:
        current = files()
        for name, content in current.items():
            assert content in versions[name], name  # each job file: one of its versions, never torn
        for name, possible in versions.items():
            assert name in current or None in possible, f"{name} vanished"
        assert (config / "runner.yaml").read_bytes().startswith(b"# Managed by smgr.server_manager")

    kill_loop("job definitions", toggle.write, check)


def test_runner_file(tmp_path, monkeypatch):
    fast_runner(monkeypatch)
    runner = tmp_path / "bin" / "smgr"
    base = dict(config_dir=str(tmp_path / "config"), runner_path=str(runner), jobs=[])
    toggle = Toggle(
        smgr_backup,
        dict(base, runner_interpreter=sys.executable),
        dict(base, runner_interpreter="/usr/bin/python3"),
        runner.read_bytes,
    )

    def check() -> None:
        assert runner.read_bytes() in toggle.seen
        assert os.stat(runner).st_mode & 0o777 == 0o755
        assert set(os.listdir(runner.parent)) - set(temp_leftovers(runner.parent)) == {"smgr"}

    kill_loop("runner", toggle.write, check)


# --------------------------------------------------------------------------- the runner publishing archives


def test_runner_publishing_and_retention(tmp_path):
    prefix = Prefix(tmp_path / "host")
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    for index in range(20):
        (data / "sub" / f"f{index}").write_bytes(os.urandom(20_000))
    dest = prefix.add_job(name="site", type="paths", paths=[str(data)], retention=dict(keep_days=0, keep_min=3))
    state_file = Path(prefix.settings.state_dir) / "site.json"
    argv = ["--config-dir", str(prefix.config), "backup", "site"]
    devnull = open(os.devnull, "w")  # noqa: SIM115 - inherited by the forked children, closed at the end

    def write() -> None:
        code = _runner.main(argv, stdout=devnull, stderr=devnull)
        if code != 0:
            with open(tmp_path / "failed-run", "w") as handle:
                handle.write(f"exit {code}\n" + prefix.log_text()[-3000:])
            raise AssertionError(f"smgr backup exited {code}")

    def published() -> list[str]:
        return sorted(name for name in os.listdir(dest) if parse_archive_name(name, prefix.host, "site"))

    history: list[list[str]] = []

    def lock_released() -> None:
        # A process the child forked for tar or zstd shares the lock until it has exec'd or died: the kernel may
        # deliver its SIGKILL a moment after the child was reaped. The next run would then rightly say "already
        # running" (exit 3); wait for the kernel to release the lock instead.
        assert wait_until(lambda: not is_locked(prefix.settings.lock_dir, "site"), timeout=30, interval=0.005)

    def check() -> None:
        names = published()
        for name in names:
            # Published means complete: the checksum file is there and matches every byte.
            assert read_sidecar(str(dest / name)) == sha256_file(str(dest / name)), f"{name} is half-visible"
        for entry in os.listdir(dest):
            if entry in names or (entry.endswith(".sha256") and entry[: -len(".sha256")] in names):
                continue
            # What a kill may leave: a partial archive, a checksum file without its archive or the temp file of one,
            # a staging directory. The next run removes them all (checked at the end).
            allowed = entry.endswith((".partial", ".sha256")) or entry.startswith(".smgr-staging-")
            allowed = allowed or bool(re.fullmatch(r"\..+\.sha256\.\w+\.tmp", entry))
            assert allowed, f"unexpected {entry}"
        if history:
            previous = history[-1]
            # An archive only goes once keep_min (3) newer ones are published; new ones are newer than all others.
            for gone in set(previous) - set(names):
                assert sum(name > gone for name in names) >= 3, f"{gone} lost: {names}"
            assert len(names) >= min(3, len(previous)), f"fewer than keep_min archives: {names}"
            assert all(name in previous or name > max(previous) for name in names) if previous else True
        history.append(names)
        if state_file.exists():
            state = json.loads(state_file.read_text())
            assert state["job"] == "site" and state["last_run"]["status"] in ("ok", "failed")

    try:
        kill_loop(
            "archive publish and retention",
            write,
            check,
            diagnose=(tmp_path / "failed-run").read_text,
            settle=lock_released,
        )
    finally:
        devnull.close()
    # The next run cleans what the kills left and leaves only complete archives.
    completed = prefix.run("backup", "site")
    assert completed.returncode == 0, completed.stderr
    names = published()
    assert sorted(os.listdir(dest)) == sorted([*names, *(name + ".sha256" for name in names)])
    for name in names:
        assert verify_archive(str(dest / name), read_sidecar(str(dest / name))) > 0
    assert len(names) == 3
