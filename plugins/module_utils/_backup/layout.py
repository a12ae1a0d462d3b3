# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The runner's directories on the host, and the logrotate configuration of its log directory.

smgr_backup knows every directory the runner uses (it writes them into runner.yaml), so it can
create them and set their modes in the same call that writes the jobs: one module run instead of
one ``file`` task per directory. Planning is pure (what is missing, what has another mode) so
check mode and diff mode report exactly what a real run does.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError

# Missing parents of a layout directory (an install prefix, /opt/server-manager) are created like
# this, whatever the umask: readable and traversable, writable by the owner only.
PARENT_MODE = 0o755
LOGROTATE_MODE = 0o644
LOGROTATE_FREQUENCIES = ("daily", "weekly", "monthly")
MAX_LOGROTATE_ROTATE = 1000


@dataclass(frozen=True)
class DirectoryChange:
    """A layout directory that is missing (``before_mode`` None) or has another mode."""

    path: str
    mode: int
    before_mode: int | None
    field: str

    @property
    def created(self) -> bool:
        return self.before_mode is None


def merge_layout(entries: Iterable[tuple[str, int, str]]) -> list[tuple[str, int, str]]:
    """``(path, mode, field)`` once per path, parents first; one path named twice gets the stricter mode.

    The stricter mode is the intersection of the two (0755 and 0750 give 0750): a directory that
    holds both the runner and the configuration must stay as closed as the configuration needs.
    """
    merged: dict = {}
    for path, mode, field in entries:
        if not isinstance(path, str) or not os.path.isabs(path):
            raise SmgrError(f"must be an absolute path, got {path!r}", field=field)
        key = os.path.normpath(path)
        if key in merged:
            old_mode, old_field = merged[key]
            merged[key] = (old_mode & mode, old_field)
        else:
            merged[key] = (mode, field)
    return [(path, mode, field) for path, (mode, field) in sorted(merged.items(), key=lambda item: item[0])]


def plan_directories(entries: Sequence[tuple[str, int, str]]) -> list[DirectoryChange]:
    """What a run would change; raises (naming the field) when a path exists and is not a directory."""
    changes = []
    for path, mode, field in merge_layout(entries):
        try:
            # Follows a symlink to a directory, as a `file: state=directory` task does.
            current = os.stat(path)
        except FileNotFoundError:
            changes.append(DirectoryChange(path, mode, None, field))
            continue
        except NotADirectoryError as exc:
            raise SmgrError(f"{path}: a parent is not a directory", field=field) from exc
        except OSError as exc:
            raise SmgrError(f"cannot inspect {path}: {exc.strerror}", field=field) from exc
        if not stat.S_ISDIR(current.st_mode):
            raise SmgrError(f"{path} exists and is not a directory", field=field)
        if stat.S_IMODE(current.st_mode) != mode:
            changes.append(DirectoryChange(path, mode, stat.S_IMODE(current.st_mode), field))
    return changes


def _make_directory(path: str, mode: int) -> None:
    parent = os.path.dirname(path)
    if parent != path and not os.path.isdir(parent):
        _make_directory(parent, PARENT_MODE)
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        if not os.path.isdir(path):
            raise
        return
    # mkdir's mode passes through the umask; the layout's modes are exact.
    os.chmod(path, mode)


def apply_directories(changes: Sequence[DirectoryChange]) -> None:
    """Create the missing directories (missing parents 0755) and set the modes the plan names."""
    for change in changes:
        try:
            if change.created:
                _make_directory(change.path, change.mode)
            else:
                os.chmod(change.path, change.mode)
        except OSError as exc:
            action = "create" if change.created else "set the mode of"
            raise SmgrError(f"cannot {action} {change.path}: {exc.strerror}", field=change.field) from exc


def validate_logrotate(frequency: str, rotate: int) -> None:
    if frequency not in LOGROTATE_FREQUENCIES:
        raise SmgrError(
            f"must be one of {', '.join(LOGROTATE_FREQUENCIES)}, got {frequency!r}", field="logrotate_frequency"
        )
    if isinstance(rotate, bool) or not isinstance(rotate, int) or not 0 <= rotate <= MAX_LOGROTATE_ROTATE:
        raise SmgrError(f"must be from 0 to {MAX_LOGROTATE_ROTATE}, got {rotate!r}", field="logrotate_rotate")


def _logrotate_path(path: str) -> str:
    # logrotate reads a double-quoted path literally up to the next quote; a quote or a line break in
    # the path would end the entry early and let the rest be read as directives.
    if any(ch in path for ch in '"\n\r\\'):
        raise SmgrError(f"cannot appear in a logrotate configuration: {path!r}", field="log_dir")
    return f'"{path}"'


def render_logrotate(log_dir: str, frequency: str, rotate: int) -> bytes:
    """The logrotate configuration of the cron logs and the schedule audit log in ``log_dir``."""
    validate_logrotate(frequency, rotate)
    cron_logs = _logrotate_path(os.path.join(log_dir, "*-cron.log"))
    audit_log = _logrotate_path(os.path.join(log_dir, "schedule-audit.log"))
    return (
        "# Managed by smgr.server_manager (smgr_backup); local changes are overwritten.\n"
        "# Cron logs and the schedule audit log. The runner rotates its own smgr.log\n"
        "# (5 MiB, four old files), so it is not listed here.\n"
        f"{cron_logs} {audit_log} {{\n"
        f"    {frequency}\n"
        f"    rotate {rotate}\n"
        "    missingok\n"
        "    notifempty\n"
        "    compress\n"
        "    delaycompress\n"
        "    create 0640\n"
        "}\n"
    ).encode()
