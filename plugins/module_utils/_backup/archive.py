# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Archives: GNU tar streamed through zstd or gzip, hashed while written, verified, published by rename.

Nothing here holds a whole archive in memory: tar writes to a pipe, the
compressor reads that pipe and writes ``NAME.partial`` itself, and this process
follows the file as it grows, 1 MiB at a time, feeding SHA-256 (and, verifying,
``decompressor | tar --list``). Only a verified archive
is renamed to its final name, after its ``NAME.sha256`` sidecar (``sha256sum -c``
format) is in place, so a crash at any point leaves the published set complete.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import hashlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Callable

from ansible_collections.smgr.server_manager.plugins.module_utils._common.atomic import fsync_directory, write_atomic
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._common.process import subprocess_env, tail_lines

CHUNK = 1024 * 1024
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
TIMESTAMP_RE = r"(?P<stamp>[0-9]{8}T[0-9]{6}Z)"
_TIMESTAMP_DIGITS = re.compile(r"[0-9]{8}T[0-9]{6}Z")
SUFFIXES = {".tar.zst": "zstd", ".tar.gz": "gzip"}
PARTIAL_SUFFIX = ".partial"
SIDECAR_SUFFIX = ".sha256"
TAR_ATTRIBUTE_OPTIONS = ("--xattrs", "--xattrs-include=*", "--acls")
STDERR_TAIL = 20
PR_SET_PDEATHSIG = 1  # linux/prctl.h
_FROMISOFORMAT_READS_BASIC = sys.version_info >= (3, 11)


class VerificationError(SmgrError):
    """The archive was written but does not read back: it must not be published."""


@dataclass
class ArchiveResult:
    """What was written: the file, its size and checksum, and what tar warned about."""

    path: str
    size: int
    sha256: str
    warnings: list[str] = field(default_factory=list)
    members: int | None = None  # tar members listed from the file, when created with verify


# --------------------------------------------------------------------------- names


def format_timestamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(stamp: str) -> datetime:
    """``20260101T020000Z`` as an aware UTC datetime; ValueError when it is not one."""
    if not _TIMESTAMP_DIGITS.fullmatch(stamp):
        raise ValueError(f"not a UTC timestamp of the form {TIMESTAMP_FORMAT}: {stamp!r}")
    return stamp_datetime(stamp)


def stamp_datetime(stamp: str) -> datetime:
    """The datetime of 15 digits already matched by ``TIMESTAMP_RE``; ValueError for a date that does not exist.

    Python 3.11's ``fromisoformat`` reads this basic ISO 8601 form in C (0.1 µs; same results, checked on
    300,000 random stamps, invalid dates included); older Pythons build it from the digits, not with
    ``strptime`` (about 10 µs a call). ``smgr cleanup`` parses one per archive (docs/performance.md, B8)."""
    if _FROMISOFORMAT_READS_BASIC:
        return datetime.fromisoformat(stamp)
    return datetime(
        int(stamp[0:4]),
        int(stamp[4:6]),
        int(stamp[6:8]),
        int(stamp[9:11]),
        int(stamp[11:13]),
        int(stamp[13:15]),
        tzinfo=timezone.utc,
    )


# Between host and job in an archive name: a character of neither a host name nor a job name, so the names of
# one (host, job) can never be taken for another's (host ``web`` with job ``db-main`` and host ``web-db`` with job
# ``main`` share a target). Names written before 0.2.0 used ``-`` here and are still read (legacy names).
OWNER_SEPARATOR = "+"
_NEW_NAME_RE = re.compile(
    rf"^(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*)\+(?P<job>[A-Za-z0-9][A-Za-z0-9_-]*)-{TIMESTAMP_RE}(?:\.tar\.zst|\.tar\.gz)\Z"
)


def archive_name(host: str, job: str, when: datetime, compression: str) -> str:
    """``<host>+<job>-<UTC timestamp>.tar.zst`` (or ``.tar.gz``)."""
    suffix = ".tar.zst" if compression == "zstd" else ".tar.gz"
    return f"{host}{OWNER_SEPARATOR}{job}-{format_timestamp(when)}{suffix}"


