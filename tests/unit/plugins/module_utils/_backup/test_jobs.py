# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Job model: defaults per type, validation messages naming job and field, YAML round trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import (
    DEFAULT_BACKUP_ROOT,
    Retention,
    RunnerSettings,
    job_file_path,
    list_job_files,
    load_job,
    parse_job_file,
    parse_remote,
    render_job,
    render_settings,
    validate_job,
    validate_jobs,
    validate_settings,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError


def test_nginx_defaults():
    job = validate_job({"name": "nginx", "type": "nginx"})
    assert job.paths == ("/etc/nginx", "/etc/letsencrypt")
    assert job.dest == f"{DEFAULT_BACKUP_ROOT}/nginx"
    assert job.compression == "zstd" and job.verify is True
    assert job.retention == Retention(keep_days=30, keep_min=3)
    assert job.mailcow_dir is None


def test_nginx_proxy_manager_paths_override():
    job = validate_job({"name": "npm", "type": "nginx", "paths": ["/opt/npm/data", "/opt/npm/letsencrypt/"]})
    assert job.paths == ("/opt/npm/data", "/opt/npm/letsencrypt")


def test_mailcow_defaults():
    job = validate_job({"name": "mail", "type": "mailcow"})
    assert job.paths == ()
    assert job.mailcow_dir == "/opt/mailcow-dockerized"
    assert job.mailcow_components == ("all",)
    assert job.expanded_mailcow_components() == ("vmail", "crypt", "redis", "rspamd", "postfix", "mysql")
    assert job.mailcow_threads == 1
    assert job.mailcow_install_files is True


def test_npm_defaults():
    job = validate_job({"name": "proxy", "type": "npm"})
    assert job.paths == ()
    assert job.npm_dir == "/root/nginx"
    assert job.mailcow_dir is None


def test_remote_forms():
    assert parse_remote("/mnt/usb/backups").is_ssh is False
    target = parse_remote("backup@host.example:/srv/b/")
    assert (target.user, target.host, target.path, target.login) == (
        "backup",
        "host.example",
        "/srv/b",
        "backup@host.example",
    )
    assert parse_remote("host:relative/dir").path == "relative/dir"


