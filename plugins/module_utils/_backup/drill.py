# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Restore drills: a job's newest archive restored into a private scratch directory and checked.

One pass over the archive: this process reads the file (SHA-256 for the sidecar check) into the decompressor;
the decompressed tar stream goes to GNU tar, which extracts it, and through Python's tar reader on the way,
which records every member (name, type, size, mode, link target). Then each restored entry is compared with its
member - the count, regular files' sizes, modes, symlink targets, hard links - and the checksum with the
sidecar. The scratch directory is removed whatever happened.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from typing import IO, TYPE_CHECKING, Any

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import (
    CHUNK,
    STDERR_TAIL,
    compression_of,
    decompressor_command,
    read_sidecar,
    tar_extract_command,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._common.process import subprocess_env, tail_lines

# tarfile is imported where an archive is read: every backup run loads this module (a borg job's drill helpers,
# the drill verb), and only drills read archives (tarfile is 0.4 MiB of the runner's memory).
if TYPE_CHECKING:
    import tarfile

DRILL_PREFIX = ".smgr-drill-"
MAX_REPORTED = 5  # differences named in a failure message


class DrillFailed(SmgrError):
    """The archive does not restore to what it holds: the message names the archive and the first differences."""


@dataclass(frozen=True)
class Member:
    """What the archive says of one entry."""

    name: str
    kind: str  # file, dir, symlink, hardlink, other
    size: int
    mode: int
    link: str


@dataclass
class DrillResult:
    """One drill: stored as the job's ``last_drill``."""

    job: str
    status: str = "failed"
    archive: str | None = None
    started: str = ""
    finished: str = ""
    duration: float = 0.0
    entries: int = 0
    bytes: int = 0
    error: str | None = None
    problems: list[str] = field(default_factory=list)
    verified_data_at: str | None = None  # borg: when a drill last read and authenticated the archive's data

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Tee:
    """A reader that hands every byte it reads on to ``sink`` (tar's stdin) as well."""

    def __init__(self, source: IO[bytes], sink: IO[bytes]) -> None:
        self.source, self.sink = source, sink

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size if size and size > 0 else CHUNK)
        if data:
            self.sink.write(data)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


def _kind(info: tarfile.TarInfo) -> str:
    if info.isreg():
        return "file"
    if info.isdir():
        return "dir"
    if info.issym():
        return "symlink"
    if info.islnk():
        return "hardlink"
    return "other"