@functools.lru_cache(maxsize=256)
def archive_name_pattern(host: str, job: str) -> re.Pattern[str]:
    """Matches exactly this host's archives of this job, and its legacy names (``<host>-<job>-<stamp>``, group
    ``legacy``): the timestamp is digits, so job ``web`` never matches ``web-data``'s archives."""
    return re.compile(
        rf"^{re.escape(host)}(?:\+|(?P<legacy>-)){re.escape(job)}-{TIMESTAMP_RE}(?P<suffix>\.tar\.zst|\.tar\.gz)\Z"
    )


def parse_archive_name(name: str, host: str, job: str) -> tuple[datetime, str] | None:
    """(UTC time, compression) when ``name`` is one of this job's archives, else None."""
    match = archive_name_pattern(host, job).match(name)
    if not match:
        return None
    try:
        when = stamp_datetime(match.group("stamp"))
    except ValueError:
        return None
    return when, SUFFIXES[match.group("suffix")]


def is_legacy_name(name: str) -> bool:
    """An archive name written before 0.2.0 (``<host>-<job>-<stamp>``): it does not say where the host ends."""
    return OWNER_SEPARATOR not in name


def legacy_names_claimed(names: Iterable[str], host: str, job: str) -> bool:
    """Whether another (host, job) whose legacy names look like ours has archives among ``names``.

    Host ``web`` with job ``db-main`` and host ``web-db`` with job ``main`` both wrote ``web-db-main-<stamp>``
    before 0.2.0; once either has written a new name beside them, neither may count, keep or remove such a
    legacy archive as its own (docs/restore.md says how to sort them out by hand)."""
    ours = f"{host}-{job}"
    for name in names:
        match = _NEW_NAME_RE.match(name)
        owner = (match.group("host"), match.group("job")) if match else None
        if owner is not None and owner != (host, job) and f"{owner[0]}-{owner[1]}" == ours:
            return True
    return False


def compression_of(path: str) -> str:
    if path.endswith(PARTIAL_SUFFIX):
        path = path[: -len(PARTIAL_SUFFIX)]
    for suffix, compression in SUFFIXES.items():
        if path.endswith(suffix):
            return compression
    raise SmgrError(f"{path}: not a .tar.zst or .tar.gz archive")


# --------------------------------------------------------------------------- commands


def compressor_command(compression: str) -> list[str]:
    if compression == "zstd":
        # -B2MiB: 2 MiB jobs per worker thread instead of zstd's default (4 x the window, 8 MiB at level 3)
        # keeps the compressor near 25 MiB instead of 70-80 MiB on two cores, for under 1 % of archive size; zstd
        # alone runs ~15 % slower, lost in the noise of the whole backup (docs/performance.md, B4 and B7).
        return ["zstd", "-q", "-c", "-T0", "-B2MiB"]
    return ["gzip", "-c"]


def decompressor_command(compression: str, path: str | None) -> list[str]:
    """Decompress ``path`` to stdout; ``None`` reads stdin."""
    files = [] if path is None else ["--", path]
    if compression == "zstd":
        return ["zstd", "-q", "-d", "-c", *files]
    return ["gzip", "-d", "-c", *files]


def relative_member(path: str) -> str:
    """``/etc/nginx`` -> ``etc/nginx``: tar runs in ``/`` so members restore under any target directory."""
    return os.path.normpath(path).lstrip("/")


def exclude_options(patterns: Sequence[str]) -> list[str]:
    """Absolute patterns are anchored at the archive root; others match anywhere (GNU tar's default)."""
    anchored = [relative_member(p) for p in patterns if p.startswith("/")]
    floating = [p.rstrip("/") or p for p in patterns if not p.startswith("/")]
    options: list[str] = []
    if anchored:
        options.append("--anchored")
        options.extend(f"--exclude={pattern}" for pattern in anchored)
        options.append("--no-anchored")
    options.extend(f"--exclude={pattern}" for pattern in floating)
    return options