BAD = [
    ({"type": "paths", "paths": ["/a"]}, "invalid job name None"),
    ({"name": "", "type": "paths", "paths": ["/a"]}, "invalid job name ''"),
    ({"name": "has space", "type": "paths", "paths": ["/a"]}, "invalid job name"),
    ({"name": "dot.name", "type": "paths", "paths": ["/a"]}, "invalid job name"),
    ({"name": "-dash", "type": "paths", "paths": ["/a"]}, "invalid job name"),
    ({"name": "x" * 65, "type": "paths", "paths": ["/a"]}, "invalid job name"),
    ({"name": "j", "type": "tarball", "paths": ["/a"]}, "job 'j': type: must be one of nginx, mailcow, npm, paths"),
    ({"name": "j", "paths": ["/a"]}, "job 'j': type: must be one of"),
    ({"name": "j", "type": "paths"}, "job 'j': paths: type paths needs at least one path"),
    ({"name": "j", "type": "paths", "paths": []}, "job 'j': paths: type paths needs at least one path"),
    ({"name": "j", "type": "paths", "paths": "/a"}, "job 'j': paths: must be a list of strings"),
    ({"name": "j", "type": "paths", "paths": ["relative"]}, "job 'j': paths[0]: must be an absolute path"),
    ({"name": "j", "type": "paths", "paths": ["/a", "/a/"]}, "job 'j': paths: lists a path twice"),
    ({"name": "j", "type": "paths", "paths": ["/"]}, "job 'j': paths: / (the whole system)"),
    ({"name": "j", "type": "paths", "paths": ["/a\nb"]}, "job 'j': paths[0]: must not contain a newline"),
    ({"name": "j", "type": "mailcow", "paths": ["/a"]}, "job 'j': paths: is not used by type mailcow"),
    ({"name": "j", "type": "paths", "paths": ["/a"], "dest": "rel"}, "job 'j': dest: must be an absolute path"),
    ({"name": "j", "type": "paths", "paths": ["/srv"], "dest": "/srv/backups"}, "job 'j': dest: lies inside"),
    ({"name": "j", "type": "paths", "paths": ["/a"], "compression": "xz"}, "job 'j': compression: must be one of"),
    ({"name": "j", "type": "paths", "paths": ["/a"], "verify": "yes"}, "job 'j': verify: must be true or false"),
    (
        {"name": "j", "type": "paths", "paths": ["/a"], "retention": {"keep_min": 0}},
        "job 'j': retention.keep_min: must be at least 1",
    ),
    (
        {"name": "j", "type": "paths", "paths": ["/a"], "retention": {"keep_days": 0}},
        "job 'j': retention.keep_days: keep_days 0 disables the age rule; set keep_min explicitly",
    ),
    (
        {"name": "j", "type": "paths", "paths": ["/a"], "retention": {"keep_days": -1}},
        "job 'j': retention.keep_days: must be at least 0",
    ),
    (
        {"name": "j", "type": "paths", "paths": ["/a"], "retention": {"keep_hourly": 3}},
        "job 'j': retention: unknown key(s) keep_hourly",
    ),
    (
        {"name": "j", "type": "paths", "paths": ["/a"], "retention": {"keep_weekly": 0}},
        "job 'j': retention.keep_weekly: must be at least 1",
    ),
    ({"name": "j", "type": "paths", "paths": ["/a"], "retention": "30d"}, "job 'j': retention: must be a mapping"),
    ({"name": "j", "type": "paths", "paths": ["/a"], "remote": "host::module"}, "job 'j': remote: rsync daemon"),
    ({"name": "j", "type": "paths", "paths": ["/a"], "remote": "rsync://h/m"}, "job 'j': remote: rsync daemon"),
    ({"name": "j", "type": "paths", "paths": ["/a"], "remote": "nohostpath"}, "job 'j': remote: must be an"),
    ({"name": "j", "type": "paths", "paths": ["/a"], "remote": "-oProxyCommand=x:/p"}, "job 'j': remote: must be"),
    (
        {"name": "j", "type": "paths", "paths": ["/a"], "remote": "/mnt", "remote_port": 22},
        "job 'j': remote_port: only applies to a remote of the form",
    ),
    ({"name": "j", "type": "paths", "paths": ["/a"], "remote_ssh_key": "/k"}, "job 'j': remote_ssh_key: only applies"),
    (
        {"name": "j", "type": "paths", "paths": ["/a"], "remote": "h:/p", "remote_port": 70000},
        "job 'j': remote_port: must be at most 65535",
    ),
    (
        {"name": "j", "type": "paths", "paths": ["/a"], "remote": "h:/p", "remote_ssh_key": "key"},
        "job 'j': remote_ssh_key: must be an absolute path",
    ),
    (
        {"name": "j", "type": "paths", "paths": ["/a"], "remote": "h:/p", "remote_ssh_options": ["-oX"]},
        "job 'j': remote_ssh_options[0]: must look like Name=value",
    ),
    ({"name": "j", "type": "paths", "paths": ["/a"], "ping_url": "ftp://x"}, "job 'j': ping_url: must be an http"),
    ({"name": "j", "type": "paths", "paths": ["/a"], "timeout": 0}, "job 'j': timeout: must be at least 1"),
    ({"name": "j", "type": "paths", "paths": ["/a"], "timeout": True}, "job 'j': timeout: must be an integer"),
    ({"name": "j", "type": "paths", "paths": ["/a"], "pre_command": ""}, "job 'j': pre_command: must be a non-empty"),
    (
        {"name": "j", "type": "paths", "paths": ["/a"], "pre_command": "a\x00b"},
        "job 'j': pre_command: must not contain",
    ),
    ({"name": "j", "type": "paths", "paths": ["/a"], "mailcow_dir": "/opt/m"}, "job 'j': mailcow_dir: only applies"),
    ({"name": "j", "type": "mailcow", "mailcow_components": ["mail"]}, "job 'j': mailcow_components: unknown"),
    ({"name": "j", "type": "mailcow", "mailcow_components": ["all", "vmail"]}, "'all' cannot be combined"),
    ({"name": "j", "type": "mailcow", "mailcow_components": []}, "must name at least one component"),
    ({"name": "j", "type": "mailcow", "mailcow_threads": 0}, "job 'j': mailcow_threads: must be at least 1"),
    ({"name": "j", "type": "mailcow", "mailcow_dir": "opt"}, "job 'j': mailcow_dir: must be an absolute path"),
    ({"name": "j", "type": "paths", "paths": ["/a"], "colour": "red"}, "job 'j': colour: unknown key(s): colour"),
    (["not", "a", "mapping"], "a job must be a mapping"),
]


