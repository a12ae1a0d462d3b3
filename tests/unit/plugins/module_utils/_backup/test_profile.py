# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_backup.profile: every cron entry of a host assembled once, every part checked before a host is touched."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.job_secrets import with_backup_secrets
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import MAX_SCHEDULED_JOB_NAME
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.profile import (
    CLEANUP_DEFAULTS,
    DRILL_DEFAULTS,
    HEALTH_DEFAULTS,
    ProfileError,
    build_profile,
    runner_command,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.plan import JobRequest, Target, plan

ROOT = Path(__file__).resolve().parents[5]


def check(spec, value):
    """Ansible's module argument validation, as the server_profile filter passes it."""
    if not isinstance(value, dict):
        return {}, [f"must be a mapping, got {type(value).__name__}"]
    result = ArgumentSpecValidator(dict(spec)).validate(dict(value))
    return result.validated_parameters, [str(message) for message in result.error_messages]


def variables(**overrides):
    base = {
        "smgr_backups": {},
        "smgr_backup_defaults": {"schedule": "H H(1-4) * * *"},
        "smgr_cleanup": dict(CLEANUP_DEFAULTS),
        "smgr_health": dict(HEALTH_DEFAULTS),
        "smgr_schedules": {},
        "smgr_notifications": {"enabled": False},
        "smgr_schedule_seed": "web1",
        "smgr_cron_env": {"SHELL": "/bin/bash"},
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
    base.update(overrides)
    return base


def problems_of(**overrides) -> list[str]:
    with pytest.raises(ProfileError) as caught:
        build_profile(variables(**overrides), check)
    return caught.value.problems


def test_every_cron_entry_of_the_profile_with_its_command():
    profile = build_profile(
        variables(
            smgr_backups={"web": {"type": "nginx"}, "app": {"type": "paths", "paths": ["/srv"], "disabled": True}},
            smgr_schedules={"report": {"schedule": "hourly", "command": "echo hi"}},
        ),
        check,
    )
    entries = {entry["name"]: entry for entry in profile.cron_jobs}
    assert list(entries) == ["backup-app", "backup-web", "cleanup", "health", "drill", "report"]
    assert entries["backup-web"] == {
        "name": "backup-web",
        "schedule": "H H(1-4) * * *",
        "command": "/opt/server-manager/bin/smgr backup web",
        "log": "/opt/server-manager/logs/backup-web-cron.log",
        "disabled": False,
        "prevent_overlap": False,
    }
    assert entries["backup-app"]["disabled"] is True
    assert entries["cleanup"]["command"] == "/opt/server-manager/bin/smgr cleanup"
    assert entries["drill"] == {
        "name": "drill",
        "schedule": "H 5 * * 6",
        "command": "/opt/server-manager/bin/smgr drill",
        "log": "/opt/server-manager/logs/drill-cron.log",
    }
    assert entries["health"]["command"] == "/opt/server-manager/bin/smgr health --max-age 26 --min-free 10%"
    assert entries["report"] == {
        "name": "report",
        "schedule": "hourly",
        "command": "echo hi",
        "user": "root",
        "log": "/opt/server-manager/logs/report-cron.log",
        "prevent_overlap": True,
        "disabled": False,
    }


def test_backup_jobs_get_the_defaults_and_the_fleet_retention_without_their_cron_keys():
    profile = build_profile(
        variables(
            smgr_backups={"app": {"type": "paths", "paths": ["/srv"], "retention": {"keep_min": 5}}},
            smgr_backup_defaults={"schedule": "daily_2am", "verify": "no"},
        ),
        check,
    )
    assert profile.backup_jobs == [
        {
            "name": "app",
            "type": "paths",
            "paths": ["/srv"],
            "verify": False,
            "retention": {"keep_days": 30, "keep_min": 5},
        }
    ]


def test_partial_cleanup_and_health_keep_the_other_defaults():
    profile = build_profile(
        variables(
            smgr_cleanup={"schedule": "daily_4am"},
            smgr_health={"max_age_hours": 50, "min_free": "5 GiB", "cron_check": False, "notify": False},
        ),
        check,
    )
    entries = {entry["name"]: entry for entry in profile.cron_jobs}
    assert entries["cleanup"]["schedule"] == "daily_4am"
    assert entries["health"]["schedule"] == HEALTH_DEFAULTS["schedule"]
    assert entries["health"]["command"].endswith("--max-age 50 --min-free '5 GiB' --no-cron-check --no-notify")


def test_disabled_cleanup_and_health_have_no_entry():
    disabled = {"enabled": False}
    profile = build_profile(variables(smgr_cleanup=disabled, smgr_health=disabled, smgr_drill=disabled), check)
    assert profile.cron_jobs == []


def test_the_config_dir_is_passed_only_when_it_is_not_beside_the_runner():
    assert runner_command("/opt/sm/bin/smgr", "/opt/sm/config") == "/opt/sm/bin/smgr"
    assert runner_command("/opt/s m/bin/smgr", "/etc/smgr") == "'/opt/s m/bin/smgr' --config-dir /etc/smgr"


def test_the_entries_are_what_smgr_schedule_writes_without_error():
    profile = build_profile(variables(smgr_backups={"web": {"type": "nginx"}}), check)
    requests = [JobRequest(**entry) for entry in profile.cron_jobs]
    result = plan(
        Target(cron_file="/nonexistent/smgr"), ("", False, None), requests, True, None, "web1", "/run/lock/smgr"
    )
    assert "smgr backup web" in result.after_text


def test_a_job_name_too_long_for_its_cron_entry_fails_on_the_controller():
    """58 to 64 characters used to pass here, be written by smgr_backup, then fail in smgr_schedule."""
    longest = "j" * MAX_SCHEDULED_JOB_NAME
    build_profile(variables(smgr_backups={longest: {"type": "nginx"}}), check)
    for length in (MAX_SCHEDULED_JOB_NAME + 1, 64):
        name = "j" * length
        problems = problems_of(smgr_backups={name: {"type": "nginx"}})
        assert len(problems) == 1
        assert f"smgr_backups.{name}: invalid job name" in problems[0]
        assert "at most 57" in problems[0]


def test_comma_separated_recipients_are_accepted_without_their_spaces():
    notifications = {
        "enabled": True,
        "smtp_server": "smtp.example.com",
        "from_email": "smgr@example.com",
        "to_emails": "ops@example.com, dev@example.com",
    }
    profile = build_profile(variables(smgr_notifications=notifications), check)
    assert profile.notifications["to_emails"] == ["ops@example.com", "dev@example.com"]


def test_bad_notifications_fail_on_the_controller():
    problems = problems_of(smgr_notifications={"enabled": True, "smtp_server": "smtp.example.com", "to_emails": ["x"]})
    assert len(problems) == 1
    assert problems[0].startswith("smgr_notifications: ")
    assert "to_emails" in problems[0]


def test_comma_separated_paths_are_split_too():
    profile = build_profile(variables(smgr_backups={"app": {"type": "paths", "paths": "/srv/a, /srv/b"}}), check)
    assert profile.backup_jobs[0]["paths"] == ["/srv/a", "/srv/b"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"smgr_backups": {"web": {"type": "paths", "paths": ["/srv"], "shedule": "daily_2am"}}}, "shedule"),
        ({"smgr_backups": {"web": {"type": "tarball"}}}, "smgr_backups.web: value of type must be one of"),
        ({"smgr_backups": {"web": {"type": "nginx", "schedule": "0 25 * * *"}}}, "job 'backup-web': schedule"),
        ({"smgr_schedules": {"x": {"schedule": "0 0 2 * * *", "command": "true"}}}, "job 'x': schedule"),
        ({"smgr_schedules": {"x": {"schedule": "hourly"}}}, "smgr_schedules.x: missing required arguments: command"),
        ({"smgr_cleanup": {"schedule": "daily_5am"}}, "job 'cleanup': schedule"),
        ({"smgr_backups": {"web": {"type": "paths", "paths": ["srv"]}}}, "paths[0]: must be an absolute path"),
        ({"smgr_backups": {"../x": {"type": "nginx"}}}, "smgr_backups.../x: invalid job name"),
        ({"smgr_schedules": {"cleanup": {"schedule": "hourly", "command": "true"}}}, "a name the role uses itself"),
        ({"smgr_schedules": {"backup-x": {"schedule": "hourly", "command": "true"}}}, "a name the role uses itself"),
        ({"smgr_schedules": {"drill": {"schedule": "hourly", "command": "true"}}}, "a name the role uses itself"),
        ({"smgr_drill": {"schedule": "0 0 31 2 *"}}, "job 'drill': schedule"),
        ({"smgr_cron_file": "/etc/cron.d/smgr.conf"}, "smgr_cron_file"),
        ({"smgr_log_dir": "logs"}, "not an absolute path: smgr_log_dir"),
        ({"smgr_backups": ["nginx"]}, "smgr_backups: must be a mapping"),
        ({"smgr_backups": {"web": {"type": "nginx", "schedule": ""}}}, "smgr_backups.web: schedule: no schedule"),
        ({"smgr_backups": {"web": {"type": "paths", "paths": ["/srv"], "retention": 3}}}, "smgr_backups.web"),
        ({"smgr_schedules": {"x": {"schedule": "hourly", "command": "a\nb"}}}, "job 'x': command"),
        ({"smgr_schedules": {"x": {"schedule": "hourly", "command": "true", "user": "-x"}}}, "job 'x': user"),
        ({"smgr_scheduler": "launchd"}, "smgr_scheduler: must be one of cron, systemd"),
        (
            {"smgr_schedules": {"x": {"schedule": "hourly", "command": "true", "nice": 5}}},
            "job 'x': nice: is an option",
        ),
        (
            {
                "smgr_scheduler": "systemd",
                "smgr_schedules": {"x": {"schedule": "hourly", "command": "true", "nice": 30}},
            },
            "job 'x': nice: must be between -20 and 19",
        ),
        ({"smgr_unit_dir": "units"}, "not an absolute path: smgr_unit_dir"),
    ],
)
def test_each_bad_input_is_named(overrides, expected):
    problems = problems_of(**overrides)
    assert any(expected in problem for problem in problems), problems