def tar_create_command(paths: Sequence[str], excludes: Sequence[str] = (), base: str = "/") -> list[str]:
    members = [relative_member(path) if base == "/" else os.path.relpath(path, base) for path in paths]
    return [
        "tar",
        "--create",
        "--file=-",
        "--format=posix",
        # GNU tar's posix format adds an extended header with atime and ctime to every member: 1 KiB more per
        # file (6 % of the stream for 60,000 small files) for values no extraction restores, and an atime
        # that makes two archives of unchanged files differ.
        "--pax-option=delete=atime,delete=ctime",
        *TAR_ATTRIBUTE_OPTIONS,
        "--sparse",
        f"--directory={base}",
        *exclude_options(excludes),
        "--",
        *members,
    ]


# --------------------------------------------------------------------------- helpers


def _kill(processes: Sequence[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(OSError):
                process.kill()
    for process in processes:
        with contextlib.suppress(OSError):
            process.wait()


def _widen_pipe(fd: int) -> None:
    """Ask Linux for a CHUNK-sized pipe buffer (default 64 KiB): the compressor keeps compressing while this
    process writes the previous chunk. Best effort: other systems, or a lower /proc/sys/fs/pipe-max-size, keep
    the default."""
    with contextlib.suppress(OSError, ValueError):
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), CHUNK)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                digest.update(chunk)
    except OSError as exc:
        raise SmgrError(f"cannot read {path}: {exc.strerror}") from exc
    return digest.hexdigest()


def _space_message(path: str, exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"no space left on the device holding {os.path.dirname(path)} while writing {os.path.basename(path)}"
    return f"cannot write {path}: {exc.strerror}"


# --------------------------------------------------------------------------- create


@functools.lru_cache(maxsize=1)
def _prctl() -> Callable[..., int] | None:
    """libc's prctl, loaded in the runner (not in each child); None where there is none."""
    import ctypes  # here, not at the top: only archiving needs it

    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _die_with_parent() -> None:
    """preexec_fn of tar and the compressor: the kernel kills them when the runner dies.

    They write the archive file themselves, so a runner killed outright (the OOM killer, SIGKILL) would
    otherwise leave them running to the end, reading the whole tree into a file nobody publishes."""
    prctl = _prctl()
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class _FileFollower:
    """Reads the archive file while the compressor writes it: SHA-256 of every byte, and (verifying) the same
    bytes into ``decompressor | tar --list``, so verification overlaps compression instead of following it.

    The compressor writes straight into the file (no copy through this process); the follower reads what it
    has appended so far from the page cache. The file only grows, and Linux updates its size after the data,
    so what a read returns is final. Runs in a thread: hashlib and os.read/os.write release the GIL.
    """

    POLL = 0.005  # seconds to wait for more output when the follower has caught up with the compressor

    def __init__(self, read_fd: int, verifier_input: int | None) -> None:
        self.read_fd = read_fd
        self.verifier_input = verifier_input
        self.digest = hashlib.sha256()
        self.size = 0
        self.verifier_gone = False  # the verifier stopped reading (it found the stream broken)
        self.failure: BaseException | None = None
        self.writer_done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="smgr-archive-follower", daemon=True)

    def _run(self) -> None:
        try:
            finished = False
            while True:
                chunk = os.read(self.read_fd, CHUNK)
                if chunk:
                    self.digest.update(chunk)
                    self.size += len(chunk)
                    self._feed(chunk)
                elif finished:
                    break
                else:
                    # One more read after the writer is done picks up what it wrote last.
                    finished = self.writer_done.wait(self.POLL)
        except BaseException as exc:
            self.failure = exc
        finally:
            if self.verifier_input is not None:
                with contextlib.suppress(OSError):
                    os.close(self.verifier_input)

    def _feed(self, chunk: bytes) -> None:
        if self.verifier_input is None or self.verifier_gone:
            return
        try:
            _write_all(self.verifier_input, chunk)
        except BrokenPipeError:
            self.verifier_gone = True

    def finish(self) -> None:
        self.writer_done.set()
        self.thread.join()
        if self.failure is not None:
            raise self.failure