@pytest.mark.parametrize(("raw", "message"), BAD, ids=[f"bad-{i}" for i in range(len(BAD))])
def test_bad_jobs(raw, message):
    with pytest.raises(SmgrError) as info:
        validate_job(raw)
    assert message in str(info.value)


def test_duplicate_names():
    with pytest.raises(SmgrError, match="job 'a': name: is listed twice"):
        validate_jobs([{"name": "a", "type": "nginx"}, {"name": "a", "type": "nginx"}])


def test_render_parse_round_trip(tmp_path):
    job = validate_job(
        {
            "name": "app",
            "type": "paths",
            "paths": ["/srv/app", "/etc/app"],
            "exclude": ["*.log", "/srv/app/tmp"],
            "remote": "u@h:/b",
            "remote_port": 2222,
            "remote_ssh_key": "/root/.ssh/k",
            "remote_ssh_options": ["UserKnownHostsFile=/etc/kh"],
            "retention": {"keep_days": 7, "keep_min": 2, "keep_weekly": 4},
            "pre_command": "pg_dump app > /srv/app/dump.sql\necho done",
            "ping_url": "https://hc.example/ping/x",
            "timeout": 600,
        }
    )
    content = render_job(job)
    assert content.startswith(b"# Managed by smgr.server_manager")
    path = tmp_path / "backups.d" / "app.yaml"
    path.parent.mkdir()
    path.write_bytes(content)
    assert parse_job_file(content, str(path)) == job
    assert load_job(str(tmp_path), "app") == job
    assert list_job_files(str(tmp_path)) == {"app": str(path)}
    assert job_file_path(str(tmp_path), "app") == str(path)


def test_file_must_be_named_after_its_job(tmp_path):
    content = render_job(validate_job({"name": "app", "type": "nginx"}))
    with pytest.raises(SmgrError, match=r"the file must be named app\.yaml"):
        parse_job_file(content, str(tmp_path / "other.yaml"))


def test_invalid_yaml_file(tmp_path):
    with pytest.raises(SmgrError, match="is not valid YAML"):
        parse_job_file(b"name: [unclosed", str(tmp_path / "x.yaml"))


def test_unknown_job_lists_configured(tmp_path):
    (tmp_path / "backups.d").mkdir()
    (tmp_path / "backups.d" / "nginx.yaml").write_bytes(render_job(validate_job({"name": "nginx", "type": "nginx"})))
    (tmp_path / "backups.d" / "README.txt").write_text("ignored")
    with pytest.raises(SmgrError, match=r"no such backup job .*configured jobs: nginx"):
        load_job(str(tmp_path), "ghost")


def test_settings_round_trip_and_validation():
    settings = RunnerSettings(
        state_dir="/p/state", log_dir="/p/logs", lock_dir="/p/lock", backup_root="/p/b", archive_host="web1"
    )
    import yaml

    assert validate_settings(yaml.safe_load(render_settings(settings))) == settings
    with pytest.raises(SmgrError, match="unknown key"):
        validate_settings({"stat_dir": "/x"})
    with pytest.raises(SmgrError, match="archive_host must be a host name"):
        validate_settings({"archive_host": "a b"})
    with pytest.raises(SmgrError, match="state_dir: must be an absolute path"):
        validate_settings({"state_dir": "state"})


names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,20}", fullmatch=True)
paths = st.lists(
    st.from_regex(r"/[a-z]{1,8}(/[a-z0-9 ._-]{1,8}){0,3}", fullmatch=True),
    min_size=1,
    max_size=4,
    unique_by=lambda p: p.rstrip("/"),
)


@given(names, paths, st.sampled_from(["zstd", "gzip"]), st.integers(0, 400), st.integers(1, 50))
@settings(max_examples=100, deadline=None)
def test_round_trip_property(name, job_paths, compression, keep_days, keep_min):
    raw = {
        "name": name,
        "type": "paths",
        "paths": job_paths,
        "compression": compression,
        "dest": "/backup/x",
        "retention": {"keep_days": keep_days, "keep_min": keep_min},
    }
    try:
        job = validate_job(raw)
    except SmgrError:
        return  # e.g. duplicate paths after normalisation
    assert parse_job_file(render_job(job), f"/c/backups.d/{name}.yaml") == job
