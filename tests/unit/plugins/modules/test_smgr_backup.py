# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""smgr_backup and smgr_backup_info as Ansible runs them: files, runner, check/diff mode, bad input, run_now."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._runner.build import runner_bytes
from ansible_collections.smgr.server_manager.plugins.modules import smgr_backup, smgr_backup_info
from ansible_collections.smgr.server_manager.tests.support.module_harness import exit_result, fail_result

run = exit_result
fail = fail_result


def files_under(path):
    found = []
    for directory, _dirs, names in os.walk(path):
        found.extend(os.path.join(directory, name) for name in names)
    return sorted(found)


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# --------------------------------------------------------------------------- files and idempotence


def test_check_real_check_real(base, data, tmp_path):
    args = dict(base, name="site", type="paths", paths=[str(data)])
    first = run(smgr_backup, args, check=True)
    assert first["changed"] is True
    assert not os.path.exists(tmp_path / "host")
    job_file = os.path.join(base["config_dir"], "backups.d", "site.yaml")
    assert first["jobs"] == [{"name": "site", "action": "created", "file": job_file}]
    diffs = {d["after_header"]: d for d in first["diff"]}
    assert f"paths:\n- {data}\n" in diffs[job_file]["after"]
    assert diffs[base["runner_path"]]["after"].startswith("smgr runner: ")

    real = run(smgr_backup, args)
    assert real["changed"] is True and real["runner"]["changed"] is True
    assert sorted(real["changed_files"]) == sorted(
        [job_file, os.path.join(base["config_dir"], "runner.yaml"), base["runner_path"]]
    )
    assert mode(job_file) == 0o600 and mode(os.path.join(base["config_dir"], "runner.yaml")) == 0o600
    assert mode(base["runner_path"]) == 0o755
    assert mode(os.path.join(base["config_dir"], "backups.d")) == 0o700
    with open(base["runner_path"], "rb") as handle:
        assert handle.read() == runner_bytes(sys.executable)

    again_check = run(smgr_backup, args, check=True)
    again = run(smgr_backup, args)
    assert again_check["changed"] is False and again["changed"] is False
    assert again["jobs"][0]["action"] == "unchanged" and again["diff"] == []


def test_update_mode_drift_and_runner_drift(base, data):
    args = dict(base, name="site", type="paths", paths=[str(data)])
    run(smgr_backup, args)
    job_file = os.path.join(base["config_dir"], "backups.d", "site.yaml")
    os.chmod(job_file, 0o644)
    with open(base["runner_path"], "ab") as handle:
        handle.write(b"tampered")
    fixed = run(smgr_backup, args)
    assert fixed["changed"] is True and fixed["runner"]["changed"] is True
    assert mode(job_file) == 0o600
    assert fixed["jobs"][0]["action"] == "updated"
    updated = run(smgr_backup, dict(args, retention={"keep_days": 7}))
    assert updated["jobs"][0]["action"] == "updated"
    before, after = updated["diff"][0]["before"], updated["diff"][0]["after"]
    assert "keep_days: 30" in before and "keep_days: 7" in after


