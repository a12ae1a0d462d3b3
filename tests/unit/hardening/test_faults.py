# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults during a backup, with the real runner under a temp prefix: the SMTP server down or hanging, the remote
unreachable or hanging, the source vanishing after it was checked, the disk full.

Each ends with a clear state file, a log line that names the cause, and a notification when one can be sent; a
notification problem never changes the backup's result, and every run ends within its timeouts (each runner
call is bounded: a hang fails the test).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import read_sidecar, verify_archive
from ansible_collections.smgr.server_manager.plugins.modules import smgr_notify
from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix
from ansible_collections.smgr.server_manager.tests.support.module_harness import run_module
from ansible_collections.smgr.server_manager.tests.support.smtp_server import unused_port
from ansible_collections.smgr.server_manager.tests.unit.hardening.helpers import record_figures

RUN_BOUND = 120  # seconds: far above every timeout configured here; reaching it means a hang


class Host:
    """A prefix with one job over a small tree, notifications configured, helpers to run and inspect."""

    def __init__(self, root: Path, smtp_port: int, smtp_timeout: int = 10) -> None:
        self.prefix = Prefix(root / "host")
        self.prefix.install_runner()
        self.data = root / "data"
        (self.data / "sub").mkdir(parents=True)
        (self.data / "sub" / "file.txt").write_text("content\n")
        result = run_module(
            smgr_notify,
            dict(
                path=str(self.prefix.config / "notifications.yaml"),
                enabled=True,
                smtp_server="127.0.0.1",
                smtp_port=smtp_port,
                smtp_security="none",
                from_email="smgr@example.com",
                to_emails=["ops@example.com"],
                notify_on_success=True,
                smtp_timeout=smtp_timeout,
            ),
        )
        assert not result["failed"], result

    def run(self, *args: str, env: dict | None = None) -> tuple[int, dict]:
        completed = subprocess.run(
            [str(self.prefix.bin), "--json", *args],
            capture_output=True,
            text=True,
            timeout=RUN_BOUND,
            env={**os.environ, **(env or {})},
            check=False,
        )
        return completed.returncode, json.loads(completed.stdout)

    def state(self, job: str = "site") -> dict:
        return self.prefix.state(job)

    def log(self) -> str:
        return self.prefix.log_text()


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never says a word (an SSH or SMTP server that hangs)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                self.connections.append(self.listener.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for connection in self.connections:
            connection.close()


def test_smtp_down_does_not_change_the_backup(tmp_path):
    host = Host(tmp_path, smtp_port=unused_port())
    host.prefix.add_job(name="site", type="paths", paths=[str(host.data)])
    code, result = host.run("backup", "site")
    assert (code, result["status"]) == (0, "ok")
    assert host.state()["last_run"]["status"] == "ok"
    assert "notification failed" in host.log() or "notification not sent" in host.log()
    assert "connection refused" in host.log()
    record_figures("fault smtp down", exit_code=code)


def test_smtp_hanging_ends_within_the_timeout(tmp_path):
    server = SilentServer()
    try:
        host = Host(tmp_path, smtp_port=server.port, smtp_timeout=2)
        host.prefix.add_job(name="site", type="paths", paths=[str(host.data)])
        code, result = host.run("backup", "site")
    finally:
        server.close()
    assert (code, result["status"]) == (0, "ok")
    assert host.state()["last_run"]["status"] == "ok"
    assert "timed out after 2 s" in host.log()
    record_figures("fault smtp hanging", exit_code=code, smtp_timeout=2)


@pytest.mark.parametrize("kind", ["refused", "hanging"])
def test_remote_unreachable_keeps_the_local_archive(tmp_path, smtp_server, kind):
    server = smtp_server("plain")
    host = Host(tmp_path, smtp_port=server.port)
    silent = SilentServer() if kind == "hanging" else None
    port = silent.port if silent else unused_port()
    try:
        dest = host.prefix.add_job(
            name="site",
            type="paths",
            paths=[str(host.data)],
            remote="root@127.0.0.1:/srv/smgr-unreachable",
            remote_port=port,
            remote_ssh_options=["StrictHostKeyChecking=yes", f"UserKnownHostsFile={tmp_path / 'known_hosts'}"],
            timeout=5,
        )
        code, result = host.run("backup", "site")
    finally:
        if silent:
            silent.close()
    assert (code, result["status"], result["synced"]) == (5, "partial", False)
    archive = Path(result["archive"])
    assert archive.parent == dest and verify_archive(str(archive), read_sidecar(str(archive))) > 0
    assert host.state()["last_run"]["status"] == "partial"
    assert "ERROR backup site: remote root@127.0.0.1:/srv/smgr-unreachable" in host.log()
    message = server.wait_for(1)[0].message()
    assert message["Subject"] == f"[FAILED] Backup: site on {host.prefix.host}"
    assert "remote root@127.0.0.1:/srv/smgr-unreachable" in next(message.iter_parts()).get_content()
    record_figures(f"fault remote {kind}", exit_code=code)


def test_source_vanishing_after_the_check(tmp_path, smtp_server):
    """The paths exist when checked; a stand-in nginx (run by type nginx between the check and tar) removes them."""
    server = smtp_server("plain")
    host = Host(tmp_path, smtp_port=server.port)
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "nginx").write_text(f"#!/bin/sh\nrm -rf '{host.data}'\nexit 0\n")
    (fake_bin / "nginx").chmod(0o755)
    dest = host.prefix.add_job(name="site", type="nginx", paths=[str(host.data)])
    code, result = host.run("backup", "site", env={"PATH": f"{fake_bin}:{os.environ['PATH']}"})
    assert not host.data.exists()
    assert (code, result["status"]) == (1, "failed")
    assert "tar failed" in result["error"] and "No such file or directory" in result["error"]
    assert os.listdir(dest) == []  # nothing published, no partial file left
    state = host.state()
    assert state["last_run"]["status"] == "failed" and state["consecutive_failures"] == 1
    assert "ERROR backup site: backup failed (exit 1): tar failed" in host.log()
    message = server.wait_for(1)[0].message()
    assert message["Subject"] == f"[FAILED] Backup: site on {host.prefix.host}"
    assert "Last log lines" in next(message.iter_parts()).get_content()
    record_figures("fault source vanishing", exit_code=code)


