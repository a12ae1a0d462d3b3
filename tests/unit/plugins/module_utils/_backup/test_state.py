# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_backup.state: updates of one job's state never lose each other (found by the 50-jobs cron load test)."""

from __future__ import annotations

import threading

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.state import (
    UNREADABLE_STATE,
    known_state,
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


def test_a_state_that_does_not_parse_is_kept_aside_and_stays_unknown_until_an_archive_is_published(tmp_path):
    state_file = tmp_path / "app.json"
    state_file.write_bytes(b'{"last_local_success": {"archive": "/repo::web1-app-2026')  # cut short
    assert known_state(str(tmp_path), "app") is None

    failed = record_run(str(tmp_path), "app", {"status": "failed", "local": "failed"})
    assert (tmp_path / "app.json.unreadable").read_bytes().startswith(b'{"last_local_success"')
    assert failed[UNREADABLE_STATE]["copy"] == f"{state_file}.unreadable"
    assert failed["consecutive_failures"] == 1
    # the next runs still do not take the file for "never ran" (a borg repository is not created anew)
    record_run(str(tmp_path), "app", {"status": "skipped"})
    record_drill(str(tmp_path), "app", {"status": "failed"})
    assert known_state(str(tmp_path), "app") is None

    published = record_run(str(tmp_path), "app", {"status": "partial", "local": "ok", "archive": "/repo::x"})
    assert UNREADABLE_STATE not in published
    assert known_state(str(tmp_path), "app")["last_local_success"]["archive"] == "/repo::x"


def test_a_drill_recorded_over_a_state_that_does_not_parse_keeps_it_aside(tmp_path):
    (tmp_path / "app.json").write_text("[]")  # JSON, not an object
    state = record_drill(str(tmp_path), "app", {"status": "ok"})
    assert (tmp_path / "app.json.unreadable").read_text() == "[]"
    assert state["last_good_drill"] == {"status": "ok"} and UNREADABLE_STATE in state