def _feed(path: str, sink: IO[bytes], digest: Any, errors: list[BaseException]) -> None:
    try:
        with open(path, "rb") as archive:
            while True:
                chunk = archive.read(CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
                sink.write(chunk)
    except (OSError, ValueError) as exc:  # the decompressor stopped reading: its own error says why
        errors.append(exc)
    finally:
        with contextlib.suppress(OSError):
            sink.close()


def restore_and_list(path: str, scratch: str) -> tuple[list[Member], str]:
    """Extract ``path`` into ``scratch`` with GNU tar; the members as the archive lists them and its SHA-256."""
    import tarfile

    name = os.path.basename(path)
    env = subprocess_env()
    digest = hashlib.sha256()
    members: list[Member] = []
    with tempfile.TemporaryFile() as dec_err, tempfile.TemporaryFile() as tar_err:
        decompressor = subprocess.Popen(
            decompressor_command(compression_of(path), None),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=dec_err,
            env=env,
        )
        tar = subprocess.Popen(
            tar_extract_command(scratch),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=tar_err,
            env=env,
        )
        feed_errors: list[BaseException] = []
        feeder = threading.Thread(target=_feed, args=(path, decompressor.stdin, digest, feed_errors), daemon=True)
        feeder.start()
        stream_error = None
        tee = _Tee(decompressor.stdout, tar.stdin)
        try:
            # Large reads: the stream passes through here on its way to tar (the default is 10 KiB a read).
            with tarfile.open(fileobj=tee, mode="r|", bufsize=CHUNK) as reader:
                for info in reader:
                    members.append(Member(info.name, _kind(info), info.size, info.mode, info.linkname))
            tee.drain()  # the end-of-archive blocks and padding: tar wants them too
        except (tarfile.TarError, OSError, EOFError) as exc:
            stream_error = exc
        finally:
            with contextlib.suppress(OSError):
                tar.stdin.close()
            with contextlib.suppress(OSError):
                decompressor.stdout.read()
            feeder.join()
        dec_status, tar_status = decompressor.wait(), tar.wait()
        if dec_status != 0:
            raise DrillFailed(
                f"{name} does not decompress: {'; '.join(tail_lines(dec_err, STDERR_TAIL)) or dec_status}"
            )
        if stream_error is not None:
            raise DrillFailed(f"{name} is not a readable tar stream: {stream_error}")
        if tar_status != 0:
            raise DrillFailed(f"{name} does not extract: {'; '.join(tail_lines(tar_err, STDERR_TAIL)) or tar_status}")
    return members, digest.hexdigest()


def _restored_tree(scratch: str) -> set[str]:
    found = set()
    for directory, dirs, files in os.walk(scratch):
        for entry in dirs + files:
            found.add(os.path.relpath(os.path.join(directory, entry), scratch))
    return found


def raise_if_different(name: str, members: list[Member], scratch: str) -> None:
    """DrillFailed naming archive ``name`` and the first differences when the restored tree differs from its
    members. Without root, set-user-ID, set-group-ID and sticky bits cannot be restored: only the rest counts."""
    problems = compare(members, scratch, 0o7777 if os.geteuid() == 0 else 0o777)
    if problems:
        shown = "; ".join(problems[:MAX_REPORTED])
        more = f" (and {len(problems) - MAX_REPORTED} more)" if len(problems) > MAX_REPORTED else ""
        raise DrillFailed(f"{name} restores differently from its contents: {shown}{more}")


def compare(members: list[Member], scratch: str, mode_mask: int) -> list[str]:
    """What differs between the archive's members and the restored tree (empty: identical)."""
    problems = []
    names = set()
    for member in members:
        name = os.path.normpath(member.name)
        names.add(name)
        path = os.path.join(scratch, name)
        try:
            info = os.lstat(path)
        except OSError:
            problems.append(f"{name}: not restored")
            continue
        if member.kind == "symlink":
            if not stat.S_ISLNK(info.st_mode) or os.readlink(path) != member.link:
                problems.append(f"{name}: not the symlink to {member.link}")
            continue
        if member.kind == "hardlink":
            target = os.path.join(scratch, os.path.normpath(member.link))
            if not (os.path.exists(target) and os.path.samefile(path, target)):
                problems.append(f"{name}: not a hard link of {member.link}")
            continue
        if member.kind == "dir" and not stat.S_ISDIR(info.st_mode):
            problems.append(f"{name}: not a directory")
        elif member.kind == "file" and not stat.S_ISREG(info.st_mode):
            problems.append(f"{name}: not a regular file")
        elif member.kind == "file" and info.st_size != member.size:
            problems.append(f"{name}: {info.st_size} bytes, the archive says {member.size}")
        if stat.S_IMODE(info.st_mode) & mode_mask != member.mode & mode_mask:
            problems.append(
                f"{name}: mode {stat.S_IMODE(info.st_mode):04o}, the archive says {member.mode & 0o7777:04o}"
            )
    # tar creates the parents of a member that the archive does not hold itself (/srv of /srv/app): not extra.
    parents: set[str] = set()
    for name in names:
        parent = os.path.dirname(name)
        while parent and parent not in parents:
            parents.add(parent)
            parent = os.path.dirname(parent)
    extra = sorted(_restored_tree(scratch) - names - parents)
    problems += [f"{name}: restored but not in the archive" for name in extra]
    return problems


def remove_scratch(path: str) -> None:
    """Remove the scratch directory, read-only directories of the archive included.

    ``rm -rf`` first (it removes tens of thousands of files faster than Python walking them, and as root it
    ignores permissions); what it left (a read-only directory without root) goes with chmod and rmtree.
    """
    with contextlib.suppress(OSError):
        subprocess.run(
            ["rm", "-rf", "--one-file-system", "--", path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=subprocess_env(),
            check=False,
        )
    if not os.path.lexists(path):
        return

    def writable_then_retry(function: Any, failed: str, _exc: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(failed), 0o700)
            os.chmod(failed, 0o700)
        with contextlib.suppress(OSError):
            function(failed)

    shutil.rmtree(path, onerror=writable_then_retry)


def drill_archive(path: str, scratch_parent: str) -> tuple[int, int]:
    """Restore ``path`` into a private directory under ``scratch_parent`` and check it; (entries, bytes).

    Raises DrillFailed naming the archive: no sidecar, a checksum that differs, a stream that does not
    decompress or extract, or restored entries that differ from the archive's members.
    """
    name = os.path.basename(path)
    expected = read_sidecar(path)
    if expected is None:
        raise DrillFailed(f"{name} has no checksum sidecar ({name}.sha256): it cannot be checked")
    scratch = tempfile.mkdtemp(prefix=DRILL_PREFIX, dir=scratch_parent)
    try:
        members, digest = restore_and_list(path, scratch)
        if digest != expected:
            raise DrillFailed(f"{name} has SHA-256 {digest}, its sidecar says {expected}: the archive changed")
        raise_if_different(name, members, scratch)
        return len(members), sum(member.size for member in members if member.kind == "file")
    finally:
        remove_scratch(scratch)
