# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Metrics for node_exporter's textfile collector, read back with prometheus_client's own parser."""

from __future__ import annotations

import os
import stat

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import validate_settings
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix


def samples(path):
    found = {}
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_the_runner_rewrites_the_metrics_after_backups_and_drills(tmp_path):
    prefix = Prefix(tmp_path / "host")
    metrics = tmp_path / "textfile" / "smgr.prom"
    metrics.parent.mkdir()
    prefix.update_settings(metrics_file=str(metrics))
    data = tmp_path / "data"
    data.mkdir()
    (data / "f.txt").write_text("payload\n")
    prefix.add_job(name="app", type="paths", paths=[str(data)], remote=str(tmp_path / "offsite"))
    prefix.add_job(name="web", type="paths", paths=[str(tmp_path / "missing")])
    result = prefix.run_json("backup", "app", check=0)
    prefix.run_json("backup", "web", check=1)
    prefix.run_json("drill", "app", check=0)

    assert stat.S_IMODE(os.stat(metrics).st_mode) == 0o644
    found = samples(metrics)
    app = (("job", "app"), ("type", "paths"))
    web = (("job", "web"), ("type", "paths"))

    def status(job, value):
        return ("smgr_backup_last_run_status", tuple(sorted((*job, ("status", value)))))

    assert found[status(app, "ok")] == 1
    assert found[status(web, "failed")] == 1
    assert found[status(web, "ok")] == 0
    assert found[("smgr_backup_archives", app)] == 1 and found[("smgr_backup_archives", web)] == 0
    assert found[("smgr_backup_last_archive_size_bytes", app)] == result["size"]
    assert found[("smgr_backup_archives_size_bytes", app)] > result["size"]  # the sidecar too
    assert found[("smgr_backup_offsite_ok", app)] == 1
    assert ("smgr_backup_offsite_ok", web) not in found  # no remote, no off-site metric
    assert found[("smgr_backup_drill_ok", app)] == 1
    assert found[("smgr_backup_consecutive_failures", web)] == 1
    assert found[("smgr_backup_last_success_timestamp_seconds", app)] > 1.7e9
    assert ("smgr_backup_last_success_timestamp_seconds", web) not in found
    assert found[("smgr_backup_skipped_runs_total", app)] == 0
    assert not [name for name in os.listdir(metrics.parent) if name != "smgr.prom"]  # no temp file left


def test_a_metrics_file_that_cannot_be_written_does_not_change_the_outcome(tmp_path):
    prefix = Prefix(tmp_path / "host")
    prefix.update_settings(metrics_file=str(tmp_path / "gone" / "smgr.prom"))
    data = tmp_path / "data"
    data.mkdir()
    prefix.add_job(name="app", type="paths", paths=[str(data)])
    completed = prefix.run("--json", "backup", "app", check=0)
    assert "cannot write the metrics file" in completed.stderr


@pytest.mark.parametrize("path", ["relative.prom", "/var/lib/node-exporter/smgr.txt"])
def test_bad_metrics_paths_are_refused(path):
    with pytest.raises(SmgrError, match="metrics_file"):
        validate_settings({"metrics_file": path}, source="options")