def test_every_problem_is_listed_at_once():
    problems = problems_of(
        smgr_backups={"web": {"type": "tarball"}, "app": {"type": "nginx", "schedule": "0 25 * * *"}},
        smgr_notifications={"enabled": True},
    )
    assert len(problems) == 3
    assert str(ProfileError(problems)).startswith("the server profile has 3 problems:\n- ")


def test_the_python_defaults_are_the_roles_defaults_and_documented_defaults():
    defaults = yaml.safe_load((ROOT / "roles/smgr/defaults/main.yml").read_text())
    specs = yaml.safe_load((ROOT / "roles/smgr/meta/argument_specs.yml").read_text())["argument_specs"]["main"]
    assert defaults["smgr_cleanup"] == CLEANUP_DEFAULTS == specs["options"]["smgr_cleanup"]["default"]
    assert defaults["smgr_health"] == HEALTH_DEFAULTS == specs["options"]["smgr_health"]["default"]
    assert defaults["smgr_drill"] == DRILL_DEFAULTS == specs["options"]["smgr_drill"]["default"]


def test_secrets_are_checked_but_never_part_of_the_profile():
    """The profile is a host fact (shown by -v and --diff): the password goes from inventory to the module."""
    notifications = {
        "enabled": True,
        "smtp_server": "smtp.example.com",
        "from_email": "smgr@example.com",
        "to_emails": ["ops@example.com"],
        "smtp_user": "smgr",
        "smtp_password": "s3cret-never-shown",
    }
    profile = build_profile(variables(smgr_notifications=notifications), check)
    assert "smtp_password" not in profile.notifications
    assert "s3cret-never-shown" not in repr(profile.as_dict())
    without_user = {key: value for key, value in notifications.items() if key != "smtp_user"}
    problems = problems_of(smgr_notifications=without_user)
    assert problems and not any("s3cret-never-shown" in problem for problem in problems)


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        ({"type": "mailcow", "mailcow_threads": 100}, "mailcow_threads"),
        ({"type": "mailcow", "dest": "/srv/mail backups"}, "dest: '/srv/mail backups': Mailcow's script needs"),
        ({"type": "mailcow", "mailcow_components": ["sogo"]}, "mailcow_components: unknown component 'sogo'"),
    ],
)
def test_mailcow_jobs_the_script_would_refuse_fail_on_the_controller(job, expected):
    problems = problems_of(smgr_backups={"mail": job})
    assert len(problems) == 1
    assert "smgr_backups.mail" in problems[0] or "job 'mail'" in problems[0]
    assert expected in problems[0]


