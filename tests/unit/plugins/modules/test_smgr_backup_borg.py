# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""smgr_backup with borg jobs: the passphrase file (0600, never shown), check/diff mode, bad input, run_now."""

from __future__ import annotations

import json
import os
import stat

import pytest
from ansible.module_utils.common import warnings as ansible_warnings

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import passphrase_path
from ansible_collections.smgr.server_manager.plugins.modules import smgr_backup, smgr_backup_info
from ansible_collections.smgr.server_manager.tests.support.module_harness import exit_result, fail_result

PASSPHRASE = "vault-only s3cret passphrase"


def borg_job(data, tmp_path, **extra):
    job = dict(
        name="site",
        type="paths",
        paths=[str(data)],
        engine="borg",
        repository=str(tmp_path / "repo"),
        passphrase=PASSPHRASE,
    )
    job.update(extra)
    return job


def passphrase_file(base, name="site"):
    return passphrase_path(base["config_dir"], name)


def passphrase_warnings():
    """The passphrase warnings of the last module run (the harness clears warnings before each run)."""
    return [text for text in ansible_warnings.get_warning_messages() if "passphrase changed" in text]


def test_passphrase_file_check_real_idempotent_and_never_shown(base, data, tmp_path):
    args = dict(base, jobs=[borg_job(data, tmp_path)])
    checked = exit_result(smgr_backup, args, check=True)
    assert checked["changed"] and not os.path.exists(passphrase_file(base)) and not passphrase_warnings()
    diffs = {item["after_header"]: item for item in checked["diff"]}
    assert diffs[passphrase_file(base)]["after"] == "********\n"
    real = exit_result(smgr_backup, args)
    assert not passphrase_warnings()  # a new file: nothing to change in borg
    assert json.dumps(real).count(PASSPHRASE) == 0 and json.dumps(checked).count(PASSPHRASE) == 0
    with open(passphrase_file(base), encoding="utf-8") as handle:
        assert handle.read() == PASSPHRASE + "\n"
    assert stat.S_IMODE(os.stat(passphrase_file(base)).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(passphrase_file(base))).st_mode) == 0o700
    job_file = os.path.join(base["config_dir"], "backups.d", "site.yaml")
    with open(job_file, encoding="utf-8") as handle:
        text = handle.read()
    assert PASSPHRASE not in text and "engine: borg" in text and "encryption: repokey-blake2" in text
    assert exit_result(smgr_backup, args)["changed"] is False
    assert exit_result(smgr_backup, args, check=True)["changed"] is False
    # A new passphrase: the diff says it changed and still shows no value; the task warns that borg still
    # needs the old one.
    changed = exit_result(smgr_backup, dict(base, jobs=[borg_job(data, tmp_path, passphrase="another one")]))
    (warning,) = passphrase_warnings()
    assert "borg key change-passphrase" in warning and "another one" not in warning
    diffs = {item["after_header"]: item for item in changed["diff"]}
    assert diffs[passphrase_file(base)]["before"] == "********\n"
    assert diffs[passphrase_file(base)]["after"] == "******** (changed)\n"
    assert "another one" not in json.dumps(changed)


def test_switching_to_tar_or_removing_the_job_removes_the_passphrase_file(base, data, tmp_path):
    exit_result(smgr_backup, dict(base, jobs=[borg_job(data, tmp_path)]))
    tar = exit_result(smgr_backup, dict(base, jobs=[dict(name="site", type="paths", paths=[str(data)])]))
    assert tar["changed"] and not os.path.exists(passphrase_file(base))
    exit_result(smgr_backup, dict(base, jobs=[borg_job(data, tmp_path)]))
    exit_result(smgr_backup, dict(base, jobs=[], exclusive=True))
    assert not os.path.exists(passphrase_file(base))


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"passphrase": None}, "passphrase", "is required with encryption repokey-blake2"),
        ({"repository": None}, "repository", "is required with engine borg"),
        ({"repository": "relative/repo"}, "repository", "must be an absolute path or ssh://"),
        ({"encryption": "rot13"}, "encryption", "must be one of"),
        ({"encryption": "none"}, "passphrase", "is not used with encryption none"),
        ({"compression": "zstd,99"}, "compression", "zstd levels are 1 to 22"),
        ({"compression": "bzip2"}, "compression", "borg's syntax"),
        ({"remote": "/mnt/usb"}, "remote", "does not apply to engine borg"),
        ({"ssh_key": "/root/.ssh/id"}, "ssh_key", "only applies to an ssh:// repository"),
        ({"passphrase": "two\nlines"}, "passphrase", "must be one line"),
        ({"engine": "restic"}, "engine", "value of engine must be one of"),
    ],
)
def test_bad_borg_input_names_the_field_and_writes_nothing(base, data, tmp_path, extra, field, message):
    job = borg_job(data, tmp_path)
    job.update(extra)
    job = {key: value for key, value in job.items() if value is not None}
    result = fail_result(smgr_backup, dict(base, jobs=[job]))
    assert message in result["msg"] and field in result["msg"]
    assert PASSPHRASE not in result["msg"] and "two\nlines" not in result["msg"]
    assert not os.path.exists(os.path.dirname(base["config_dir"]))


def test_tar_job_refuses_borg_keys(base, data):
    result = fail_result(smgr_backup, dict(base, name="site", type="paths", paths=[str(data)], repository="/srv/borg"))
    assert "repository: only applies to engine borg" in result["msg"]


def test_run_now_and_backup_info_list_the_borg_archive(base, data, tmp_path):
    result = exit_result(smgr_backup, dict(base, jobs=[borg_job(data, tmp_path)], run_now="site"))
    run = result["run"]
    assert run["status"] == "ok", run
    assert run["engine"] == "borg" and run["archive"].startswith(str(tmp_path / "repo") + "::web1+site-")
    assert PASSPHRASE not in json.dumps(result)
    info = exit_result(smgr_backup_info, {"config_dir": base["config_dir"]})
    (job,) = info["jobs"]
    assert job["engine"] == "borg" and job["repository"] == str(tmp_path / "repo")
    (archive,) = job["archives"]
    assert archive["name"] == run["archive"].split("::")[1]
    assert archive["original_size"] == archive["size"] > 0 and archive["deduplicated_size"] > 0
    assert archive["files"] == 1 and archive["time"].endswith("Z")
    assert "passphrase" not in job["definition"]
