# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The server profile: the smgr role's inventory variables turned into the arguments of its three module calls.

:func:`build_profile` is the one place that assembles every cron entry of a host (one per backup job, the
cleanup, the health check, the extra jobs), their names and the runner command lines they run, the backup
jobs as smgr_backup takes them and the notification settings as smgr_notify takes them. It checks all of it
with the rules the modules apply on the host (job validation, schedule expansion, the cron file rendering,
the notification settings), so a bad inventory fails on the controller before any host is touched, with
every problem named at once. The role calls it through the ``server_profile`` filter; the runner uses the
entry names to find a job's cron entry.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.job_secrets import SECRET_JOB_KEYS
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import (
    BACKUP_ENTRY_PREFIX,
    BORG_KEYS,
    CERT_FAIL_DAYS,
    CERT_WARN_DAYS,
    CLEANUP_ENTRY,
    DRILL_ENTRY,
    HEALTH_ENTRY,
    JOB_SPEC,
    backup_entry_name,
    certificate_limits_problem,
    validate_job,
    validate_scheduled_job_name,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.argspec import (
    scalar_sub_options,
    split_string_lists,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.config import (
    SETTINGS_SPEC,
    config_from_mapping,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import (
    render_cron_file,
    validate_cron_file,
    validate_env,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.plan import (
    BACKENDS,
    JOB_OPTIONS,
    TIMER_ONLY_OPTIONS,
    JobRequest,
    Target,
    check_backend,
    desired_jobs,
    desired_timers,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.timers import render_units

# A backup job's keys that belong to its cron entry, not to its job definition.
CRON_KEYS = ("schedule", "disabled")

# The defaults of smgr_cleanup and smgr_health, merged under what the inventory gives (a partial dict keeps
# the rest); roles/smgr/defaults/main.yml and meta/argument_specs.yml state the same values (a unit test
# holds the three together).
CLEANUP_DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "schedule": "H 3 * * 0",
    "retention": {"keep_days": 30, "keep_min": 3},
}
DRILL_DEFAULTS: dict[str, Any] = {"enabled": True, "schedule": "H 5 * * 6"}
HEALTH_DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "schedule": "H 7 * * *",
    "max_age_hours": 26,
    "min_free": "10%",
    "cron_check": True,
    "notify": True,
    "service_check": True,
    "cert_warn_days": CERT_WARN_DAYS,
    "cert_fail_days": CERT_FAIL_DAYS,
}

# The role's path variables: each must be absolute.
PATH_VARIABLES = (
    "smgr_install_dir",
    "smgr_runner_path",
    "smgr_config_dir",
    "smgr_log_dir",
    "smgr_state_dir",
    "smgr_lock_dir",
    "smgr_backup_root",
    "smgr_cron_file",
    "smgr_unit_dir",
    "smgr_logrotate_file",
)

# The options of an extra job of smgr_schedules: smgr_schedule's job options, schedule and command required.
SCHEDULE_JOB_SPEC: dict[str, dict[str, Any]] = {
    **{key: spec for key, spec in JOB_OPTIONS.items() if key != "state"},
    "schedule": dict(type="str", required=True),
    "command": dict(type="str", required=True),
    "user": dict(type="str", default="root"),
}
# A backup job of smgr_backups: smgr_backup's job options (type required, here or in smgr_backup_defaults)
# and the keys of its cron entry.
BACKUP_JOB_SPEC: dict[str, dict[str, Any]] = {
    **JOB_SPEC,
    "schedule": dict(type="str"),
    "disabled": dict(type="bool", default=False),
}
NOTIFICATIONS_SPEC: dict[str, dict[str, Any]] = {**SETTINGS_SPEC, "hostname": dict(type="str")}

# Checks a value against an option spec the way Ansible's module argument validation does: returns the
# value with types converted and defaults filled in, and the error messages (empty when valid).
OptionsChecker = Callable[[Mapping[str, Any], Any], "tuple[dict[str, Any], list[str]]"]


class ProfileError(SmgrError):
    """Every problem of a profile, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"the server profile has {count}:\n" + "\n".join(f"- {p}" for p in problems))


@dataclass(frozen=True)
class Profile:
    """The arguments of the role's module calls."""

    backup_jobs: list[
        dict[str, Any]
    ]  # smgr_backup's jobs, secrets left out (job_secrets.with_backup_secrets adds them)
    cron_jobs: list[dict[str, Any]]  # smgr_schedule's jobs
    notifications: dict[str, Any]  # smgr_notify's settings options the inventory sets, secrets left out

    @property
    def uses_borg(self) -> bool:
        return any(job.get("engine") == "borg" for job in self.backup_jobs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "backup_jobs": self.backup_jobs,
            "cron_jobs": self.cron_jobs,
            "notifications": self.notifications,
            "uses_borg": self.uses_borg,
        }


def runner_command(runner_path: str, config_dir: str) -> str:
    """The runner as cron runs it; ``--config-dir`` only when the configuration is not beside the runner."""
    command = shlex.quote(runner_path)
    if config_dir != os.path.dirname(os.path.dirname(runner_path)) + "/config":
        command += " --config-dir " + shlex.quote(config_dir)
    return command


def certificate_day_problems(health: Mapping[str, Any]) -> list[str]:
    """smgr_health's certificate limits, with the runner's own rule."""
    problem = certificate_limits_problem(health.get("cert_warn_days"), health.get("cert_fail_days"))
    return [f"smgr_health.{problem[0]}: {problem[1]}"] if problem else []


def health_command(runner: str, health: Mapping[str, Any]) -> str:
    command = f"{runner} health --max-age {health['max_age_hours']} --min-free {shlex.quote(str(health['min_free']))}"
    if not health["cron_check"]:
        command += " --no-cron-check"
    if not health["notify"]:
        command += " --no-notify"
    if not health["service_check"]:
        command += " --no-service-check"
    # Only when set otherwise, so that the cron line of a profile that keeps the defaults stays as it was.
    if health["cert_warn_days"] != CERT_WARN_DAYS:
        command += f" --cert-warn-days {int(health['cert_warn_days'])}"
    if health["cert_fail_days"] != CERT_FAIL_DAYS:
        command += f" --cert-fail-days {int(health['cert_fail_days'])}"
    return command


def _mapping(value: Any, variable: str, problems: list[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(f"{variable}: must be a mapping, got {type(value).__name__}")
        return {}
    return dict(value)


# Keys of one engine that a job of the other engine does not take from smgr_backup_defaults: the fleet's
# rsync remote (tar) does not apply to its borg jobs, the fleet's repository (borg) not to its tar jobs.
TAR_ONLY_KEYS = ("remote", "remote_port", "remote_ssh_key", "remote_ssh_options")


def _defaults_for_engine(defaults: Mapping[str, Any], job: Mapping[str, Any]) -> dict[str, Any]:
    engine = job.get("engine", defaults.get("engine")) or "tar"
    skipped = TAR_ONLY_KEYS if engine == "borg" else BORG_KEYS
    return {key: value for key, value in defaults.items() if key not in skipped}


def _merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``, nested mappings merged key by key (Ansible's ``combine(recursive=true)``)."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = _merged(result[key], value)
        else:
            result[key] = value
    return result


def _checked(
    check: OptionsChecker, spec: Mapping[str, Any], value: Any, where: str, problems: list[str]
) -> dict[str, Any] | None:
    """``value`` converted by ``spec`` (lists written as strings split first), or None with its problems noted."""
    value = split_string_lists(spec, value)
    try:
        checked, errors = check(spec, value)
    except (TypeError, ValueError, OverflowError):  # ansible-core's validation crashes on a scalar for sub-options
        scalars = scalar_sub_options(spec, value)
        errors = [f"{name}: must be a mapping of options, not a scalar" for name in scalars] or [
            "the values could not be validated; check their types"
        ]
    problems.extend(f"{where}: {error}" for error in errors)
    return None if errors else checked


def _set_only(checked: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The converted values of the keys the inventory gave, sub-options too (defaults stay the module's)."""
    result = {}
    for key in given:
        value = checked.get(key)
        if isinstance(value, Mapping) and isinstance(given[key], Mapping):
            value = _set_only(value, given[key])
        if value is not None:
            result[key] = value
    return result


def _settings(variables: Mapping[str, Any], name: str, defaults: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """smgr_cleanup, smgr_health or smgr_drill with the defaults under what the inventory gives."""
    return _merged(defaults, _mapping(variables.get(name), name, problems))


def _backup_jobs(
    variables: Mapping[str, Any], cleanup: Mapping[str, Any], check: OptionsChecker, problems: list[str]
) -> list[dict[str, Any]]:
    """The backup jobs, sorted by name, with smgr_backup_defaults and the default retention merged in."""
    backups = _mapping(variables.get("smgr_backups"), "smgr_backups", problems)
    defaults = _mapping(variables.get("smgr_backup_defaults"), "smgr_backup_defaults", problems)
    optional = {key: {**spec, "required": False} for key, spec in BACKUP_JOB_SPEC.items()}
    checked_defaults = _checked(check, optional, defaults, "smgr_backup_defaults", problems)
    retention_default = cleanup.get("retention") or {}
    jobs = []
    for name in sorted(backups, key=str):
        where = f"smgr_backups.{name}"
        try:
            validate_scheduled_job_name(name)
        except SmgrError as exc:
            problems.append(f"{where}: invalid job name: {exc.reason}")
            continue
        own = _mapping(backups[name], where, problems)
        given = _merged(_defaults_for_engine(defaults, own), own)
        checked = _checked(check, optional, given, where, problems)
        if checked is None or checked_defaults is None:
            continue
        job = _set_only(checked, given)
        job["retention"] = _merged(retention_default, job.get("retention") or {})
        job["name"] = name
        if not job.get("schedule"):
            problems.append(f"{where}: schedule: no schedule (set one in the job or in smgr_backup_defaults)")
        jobs.append(job)
    return jobs


def _schedule_jobs(variables: Mapping[str, Any], check: OptionsChecker, problems: list[str]) -> list[dict[str, Any]]:
    schedules = _mapping(variables.get("smgr_schedules"), "smgr_schedules", problems)
    log_dir = variables["smgr_log_dir"]
    entries = []
    for name in sorted(schedules, key=str):
        where = f"smgr_schedules.{name}"
        if str(name) in (CLEANUP_ENTRY, HEALTH_ENTRY, DRILL_ENTRY) or str(name).startswith(BACKUP_ENTRY_PREFIX):
            problems.append(f"{where}: a name the role uses itself (cleanup, health, drill, backup-*)")
            continue
        checked = _checked(check, SCHEDULE_JOB_SPEC, _mapping(schedules[name], where, problems), where, problems)
        if checked is None:
            continue
        entries.append(
            {
                "name": name,
                "schedule": checked["schedule"],
                "command": checked["command"],
                "user": checked["user"],
                "log": checked["log"] or f"{log_dir}/{name}-cron.log",
                "prevent_overlap": checked["prevent_overlap"],
                "disabled": checked["disabled"],
                # systemd timers only (smgr_schedule refuses them for cron): passed when set
                **{key: checked[key] for key, unset in TIMER_ONLY_OPTIONS.items() if checked[key] != unset},
            }
        )
    return entries


def _cron_jobs(
    variables: Mapping[str, Any],
    cleanup: Mapping[str, Any],
    backup_jobs: list[dict[str, Any]],
    schedules: list[dict[str, Any]],
    problems: list[str],
) -> list[dict[str, Any]]:
    runner = runner_command(variables["smgr_runner_path"], variables["smgr_config_dir"])
    log_dir = variables["smgr_log_dir"]
    entries = [
        {
            "name": backup_entry_name(job["name"]),
            "schedule": job.get("schedule"),
            "command": f"{runner} backup {job['name']}",
            "log": f"{log_dir}/{backup_entry_name(job['name'])}-cron.log",
            "disabled": bool(job.get("disabled")),
            # The runner's own job lock refuses a run while the previous one runs, and records and reports the
            # skip; a flock in front of it would drop the run without a trace.
            "prevent_overlap": False,
        }
        for job in backup_jobs
    ]
    # The runner's other verbs: (entry, settings with their defaults, command).
    health = _settings(variables, "smgr_health", HEALTH_DEFAULTS, problems)
    problems += certificate_day_problems(health)
    drill = _settings(variables, "smgr_drill", DRILL_DEFAULTS, problems)
    for name, settings, command in (
        (CLEANUP_ENTRY, cleanup, f"{runner} cleanup"),
        (HEALTH_ENTRY, health, health_command(runner, health)),
        (DRILL_ENTRY, drill, f"{runner} drill"),
    ):
        if settings["enabled"]:
            entries.append(
                {
                    "name": name,
                    "schedule": settings["schedule"],
                    "command": command,
                    "log": f"{log_dir}/{name}-cron.log",
                }
            )
    return entries + schedules


def _check_cron_jobs(variables: Mapping[str, Any], entries: list[dict[str, Any]], problems: list[str]) -> None:
    """The entries as smgr_schedule renders them for the chosen scheduler (cron lines or systemd units), one
    problem per entry."""
    target = Target(cron_file=variables["smgr_cron_file"])
    seed = str(variables.get("smgr_schedule_seed") or "")
    env = variables.get("smgr_cron_env")
    backend = variables.get("smgr_scheduler", "cron")
    if backend not in BACKENDS:
        problems.append(f"smgr_scheduler: must be one of {', '.join(BACKENDS)}, got {backend!r}")
        return
    for entry in entries:
        request = JobRequest(**{key: entry[key] for key in entry if key in JobRequest.__dataclass_fields__})
        if request.schedule is None:
            continue  # a backup job without a schedule is reported with its job
        try:
            check_backend(backend, [request])
            if backend == "systemd":
                timers, _absent = desired_timers([request], target, seed)
                render_units(timers[0], validate_env(env))
            else:
                present, _absent = desired_jobs([request], target, seed)
                render_cron_file(present, env, lock_dir=variables["smgr_lock_dir"])
        except SmgrError as exc:
            problems.append(str(exc))


def _check_paths(variables: Mapping[str, Any], problems: list[str]) -> None:
    relative = [name for name in PATH_VARIABLES if not str(variables.get(name) or "").startswith("/")]
    if relative:
        problems.append(f"not an absolute path: {', '.join(relative)}")
    try:
        validate_cron_file(variables.get("smgr_cron_file"))
    except SmgrError as exc:
        problems.append(f"smgr_cron_file: {exc.reason}")


def _holds_secrets(spec: Mapping[str, Any]) -> bool:
    """Whether an option is secret or has secret suboptions (a channel's URL, an SMTP profile's password)."""
    return bool(spec.get("no_log")) or any(_holds_secrets(sub) for sub in (spec.get("options") or {}).values())


def _notifications(variables: Mapping[str, Any], check: OptionsChecker, problems: list[str]) -> dict[str, Any]:
    given = _mapping(variables.get("smgr_notifications"), "smgr_notifications", problems)
    checked = _checked(check, NOTIFICATIONS_SPEC, given, "smgr_notifications", problems)
    if checked is None:
        return {}
    try:
        config_from_mapping({key: checked[key] for key in SETTINGS_SPEC})
    except SmgrError as exc:
        problems.append(f"smgr_notifications: {exc}")
    # Secrets are checked but not returned: the profile is a host fact that -v and --diff may show; the role
    # hands them from the inventory straight to the module, whose option is no_log.
    secrets = [key for key, spec in NOTIFICATIONS_SPEC.items() if _holds_secrets(spec)]
    return {key: value for key, value in _set_only(checked, given).items() if key not in secrets}


def build_profile(variables: Mapping[str, Any], check: OptionsChecker) -> Profile:
    """The module arguments of the profile in ``variables`` (the role's ``smgr_*`` variables by name).

    ``check`` converts and checks a mapping against an option spec as Ansible's module argument validation
    does (the filter passes Ansible's own validator). Raises ProfileError with every problem found.
    """
    problems: list[str] = []
    _check_paths(variables, problems)
    cleanup = _settings(variables, "smgr_cleanup", CLEANUP_DEFAULTS, problems)
    backup_jobs = _backup_jobs(variables, cleanup, check, problems)
    module_jobs = [{key: value for key, value in job.items() if key not in CRON_KEYS} for job in backup_jobs]
    for job in module_jobs:
        try:
            validate_job(job, variables["smgr_backup_root"])
        except SmgrError as exc:
            problems.append(str(exc))
    module_jobs = [{key: value for key, value in job.items() if key not in SECRET_JOB_KEYS} for job in module_jobs]
    schedules = _schedule_jobs(variables, check, problems)
    cron_jobs = _cron_jobs(variables, cleanup, backup_jobs, schedules, problems)
    _check_cron_jobs(variables, cron_jobs, problems)
    notifications = _notifications(variables, check, problems)
    if problems:
        raise ProfileError(problems)
    return Profile(module_jobs, cron_jobs, notifications)
