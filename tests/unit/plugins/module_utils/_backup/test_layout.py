# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_layout: planning and creating the runner's directories, the logrotate configuration."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.layout import (
    DirectoryChange,
    apply_directories,
    merge_layout,
    plan_directories,
    render_logrotate,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_merge_layout_sorts_parents_first_and_keeps_the_stricter_mode():
    merged = merge_layout([("/o/s/config", 0o750, "config_dir"), ("/o/s", 0o755, "runner_path"), ("/o/s/", 0o750, "x")])
    assert merged == [("/o/s", 0o750, "runner_path"), ("/o/s/config", 0o750, "config_dir")]


def test_merge_layout_names_the_field_of_a_relative_path():
    with pytest.raises(SmgrError, match=r"^log_dir: must be an absolute path, got 'logs'$"):
        merge_layout([("logs", 0o750, "log_dir")])


def test_plan_and_apply(tmp_path):
    existing = tmp_path / "state"
    existing.mkdir(mode=0o700)
    os.chmod(existing, 0o700)
    entries = [(str(tmp_path / "a/b/logs"), 0o750, "log_dir"), (str(existing), 0o750, "state_dir")]
    plan = plan_directories(entries)
    assert plan == [
        DirectoryChange(str(tmp_path / "a/b/logs"), 0o750, None, "log_dir"),
        DirectoryChange(str(existing), 0o750, 0o700, "state_dir"),
    ]
    apply_directories(plan)
    assert mode(tmp_path / "a") == 0o755 and mode(tmp_path / "a/b") == 0o755
    assert mode(tmp_path / "a/b/logs") == 0o750 and mode(existing) == 0o750
    assert plan_directories(entries) == []


def test_a_symlink_to_a_directory_counts_as_the_directory(tmp_path):
    (tmp_path / "real").mkdir(mode=0o700)
    os.chmod(tmp_path / "real", 0o700)
    os.symlink(tmp_path / "real", tmp_path / "link")
    assert plan_directories([(str(tmp_path / "link"), 0o700, "lock_dir")]) == []


def test_files_in_the_way_name_the_field(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SmgrError, match=r"^backup_root: .* exists and is not a directory$"):
        plan_directories([(str(tmp_path / "file"), 0o700, "backup_root")])
    with pytest.raises(SmgrError, match=r"^backup_root: .*: a parent is not a directory$"):
        plan_directories([(str(tmp_path / "file/below"), 0o700, "backup_root")])


def test_apply_reports_the_field_when_the_system_refuses(tmp_path):
    (tmp_path / "file").write_text("x")
    change = DirectoryChange(str(tmp_path / "file/below"), 0o700, None, "lock_dir")
    with pytest.raises(SmgrError, match=r"^lock_dir: cannot create "):
        apply_directories([change])


def test_render_logrotate():
    text = render_logrotate("/opt/server-manager/logs", "weekly", 8).decode()
    assert '"/opt/server-manager/logs/*-cron.log" "/opt/server-manager/logs/schedule-audit.log" {\n' in text
    assert "    weekly\n    rotate 8\n    missingok\n" in text and text.endswith("    create 0640\n}\n")


@pytest.mark.parametrize(
    ("log_dir", "frequency", "rotate", "message"),
    [
        ('/logs"x', "weekly", 8, "^log_dir: cannot appear in a logrotate configuration"),
        ("/logs\nrotate 0", "weekly", 8, "^log_dir: cannot appear"),
        ("/logs", "hourly", 8, "^logrotate_frequency: must be one of daily, weekly, monthly, got 'hourly'$"),
        ("/logs", "weekly", 1001, "^logrotate_rotate: must be from 0 to 1000, got 1001$"),
        ("/logs", "weekly", True, "^logrotate_rotate: "),
    ],
)
def test_render_logrotate_refuses_what_logrotate_would_misread(log_dir, frequency, rotate, message):
    with pytest.raises(SmgrError, match=message):
        render_logrotate(log_dir, frequency, rotate)