def test_create_directories_and_logrotate_in_one_call(base, data, tmp_path):
    root = tmp_path / "host"
    logrotate = str(root / "etc/logrotate.d/smgr")
    cron_file = str(root / "etc/cron.d/smgr")
    args = dict(
        base,
        name="site",
        type="paths",
        paths=[str(data)],
        cron_file=cron_file,
        create_directories=True,
        logrotate_file=logrotate,
        logrotate_frequency="daily",
        logrotate_rotate=5,
    )
    layout = {
        base["config_dir"]: 0o750,
        os.path.join(base["config_dir"], "backups.d"): 0o700,
        os.path.dirname(base["runner_path"]): 0o755,
        base["state_dir"]: 0o750,
        base["log_dir"]: 0o750,
        base["lock_dir"]: 0o700,
        base["backup_root"]: 0o700,
        os.path.dirname(cron_file): 0o755,
        os.path.dirname(logrotate): 0o755,
    }
    planned = run(smgr_backup, args, check=True)
    assert not os.path.exists(root)
    assert sorted(planned["changed_directories"]) == sorted(layout)
    assert logrotate in planned["changed_files"]
    old_umask = os.umask(0o077)  # the layout's modes must not depend on the umask
    try:
        real = run(smgr_backup, args)
    finally:
        os.umask(old_umask)
    assert real["changed_directories"] == planned["changed_directories"]
    assert real["changed_files"] == planned["changed_files"]
    assert {path: mode(path) for path in layout} == layout
    assert mode(root / "opt") == 0o755 and mode(root / "run/lock") == 0o755  # missing parents
    text = read(logrotate).decode()
    assert mode(logrotate) == 0o644
    assert f'"{base["log_dir"]}/*-cron.log" "{base["log_dir"]}/schedule-audit.log" {{' in text
    assert "    daily\n    rotate 5\n" in text
    assert run(smgr_backup, args, check=True)["changed"] is False
    assert run(smgr_backup, args)["changed"] is False

    # A mode changed by hand is set back, and the diff shows it; the other directories stay as they are.
    os.chmod(base["state_dir"], 0o777)
    drift = run(smgr_backup, args, check=True)
    assert drift["changed_directories"] == [base["state_dir"]] and drift["changed_files"] == []
    assert drift["diff"] == [
        {
            "before_header": base["state_dir"],
            "after_header": base["state_dir"],
            "before": f"directory {base['state_dir']} mode 0777\n",
            "after": f"directory {base['state_dir']} mode 0750\n",
        }
    ]
    assert mode(base["state_dir"]) == 0o777
    assert run(smgr_backup, args)["changed_directories"] == [base["state_dir"]]
    assert mode(base["state_dir"]) == 0o750

    changed = run(smgr_backup, dict(args, logrotate_frequency="monthly"))
    assert changed["changed_files"] == [logrotate] and "    monthly\n" in read(logrotate).decode()


def test_without_create_directories_existing_modes_are_left_alone(base, data):
    args = dict(base, name="site", type="paths", paths=[str(data)])
    run(smgr_backup, args)
    assert not os.path.exists(base["state_dir"]) and not os.path.exists(base["lock_dir"])
    os.chmod(base["config_dir"], 0o755)
    again = run(smgr_backup, args)
    assert again["changed"] is False and again["changed_directories"] == []
    assert mode(base["config_dir"]) == 0o755


def test_a_layout_path_that_is_a_file_fails_before_anything_is_written(base, data, tmp_path):
    os.makedirs(os.path.dirname(base["state_dir"]))
    with open(base["state_dir"], "w") as handle:
        handle.write("not a directory\n")
    args = dict(base, name="site", type="paths", paths=[str(data)], create_directories=True)
    failed = fail(smgr_backup, args)
    assert failed["msg"] == f"state_dir: {base['state_dir']} exists and is not a directory"
    assert files_under(tmp_path / "host") == [base["state_dir"]]


def test_logrotate_file_cannot_be_a_file_of_the_task(base, data):
    runner = dict(base, name="site", type="paths", paths=[str(data)], logrotate_file=base["runner_path"])
    assert "logrotate_file: " in fail(smgr_backup, runner)["msg"]
    rotate = dict(base, name="site", type="paths", paths=[str(data)], logrotate_file="/x/smgr", logrotate_rotate=-1)
    assert fail(smgr_backup, rotate)["msg"] == "logrotate_rotate: must be from 0 to 1000, got -1"


def test_jobs_list_exclusive_and_absent(base, data):
    jobs = [dict(name="a", type="paths", paths=[str(data)]), dict(name="b", type="nginx", paths=[str(data)])]
    run(smgr_backup, dict(base, jobs=jobs))
    stray = os.path.join(base["config_dir"], "backups.d", "notes.txt")
    with open(stray, "w") as handle:
        handle.write("not a job")
    result = run(smgr_backup, dict(base, jobs=[jobs[0]], exclusive=True))
    assert {j["name"]: j["action"] for j in result["jobs"]} == {"a": "unchanged", "b": "removed"}
    assert sorted(os.listdir(os.path.join(base["config_dir"], "backups.d"))) == ["a.yaml", "notes.txt"]
    absent = run(smgr_backup, dict(base, name="a", state="absent"))
    assert absent["jobs"] == [
        {"name": "a", "action": "removed", "file": os.path.join(base["config_dir"], "backups.d", "a.yaml")}
    ]
    assert run(smgr_backup, dict(base, name="a", state="absent"))["changed"] is False
    everything = run(smgr_backup, dict(base, jobs=[], exclusive=True))
    assert everything["changed"] is False and os.listdir(os.path.join(base["config_dir"], "backups.d")) == ["notes.txt"]


