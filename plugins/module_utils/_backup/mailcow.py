# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Mailcow: run Mailcow's own dump script, then check its output instead of trusting its exit code.

``helper-scripts/backup_and_restore.sh backup <components>`` writes
``$MAILCOW_BACKUP_LOCATION/mailcow-<date>/backup_<component>.tar.zst`` and
usually exits 0 even when a component failed. So the dump directory is checked:
exactly one new dump directory, every expected archive present, non-empty and
passing ``zstd -t``. The ``mysql`` component is written by Mailcow as
``backup_mariadb.tar.zst`` (mariabackup); both that and ``backup_mysql.tar.zst``
are accepted.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import BackupJob
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._common.process import run_in_session, subprocess_env

HELPER_SCRIPT = os.path.join("helper-scripts", "backup_and_restore.sh")
COMPONENT_FILES: dict[str, tuple[str, ...]] = {
    "vmail": ("backup_vmail.tar.zst",),
    "crypt": ("backup_crypt.tar.zst",),
    "redis": ("backup_redis.tar.zst",),
    "rspamd": ("backup_rspamd.tar.zst",),
    "postfix": ("backup_postfix.tar.zst",),
    "mysql": ("backup_mariadb.tar.zst", "backup_mysql.tar.zst"),
}
OUTPUT_TAIL = 15


def helper_script(mailcow_dir: str) -> str:
    return os.path.join(mailcow_dir, HELPER_SCRIPT)


def run_helper(job: BackupJob, staging_dir: str) -> tuple[int, list[str]]:
    """Run the dump script with a timeout (the whole process group is killed on expiry); return (status, output)."""
    script = helper_script(job.mailcow_dir or "")
    if not os.path.isfile(script):
        raise SmgrError(f"Mailcow's {HELPER_SCRIPT} not found in {job.mailcow_dir}", job=job.name, field="mailcow_dir")
    env = subprocess_env()
    env["MAILCOW_BACKUP_LOCATION"] = staging_dir
    env["THREADS"] = str(job.mailcow_threads or 1)
    result = run_in_session(
        [script, "backup", *job.mailcow_components], timeout=job.timeout, tail=OUTPUT_TAIL, env=env, cwd=job.mailcow_dir
    )
    if result.timed_out:
        raise SmgrError(
            f"Mailcow's backup script did not finish within {job.timeout}s and was stopped; "
            f"output: {'; '.join(result.tail)}",
            job=job.name,
        )
    return result.status, result.tail


def dump_directories(staging_dir: str) -> list[str]:
    return sorted(
        os.path.join(staging_dir, entry)
        for entry in os.listdir(staging_dir)
        if os.path.isdir(os.path.join(staging_dir, entry)) and not os.path.islink(os.path.join(staging_dir, entry))
    )


def _zstd_test(path: str) -> str:
    completed = subprocess.run(
        ["zstd", "-q", "-t", "--", path],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=subprocess_env(),
        check=False,
    )
    if completed.returncode == 0:
        return ""
    return (
        completed.stderr.decode("utf-8", "backslashreplace").strip().splitlines()[-1:][0]
        if completed.stderr
        else (f"zstd -t exit {completed.returncode}")
    )


def dump_problems(dump_dir: str, components: Sequence[str]) -> list[str]:
    """What is wrong with a dump directory: missing, empty or corrupt component archives (empty list = good)."""
    problems = []
    for component in components:
        candidates = [os.path.join(dump_dir, name) for name in COMPONENT_FILES[component]]
        present = [path for path in candidates if os.path.isfile(path) and not os.path.islink(path)]
        if not present:
            problems.append(f"{component}: {COMPONENT_FILES[component][0]} is missing")
            continue
        path = present[0]
        if os.path.getsize(path) == 0:
            problems.append(f"{component}: {os.path.basename(path)} is empty")
            continue
        error = _zstd_test(path)
        if error:
            problems.append(f"{component}: {os.path.basename(path)} is corrupt ({error})")
    return problems


def dump_mailcow(job: BackupJob, staging_dir: str) -> tuple[str, list[str]]:
    """Run the dump into ``staging_dir`` and return (checked dump directory, warnings) or raise SmgrError."""
    status, output = run_helper(job, staging_dir)
    directories = dump_directories(staging_dir)
    warnings = []
    if len(directories) != 1:
        found = "none" if not directories else ", ".join(os.path.basename(d) for d in directories)
        raise SmgrError(
            f"Mailcow's backup script (exit {status}) left {len(directories)} dump directories ({found}) "
            f"instead of one; output: {'; '.join(output) or 'none'}",
            job=job.name,
        )
    problems = dump_problems(directories[0], job.expanded_mailcow_components())
    if problems:
        raise SmgrError(
            f"Mailcow's dump is incomplete (script exit {status}): {'; '.join(problems)}; "
            f"output: {'; '.join(output) or 'none'}",
            job=job.name,
        )
    if status != 0:
        raise SmgrError(f"Mailcow's backup script failed with exit {status}: {'; '.join(output)}", job=job.name)
    return directories[0], warnings
