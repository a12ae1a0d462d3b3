# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Load under the real cron daemon: 50 backup entries due in the same minute, written by smgr_schedule into a file
in /etc/cron.d, run by Debian's cron with the runner installed under a temp prefix.

40 jobs have one entry each and 10 of them a second entry (another cron name, so another overlap lock): the
runner's own job lock lets one run at a time, the other says "already running" (exit 3) or runs after it. Every
invocation ends with a result line in the runner's log and in its cron log, every job has a valid state file
and a verified archive, every successful run sent its notification, nothing is left half-written. Ten more
entries in the same minute run commands and log files from the hostile corpus: the real daemon runs each
command exactly as written and nothing else.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
import unicodedata
import uuid
from pathlib import Path

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import (
    parse_archive_name,
    read_sidecar,
    verify_archive,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.lock import is_locked
from ansible_collections.smgr.server_manager.plugins.modules import smgr_notify, smgr_schedule
from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix
from ansible_collections.smgr.server_manager.tests.support.module_harness import run_module
from ansible_collections.smgr.server_manager.tests.support.processes import running_pid
from ansible_collections.smgr.server_manager.tests.unit.hardening.helpers import (
    hostile,
    record_figures,
    wait_until,
)

CRON = "/usr/sbin/cron"
CRON_PID_FILE = "/run/crond.pid"
JOBS = 40
SECOND_ENTRIES = 10
HOSTILE_ENTRIES = 10
# One line per invocation: its result, or the warning of a run skipped because the other entry's run held the lock.
RESULT_RE = re.compile(
    r"smgr\[(\d+)\] (?:INFO|WARNING|ERROR) backup (job\d\d): (?:job '\w+': )?"
    r"(backup ok in|backup \w+ \(exit|already running)"
)


@pytest.fixture
def cron_daemon():
    """Debian's cron: the one running, or one started for the test."""
    daemon = None
    if running_pid(CRON_PID_FILE, "cron") is None:
        daemon = subprocess.Popen([CRON, "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        if daemon is not None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)


def next_free_minute() -> tuple[int, float]:
    """The minute the entries are due (local time, as cron reads it) and its start as a Unix time.

    Cron loads a changed file at the start of a minute and runs that minute's entries; a file written in the
    last seconds of a minute, or in the second cron last looked, may only be seen a minute later.
    """
    now = time.time()
    seconds = now % 60
    if seconds < 3:
        time.sleep(3 - seconds)
        now = time.time()
    start = (int(now) // 60 + (1 if now % 60 < 50 else 2)) * 60
    return time.localtime(start).tm_min, float(start)


def test_fifty_jobs_in_the_same_minute(tmp_path, smtp_server, cron_daemon):
    shared = tmp_path  # cron runs the entries as root
    cron_file = Path(f"/etc/cron.d/smgr-hardening-{uuid.uuid4().hex[:10]}")
    server = smtp_server("plain")
    prefix = Prefix(shared / "host")
    prefix.install_runner()
    data = shared / "data"
    (data / "www").mkdir(parents=True)
    for index in range(30):
        (data / "www" / f"page{index}.html").write_bytes(os.urandom(2000))
    assert not run_module(
        smgr_notify,
        dict(
            path=str(prefix.config / "notifications.yaml"),
            enabled=True,
            smtp_server="127.0.0.1",
            smtp_port=server.port,
            smtp_security="none",
            from_email="smgr@example.com",
            to_emails=["ops@example.com"],
            notify_on_success=True,
        ),
    )["failed"]
    names = [f"job{index:02d}" for index in range(JOBS)]
    for name in names:
        prefix.add_job(name=name, type="paths", paths=[str(data)], compression="zstd" if len(name) % 2 else "gzip")
    logs = shared / "cron-logs"
    logs.mkdir()
    out = shared / "out"
    out.mkdir()
    canary = shared / "canary"
    entries = [(f"backup-{name}", name) for name in names] + [
        (f"again-{name}", name) for name in names[:SECOND_ENTRIES]
    ]
    minute, start = next_free_minute()
    schedule = f"{minute} * * * *"
    jobs = [
        dict(name=entry, schedule=schedule, command=f"{prefix.bin} backup {job}", log=str(logs / f"{entry}.log"))
        for entry, job in entries
    ]
    # One line each (cron refuses control characters), the most shell- and cron-hostile first.
    printable = [
        text
        for text in hostile(str(canary))
        if not any(unicodedata.category(char) == "Cc" for char in text) and len(text) < 300
    ]
    ranked = sorted(printable, key=lambda text: -sum(text.count(char) for char in "%'\"`$;|&\\"))
    payloads = [*ranked[: HOSTILE_ENTRIES - 1], next(text for text in printable if "\u2028" in text)]
    for index, text in enumerate(payloads):
        jobs.append(
            dict(
                name=f"inj-{index}",
                schedule=schedule,
                command=f"printf '%s' {shlex.quote(text)} > {shlex.quote(str(out / str(index)))}",
                log=str(logs / f"inj {index} {text[:40].replace('/', '|')}.log"),
            )
        )
    try:
        result = run_module(
            smgr_schedule,
            dict(cron_file=str(cron_file), backup=0, audit_log="", lock_dir=str(shared / "lock"), jobs=jobs),
        )
        assert not result["failed"], result
        assert len(result["jobs"]) == JOBS + SECOND_ENTRIES + len(payloads)

        def all_ended() -> bool:
            ended = len(RESULT_RE.findall(prefix.log_text()))
            return ended >= len(entries) and len(os.listdir(out)) == len(payloads)

        # Due at `start`; cron may see the file a minute later; 50 runs then take a while on two cores.
        bound = start + 60 + 180 - time.time()
        assert wait_until(all_ended, timeout=bound, interval=1), prefix.log_text()[-3000:]
        # The result line comes before the notification: wait until no run holds its job lock any more.
        assert wait_until(lambda: not any(is_locked(prefix.settings.lock_dir, name) for name in names), timeout=60)
    finally:
        cron_file.unlink(missing_ok=True)

    log = prefix.log_text()
    results = RESULT_RE.findall(log)
    assert len(results) == len(entries), "one result line per invocation"
    outcomes = {}
    for _pid, job, outcome in results:
        outcomes.setdefault(job, []).append(outcome)
    assert sorted(outcomes) == names
    for name in names:
        # Each job ran at least once and never failed; a second entry either ran too or was serialized by the lock.
        assert "backup ok in" in outcomes[name], (name, outcomes[name])
        assert all(outcome in ("backup ok in", "already running") for outcome in outcomes[name]), outcomes[name]
        state = json.loads((Path(prefix.settings.state_dir) / f"{name}.json").read_text())
        assert state["job"] == name and state["last_run"]["status"] == "ok"
        archive = state["last_success"]["archive"]
        assert verify_archive(archive, read_sidecar(archive)) > 0
        dest = prefix.dest(name)
        for entry in os.listdir(dest):
            assert parse_archive_name(entry.removesuffix(".sha256"), prefix.host, name), entry
    runs = sum(outcome == "backup ok in" for _pid, _job, outcome in results)
    serialized = sum(outcome == "already running" for _pid, _job, outcome in results)
    assert runs + serialized == len(entries)
    for entry, _job in entries:
        assert re.search(r"(backup ok in|already running)", (logs / f"{entry}.log").read_text()), entry
    successes = [m for m in server.wait_for(runs, timeout=30) if m.message()["Subject"].startswith("[SUCCESS]")]
    assert len(successes) == runs
    for index, text in enumerate(payloads):
        assert (out / str(index)).read_text() == text
    assert not canary.exists()
    assert os.stat(prefix.settings.lock_dir).st_mode & 0o777 == 0o700
    record_figures(
        "load cron",
        entries=len(entries),
        hostile_entries=len(payloads),
        runs=runs,
        serialized=serialized,
        notifications=len(successes),
    )