def test_install_runner_false(base, data):
    result = run(smgr_backup, dict(base, name="a", type="paths", paths=[str(data)], install_runner=False))
    assert result["changed"] is True and not os.path.exists(base["runner_path"])


# --------------------------------------------------------------------------- run_now


def test_run_now_returns_the_result(base, data):
    result = run(smgr_backup, dict(base, name="site", type="paths", paths=[str(data)], run_now=True))
    assert result["changed"] is True
    assert result["archive"].startswith(os.path.join(base["backup_root"], "site", "web1+site-"))
    assert result["size"] == os.path.getsize(result["archive"])
    assert len(result["sha256"]) == 64 and result["verified"] is True
    assert result["synced"] is None and result["removed"] == [] and result["freed_bytes"] == 0
    assert result["duration"] >= 0 and result["run"]["status"] == "ok"


def test_run_now_by_name_from_a_jobs_list(base, data):
    jobs = [dict(name="a", type="paths", paths=[str(data)]), dict(name="b", type="paths", paths=[str(data)])]
    result = run(smgr_backup, dict(base, jobs=jobs, run_now="b"))
    assert "/b/web1+b-" in result["archive"]


def test_run_now_in_check_mode_runs_nothing(base, data):
    result = run(smgr_backup, dict(base, name="site", type="paths", paths=[str(data)], run_now=True), check=True)
    assert result["changed"] is True and result["run"]["skipped"] is True
    assert not os.path.exists(base["backup_root"])


def test_run_now_failure_fails_the_task(base, tmp_path):
    result = fail(smgr_backup, dict(base, name="site", type="paths", paths=[str(tmp_path / "missing")], run_now=True))
    assert result["msg"].startswith("backup site failed (runner exit 1): job 'site': paths: path(s) to back up")
    assert result["run"]["status"] == "failed"


# --------------------------------------------------------------------------- bad input: fails, writes nothing


