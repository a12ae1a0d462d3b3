# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

from ansible_collections.smgr.server_manager.plugins.module_utils._common.sysinfo import (
    UNKNOWN,
    free_space,
    memory,
    system_rows,
    uptime,
)


def test_values_from_proc(tmp_path):
    (tmp_path / "uptime").write_text("277384.55 500000.00\n")
    (tmp_path / "meminfo").write_text("MemTotal:  4000000 kB\nMemFree: 100 kB\nMemAvailable:  1000000 kB\n")
    assert uptime(str(tmp_path)) == "3 days, 5:03"
    assert memory(str(tmp_path)) == "976.6 MiB available of 3.8 GiB (25 %)"


def test_what_cannot_be_read_says_so(tmp_path):
    assert uptime(str(tmp_path)) == UNKNOWN
    assert memory(str(tmp_path)) == UNKNOWN


def test_free_space_of_a_path_not_created_yet(tmp_path):
    text = free_space(str(tmp_path / "not" / "yet"))
    assert text.endswith(f"on {tmp_path}/not/yet") and " free of " in text


def test_rows():
    labels = [label for label, _value in system_rows("web1", "/")]
    assert labels == ["Host", "Uptime", "Load", "Memory", "Backup space"]
    assert [label for label, _value in system_rows("web1")] == ["Host", "Uptime", "Load", "Memory"]
