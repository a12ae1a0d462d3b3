# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The off-site copy: rsync to a local directory or over ssh, published by rename after a checksum check.

Sequence for one archive: upload to ``.NAME.partial`` in the remote directory,
upload the sidecar ``NAME.sha256``, compute SHA-256 of the uploaded copy on the
far side (``sha256sum``) and compare it with the local one, then rename the copy
to ``NAME``. A transfer that dies midway leaves only a dot-partial file, which
retention never matches and the next sync overwrites.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import (
    SIDECAR_SUFFIX,
    parse_archive_name,
    sha256_file,
    sidecar_path,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import BackupJob, RemoteTarget, Retention
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.retention import (
    ArchiveRecord,
    CleanupResult,
    apply_retention,
    select_removals,
    without_claimed_legacy,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._common.process import (
    capture_in_session,
    last_lines,
    subprocess_env,
)

LIST_LINE_RE = re.compile(
    r"^(?P<perms>\S{10})\s+(?P<size>[0-9][0-9,.]*)\s+\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (?P<name>.+)$"
)
CONNECT_TIMEOUT = 30
IO_TIMEOUT = 600


@dataclass(frozen=True)
class Remote:
    """A job's remote: target plus ssh settings; ``timeout`` bounds each command (seconds)."""

    target: RemoteTarget
    port: int | None = None
    ssh_key: str | None = None
    ssh_options: tuple[str, ...] = ()
    timeout: int = 3600

    @classmethod
    def for_job(cls, job: BackupJob) -> Remote:
        target = job.remote_target
        if target is None:
            raise SmgrError("has no remote", job=job.name, field="remote")
        return cls(target, job.remote_port, job.remote_ssh_key, job.remote_ssh_options, job.timeout)

    @property
    def display(self) -> str:
        return f"{self.target.login}:{self.target.path}" if self.target.is_ssh else self.target.path

    def ssh_command(self) -> list[str]:
        command = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={CONNECT_TIMEOUT}"]
        if self.port:
            command += ["-p", str(self.port)]
        if self.ssh_key:
            command += ["-i", self.ssh_key, "-o", "IdentitiesOnly=yes"]
        for option in self.ssh_options:
            command += ["-o", option]
        return command

    def rsync_location(self, name: str = "") -> str:
        path = self.target.path.rstrip("/") + "/" + name
        return f"{self.target.login}:{path}" if self.target.is_ssh else path

    def remote_path(self, name: str) -> str:
        return os.path.join(self.target.path, name)


@dataclass
class SyncResult:
    remote: str
    name: str
    sha256: str
    cleanup: CleanupResult | None = None
    warnings: list[str] = field(default_factory=list)


def _run(command: Sequence[str], timeout: int, what: str) -> str:
    """Run a command, return stdout; SmgrError with stderr's tail when it fails or times out."""
    try:
        # its own session: a timeout also ends the ssh that rsync started, not rsync alone
        completed = capture_in_session(command, timeout, env=subprocess_env(), binary=True)
    except FileNotFoundError as exc:
        raise SmgrError(f"{what}: required tool not found: {exc.filename}") from exc
    except subprocess.TimeoutExpired as exc:
        raise SmgrError(f"{what}: timed out after {timeout}s") from exc
    if completed.returncode != 0:
        lines = last_lines(completed.stderr.decode("utf-8", "backslashreplace"), 5)
        raise SmgrError(f"{what} failed (exit {completed.returncode}): {'; '.join(lines) or 'no message'}")
    return completed.stdout.decode("utf-8", "backslashreplace")


def _ssh(remote: Remote, script: str, what: str) -> str:
    if remote.target.login is None:
        raise SmgrError(f"{what}: {remote.display} is not an ssh remote")
    return _run([*remote.ssh_command(), "--", remote.target.login, script], remote.timeout, what)


def _ssh_transport(remote: Remote) -> list[str]:
    """rsync's options to reach an ssh remote. ``--protect-args`` sends the remote path through rsync's protocol:
    on the remote command line, rsync 3.2 leaves a backtick unescaped and the remote shell would run what is
    between two of them."""
    return ["--protect-args", "-e", shlex.join(remote.ssh_command())] if remote.target.is_ssh else []


def _rsync(remote: Remote, sources: Sequence[str], destination: str, what: str, extra: Sequence[str] = ()) -> str:
    command = ["rsync", f"--timeout={IO_TIMEOUT}", "--times", "--perms", "--chmod=F600", *extra]
    return _run([*command, *_ssh_transport(remote), "--", *sources, destination], remote.timeout, what)


def ensure_directory(remote: Remote) -> None:
    if remote.target.is_ssh:
        _ssh(remote, f"mkdir -p -m 700 -- {shlex.quote(remote.target.path)}", f"creating {remote.display}")
        return
    try:
        os.makedirs(remote.target.path, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise SmgrError(f"cannot create {remote.display}: {exc.strerror}") from exc


def remote_sha256(remote: Remote, name: str) -> str:
    if not remote.target.is_ssh:
        return sha256_file(remote.remote_path(name))
    output = _ssh(remote, f"sha256sum -- {shlex.quote(remote.remote_path(name))}", f"checksum of {name} on the remote")
    match = re.match(r"^\\?([0-9a-f]{64})\s", output)
    if not match:
        raise SmgrError(f"unexpected sha256sum output from the remote: {output[:200]!r}")
    return match.group(1)


def _rename(remote: Remote, old: str, new: str) -> None:
    if not remote.target.is_ssh:
        try:
            os.rename(remote.remote_path(old), remote.remote_path(new))
        except OSError as exc:
            raise SmgrError(f"cannot rename {old} to {new} in {remote.display}: {exc.strerror}") from exc
        return
    script = f"mv -f -- {shlex.quote(remote.remote_path(old))} {shlex.quote(remote.remote_path(new))}"
    _ssh(remote, script, f"renaming {old} on the remote")


def remove_remote(remote: Remote, names: Sequence[str]) -> None:
    if not names:
        return
    if not remote.target.is_ssh:
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(remote.remote_path(name))
        return
    paths = " ".join(shlex.quote(remote.remote_path(name)) for name in names)
    _ssh(remote, f"rm -f -- {paths}", f"removing {len(names)} file(s) on the remote")


def sync_archive(remote: Remote, archive_path: str, digest: str) -> SyncResult:
    """Copy an archive and its sidecar. The copy gets its final name only once its checksum matches, and the
    sidecar follows it only then: a failed copy leaves neither the archive nor a sidecar without it."""
    name = os.path.basename(archive_path)
    partial = f".{name}.partial"
    ensure_directory(remote)
    _rsync(remote, [archive_path], remote.rsync_location(partial), f"uploading {name} to {remote.display}")
    copied = remote_sha256(remote, partial)
    if copied != digest:
        remove_remote(remote, [partial])
        raise SmgrError(f"the remote copy of {name} has checksum {copied}, expected {digest}; removed it")
    _rename(remote, partial, name)
    try:
        _rsync(remote, [sidecar_path(archive_path)], remote.rsync_location(name + SIDECAR_SUFFIX), "uploading checksum")
    except SmgrError:
        # An archive without its sidecar would restore unchecked: it goes too, and the run reports the failure.
        with contextlib.suppress(SmgrError):
            remove_remote(remote, [name])
        raise
    return SyncResult(remote=remote.display, name=name, sha256=digest)


def parse_listing(output: str, host: str, job: str) -> list[ArchiveRecord]:
    """Regular files from ``rsync --list-only`` that are this job's archives (symlinks and others ignored)."""
    lines = {}
    for line in output.splitlines():
        match = LIST_LINE_RE.match(line)
        if match:
            lines[match.group("name")] = (match.group("perms"), int(re.sub(r"[,.]", "", match.group("size"))))
    records = []
    for name, (perms, size) in lines.items():
        parsed = parse_archive_name(name, host, job)
        if parsed is None or not perms.startswith("-"):
            continue
        sidecar = lines.get(name + SIDECAR_SUFFIX)
        sidecar_size = sidecar[1] if sidecar and sidecar[0].startswith("-") else 0
        records.append(ArchiveRecord(name, parsed[0], size, sidecar_size, parsed[1]))
    records.sort(key=lambda record: (record.time, record.name), reverse=True)
    return without_claimed_legacy(records, lambda: lines, host, job)


def list_remote(remote: Remote, host: str, job: str) -> list[ArchiveRecord]:
    output = _run(
        [
            "rsync",
            "--list-only",
            "--no-h",
            f"--timeout={IO_TIMEOUT}",
            *_ssh_transport(remote),
            "--",
            remote.rsync_location(),
        ],
        remote.timeout,
        f"listing {remote.display}",
    )
    return parse_listing(output, host, job)


def cleanup_remote(
    remote: Remote, host: str, job: str, policy: Retention, now: datetime, dry_run: bool
) -> CleanupResult:
    """Retention on the remote copy: same policy, same matching rules as locally."""
    if not remote.target.is_ssh:
        return apply_retention(remote.target.path, host, job, policy, now, dry_run)
    records = list_remote(remote, host, job)
    removals = select_removals(records, policy, now)
    names = [record.name for record in removals]
    if not dry_run:
        remove_remote(remote, [item for name in names for item in (name, name + SIDECAR_SUFFIX)])
    removed = set(names)
    return CleanupResult(
        kept=[record.name for record in records if record.name not in removed],
        removed=names,
        freed_bytes=sum(record.bytes_on_disk for record in removals),
        dry_run=dry_run,
    )