BAD = [
    ({"name": "bad name", "type": "paths", "paths": ["/srv"]}, "invalid job name 'bad name'"),
    ({"name": "", "type": "paths", "paths": ["/srv"]}, "invalid job name ''"),
    ({"name": "a.b", "type": "paths", "paths": ["/srv"]}, "invalid job name 'a.b'"),
    ({"name": "j", "paths": ["/srv"]}, "job 'j': type: is required with state present"),
    ({"name": "j", "type": "rsync", "paths": ["/srv"]}, "value of type must be one of"),
    ({"name": "j", "type": "paths"}, "job 'j': paths: type paths needs at least one path"),
    ({"name": "j", "type": "paths", "paths": ["srv"]}, "job 'j': paths[0]: must be an absolute path"),
    ({"name": "j", "type": "paths", "paths": ["/"]}, "job 'j': paths: / (the whole system)"),
    ({"name": "j", "type": "paths", "paths": ["/srv", "/srv"]}, "job 'j': paths: lists a path twice"),
    ({"name": "j", "type": "mailcow", "paths": ["/srv"]}, "job 'j': paths: is not used by type mailcow"),
    ({"name": "j", "type": "paths", "paths": ["/srv"], "dest": "backups"}, "job 'j': dest: must be an absolute"),
    ({"name": "j", "type": "paths", "paths": ["/srv"], "dest": "/srv/b"}, "job 'j': dest: lies inside"),
    (
        {"name": "j", "type": "paths", "paths": ["/srv"], "compression": "bzip2"},
        "compression: must be one of zstd, gzip",
    ),
    (
        {"name": "j", "type": "paths", "paths": ["/srv"], "retention": {"keep_min": 0}},
        "job 'j': retention.keep_min: must be at least 1",
    ),
    (
        {"name": "j", "type": "paths", "paths": ["/srv"], "retention": {"keep_days": 0}},
        "job 'j': retention.keep_days: keep_days 0 disables the age rule",
    ),
    (
        {"name": "j", "type": "paths", "paths": ["/srv"], "retention": {"keep_days": -3}},
        "job 'j': retention.keep_days: must be at least 0",
    ),
    (
        {"name": "j", "type": "paths", "paths": ["/srv"], "retention": {"keep_monthly": 0}},
        "job 'j': retention.keep_monthly: must be at least 1",
    ),
    ({"name": "j", "type": "paths", "paths": ["/srv"], "retention": {"keep_forever": 1}}, "keep_forever"),
    ({"name": "j", "type": "paths", "paths": ["/srv"], "remote": "host::mod"}, "job 'j': remote: rsync daemon"),
    ({"name": "j", "type": "paths", "paths": ["/srv"], "remote": "just-a-word"}, "job 'j': remote: must be"),
    (
        {"name": "j", "type": "paths", "paths": ["/srv"], "remote": "/mnt", "remote_port": 2222},
        "job 'j': remote_port: only applies",
    ),
    (
        {"name": "j", "type": "paths", "paths": ["/srv"], "remote": "h:/b", "remote_port": 0},
        "job 'j': remote_port: must be at least 1",
    ),
    (
        {"name": "j", "type": "paths", "paths": ["/srv"], "remote": "h:/b", "remote_ssh_key": "id_rsa"},
        "job 'j': remote_ssh_key: must be an absolute path",
    ),
    (
        {"name": "j", "type": "paths", "paths": ["/srv"], "remote": "h:/b", "remote_ssh_options": ["Port 22"]},
        "job 'j': remote_ssh_options[0]: must look like Name=value",
    ),
    (
        {"name": "j", "type": "paths", "paths": ["/srv"], "ping_url": "hc.example/ping"},
        "job 'j': ping_url: must be an http",
    ),
    ({"name": "j", "type": "paths", "paths": ["/srv"], "timeout": 0}, "job 'j': timeout: must be at least 1"),
    ({"name": "j", "type": "paths", "paths": ["/srv"], "timeout": "soon"}, "timeout"),
    ({"name": "j", "type": "paths", "paths": ["/srv"], "mailcow_threads": 2}, "job 'j': mailcow_threads: only"),
    ({"name": "j", "type": "mailcow", "mailcow_components": ["sogo"]}, "job 'j': mailcow_components: unknown"),
    ({"name": "j", "type": "mailcow", "mailcow_components": ["all", "vmail"]}, "'all' cannot be combined"),
    ({"name": "j", "type": "mailcow", "mailcow_dir": "mailcow"}, "job 'j': mailcow_dir: must be an absolute"),
    ({"name": "j", "type": "npm", "npm_dir": "nginx"}, "job 'j': npm_dir: must be an absolute"),
    ({"name": "j", "type": "npm", "paths": ["/srv"]}, "job 'j': paths: is not used by type npm"),
    ({"name": "j", "type": "paths", "paths": ["/srv"], "npm_dir": "/root/nginx"}, "job 'j': npm_dir: only applies"),
    ({"name": "j", "type": "mailcow", "mailcow_threads": 100}, "job 'j': mailcow_threads: "),
    ({"name": "j", "type": "mailcow", "mailcow_threads": 0}, "job 'j': mailcow_threads: "),
    (
        {"name": "j", "type": "mailcow", "dest": "/srv/mail backups"},
        "job 'j': dest: '/srv/mail backups': Mailcow's script needs a path of",
    ),
    (
        {"name": "j", "type": "mailcow", "mailcow_dir": "/opt/mail cow"},
        "job 'j': mailcow_dir: '/opt/mail cow': Mailcow's script",
    ),
    (
        {"name": "j", "type": "paths", "paths": ["/srv"], "mailcow_install_files": False},
        "job 'j': mailcow_install_files: only",
    ),
    ({"name": "j", "type": "paths", "paths": ["/srv"], "pre_command": ""}, "job 'j': pre_command: must be"),
    ({"jobs": [{"name": "a", "type": "nginx"}, {"name": "a", "type": "nginx"}]}, "job 'a': name: is listed twice"),
    ({"jobs": [{"name": "a", "type": "nginx"}, {"name": "a", "state": "absent"}]}, "job 'a': name: is listed twice"),
    ({"jobs": [{"name": "ok", "type": "nginx"}, {"name": "x y", "type": "nginx"}]}, "invalid job name 'x y'"),
    ({"jobs": [{"type": "nginx"}]}, "missing required arguments: name"),
    ({"name": "j", "type": "nginx", "jobs": []}, "parameters are mutually exclusive: jobs|name"),
    ({"exclusive": True, "name": "j", "type": "nginx"}, "exclusive: exclusive only applies together with jobs"),
    ({"type": "nginx"}, "type: needs name (or use jobs)"),
    ({"name": "j", "type": "nginx", "run_now": "other"}, "run_now names job 'other', which is neither"),
    (
        {"jobs": [{"name": "a", "type": "nginx"}, {"name": "b", "type": "nginx"}], "run_now": True},
        "run_now: run_now: true needs exactly one job",
    ),
    ({"name": "j", "type": "nginx", "run_now": 5}, "run_now: must be true, false or a job name"),
    ({"name": "j", "state": "absent", "run_now": "j"}, "run_now names job 'j', which this task removes"),
    ({"name": "j", "type": "nginx", "archive_host": "a b"}, "archive_host must be a host name"),
    ({"name": "j", "type": "nginx", "runner_interpreter": "python3"}, "runner interpreter must be an absolute path"),
]


