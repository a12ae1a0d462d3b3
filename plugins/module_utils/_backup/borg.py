# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""BorgBackup repositories: the operations a borg engine needs, with borg's failures phrased for the operator.

The operations of the borg engine of backup jobs (``borg_job`` ties them to a job). The passphrase never
appears on a command line or in an error: borg reads it with ``BORG_PASSCOMMAND`` from a file only its owner
can read. borg's own state (cache, security records, keys of keyfile repositories) lives in ``base_dir``
(``BORG_BASE_DIR``), not in the home directory of whoever runs it. Archive names carry host and job
(``<host>+<job>-<UTC time>``, the tar engine's rule), and pruning, listing and checking are scoped to them, so
several hosts can share one repository.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import DEFAULT_BORG_LOCK_WAIT
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._common.process import (
    capture_in_session,
    run_captured,
    subprocess_env,
)

BORG = "borg"
DEFAULT_ENCRYPTION = "repokey-blake2"
ENCRYPTIONS = (
    "repokey-blake2",
    "repokey",
    "keyfile-blake2",
    "keyfile",
    "authenticated-blake2",
    "authenticated",
    "none",
)
DEFAULT_COMPRESSION = "zstd,3"
_COMPRESSION_RE = re.compile(
    r"(?:none|lz4|(?:zstd|zlib|lzma)(?:,\d{1,2})?|auto,(?:lz4|(?:zstd|zlib|lzma)(?:,\d{1,2})?))"
)
_SSH_REPO_RE = re.compile(r"ssh://(?:(?P<user>[^@/\s]+)@)?(?P<host>[^/:\s]+)(?::(?P<port>\d+))?/.+")
# The kinds of failure callers act on (BorgError.kind), apart from the sentence shown to the operator.
MISSING_REPOSITORY = "missing_repository"
LOCKED = "locked"
CLOSED = "closed"
NOT_A_REPOSITORY = "not_a_repository"
NO_MANIFEST = "no_manifest"
REPOSITORY_EXISTS = "repository_exists"  # borg init where a repository is
PATH_EXISTS = "path_exists"  # borg init where a non-empty directory or a file is
ARCHIVE_EXISTS = "archive_exists"  # borg create with an archive name that is taken
TIMEOUT = "timeout"
NOT_INSTALLED = "not_installed"
# borg's messages that mean one thing to fix (borg 1.2 exits 2 for all of them): (needle, kind, sentence).
_FAILURES = (
    ("is incorrect", "passphrase", "the passphrase is wrong (borg cannot decrypt the repository key)"),
    ("Host key verification failed", "host_key", "ssh does not know the repository host's key (add it to known_hosts)"),
    ("Permission denied (publickey", "ssh_key", "ssh refused the key (ssh_key is not authorized on its host)"),
    ("Failed to create/acquire the lock", LOCKED, "the repository is locked by another borg process"),
    ("No space left on device", "disk_full", "no space left on the device of the repository (or of borg's cache)"),
    ("Connection refused", "refused", "the repository's host refused the connection"),  # before borg's summary
    ("Connection closed by remote host", CLOSED, "the repository's host closed the connection"),
    ("Remote: ssh", "ssh", "ssh to the repository failed"),
    ("Could not resolve hostname", "resolve", "the repository's host name does not resolve"),
    ("is not a valid repository", NOT_A_REPOSITORY, "the path is not a borg repository"),
    ("Repository has no manifest", NO_MANIFEST, "the repository has no manifest (borg init did not finish)"),
    ("A repository already exists at", REPOSITORY_EXISTS, "a repository already exists there"),
    ("There is already something at", PATH_EXISTS, "there is already something at the repository's path"),
    (" already exists", ARCHIVE_EXISTS, "an archive of that name already exists"),  # after the repository's
    ("No key file for repository", "no_key", "the repository's key is not on this host (smgr key import)"),
)
_MISSING_RE = re.compile(r"^Repository \S.* does not exist\.?$", re.MULTILINE)
# ssh notices a dead connection within about three minutes instead of never (prune or compact would hang).
SSH_KEEPALIVE = ("ServerAliveInterval=60", "ServerAliveCountMax=3")


class BorgError(SmgrError):
    """A borg command failed; ``kind`` is the cause when borg's message names one."""

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ArchiveStats:
    name: str
    original_size: int
    compressed_size: int
    deduplicated_size: int
    files: int
    warnings: tuple[str, ...] = ()  # what borg said when it finished with warnings (a file vanished, unreadable)


@dataclass(frozen=True)
class BorgRepository:
    """One repository and how to reach it. ``passphrase_file`` is None for an unencrypted repository."""

    repository: str
    base_dir: str
    passphrase_file: str | None = None
    remote_path: str | None = None
    ssh_key: str | None = None
    ssh_options: Sequence[str] = field(default_factory=tuple)
    lock_wait: int = DEFAULT_BORG_LOCK_WAIT  # seconds borg waits for another process's lock (borg_lock_wait)
    timeout: float | None = None  # seconds each borg command may take (the job's timeout)

    def environment(self) -> dict[str, str]:
        env = subprocess_env()
        for key in [key for key in env if key.startswith("BORG_")]:
            del env[key]  # the caller's BORG_* (keys dir, cache dir, repository, passphrase) must not decide
        env["BORG_BASE_DIR"] = self.base_dir
        env["BORG_RELOCATED_REPO_ACCESS_IS_OK"] = "no"
        env["BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK"] = "no" if self.passphrase_file else "yes"
        env["BORG_DISPLAY_PASSPHRASE"] = "no"
        if self.passphrase_file:
            env["BORG_PASSCOMMAND"] = f"cat {shlex.quote(self.passphrase_file)}"
        else:
            env["BORG_PASSPHRASE"] = ""
        if self.remote_path:
            env["BORG_REMOTE_PATH"] = self.remote_path
        ssh = ["ssh", "-o", "BatchMode=yes"]
        if self.ssh_key:
            ssh += ["-i", self.ssh_key, "-o", "IdentitiesOnly=yes"]
        given = {option.split("=", 1)[0].lower() for option in self.ssh_options}
        for option in (
            *self.ssh_options,
            *(o for o in SSH_KEEPALIVE if o.split("=", maxsplit=1)[0].lower() not in given),
        ):
            ssh += ["-o", option]
        env["BORG_RSH"] = shlex.join(ssh)
        return env

    def run(self, args: Sequence[str], timeout: float | None = None, input_text: str | None = None) -> str:
        """Run ``borg <args>``; its stdout, or BorgError with what it said (the passphrase is never in it)."""
        return self.completed(args[0], args, timeout=timeout, input_text=input_text).stdout

    def completed(
        self,
        command: str,
        args: Sequence[str],
        cwd: str | None = None,
        timeout: float | None = None,
        input_text: str | None = None,
        warnings_ok: bool = True,
        binary: bool = False,
    ) -> subprocess.CompletedProcess:
        """Run ``borg <args>`` (in ``cwd``); how it ended, or BorgError naming ``command`` when it failed. Exit 1
        means finished with warnings: accepted with ``warnings_ok`` (create, extract), a failure otherwise
        (``borg check`` exits 1 when it found errors). ``binary``: stdout as bytes (paths that are not UTF-8)."""
        timeout = timeout if timeout is not None else self.timeout
        try:
            # its own session: a timeout also ends the ssh that borg started for an ssh:// repository
            completed = capture_in_session(
                [BORG, *args], timeout, input_text=input_text, env=self.environment(), cwd=cwd, binary=binary
            )
        except FileNotFoundError:
            raise BorgError("borg is not installed (Debian: apt install borgbackup)", NOT_INSTALLED) from None
        except subprocess.TimeoutExpired:
            raise BorgError(f"borg {command} did not finish within {timeout:g} s", TIMEOUT) from None
        if completed.returncode not in ((0, 1) if warnings_ok else (0,)):
            stderr = completed.stderr.decode("utf-8", "backslashreplace") if binary else completed.stderr
            error = classify(command, stderr, completed.returncode)
            if error.kind == CLOSED and self.repository.startswith("ssh://"):
                probe = self.ssh_probe()  # "" when ssh itself connects fine: then borg's reading stands
                better = classify(command, probe, completed.returncode) if probe else None
                if better is not None and better.kind not in (None, CLOSED):
                    error = better
            raise error
        return completed

    def ssh_probe(self) -> str:
        """What ssh itself says when it connects to the repository's host the way borg does: borg relays ssh's
        reason ("Connection refused", "Host key verification failed") only when it reads it before it exits."""
        match = _SSH_REPO_RE.fullmatch(self.repository)
        if not match:
            return ""
        command = shlex.split(self.environment()["BORG_RSH"])
        if match.group("port"):
            command += ["-p", match.group("port")]
        login = f"{match.group('user')}@{match.group('host')}" if match.group("user") else match.group("host")
        probe = run_captured([*command, "-o", "ConnectTimeout=10", login, "true"], timeout=30)
        return probe.stderr if probe.status else ""

    def target(self, archive: str | None = None) -> str:
        return self.repository if archive is None else f"{self.repository}::{archive}"

    def init(self, encryption: str = DEFAULT_ENCRYPTION) -> None:
        check_encryption(encryption, self.passphrase_file)
        self.run(["init", f"--encryption={encryption}", self.repository])

    def create(
        self,
        archive: str,
        paths: Sequence[str],
        compression: str = DEFAULT_COMPRESSION,
        excludes: Iterable[str] = (),
        cwd: str | None = None,
        timeout: float | None = None,
    ) -> ArchiveStats:
        """``borg create`` of ``paths`` (relative ones to ``cwd``); its statistics."""
        args = ["create", "--json", f"--lock-wait={self.lock_wait}", f"--compression={check_compression(compression)}"]
        for pattern in excludes:
            args += ["--exclude", pattern]
        completed = self.completed("create", [*args, "--", self.target(archive), *paths], cwd=cwd, timeout=timeout)
        stats = json.loads(completed.stdout)["archive"]["stats"]
        warnings = (
            [line.strip() for line in completed.stderr.splitlines() if line.strip()] if completed.returncode else []
        )
        return ArchiveStats(
            archive,
            stats["original_size"],
            stats["compressed_size"],
            stats["deduplicated_size"],
            stats["nfiles"],
            tuple(warnings),
        )

    def names(self, glob: str) -> list[str]:
        """The names of the archives matching ``glob``, oldest first (no sizes: one quick listing)."""
        listing = json.loads(
            self.run(["list", "--json", f"--lock-wait={self.lock_wait}", f"--glob-archives={glob}", self.repository])
        )
        # By the UTC time in the name: borg's "start" is local time without a zone (ambiguous when clocks go back).
        return sorted((item["name"] for item in listing.get("archives", [])), key=lambda name: name.rsplit("-", 1)[-1])

    def archives(self, glob: str) -> list[dict[str, Any]]:
        """The archives matching ``glob`` (one host and job: ``archive_glob``) with their sizes (``borg info``;
        no match is an empty list)."""
        arguments = ["info", "--json", f"--lock-wait={self.lock_wait}", f"--glob-archives={glob}", self.repository]
        found = []
        for archive in json.loads(self.run(arguments)).get("archives", []):
            stats = archive.get("stats", {})
            found.append(
                {
                    "name": archive["name"],
                    "time": archive.get("start"),
                    "original_size": stats.get("original_size"),
                    "compressed_size": stats.get("compressed_size"),
                    "deduplicated_size": stats.get("deduplicated_size"),
                    "files": stats.get("nfiles"),
                }
            )
        return found

    def items(self, archive: str) -> list[dict[str, Any]]:
        """The entries of ``archive``: type, mode, size, source (a hard link's or symlink's target) and path, the
        path exactly as stored (``bpath``: a name that is not UTF-8 comes back as the same bytes, surrogate-escaped,
        where ``--json-lines`` would print '?')."""
        fields = ("type", "mode", "size", "mtime", "source", "bpath")
        fmt = "".join("{" + name + "}{NUL}" for name in fields)
        args = ["list", f"--lock-wait={self.lock_wait}", f"--format={fmt}", self.target(archive)]
        completed = self.completed("list", args, warnings_ok=False, binary=True)
        values = completed.stdout.split(b"\0")[:-1]
        items = []
        for start in range(0, len(values) - len(fields) + 1, len(fields)):
            record = dict(zip(fields, (os.fsdecode(value) for value in values[start : start + len(fields)])))
            record["path"] = record.pop("bpath")
            record["linktarget"] = record["source"]
            record["size"] = int(record["size"] or 0)
            items.append(record)
        return items

    def prune(
        self, glob: str, retention: Mapping[str, int | None], dry_run: bool = False
    ) -> tuple[list[str], list[str]]:
        """Apply the job's retention to its own archives (``glob``): the names removed (or that would be) and the
        names kept."""
        args = [
            "prune",
            "--list",
            f"--lock-wait={self.lock_wait}",
            f"--glob-archives={glob}",
            *prune_arguments(retention),
        ]
        if dry_run:
            args.append("--dry-run")
        completed = self.completed("prune", [*args, self.repository], warnings_ok=False)
        output = completed.stdout + "\n" + completed.stderr  # the stream of --list differs by version
        kept = re.findall(r"^Keeping archive(?: \(rule: [^)]*\))?:\s+(\S+)", output, re.MULTILINE)
        pattern = re.compile(r"^(?:Would prune|Pruning archive(?: \(\d+/\d+\))?):\s+(\S+)", re.MULTILINE)
        return pattern.findall(output), kept

    def compact(self) -> int:
        """Free the space of pruned archives; the bytes borg says it freed."""
        completed = self.completed(
            "compact", ["compact", "--verbose", f"--lock-wait={self.lock_wait}", self.repository], warnings_ok=False
        )
        match = re.search(r"compaction freed about ([\d.]+) ([kMGT]?B)", completed.stderr)
        if not match:
            return 0
        factor = {"B": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}[match.group(2)]
        return int(float(match.group(1)) * factor)

    def check(self, archive: str | None = None, verify_data: bool = False, timeout: float | None = None) -> None:
        """``borg check`` of one archive (or the repository's archives), time-bounded."""
        args = ["check", "--archives-only", f"--lock-wait={self.lock_wait}"]
        if verify_data:
            args = ["check", "--verify-data", f"--lock-wait={self.lock_wait}"]
        if archive is not None:
            args.append(f"--glob-archives={archive}")
        self.completed("check", [*args, self.repository], timeout=timeout, warnings_ok=False)

    def extract(self, archive: str, destination: str, timeout: float | None = None) -> list[str]:
        """Extract ``archive`` into ``destination`` (an existing directory; borg extracts relative paths); the
        warnings borg printed (it exits 1 for them)."""
        completed = self.completed(
            "extract",
            ["extract", f"--lock-wait={self.lock_wait}", self.target(archive)],
            cwd=destination,
            timeout=timeout,
        )
        return [line.strip() for line in completed.stderr.splitlines() if line.strip()] if completed.returncode else []

    def lock_holders(self) -> list[tuple[str, int]]:
        """(host id, pid) of each holder of a local repository's exclusive lock (empty for ssh:// or unlocked).

        borg names each holder ``<fqdn>@<node>.<pid>-<thread>`` in ``lock.exclusive``."""
        if not self.repository.startswith("/"):
            return []
        try:
            names = os.listdir(os.path.join(self.repository, "lock.exclusive"))
        except OSError:
            return []
        holders = []
        for name in names:
            host_pid, _sep, _thread = name.rpartition("-")
            host, _sep, pid = host_pid.rpartition(".")
            if pid.isdigit():
                holders.append((host, int(pid)))
        return holders

    def export_key(self) -> str:
        """The repository key (for a repokey repository it lives in the repository; keep a copy elsewhere)."""
        return self.run(["key", "export", self.repository])

    def import_key(self, key_text: str) -> None:
        self.run(["key", "import", self.repository, "-"], input_text=key_text)

    def delete(self, archive: str) -> None:
        self.completed("delete", ["delete", f"--lock-wait={self.lock_wait}", self.target(archive)], warnings_ok=False)

    def break_lock(self) -> None:
        self.run(["break-lock", self.repository])


def classify(command: str, stderr: str, status: int) -> BorgError:
    """borg's failure as one sentence: the cause when its message names one, else its last line."""
    if _MISSING_RE.search(stderr):
        return BorgError(f"borg {command}: the repository does not exist", MISSING_REPOSITORY)
    for needle, kind, meaning in _FAILURES:
        if needle in stderr:
            return BorgError(f"borg {command}: {meaning}", kind)
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return BorgError(f"borg {command} failed (exit {status}): {lines[-1] if lines else 'no message'}")


LEVELS = {"zstd": (1, 22), "zlib": (0, 9), "lzma": (0, 9)}  # what borg accepts after the comma


def check_compression(compression: object) -> str:
    """borg's ``--compression`` syntax, levels within borg's ranges (zstd 1-22, zlib and lzma 0-9)."""
    problem = f"must be borg's syntax (none, lz4, zstd,N, zlib,N, lzma,N, auto,...), got {compression!r}"
    if not isinstance(compression, str) or not _COMPRESSION_RE.fullmatch(compression):
        raise SmgrError(problem, field="compression")
    parts = compression.split(",")
    if parts[0] == "auto":
        parts = parts[1:]
    if len(parts) == 2:
        low, high = LEVELS[parts[0]]
        if not low <= int(parts[1]) <= high:
            raise SmgrError(f"{parts[0]} levels are {low} to {high}, got {compression!r}", field="compression")
    return compression


def check_encryption(encryption: object, passphrase_file: str | None) -> str:
    if encryption not in ENCRYPTIONS:
        raise SmgrError(f"must be one of {', '.join(ENCRYPTIONS)}, got {encryption!r}", field="encryption")
    if encryption != "none" and not passphrase_file:
        raise SmgrError(f"{encryption} needs a passphrase", field="passphrase")
    return str(encryption)


def check_repository(repository: object) -> str:
    """A local absolute path or ``ssh://[user@]host[:port]/path``."""
    if isinstance(repository, str) and (
        (repository.startswith("/") and "::" not in repository) or _SSH_REPO_RE.fullmatch(repository)
    ):
        return repository
    raise SmgrError(f"must be an absolute path or ssh://user@host:port/path, got {repository!r}", field="repository")


def prune_arguments(retention: Mapping[str, int | None]) -> list[str]:
    """The job's retention keys as ``borg prune`` options: keep_days is --keep-within, keep_min --keep-last."""
    args = []
    if retention.get("keep_days"):
        args.append(f"--keep-within={int(retention['keep_days'])}d")
    if retention.get("keep_min"):
        args.append(f"--keep-last={int(retention['keep_min'])}")
    for key, option in (
        ("keep_daily", "--keep-daily"),
        ("keep_weekly", "--keep-weekly"),
        ("keep_monthly", "--keep-monthly"),
    ):
        if retention.get(key):
            args.append(f"{option}={int(retention[key])}")
    if not args:
        raise SmgrError(
            "borg prune needs at least one retention rule (keep_days, keep_min, keep_daily ...)", field="retention"
        )
    return args


ARCHIVE_STAMP_GLOB = "[0-9]" * 8 + "T" + "[0-9]" * 6 + "Z"


def archive_name(host: str, job: str, when: datetime) -> str:
    """``<host>+<job>-<UTC time>``: the tar engine's rule without the suffix (hosts and jobs have no '+')."""
    from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import format_timestamp

    return f"{host}+{job}-{format_timestamp(when)}"


def archive_glob(host: str, job: str) -> str:
    """Exactly the archives of ``job`` on ``host``: the timestamp's digits keep job ``web`` from matching
    ``web-data``'s or ``web-2``'s archives (host and job names hold no character borg's patterns treat specially)."""
    return f"{host}+{job}-{ARCHIVE_STAMP_GLOB}"


def local_host_names() -> set[str]:
    """The names borg may record as this host in a lock (its host id starts with the fully qualified name)."""
    import socket  # only a locked repository needs it; every run imports this module

    name = socket.gethostname()
    return {name, name.split(".")[0], socket.getfqdn(name)}
