# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test helpers for backups: a runner installed under a temp prefix, odd trees, tree snapshots, a real sshd,
a local HTTP server that records pings.

Import as ``from ansible_collections.smgr.server_manager.tests.support.backup_env import ...``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import (
    RunnerSettings,
    passphrase_path,
    render_job,
    render_settings,
    validate_job,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._runner.build import runner_bytes

SUPPORT_DIR = Path(__file__).resolve().parent


_INSTALL_LOCK = threading.Lock()


@dataclass
class Prefix:
    """A whole host layout under ``root``: runner, config, state, logs, locks, backups."""

    root: Path
    host: str = "testhost"
    settings: RunnerSettings = field(init=False)

    def __post_init__(self) -> None:
        self.base = self.root / "opt" / "server-manager"
        self.bin = self.base / "bin" / "smgr"
        self.config = self.base / "config"
        (self.config / "backups.d").mkdir(parents=True, exist_ok=True)
        self.bin.parent.mkdir(parents=True, exist_ok=True)
        self.settings = RunnerSettings(
            state_dir=str(self.base / "state"),
            log_dir=str(self.base / "logs"),
            lock_dir=str(self.root / "run" / "lock" / "smgr"),
            backup_root=str(self.root / "backups"),
            archive_host=self.host,
        )
        (self.config / "runner.yaml").write_bytes(render_settings(self.settings))

    def configure_mail(self, port: int, **prefs: Any) -> None:
        """notifications.yaml for a plain SMTP server on 127.0.0.1:``port`` (``prefs``: notify_on_success, ...)."""
        from ansible_collections.smgr.server_manager.plugins.module_utils._notify.config import (
            NotifyConfig,
            render_config,
        )

        config = NotifyConfig(
            enabled=True,
            smtp_server="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            from_email="smgr@example.org",
            to_emails=("ops@example.org",),
            **prefs,
        )
        path = self.config / "notifications.yaml"
        path.write_text(render_config(config))
        path.chmod(0o600)

    def update_settings(self, **changes: Any) -> None:
        """Rewrite runner.yaml with ``changes`` (``cron_file=...``, ``metrics_file=...``)."""
        self.settings = dataclasses.replace(self.settings, **changes)
        (self.config / "runner.yaml").write_bytes(render_settings(self.settings))

    def install_runner(self) -> Path:
        self.bin.write_bytes(runner_bytes(sys.executable))
        self.bin.chmod(0o755)
        return self.bin

    def write_passphrase(self, job: str, passphrase: str) -> str:
        """Job ``job``'s passphrase file where smgr_backup writes it; its path."""
        path = passphrase_path(str(self.config), job)
        write_passphrase(path, passphrase)
        return path

    def add_job(self, **raw: Any) -> Path:
        job = validate_job(raw, self.settings.backup_root, require_passphrase=False)  # the test writes the file
        path = self.config / "backups.d" / f"{job.name}.yaml"
        path.write_bytes(render_job(job))
        path.chmod(0o600)
        return Path(job.dest)

    def dest(self, job: str) -> Path:
        return Path(self.settings.backup_root) / job

    def state(self, job: str) -> dict[str, Any]:
        path = Path(self.settings.state_dir) / f"{job}.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def log_text(self) -> str:
        path = Path(self.settings.log_dir) / "smgr.log"
        return path.read_text() if path.exists() else ""

    def run(
        self,
        *args: str,
        check: int | None = None,
        env: dict[str, str] | None = None,
        input_: str | None = None,
    ) -> subprocess.CompletedProcess:
        """Run the installed runner file (the real artifact) as a subprocess."""
        # Tests run the runner from threads: one installing while another forks and execs the file fails
        # with "Text file busy" (the half-written file is open for writing).
        with _INSTALL_LOCK:
            if not self.bin.exists():
                self.install_runner()
        completed = subprocess.run(
            [str(self.bin), *args],
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            input=input_,
            check=False,
        )
        if check is not None:
            assert completed.returncode == check, (completed.returncode, completed.stdout, completed.stderr)
        return completed

    def run_json(self, *args: str, check: int | None = None) -> dict[str, Any]:
        completed = self.run("--json", *args, check=check)
        return json.loads(completed.stdout)

    def archives(self, job: str) -> list[Path]:
        dest = self.dest(job)
        if not dest.exists():
            return []
        return sorted(p for p in dest.iterdir() if p.name.endswith((".tar.zst", ".tar.gz")) and p.is_file())


def write_passphrase(path: str, passphrase: str) -> None:
    """A borg job's passphrase file as smgr_backup writes it (0600, its directory 0700)."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, passphrase.encode("utf-8") + b"\n")
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- trees


def make_odd_tree(root: Path) -> Path:
    """Files, empty dirs, symlinks (dangling too), hard links, odd names, modes and mtimes."""
    root.mkdir(parents=True)
    (root / "empty-dir").mkdir()
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "plain.txt").write_text("hello\n")
    (root / "name with spaces.conf").write_text("spaces\n")
    (root / "sub" / "deeper" / "big.bin").write_bytes(os.urandom(300_000))
    os.symlink("plain.txt", root / "link-to-plain")
    os.symlink("/nonexistent/target", root / "dangling-link")
    os.symlink("sub/deeper", root / "dir-link")
    os.link(root / "plain.txt", root / "hardlink-to-plain")
    newline = os.fsencode(str(root)) + b"/new\nline"
    with open(newline, "wb") as handle:
        handle.write(b"newline name\n")
    non_utf8 = os.fsencode(str(root)) + b"/latin1-\xe9t\xe9"
    with open(non_utf8, "wb") as handle:
        handle.write(b"not utf-8\n")
    (root / "secret.key").write_text("key\n")
    (root / "secret.key").chmod(0o600)
    (root / "script.sh").write_text("#!/bin/sh\n")
    (root / "script.sh").chmod(0o750)
    (root / "sub").chmod(0o711)
    os.chown(root / "secret.key", 1234, 4321)
    os.setxattr(root / "plain.txt", "user.smgr.note", b"kept by tar --xattrs")
    os.setxattr(root / "sub", "user.smgr.dir", b"on a directory")
    # certbot's layout: live/ links into archive/
    (root / "letsencrypt" / "archive" / "example.org").mkdir(parents=True)
    (root / "letsencrypt" / "live" / "example.org").mkdir(parents=True)
    (root / "letsencrypt" / "archive" / "example.org" / "cert1.pem").write_text("CERT\n")
    os.symlink("../../archive/example.org/cert1.pem", root / "letsencrypt" / "live" / "example.org" / "cert.pem")
    stamp = 1_000_000_000
    for path in sorted(_walk(root), key=len, reverse=True):
        os.utime(path, ns=(stamp * 10**9, (stamp + len(path)) * 10**9 + 123456789), follow_symlinks=False)
    return root


def _walk(root: Path) -> list[bytes]:
    paths = []
    for directory, dirnames, filenames in os.walk(os.fsencode(str(root))):
        paths.append(directory)
        for name in dirnames + filenames:
            paths.append(os.path.join(directory, name))
    return paths


def snapshot(root: Path) -> dict[bytes, tuple]:
    """Everything a restore must reproduce, keyed by path relative to ``root`` (bytes: names may not be UTF-8)."""
    base = os.fsencode(str(root))
    inodes: dict[tuple, bytes] = {}
    result: dict[bytes, tuple] = {}
    for path in sorted(set(_walk(root))):
        rel = os.path.relpath(path, base)
        info = os.lstat(path)
        kind = stat.S_IFMT(info.st_mode)
        if stat.S_ISLNK(info.st_mode):
            content: Any = os.readlink(path)
        elif stat.S_ISREG(info.st_mode):
            with open(path, "rb") as handle:
                content = hashlib.sha256(handle.read()).hexdigest()
        else:
            content = None
        link_group = None
        if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
            link_group = inodes.setdefault((info.st_dev, info.st_ino), rel)
        mtime = None if stat.S_ISLNK(info.st_mode) or rel == b"." else info.st_mtime_ns
        xattrs = None
        if not stat.S_ISLNK(info.st_mode):
            xattrs = tuple(sorted((name, os.getxattr(path, name)) for name in os.listxattr(path)))
        result[rel] = (kind, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, mtime, content, link_group, xattrs)
    return result


# --------------------------------------------------------------------------- sshd


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sshd:
    """A real OpenSSH server on 127.0.0.1 with a throwaway host key; root logs in with a throwaway client key."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        self.port = free_port()
        self.host_key = self.dir / "host_ed25519"
        self.client_key = self.dir / "client_ed25519"
        self.known_hosts = self.dir / "known_hosts"
        self.pidfile = self.dir / "sshd.pid"
        self.process: subprocess.Popen | None = None

    def start(self) -> Sshd:
        for key in (self.host_key, self.client_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        (self.dir / "authorized_keys").write_text((self.dir / "client_ed25519.pub").read_text())
        (self.dir / "authorized_keys").chmod(0o600)
        host_pub = (self.dir / "host_ed25519.pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        config = self.dir / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.host_key}",
                    f"PidFile {self.pidfile}",
                    f"AuthorizedKeysFile {self.dir / 'authorized_keys'}",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "Subsystem sftp internal-sftp",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory
        self.process = subprocess.Popen(
            ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _attempt in range(200):
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not start listening")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait()
        self.process = None

    def job_options(self, path: str, user: str = "root") -> dict[str, Any]:
        return {
            "remote": f"{user}@127.0.0.1:{path}",
            "remote_port": self.port,
            "remote_ssh_key": str(self.client_key),
            "remote_ssh_options": [f"UserKnownHostsFile={self.known_hosts}", "StrictHostKeyChecking=yes"],
        }

    def borg_options(self, path: str, key: Path | None = None, known_hosts: Path | None = None) -> dict[str, Any]:
        """A borg job's ``ssh://`` repository at ``path`` on this server (``key``/``known_hosts``: other ones)."""
        return {
            "repository": f"ssh://root@127.0.0.1:{self.port}{path}",
            "ssh_key": str(key or self.client_key),
            "ssh_options": [f"UserKnownHostsFile={known_hosts or self.known_hosts}", "StrictHostKeyChecking=yes"],
        }