@pytest.mark.parametrize(("options", "message"), BAD, ids=[f"bad-{i}" for i in range(len(BAD))])
def test_bad_input_fails_clearly_and_writes_nothing(base, tmp_path, options, message):
    result = fail(smgr_backup, dict(base, **options))
    assert message in result["msg"]
    assert files_under(tmp_path) == []


def test_bad_input_leaves_existing_files_untouched(base, data, tmp_path):
    run(smgr_backup, dict(base, name="good", type="paths", paths=[str(data)]))
    before = {path: read(path) for path in files_under(tmp_path / "host")}
    fail(smgr_backup, dict(base, jobs=[{"name": "good", "type": "paths", "paths": ["relative"]}], exclusive=True))
    assert {path: read(path) for path in files_under(tmp_path / "host")} == before


def test_at_least_thirty_bad_inputs():
    assert len(BAD) >= 30


# --------------------------------------------------------------------------- smgr_backup_info


def test_info_lists_archives_and_last_result(base, data):
    run(smgr_backup, dict(base, name="site", type="paths", paths=[str(data)], run_now=True))
    info = run(smgr_backup_info, {"config_dir": base["config_dir"]})
    assert info["changed"] is False
    (job,) = info["jobs"]
    assert job["name"] == "site" and job["type"] == "paths" and job["dest"] == os.path.join(base["backup_root"], "site")
    (archive,) = job["archives"]
    assert archive["name"].startswith("web1+site-") and archive["size"] == os.path.getsize(archive["path"])
    assert len(archive["sha256"]) == 64 and archive["time"].endswith("Z")
    assert job["last_run"]["status"] == "ok" and job["last_success"]["archive"] == archive["path"]
    assert job["last_drill"] is None and job["consecutive_skips"] == 0
    assert info["settings"]["archive_host"] == "web1"
    runner = [base["runner_path"], "--config-dir", base["config_dir"], "--json", "drill", "site"]
    assert subprocess.run(runner, capture_output=True, check=False).returncode == 0
    drilled = run(smgr_backup_info, {"config_dir": base["config_dir"]})["jobs"][0]
    assert (drilled["last_drill"]["status"], drilled["last_drill"]["archive"]) == ("ok", archive["path"])
    verified = run(smgr_backup_info, {"config_dir": base["config_dir"], "name": ["site"], "verify_checksums": True})
    assert verified["jobs"][0]["archives"][0]["checksum_ok"] is True
    with open(archive["path"], "ab") as handle:
        handle.write(b"x")
    tampered = run(smgr_backup_info, {"config_dir": base["config_dir"], "verify_checksums": True})
    assert tampered["jobs"][0]["archives"][0]["checksum_ok"] is False


def test_info_unknown_job(base, data):
    run(smgr_backup, dict(base, name="site", type="paths", paths=[str(data)]))
    result = fail(smgr_backup_info, {"config_dir": base["config_dir"], "name": ["ghost"]})
    assert "no such backup job(s): ghost; configured: site" in result["msg"]


def test_info_without_anything(base):
    info = run(smgr_backup_info, {"config_dir": base["config_dir"]})
    assert info["jobs"] == []


@pytest.mark.parametrize("where", ["missing-dir/smgr.prom", "a-directory.prom"])
def test_an_unwritable_metrics_file_fails_before_anything_is_written(base, data, tmp_path, where):
    (tmp_path / "a-directory.prom").mkdir()
    args = dict(base, name="site", type="paths", paths=[str(data)], metrics_file=str(tmp_path / where))
    result = fail(smgr_backup, args)
    assert result["msg"].startswith("metrics_file: ")
    assert not os.path.exists(base["config_dir"])