def test_health_service_options_reach_the_command_only_when_changed():
    default = build_profile(variables(), check)
    [entry] = [e for e in default.cron_jobs if e["name"] == "health"]
    assert "--cert" not in entry["command"] and "--no-service-check" not in entry["command"]
    changed = build_profile(
        variables(smgr_health={"service_check": False, "cert_warn_days": 30, "cert_fail_days": 7}), check
    )
    [entry] = [e for e in changed.cron_jobs if e["name"] == "health"]
    assert entry["command"].endswith(" --no-service-check --cert-warn-days 30 --cert-fail-days 7")


@pytest.mark.parametrize(
    ("health", "expected"),
    [
        ({"cert_warn_days": 2, "cert_fail_days": 5}, "smgr_health.cert_fail_days: 5 is more than cert_warn_days 2"),
        ({"cert_fail_days": -1}, "smgr_health.cert_fail_days: must be a whole number of days"),
    ],
)
def test_bad_certificate_limits_fail_on_the_controller(health, expected):
    assert any(expected in problem for problem in problems_of(smgr_health=health))


def test_a_systemd_profile_passes_the_timer_options_of_extra_jobs():
    profile = build_profile(
        variables(
            smgr_scheduler="systemd",
            smgr_schedules={"report": {"schedule": "hourly", "command": "echo hi", "randomized_delay": 60}},
        ),
        check,
    )
    report = next(job for job in profile.cron_jobs if job["name"] == "report")
    assert report["randomized_delay"] == 60