def test_disk_full_keeps_older_archives(tmp_path, smtp_server, small_disk):
    server = smtp_server("plain")
    host = Host(tmp_path, smtp_port=server.port)
    dest = host.prefix.add_job(name="site", type="paths", paths=[str(host.data)], dest=str(small_disk / "site"))
    code, first = host.run("backup", "site")
    assert code == 0
    (host.data / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))  # does not compress, does not fit
    code, result = host.run("backup", "site")
    assert (code, result["status"]) == (1, "failed")
    assert "no space left on the device" in result["error"]
    assert sorted(os.listdir(dest)) == sorted([Path(first["archive"]).name, Path(first["archive"]).name + ".sha256"])
    assert verify_archive(first["archive"], read_sidecar(first["archive"])) > 0
    state = host.state()
    assert state["last_run"]["status"] == "failed" and state["last_success"]["archive"] == first["archive"]
    assert "no space left on the device" in host.log()
    failed = [m.message() for m in server.wait_for(2) if m.message()["Subject"].startswith("[FAILED]")]
    assert len(failed) == 1 and "no space left" in next(failed[0].iter_parts()).get_content()
    # Room again: the next run succeeds and says it recovered.
    (host.data / "big.bin").unlink()
    code, result = host.run("backup", "site")
    assert (code, result["status"], result["recovered"]) == (0, "ok", True)
    shutil.rmtree(dest)
    record_figures("fault disk full", exit_code=1)
