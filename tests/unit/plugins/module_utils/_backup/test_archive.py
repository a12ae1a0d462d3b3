# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""create_archive: the compressor writes the file, a follower hashes it and (verify) lists it while it grows."""

from __future__ import annotations

import hashlib
import os
import random
import shlex
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._backup import archive as _archive
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import (
    VerificationError,
    create_archive,
    list_members,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "tree"
    for index in range(40):
        directory = root / f"d{index % 4}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"f{index}.txt").write_text(f"line {index}\n" * (index * 50))
    # Incompressible and larger than a pipe and a chunk: the follower reads while the compressor still writes.
    (root / "random.bin").write_bytes(os.urandom(6 * 1024 * 1024))
    return root


def digest_of(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def tar_list(path, compression):
    tool = "zstd" if compression == "zstd" else "gzip"
    listing = subprocess.run(
        f"{tool} -d -c {shlex.quote(str(path))} | tar -t -f -", shell=True, capture_output=True, check=True, text=True
    )
    return listing.stdout.splitlines()


@pytest.mark.parametrize("compression", ["zstd", "gzip"])
@pytest.mark.parametrize("verify", [True, False])
def test_the_file_is_what_was_hashed_and_listed(tree, tmp_path, compression, verify):
    partial = tmp_path / "out.partial"
    result = create_archive([str(tree)], str(partial), compression, verify=verify)
    assert result.size == partial.stat().st_size and result.sha256 == digest_of(partial)
    assert oct(partial.stat().st_mode & 0o777) == "0o600"
    members = tar_list(partial, compression)
    assert result.members == (len(members) if verify else None)
    assert list_members(str(partial), compression)[0] == len(members)
    assert any(name.endswith("/random.bin") for name in members)


def test_no_atime_or_ctime_headers(tree, tmp_path):
    partial = tmp_path / "out.partial"
    create_archive([str(tree)], str(partial), "zstd")
    raw = subprocess.run(["zstd", "-d", "-c", str(partial)], capture_output=True, check=True).stdout
    assert b" atime=" not in raw and b" ctime=" not in raw


def _corrupting(real):
    flip = "import sys; d = bytearray(sys.stdin.buffer.read()); d[len(d) // 2] ^= 0x55; sys.stdout.buffer.write(d)"

    def command(compression):
        inner = " ".join(shlex.quote(word) for word in real(compression))
        return ["sh", "-c", f"{inner} | {shlex.quote(sys.executable)} -c {shlex.quote(flip)}"]

    return command


@pytest.mark.parametrize("compression", ["zstd", "gzip"])
def test_a_stream_that_does_not_read_back_fails_verification(tree, tmp_path, monkeypatch, compression):
    monkeypatch.setattr(_archive, "compressor_command", _corrupting(_archive.compressor_command))
    partial = tmp_path / "out.partial"
    with pytest.raises(VerificationError, match=r"does not decompress|is not a readable tar stream"):
        create_archive([str(tree)], str(partial), compression, verify=True)
    assert not partial.exists()


def test_without_verify_a_corrupt_stream_is_not_read_back(tree, tmp_path, monkeypatch):
    monkeypatch.setattr(_archive, "compressor_command", _corrupting(_archive.compressor_command))
    partial = tmp_path / "out.partial"
    result = create_archive([str(tree)], str(partial), "zstd", verify=False)
    assert result.sha256 == digest_of(partial) and result.members is None


def test_a_failing_compressor_removes_the_partial_file(tree, tmp_path, monkeypatch):
    broken = ["sh", "-c", "head -c 1000; echo broken >&2; exit 3"]
    monkeypatch.setattr(_archive, "compressor_command", lambda _compression: broken)
    partial = tmp_path / "out.partial"
    with pytest.raises(SmgrError, match=r"^sh failed: broken$") as caught:
        create_archive([str(tree)], str(partial), "zstd", verify=True)
    assert not isinstance(caught.value, VerificationError)
    assert not partial.exists()


def test_an_existing_partial_file_is_never_overwritten(tree, tmp_path):
    partial = tmp_path / "out.partial"
    partial.write_text("someone else's\n")
    with pytest.raises(SmgrError, match="File exists"):
        create_archive([str(tree)], str(partial), "zstd", verify=True)
    assert partial.read_text() == "someone else's\n"


CHILD = """
import sys
from ansible_collections.smgr.server_manager.plugins.module_utils._backup import archive as _archive
_archive.compressor_command = lambda compression: ["sh", "-c", "exec sleep 61.4142"]
_archive.create_archive([sys.argv[1]], sys.argv[2], "zstd", verify=True)
"""


def _sleepers():
    found = subprocess.run(["pgrep", "-f", "sleep 61.4142"], capture_output=True, text=True, check=False)
    return found.stdout.split()


def test_tar_and_the_compressor_die_with_the_runner(tree, tmp_path):
    """They write the file themselves; a runner killed outright must not leave them running."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tree), str(tmp_path / "out.partial")], env=env)
    try:
        deadline = time.monotonic() + 20
        while not _sleepers() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _sleepers(), "the compressor never started"
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        deadline = time.monotonic() + 10
        while _sleepers() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _sleepers() == []
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pid in _sleepers():
            os.kill(int(pid), signal.SIGKILL)


def test_both_ways_of_reading_a_stamp_agree(monkeypatch):
    """fromisoformat (Python 3.11+) and the digits (older Pythons) give the same datetime or both refuse."""
    rng = random.Random(11)
    stamps = ["20260101T000000Z", "20240229T235959Z", "20250229T000000Z", "20261345T000000Z", "20260101T240000Z"]
    stamps += [
        f"{rng.randrange(1, 10000):04d}{rng.randrange(0, 14):02d}{rng.randrange(0, 33):02d}T"
        f"{rng.randrange(0, 26):02d}{rng.randrange(0, 62):02d}{rng.randrange(0, 62):02d}Z"
        for _index in range(20000)
    ]

    def read_all():
        results = []
        for stamp in stamps:
            try:
                results.append(_archive.stamp_datetime(stamp))
            except ValueError:
                results.append(None)
        return results

    monkeypatch.setattr(_archive, "_FROMISOFORMAT_READS_BASIC", sys.version_info >= (3, 11))
    native = read_all()
    monkeypatch.setattr(_archive, "_FROMISOFORMAT_READS_BASIC", False)
    assert read_all() == native
    assert native[0] == datetime(2026, 1, 1, tzinfo=timezone.utc) and native[2] is None and native[3] is None