def test_channels_are_checked_on_the_controller_and_kept_out_of_the_profile():
    url = "json://127.0.0.1:9/hook-secret-123"
    notifications = {
        "enabled": True,
        "channels": [{"name": "chat", "url": url, "events": "failure, health"}],
        "routes": [{"events": ["health"], "to_emails": "a@example.com, b@example.com", "smtp_profile": "relay"}],
        "smtp_profiles": [{"name": "relay", "smtp_server": "relay.example.com", "from_email": "s@example.com"}],
        "templates": {"failure": {"subject": "{job} failed"}},
    }
    profile = build_profile(variables(smgr_notifications=notifications), check)
    assert "channels" not in profile.notifications and "smtp_profiles" not in profile.notifications
    assert url not in str(profile)
    assert profile.notifications["routes"][0]["to_emails"] == ["a@example.com", "b@example.com"]
    bad = dict(notifications, channels=[{"name": "chat", "url": "nosuch://x"}])
    problems = problems_of(smgr_notifications=bad)
    assert any("smgr_notifications: channels.chat.url: names no service Apprise knows" in p for p in problems)


BORG_JOB = {"type": "paths", "paths": ["/srv/app"], "engine": "borg", "repository": "/srv/borg", "passphrase": "s3cret"}


def test_defaults_of_the_other_engine_are_not_inherited():
    """The fleet's rsync remote (tar) is not a borg job's, the fleet's repository (borg) not a tar job's; a key
    the job sets itself is still checked."""
    fleet = variables(
        smgr_backup_defaults={"schedule": "daily_2am", "remote": "backup@vault:/srv/backups", "remote_port": 2222},
        smgr_backups={
            "files": {"type": "paths", "paths": ["/srv/files"]},
            "vault": BORG_JOB,
        },
    )
    jobs = {job["name"]: job for job in build_profile(fleet, check).backup_jobs}
    assert jobs["files"]["remote"] == "backup@vault:/srv/backups"
    assert "remote" not in jobs["vault"] and "remote_port" not in jobs["vault"]
    assert "passphrase" not in jobs["vault"]  # secrets never in the profile
    borg_defaults = variables(
        smgr_backup_defaults={
            "schedule": "daily_2am",
            "repository": "/srv/borg",
            "passphrase": "s3cret",
            "engine": "borg",
        },
        smgr_backups={
            "app": {"type": "paths", "paths": ["/srv/app"]},
            "old": {"type": "paths", "paths": ["/srv/old"], "engine": "tar"},
        },
    )
    built = build_profile(borg_defaults, check).backup_jobs
    jobs = {job["name"]: job for job in built}
    assert jobs["app"]["repository"] == "/srv/borg" and "repository" not in jobs["old"]
    with_secrets = with_backup_secrets(built, borg_defaults)
    assert [job.get("passphrase") for job in with_secrets] == ["s3cret", None]
    own = variables(
        smgr_backups={"vault": {**BORG_JOB, "remote": "/mnt/usb", "schedule": "daily_2am"}},
    )
    with pytest.raises(ProfileError, match="remote: does not apply to engine borg"):
        build_profile(own, check)
