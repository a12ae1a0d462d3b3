# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hypothesis strategies for cron job fields, shared by the rendering properties and the real-crontab tests."""

from __future__ import annotations

from hypothesis import strategies as st

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import validate_absolute_path

TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=60)
COMMANDS = TEXT.filter(lambda text: text.strip() and not text.startswith("-"))
NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True)


def _is_log_path(path: str) -> bool:
    try:
        validate_absolute_path(path, None, "log")
    except SmgrError:
        return False
    return True


def log_paths(directory: str) -> st.SearchStrategy:
    """No log, or any text under ``directory`` that validation accepts as a log file.

    Filtered by the validator itself, so the properties follow its rules instead of restating them
    (a hand-written filter once let "/." through).
    """
    return st.none() | TEXT.map(lambda text: directory + text).filter(_is_log_path)
