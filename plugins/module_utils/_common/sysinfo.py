# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A short picture of the host for every notification: name, uptime, load, memory, free space.

Each value is read best effort (from /proc and statvfs); what cannot be read says so instead of failing
the message that carries it.
"""

from __future__ import annotations

import os
import socket

UNKNOWN = "unknown"


def human_bytes(size: float) -> str:
    """``1.8 KiB``, ``530.7 MiB``: IEC units, one decimal (bytes without)."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"


def existing_ancestor(path: str) -> str:
    """``path`` or its nearest ancestor that exists (whose filesystem a path not created yet will be on)."""
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def uptime(proc: str = "/proc") -> str:
    try:
        with open(os.path.join(proc, "uptime"), encoding="ascii") as handle:
            seconds = int(float(handle.read().split()[0]))
    except (OSError, ValueError, IndexError):
        return UNKNOWN
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    text = f"{hours}:{rest // 60:02d}"
    return f"{days} day{'s' if days != 1 else ''}, {text}" if days else text


def load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return UNKNOWN
    return f"{one:.2f} {five:.2f} {fifteen:.2f} ({os.cpu_count() or '?'} CPUs)"


def memory(proc: str = "/proc") -> str:
    values = {}
    try:
        with open(os.path.join(proc, "meminfo"), encoding="ascii") as handle:
            for line in handle:
                key, _colon, rest = line.partition(":")
                if key in ("MemTotal", "MemAvailable"):
                    values[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return UNKNOWN
    if len(values) != 2 or not values["MemTotal"]:
        return UNKNOWN
    share = 100 * values["MemAvailable"] / values["MemTotal"]
    return f"{human_bytes(values['MemAvailable'])} available of {human_bytes(values['MemTotal'])} ({share:.0f} %)"


def free_space(path: str) -> str:
    try:
        stats = os.statvfs(existing_ancestor(path) or "/")
    except OSError:
        return UNKNOWN
    total, free = stats.f_blocks * stats.f_frsize, stats.f_bavail * stats.f_frsize
    share = 100 * free / total if total else 0
    return f"{human_bytes(free)} free of {human_bytes(total)} ({share:.0f} %) on {path}"


def system_rows(host: str | None = None, backup_root: str | None = None) -> tuple[tuple[str, str], ...]:
    """(label, value) rows: Host, Uptime, Load, Memory and, with ``backup_root``, its free space."""
    rows = [
        ("Host", host or socket.getfqdn() or UNKNOWN),
        ("Uptime", uptime()),
        ("Load", load()),
        ("Memory", memory()),
    ]
    if backup_root:
        rows.append(("Backup space", free_space(backup_root)))
    return tuple(rows)