class _Verifier:
    """``decompressor | tar --list`` over a pipe this process feeds; counts members as tar lists them."""

    def __init__(self, compression: str, env: dict, dec_err: IO[bytes], tar_err: IO[bytes]) -> None:
        read_end, self.input = os.pipe()
        _widen_pipe(self.input)
        self.dec_err, self.tar_err = dec_err, tar_err
        self.processes: list[subprocess.Popen] = []
        self.count = 0
        try:
            self.decompressor = subprocess.Popen(
                decompressor_command(compression, None), stdin=read_end, stdout=subprocess.PIPE, stderr=dec_err, env=env
            )
            self.processes.append(self.decompressor)
            _widen_pipe(self.decompressor.stdout.fileno())
            self.tar = subprocess.Popen(
                ["tar", "--list", "--file=-"],
                stdin=self.decompressor.stdout,
                stdout=subprocess.PIPE,
                stderr=tar_err,
                env=env,
            )
            self.processes.append(self.tar)
        finally:
            os.close(read_end)
        self.decompressor.stdout.close()
        self.counter = threading.Thread(target=self._count, name="smgr-verify-list", daemon=True)

    def _count(self) -> None:
        for _line in self.tar.stdout:
            self.count += 1
        self.tar.stdout.close()

    def result(self, name: str) -> int:
        """Member count once the input is closed, or SmgrError saying what is wrong with the stream."""
        tar_status = self.tar.wait()
        dec_status = self.decompressor.wait()
        self.counter.join()
        if dec_status != 0:
            raise VerificationError(
                f"{name} does not decompress: {'; '.join(tail_lines(self.dec_err, STDERR_TAIL)) or dec_status}"
            )
        if tar_status != 0:
            raise VerificationError(
                f"{name} is not a readable tar stream: {'; '.join(tail_lines(self.tar_err, STDERR_TAIL))}"
            )
        if self.count == 0:
            raise VerificationError(f"{name}: the archive is empty")
        return self.count


