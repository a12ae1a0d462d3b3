# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The server_profile filter: Ansible's own argument validation, then _backup/profile.py; problems as one error."""

from __future__ import annotations

import pytest

VARIABLES = {
    "smgr_backups": {"web": {"type": "nginx", "schedule": "daily_2am", "verify": "yes"}},
    "smgr_install_dir": "/opt/server-manager",
    "smgr_runner_path": "/opt/server-manager/bin/smgr",
    "smgr_config_dir": "/opt/server-manager/config",
    "smgr_log_dir": "/opt/server-manager/logs",
    "smgr_state_dir": "/opt/server-manager/state",
    "smgr_lock_dir": "/run/lock/smgr",
    "smgr_backup_root": "/var/backups/smgr",
    "smgr_cron_file": "/etc/cron.d/smgr",
    "smgr_unit_dir": "/etc/systemd/system",
    "smgr_logrotate_file": "/etc/logrotate.d/smgr",
}


@pytest.fixture
def server_profile(load_filter, filter_error):
    return load_filter("server_profile").server_profile, filter_error


def test_types_are_converted_as_the_module_converts_them(server_profile):
    build, _error = server_profile
    profile = build(VARIABLES)
    assert profile["backup_jobs"][0]["verify"] is True
    assert [entry["name"] for entry in profile["cron_jobs"]] == ["backup-web", "cleanup", "health", "drill"]


def test_problems_fail_the_filter_naming_each(server_profile):
    build, AnsibleFilterError = server_profile
    variables = dict(VARIABLES, smgr_backups={"web": {"type": "nginx", "schedule": "daily_2am", "retention": 30}})
    with pytest.raises(AnsibleFilterError, match=r"smgr_backups\.web: retention: must be a mapping"):
        build(variables)


@pytest.mark.parametrize("value", [None, [], "x"])
def test_wrong_input_is_refused(server_profile, value):
    build, AnsibleFilterError = server_profile
    with pytest.raises(AnsibleFilterError, match="expects a mapping"):
        build(value)


def test_plain_data_turns_subclassed_containers_and_strings_into_plain_types(load_filter):
    """The filter checks plain data: Ansible's lazy containers and tagged strings are subclasses of these."""
    module = load_filter("server_profile")

    class LazyDict(dict):
        pass

    class LazyList(list):
        pass

    class TaggedStr(str):
        pass

    jobs = LazyList([LazyDict(name=TaggedStr("web"), keep=(3, 4))])
    value = LazyDict({TaggedStr("jobs"): jobs, TaggedStr("on"): True})
    plain = module.plain_data(value)
    assert plain == {"jobs": [{"name": "web", "keep": [3, 4]}], "on": True}
    read = (plain, plain["jobs"], plain["jobs"][0], plain["jobs"][0]["name"], *plain)
    assert [type(item) for item in read] == [dict, list, dict, str, str, str]
