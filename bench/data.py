# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Deterministic inputs: a mixed file tree of a given size, and a directory of many old archives.

Everything is derived from a seed and the requested size, so two runs of the bench archive the
same bytes. Nothing is downloaded and nothing outside the given directory is touched.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

SEED = 20260101
MIB = 1024 * 1024
FIXED_MTIME = 1_767_225_600  # 2026-01-01T00:00:00Z: same metadata on every run

_WORDS = (  # noqa: SIM905 (a paragraph of words reads better than a 51-line list)
    "server listen location proxy_pass upstream include root index error_log access_log worker "
    "timeout buffer client header ssl certificate key cache gzip return rewrite deny allow user "
    "group path socket backend status request response database table index select insert update "
    "mail queue domain alias mailbox dovecot postfix rspamd redis mysql backup archive restore"
).split()


@dataclass
class TreeStats:
    """What was generated: totals by kind, for the report."""

    files: int = 0
    directories: int = 0
    bytes: int = 0
    small_files: int = 0
    large_files: int = 0


class _Content:
    """Seeded generators of text-like (compressible) and random (incompressible) bytes."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pool = [self._line(index) for index in range(40_000)]
        self.stamp = 1_700_000_000
        self._text = b""
        self._offset = 0

    def _line(self, index: int) -> str:
        rng = self.rng
        words = " ".join(rng.choice(_WORDS) for _word in range(rng.randrange(3, 12)))
        return (
            f"{rng.choice(('INFO', 'INFO', 'INFO', 'WARN', 'DEBUG', 'ERROR'))} [{rng.choice(_WORDS)}:{index}] "
            f"{words} id={rng.randrange(10**9):09d} took={rng.randrange(5000)}ms"
        )

    def text(self, size: int) -> bytes:
        """Log/config-like text: lines from a seeded pool, each with its own increasing time stamp. Served from a
        running buffer refilled 1 MiB at a time, so many small files cost no more than one large one."""
        while len(self._text) - self._offset < size:
            lines = self.rng.choices(self.pool, k=8192)
            block = "".join(f"{self.stamp + i} {line}\n" for i, line in enumerate(lines)).encode()
            self.stamp += len(lines)
            self._text = self._text[self._offset :] + block
            self._offset = 0
        data = self._text[self._offset : self._offset + size]
        self._offset += size
        return data

    def random(self, size: int) -> bytes:
        return self.rng.randbytes(size)

    def pages(self, size: int) -> bytes:
        """Database-like: 8 KiB pages, a third empty, the rest half records, half free space."""
        out = bytearray()
        while len(out) < size:
            kind = self.rng.randrange(3)
            if kind == 0:
                out += bytes(8192)
            else:
                record = self.text(2048) + self.rng.randbytes(2048)
                out += record + bytes(8192 - len(record))
        return bytes(out[:size])


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)


def make_mixed_tree(root: Path, total_bytes: int, seed: int = SEED) -> TreeStats:
    """About ``total_bytes`` of files under ``root``: 25 % small files (config/source-like text and some binary,
    about 4 KiB each, in a few hundred directories), 15 % medium files (text and random, 256 KiB - 2 MiB), and
    60 % large files (32 MiB - 96 MiB; log text, random "media", database-like pages)."""
    rng = random.Random(seed)
    content = _Content(rng)
    stats = TreeStats()
    root.mkdir(parents=True)

    small_budget = total_bytes * 25 // 100
    medium_budget = total_bytes * 15 // 100
    large_budget = total_bytes - small_budget - medium_budget

    # Small files: 16 top directories x 16 sub directories, ~4 KiB each (200 B - 16 KiB).
    directories = [root / f"srv{a:02d}" / f"app{b:02d}" for a in range(16) for b in range(16)]
    for directory in directories:
        directory.mkdir(parents=True)
    stats.directories = len(directories) + 16
    written = 0
    index = 0
    while written < small_budget:
        size = min(int(rng.lognormvariate(8.0, 0.9)) + 200, 16 * 1024)
        directory = directories[index % len(directories)]
        if rng.random() < 0.8:
            data, name = content.text(size), f"conf-{index:06d}.conf"
        else:
            data, name = content.random(size), f"blob-{index:06d}.bin"
        _write(directory / name, data)
        written += size
        index += 1
        stats.small_files += 1
    stats.files += stats.small_files
    stats.bytes += written

    medium = root / "medium"
    medium.mkdir()
    stats.directories += 1
    written = 0
    index = 0
    while written < medium_budget:
        size = rng.randrange(256 * 1024, 2 * MIB)
        data = content.text(size) if index % 2 == 0 else content.random(size)
        _write(medium / f"file-{index:04d}.dat", data)
        written += size
        index += 1
        stats.files += 1
    stats.bytes += written

    large = root / "large"
    large.mkdir()
    stats.directories += 1
    written = 0
    index = 0
    makers = (("log", content.text), ("media", content.random), ("db", content.pages))
    while written < large_budget:
        size = min(rng.randrange(32 * MIB, 96 * MIB), large_budget - written)
        kind, maker = makers[index % len(makers)]
        with open(large / f"{kind}-{index:02d}.{kind}", "wb") as handle:
            remaining = size
            while remaining:  # 8 MiB at a time: memory stays small
                chunk = min(remaining, 8 * MIB)
                handle.write(maker(chunk))
                remaining -= chunk
        written += size
        index += 1
        stats.files += 1
        stats.large_files += 1
    stats.bytes += written

    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.utime(os.path.join(directory, name), (FIXED_MTIME, FIXED_MTIME))
    return stats


def change_files(root: Path, fraction: float, seed: int) -> tuple[int, int]:
    """A day's changes: rewrite ``fraction`` of the files under ``root`` (picked with ``seed``, at least one) with
    new random content of the same size; returns (files, bytes) rewritten. The files get the time of the write,
    as changed files do."""
    rng = random.Random(seed)
    files = sorted(os.path.join(directory, name) for directory, _dirs, names in os.walk(root) for name in names)
    chosen = rng.sample(files, max(1, round(len(files) * fraction)))
    written = 0
    for path in sorted(chosen):
        remaining = os.path.getsize(path)
        with open(path, "r+b") as handle:
            while remaining:  # 8 MiB at a time, as the tree was written
                chunk = min(remaining, 8 * MIB)
                handle.write(rng.randbytes(chunk))
                remaining -= chunk
                written += chunk
    return len(chosen), written


def read_tree(root: Path) -> int:
    """Read every file under ``root`` (into the page cache); returns the bytes read. borg drops the pages of the
    files it archives from the page cache, so a run after a borg run would otherwise read them from the disk."""
    buffer = bytearray(8 * MIB)
    total = 0
    for directory, _dirs, names in os.walk(root):
        for name in names:
            with open(os.path.join(directory, name), "rb", buffering=0) as handle:
                while count := handle.readinto(buffer):
                    total += count
    return total