def create_archive(
    paths: Sequence[str],
    partial_path: str,
    compression: str,
    excludes: Sequence[str] = (),
    base: str = "/",
    verify: bool = False,
) -> ArchiveResult:
    """Stream ``tar | compressor`` into ``partial_path`` (created 0600, must not exist) and fsync it.

    With ``verify``, the file is read back while it is written (see ``_FileFollower``): every byte is
    decompressed and listed by tar; a stream that does not decompress or list raises ``VerificationError``.
    On any failure the partial file is removed and SmgrError raised; tar's exit
    status 1 ("file changed as we read it", "file removed before we read it") is
    returned as warnings, not an error.
    """
    env = subprocess_env()
    with contextlib.ExitStack() as stack:
        tar_err, comp_err, dec_err, list_err = (stack.enter_context(tempfile.TemporaryFile()) for _index in range(4))
        try:
            fd = os.open(partial_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise SmgrError(_space_message(partial_path, exc)) from exc
        read_fd: int | None = None
        processes: list[subprocess.Popen] = []
        verifier: _Verifier | None = None
        follower: _FileFollower | None = None
        try:
            read_fd = os.open(partial_path, os.O_RDONLY | os.O_NOFOLLOW)
            if not os.path.samestat(os.fstat(fd), os.fstat(read_fd)):
                raise SmgrError(f"{partial_path} was replaced while it was being written")
            verifier = _Verifier(compression, env, dec_err, list_err) if verify else None
            if verifier is not None:
                processes.extend(verifier.processes)
            _prctl()  # loaded before the forks: preexec_fn runs in the child
            tar = subprocess.Popen(
                tar_create_command(paths, excludes, base),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=tar_err,
                env=env,
                preexec_fn=_die_with_parent,
            )
            processes.append(tar)
            _widen_pipe(tar.stdout.fileno())
            compressor = subprocess.Popen(
                compressor_command(compression),
                stdin=tar.stdout,
                stdout=fd,
                stderr=comp_err,
                env=env,
                preexec_fn=_die_with_parent,
            )
            processes.append(compressor)
            tar.stdout.close()
            # Threads only after the last fork: preexec_fn is not safe once other threads run.
            follower = _FileFollower(read_fd, verifier.input if verifier is not None else None)
            follower.thread.start()
            if verifier is not None:
                verifier.counter.start()
            tar_status = tar.wait()
            comp_status = compressor.wait()
            follower.finish()
            if comp_status != 0:
                detail = "; ".join(tail_lines(comp_err, STDERR_TAIL)) or f"exit status {comp_status}"
                # The compressor writes the file itself, so a full disk shows as its error (C locale messages).
                for code, text in ((errno.ENOSPC, "No space left on device"), (errno.EDQUOT, "Disk quota exceeded")):
                    if text in detail:
                        raise SmgrError(_space_message(partial_path, OSError(code, text)))
                raise SmgrError(f"{compressor_command(compression)[0]} failed: {detail}")
            # After the compressor: a compressor that fails kills tar with SIGPIPE, and its own error is the cause.
            if tar_status not in (0, 1):
                detail = "; ".join(tail_lines(tar_err, STDERR_TAIL)) or f"exit status {tar_status}"
                raise SmgrError(f"tar failed: {detail}")
            os.fsync(fd)
            if follower.size != os.fstat(fd).st_size:
                raise SmgrError(f"{partial_path} changed while it was being written")
            members = verifier.result(os.path.basename(partial_path)) if verifier is not None else None
        except BaseException as exc:
            _kill(processes)
            if follower is not None:
                # Ends at the end of the file (nothing writes it any more); its fds are closed only after it.
                follower.writer_done.set()
                follower.thread.join()
            elif verifier is not None:
                os.close(verifier.input)
            os.close(fd)
            if read_fd is not None:
                os.close(read_fd)
            _remove_quietly(partial_path)
            if isinstance(exc, FileNotFoundError) and exc.filename in ("tar", "zstd", "gzip"):
                raise SmgrError(f"required tool not found: {exc.filename}") from exc
            if isinstance(exc, OSError):
                raise SmgrError(_space_message(partial_path, exc)) from exc
            raise
        os.close(fd)
        os.close(read_fd)
        warnings = tail_lines(tar_err, 200)
    return ArchiveResult(
        path=partial_path, size=follower.size, sha256=follower.digest.hexdigest(), warnings=warnings, members=members
    )


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


# --------------------------------------------------------------------------- verify, publish


def list_members(
    path: str,
    compression: str | None = None,
    verbose: bool = False,
    on_line: Callable[[str], None] | None = None,
) -> tuple[int, list[str]]:
    """Decompress and list the whole archive; return (member count, first lines) or raise SmgrError.

    ``on_line`` receives every listing line as it streams (for ``smgr restore --list``).
    """
    compression = compression or compression_of(path)
    env = subprocess_env()
    count = 0
    head: list[str] = []
    with tempfile.TemporaryFile() as dec_err, tempfile.TemporaryFile() as tar_err:
        try:
            decompressor = subprocess.Popen(
                decompressor_command(compression, path),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=dec_err,
                env=env,
            )
        except FileNotFoundError as exc:
            raise SmgrError(f"required tool not found: {exc.filename}") from exc
        tar = subprocess.Popen(
            ["tar", "--list", "--file=-", *(["--verbose"] if verbose else [])],
            stdin=decompressor.stdout,
            stdout=subprocess.PIPE,
            stderr=tar_err,
            env=env,
        )
        decompressor.stdout.close()
        for line in tar.stdout:
            count += 1
            text = line.decode("utf-8", "backslashreplace").rstrip("\n")
            if on_line is not None:
                on_line(text)
            elif len(head) < 1000:
                head.append(text)
        tar.stdout.close()
        tar_status = tar.wait()
        dec_status = decompressor.wait()
        if dec_status != 0:
            detail = "; ".join(tail_lines(dec_err, STDERR_TAIL)) or dec_status
            raise SmgrError(f"{os.path.basename(path)} does not decompress: {detail}")
        if tar_status != 0:
            raise SmgrError(
                f"{os.path.basename(path)} is not a readable tar stream: {'; '.join(tail_lines(tar_err, STDERR_TAIL))}"
            )
    return count, head


def verify_archive(path: str, expected_sha256: str, compression: str | None = None) -> int:
    """Read the archive back completely: checksum, decompression and a full tar listing. Returns members.

    The checksum is computed in a thread while the decompressor and tar read the same file (hashlib releases
    the GIL), so verifying takes about as long as the slower of the two, not their sum (docs/performance.md,
    B5). A checksum mismatch is reported before any decompression error, as the checksum is the stronger
    statement about the file."""
    digests: list[str] = []
    failures: list[BaseException] = []

    def hash_file() -> None:
        try:
            digests.append(sha256_file(path))
        except BaseException as exc:
            failures.append(exc)

    hasher = threading.Thread(target=hash_file, name="smgr-verify-sha256", daemon=True)
    hasher.start()
    try:
        count = list_members(path, compression)[0]
        listing_error: SmgrError | None = None
    except SmgrError as exc:
        count, listing_error = 0, exc
    hasher.join()  # not on other exceptions (a signal stopping the run): the daemon thread ends with the process
    if failures:
        raise failures[0]
    actual = digests[0]
    if actual != expected_sha256:
        raise SmgrError(f"{os.path.basename(path)}: checksum mismatch (expected {expected_sha256}, read {actual})")
    if listing_error is not None:
        raise listing_error
    if count == 0:
        raise SmgrError(f"{os.path.basename(path)}: the archive is empty")
    return count


def sidecar_path(archive_path: str) -> str:
    return archive_path + SIDECAR_SUFFIX


def sidecar_text(archive_name_: str, digest: str) -> bytes:
    """``sha256sum`` format: ``<hex>  <name>`` so ``sha256sum -c NAME.sha256`` works in the archive directory."""
    return f"{digest}  {archive_name_}\n".encode()


def read_sidecar(archive_path: str) -> str | None:
    try:
        with open(sidecar_path(archive_path), "rb") as handle:
            text = handle.read(4096).decode("ascii", "replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SmgrError(f"cannot read {sidecar_path(archive_path)}: {exc.strerror}") from exc
    match = re.match(r"^([0-9a-f]{64}) [ *](.+)$", text.strip())
    return match.group(1) if match else None


def publish(partial_path: str, final_path: str, digest: str) -> None:
    """Sidecar first, then the archive by rename: a published archive always has its complete checksum beside it."""
    try:
        write_atomic(sidecar_path(final_path), sidecar_text(os.path.basename(final_path), digest), 0o600)
    except SmgrError:
        _remove_quietly(partial_path)
        raise
    try:
        os.rename(partial_path, final_path)
    except OSError as exc:
        _remove_quietly(partial_path)
        _remove_quietly(sidecar_path(final_path))
        raise SmgrError(f"cannot publish {final_path}: {exc.strerror}") from exc
    fsync_directory(os.path.dirname(final_path))


# --------------------------------------------------------------------------- restore


def tar_extract_command(target_dir: str) -> list[str]:
    """GNU tar reading an archive on stdin into ``target_dir``, modes, owners (as root), xattrs and ACLs kept."""
    return [
        "tar",
        "--extract",
        "--file=-",
        "--preserve-permissions",
        *TAR_ATTRIBUTE_OPTIONS,
        f"--directory={target_dir}",
    ]


def extract_archive(path: str, target_dir: str, compression: str | None = None) -> list[str]:
    """Extract into ``target_dir`` keeping modes, owners (as root), xattrs, ACLs, links and mtimes; returns warnings."""
    compression = compression or compression_of(path)
    env = subprocess_env()
    with tempfile.TemporaryFile() as dec_err, tempfile.TemporaryFile() as tar_err:
        decompressor = subprocess.Popen(
            decompressor_command(compression, path),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=dec_err,
            env=env,
        )
        tar = subprocess.Popen(
            tar_extract_command(target_dir),
            stdin=decompressor.stdout,
            stdout=subprocess.DEVNULL,
            stderr=tar_err,
            env=env,
        )
        decompressor.stdout.close()
        tar_status = tar.wait()
        dec_status = decompressor.wait()
        if dec_status != 0:
            raise SmgrError(
                f"{os.path.basename(path)} does not decompress: {'; '.join(tail_lines(dec_err, STDERR_TAIL))}"
            )
        if tar_status != 0:
            raise SmgrError(
                f"extracting {os.path.basename(path)} failed: {'; '.join(tail_lines(tar_err, STDERR_TAIL))}"
            )
        return tail_lines(tar_err, 200)
