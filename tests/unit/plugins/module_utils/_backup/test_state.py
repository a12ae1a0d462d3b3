# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_backup.state: updates of one job's state never lose each other (found by the 50-jobs cron load test)."""

from __future__ import annotations

import threading

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.state import (
    load_state,
    record_drill,
    record_run,
)


def test_a_skip_recorded_while_the_run_records_its_result_loses_nothing(tmp_path):
    state_dir = str(tmp_path)
    rounds = 60

    def runs():
        for index in range(rounds):
            record_run(state_dir, "app", {"status": "ok", "local": "ok", "finished": f"run {index}"})

    def skips():
        for index in range(rounds):
            record_run(state_dir, "app", {"status": "skipped", "finished": f"skip {index}"})

    def drills():
        for index in range(rounds):
            record_drill(state_dir, "app", {"status": "ok", "finished": f"drill {index}"})

    threads = [threading.Thread(target=target) for target in (runs, skips, drills)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = load_state(state_dir, "app")
    assert state["last_run"]["finished"] == f"run {rounds - 1}"
    assert state["skips_total"] == rounds
    assert state["last_drill"]["finished"] == f"drill {rounds - 1}"
