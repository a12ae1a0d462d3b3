#!/usr/bin/python
# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: smgr_backup
short_description: Manage Server Manager backup jobs and the host runner, and run a backup now
version_added: 0.1.0
description:
  - Writes one definition file per backup job, C(<config_dir>/backups.d/<name>.yaml) (mode V(0600)),
    that the host runner C(smgr) reads when cron (or an operator) runs C(smgr backup <name>).
  - Installs or updates the runner itself at O(runner_path) (mode V(0755)). The runner is built from
    the same Python code as this module, so a new collection version updates it and an unchanged
    one leaves it untouched.
  - Writes C(<config_dir>/runner.yaml) with the paths the runner uses (O(state_dir), O(log_dir),
    O(lock_dir), O(backup_root), O(archive_host)).
  - Every job is validated before anything is written; an invalid job fails the task with a message
    naming the job and the field, and no file is changed.
  - Files are written atomically and only when their content or mode differs.
  - With O(create_directories), also creates the runner's directories and sets their modes, and with
    O(logrotate_file) writes the logrotate configuration of the cron logs, so one task sets up the whole host layout.
  - With O(run_now), runs a job through the runner after writing the files and returns its result;
    a failed run fails the task with the runner's error.
  - Does not write cron entries; schedule C(smgr backup <name>) with M(smgr.server_manager.smgr_schedule).
author:
  - Server Manager maintainers (@smgr)
extends_documentation_fragment:
  - smgr.server_manager.attributes
attributes:
  check_mode:
    support: full
    details:
      - O(run_now) does not run a backup in check mode; the task reports that it would.
  diff_mode:
    support: full
    details:
      - The runner is shown by its size and SHA-256, not its bytes.
requirements:
  - PyYAML, GNU tar, zstd (or gzip), and rsync and ssh for O(remote), on the managed host.
options:
  jobs:
    description:
      - The backup jobs, each with the keys of a single job (O(name), O(type), ...) and its own O(jobs[].state).
      - Mutually exclusive with O(name).
    type: list
    elements: dict
    suboptions:
      name:
        description: See O(name).
        type: str
        required: true
      state:
        description: See O(state).
        type: str
        choices: [present, absent]
        default: present
      type:
        description: See O(type).
        type: str
        choices: [nginx, mailcow, paths]
      paths:
        description: See O(paths).
        type: list
        elements: str
      exclude:
        description: See O(exclude).
        type: list
        elements: str
      dest:
        description: See O(dest).
        type: str
      compression:
        description: See O(compression).
        type: str
        choices: [zstd, gzip]
      verify:
        description: See O(verify).
        type: bool
      remote:
        description: See O(remote).
        type: str
      remote_port:
        description: See O(remote_port).
        type: int
      remote_ssh_key:
        description: See O(remote_ssh_key).
        type: str
      remote_ssh_options:
        description: See O(remote_ssh_options).
        type: list
        elements: str
      retention:
        description: See O(retention).
        type: dict
        suboptions:
          keep_days:
            description: See O(retention.keep_days).
            type: int
          keep_min:
            description: See O(retention.keep_min).
            type: int
          keep_daily:
            description: See O(retention.keep_daily).
            type: int
          keep_weekly:
            description: See O(retention.keep_weekly).
            type: int
          keep_monthly:
            description: See O(retention.keep_monthly).
            type: int
      pre_command:
        description: See O(pre_command).
        type: str
      post_command:
        description: See O(post_command).
        type: str
      ping_url:
        description: See O(ping_url).
        type: str
      timeout:
        description: See O(timeout).
        type: int
      mailcow_dir:
        description: See O(mailcow_dir).
        type: str
      mailcow_components:
        description: See O(mailcow_components).
        type: list
        elements: str
      mailcow_threads:
        description: See O(mailcow_threads).
        type: int
  exclusive:
    description:
      - With O(jobs), remove the definition files of jobs that are not listed (archives are never removed).
      - O(jobs=[]) with O(exclusive=true) removes every job definition.
    type: bool
    default: false
  name:
    description:
      - Name of a single job to manage; 1 to 64 letters, digits, V(-) or V(_), starting with a letter or digit.
      - The archive names are C(<host>-<name>-<UTC timestamp>.tar.zst).
    type: str
  state:
    description:
      - V(present) writes the job's file, V(absent) removes it (its archives are kept).
    type: str
    choices: [present, absent]
    default: present
  type:
    description:
      - V(nginx) backs up O(paths), by default V(/etc/nginx) and V(/etc/letsencrypt), after C(nginx -t)
        when nginx is installed (a broken configuration is still backed up, with a warning).
      - V(mailcow) runs Mailcow's C(helper-scripts/backup_and_restore.sh backup <components>) into a staging
        directory, checks every expected C(backup_<component>.tar.zst) with C(zstd -t), then archives the dump.
      - V(paths) backs up O(paths).
      - Required with O(state=present).
    type: str
    choices: [nginx, mailcow, paths]
  paths:
    description:
      - Absolute paths to back up (directories or files). Symlinks are stored as symlinks; permissions,
        owners, ACLs and extended attributes are kept. A missing path fails the run.
      - Required for V(paths); defaults to V(/etc/nginx) and V(/etc/letsencrypt) for V(nginx); not used by V(mailcow).
    type: list
    elements: str
  exclude:
    description:
      - GNU tar exclude patterns. A pattern starting with V(/) is matched from the root of the archive
        (V(/var/www/app/cache)); any other matches anywhere (V(*.log), V(cache)).
    type: list
    elements: str
  dest:
    description:
      - Absolute directory of the job's archives (created with mode V(0700)). Default C(<backup_root>/<name>).
      - Must not lie inside one of the backed-up O(paths).
    type: str
  compression:
    description:
      - V(zstd) (multi-threaded, C(.tar.zst)) or V(gzip) (C(.tar.gz)). Default V(zstd).
    type: str
    choices: [zstd, gzip]
  verify:
    description:
      - Read each new archive back completely (checksum, decompression, full tar listing) before it is
        published. Default V(true).
    type: bool
  remote:
    description:
      - Copy each new archive there with rsync - an absolute local path (a mounted disk) or
        V([user@]host:path) over ssh. The copy is written under a temporary name, its SHA-256 is computed
        on the far side and compared, and only then renamed. Retention applies to the remote copy too.
      - A failed copy keeps the local archive and ends the run with exit code 5 (partially ok).
    type: str
  remote_port:
    description:
      - ssh port for O(remote).
    type: int
  remote_ssh_key:
    description:
      - Absolute path of the ssh private key for O(remote) on the managed host.
    type: str
  remote_ssh_options:
    description:
      - Extra ssh options for O(remote), each V(Name=value) (passed as C(-o Name=value)), for example
        V(UserKnownHostsFile=/etc/smgr/known_hosts). ssh always runs with C(BatchMode=yes), so the remote's
        host key must already be known.
    type: list
    elements: str
  retention:
    description:
      - Which archives of the job C(smgr backup) and C(smgr cleanup) keep; the rest are deleted. Only files named
        like this job's archives are considered; symlinks and other files are never touched.
    type: dict
    suboptions:
      keep_days:
        description:
          - Keep every archive younger than this many days. V(0) turns the age rule off (then O(retention.keep_min)
            must be given). Default V(30).
        type: int
      keep_min:
        description:
          - Always keep at least the newest this many archives, whatever their age. At least V(1). Default V(3).
        type: int
      keep_daily:
        description:
          - Also keep the newest archive of each of the last this many days that have archives.
        type: int
      keep_weekly:
        description:
          - Also keep the newest archive of each of the last this many ISO weeks that have archives.
        type: int
      keep_monthly:
        description:
          - Also keep the newest archive of each of the last this many months that have archives.
        type: int
  pre_command:
    description:
      - Shell command run before the archive (C(/bin/sh -c)), for example a database dump. A non-zero exit fails
        the run. Environment - C(SMGR_JOB), C(SMGR_DEST).
    type: str
  post_command:
    description:
      - Shell command run after the run when O(pre_command) ran, whatever the outcome (C(SMGR_STATUS) is V(ok),
        V(partial) or V(failed)). A non-zero exit makes a good run partially ok.
    type: str
  ping_url:
    description:
      - http(s) URL pinged at start (C(URL/start)), success (C(URL)) and failure (C(URL/fail)), like
        healthchecks.io. A failing ping is logged and never fails the backup.
    type: str
  timeout:
    description:
      - Seconds each of O(pre_command), O(post_command), the Mailcow dump and each remote command may take.
        Default V(14400).
    type: int
  mailcow_dir:
    description:
      - Mailcow's installation directory (type V(mailcow) only). Default V(/opt/mailcow-dockerized).
    type: str
  mailcow_components:
    description:
      - Components to dump (type V(mailcow) only) - V(vmail), V(crypt), V(redis), V(rspamd), V(postfix),
        V(mysql), or V(all) (the default).
    type: list
    elements: str
  mailcow_threads:
    description:
      - C(THREADS) for Mailcow's script (type V(mailcow) only). Default V(1).
    type: int
  run_now:
    description:
      - Run a backup now, after writing the files. V(true) runs the single job of the task; a job name runs that job.
      - Returns the run's result; a failed run (any runner exit code but 0) fails the task.
    type: raw
    default: false
  config_dir:
    description:
      - The runner's configuration directory (job files in C(backups.d/), C(runner.yaml), C(notifications.yaml)).
    type: path
    default: /opt/server-manager/config
  runner_path:
    description:
      - Where the runner is installed. It finds its configuration in C(../config) relative to its own directory
        (C(<prefix>/bin/smgr) reads C(<prefix>/config)), or by C(--config-dir).
    type: path
    default: /opt/server-manager/bin/smgr
  install_runner:
    description:
      - Install or update the runner at O(runner_path).
    type: bool
    default: true
  runner_interpreter:
    description:
      - Python interpreter in the runner's C(#!) line. Default is the interpreter this module runs with on the host.
    type: path
  state_dir:
    description:
      - Directory of the per-job state files (C(<job>.json), last result and last success).
    type: path
    default: /opt/server-manager/state
  log_dir:
    description:
      - Directory of the runner's log C(smgr.log).
    type: path
    default: /opt/server-manager/logs
  lock_dir:
    description:
      - Directory of the per-job locks (C(jobs/<job>.lock), created with mode V(0700)).
    type: path
    default: /run/lock/smgr
  backup_root:
    description:
      - Parent of the default O(dest) of every job.
    type: path
    default: /var/backups/smgr
  archive_host:
    description:
      - The C(<host>) part of archive names. Default is the host's short host name.
    type: str
  cron_file:
    description:
      - The cron file M(smgr.server_manager.smgr_schedule) manages. Only read, by C(smgr status), to show each
        job's next run (and its directory created with O(create_directories)).
    type: path
    default: /etc/cron.d/smgr
  create_directories:
    description:
      - Create every directory the runner uses when it is missing and set its mode, in this same call - the
        runner's directory (V(0755)), O(config_dir) (V(0750)) and its C(backups.d) (V(0700)), O(state_dir)
        (V(0750)), O(log_dir) (V(0750)), O(lock_dir) (V(0700)), O(backup_root) (V(0700)) and the directory of
        O(cron_file) (V(0755)). Missing parents are created with mode V(0755); the modes of existing parents are
        left alone. A path named twice gets the stricter of its modes.
      - With V(false), only the directories of the files this task writes are created when missing (the
        configuration directories, the runner's directory, the directory of O(logrotate_file)), and existing
        modes are left alone.
      - A path that exists and is not a directory fails the task before anything is written.
    type: bool
    default: false
  logrotate_file:
    description:
      - Write a logrotate configuration (mode V(0644)) for the cron logs C(<log_dir>/*-cron.log) and the schedule
        audit log C(<log_dir>/schedule-audit.log) at this path, for example V(/etc/logrotate.d/smgr). Its directory
        is created (V(0755)) when missing. The runner rotates its own C(smgr.log).
      - Not managed when unset; an existing file is then left alone.
    type: path
  logrotate_frequency:
    description:
      - How often logrotate rotates the logs of O(logrotate_file).
    type: str
    choices: [daily, weekly, monthly]
    default: weekly
  logrotate_rotate:
    description:
      - How many rotated logs O(logrotate_file) keeps (V(0) to V(1000)).
    type: int
    default: 8
seealso:
  - module: smgr.server_manager.smgr_backup_info
  - module: smgr.server_manager.smgr_schedule
  - module: smgr.server_manager.smgr_notify
"""

EXAMPLES = r"""
- name: Back up nginx and the certificates, keep 30 days (at least 3 archives)
  smgr.server_manager.smgr_backup:
    name: nginx
    type: nginx

- name: Manage every job of the host at once, removing jobs that are not listed
  smgr.server_manager.smgr_backup:
    exclusive: true
    jobs:
      - name: nginx
        type: nginx
        remote: backup@backup.example.com:/srv/backups/web1
        remote_ssh_key: /root/.ssh/id_backup
        retention: {keep_days: 14, keep_min: 5, keep_weekly: 8, keep_monthly: 6}
      - name: app
        type: paths
        paths: [/srv/app/data, /etc/app]
        exclude: ["*.tmp", /srv/app/data/cache]
        pre_command: pg_dump -Fc app > /srv/app/data/app.dump
      - name: mailcow
        type: mailcow
        mailcow_components: [all]
        mailcow_threads: 4

- name: Run the nginx backup now and show where the archive is
  smgr.server_manager.smgr_backup:
    name: nginx
    type: nginx
    run_now: true
  register: backup

- name: Show the archive
  ansible.builtin.debug:
    msg: "{{ backup.archive }} ({{ backup.size }} bytes, sha256 {{ backup.sha256 }})"
"""

RETURN = r"""
jobs:
  description: What happened to each job definition.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "nginx", "action": "created", "file": "/opt/server-manager/config/backups.d/nginx.yaml"}]
  contains:
    name:
      description: Job name.
      type: str
      returned: always
    action:
      description: V(created), V(updated), V(removed), V(unchanged) or V(absent) (nothing to remove).
      type: str
      returned: always
    file:
      description: The job's definition file.
      type: str
      returned: always
runner:
  description: The runner file.
  returned: always
  type: dict
  sample: {"path": "/opt/server-manager/bin/smgr", "changed": false, "sha256": "3f5a...", "installed": true}
changed_files:
  description: Files created, updated or removed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["/opt/server-manager/config/backups.d/nginx.yaml"]
changed_directories:
  description: Directories created or whose mode was set (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: ["/opt/server-manager/state", "/var/backups/smgr"]
run:
  description: The runner's full result of O(run_now) (C(smgr backup JOB --json)); C(skipped) in check mode.
  returned: when O(run_now) is set
  type: dict
  sample: {"job": "nginx", "status": "ok", "exit_code": 0, "archive": "/var/backups/smgr/nginx/web1-nginx.tar.zst"}
archive:
  description: Path of the archive O(run_now) published.
  returned: when O(run_now) ran
  type: str
  sample: /var/backups/smgr/nginx/web1-nginx-20260101T020000Z.tar.zst
size:
  description: Size of the archive in bytes.
  returned: when O(run_now) ran
  type: int
  sample: 1048576
sha256:
  description: SHA-256 of the archive (also in its C(.sha256) sidecar).
  returned: when O(run_now) ran
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
duration:
  description: Seconds the run took.
  returned: when O(run_now) ran
  type: float
  sample: 12.5
verified:
  description: Whether the archive was read back and matched its checksum before it was published.
  returned: when O(run_now) ran
  type: bool
  sample: true
synced:
  description: Whether the remote copy succeeded; null without O(remote).
  returned: when O(run_now) ran
  type: bool
  sample: true
removed:
  description: Archives that retention removed locally after the run.
  returned: when O(run_now) ran
  type: list
  elements: str
  sample: ["web1-nginx-20251101T020000Z.tar.zst"]
freed_bytes:
  description: Bytes retention freed locally (archives and their sidecars).
  returned: when O(run_now) ran
  type: int
  sample: 2097152
"""

import hashlib
import json
import os
import stat
import subprocess
import sys

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import (
    HAS_YAML,
    JOB_KEYS,
    JOBS_SUBDIR,
    RUNNER_SETTINGS_FILE,
    SETTINGS_KEYS,
    YAML_IMPORT_ERROR,
    job_file_path,
    list_job_files,
    render_job,
    render_settings,
    validate_job_name,
    validate_jobs,
    validate_settings,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.layout import (
    LOGROTATE_FREQUENCIES,
    LOGROTATE_MODE,
    apply_directories,
    plan_directories,
    render_logrotate,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.argspec import fail_on_validation_crash
from ansible_collections.smgr.server_manager.plugins.module_utils._common.atomic import (
    commit_staged,
    discard_staged,
    read_bytes,
    remove_file,
    stage_file,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._runner import cli as runner_cli
from ansible_collections.smgr.server_manager.plugins.module_utils._runner.build import collect_sources, runner_bytes

CONFIG_MODE = 0o600
RUNNER_MODE = 0o755
RUN_KEYS = ("archive", "size", "sha256", "duration", "verified", "synced", "removed", "freed_bytes")

RETENTION_SPEC = dict(
    keep_days=dict(type="int"),
    keep_min=dict(type="int"),
    keep_daily=dict(type="int"),
    keep_weekly=dict(type="int"),
    keep_monthly=dict(type="int"),
)
JOB_SPEC = dict(
    type=dict(type="str", choices=["nginx", "mailcow", "paths"]),
    paths=dict(type="list", elements="str"),
    exclude=dict(type="list", elements="str"),
    dest=dict(type="str"),
    compression=dict(type="str", choices=["zstd", "gzip"]),
    verify=dict(type="bool"),
    remote=dict(type="str"),
    remote_port=dict(type="int"),
    remote_ssh_key=dict(type="str", no_log=False),
    remote_ssh_options=dict(type="list", elements="str"),
    retention=dict(type="dict", options=RETENTION_SPEC),
    pre_command=dict(type="str"),
    post_command=dict(type="str"),
    ping_url=dict(type="str"),
    timeout=dict(type="int"),
    mailcow_dir=dict(type="str"),
    mailcow_components=dict(type="list", elements="str"),
    mailcow_threads=dict(type="int"),
)


def argument_spec():
    spec = dict(
        jobs=dict(
            type="list",
            elements="dict",
            options=dict(
                name=dict(type="str", required=True),
                state=dict(type="str", choices=["present", "absent"], default="present"),
                **JOB_SPEC,
            ),
        ),
        exclusive=dict(type="bool", default=False),
        name=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        run_now=dict(type="raw", default=False),
        config_dir=dict(type="path", default="/opt/server-manager/config"),
        runner_path=dict(type="path", default="/opt/server-manager/bin/smgr"),
        install_runner=dict(type="bool", default=True),
        runner_interpreter=dict(type="path"),
        state_dir=dict(type="path", default="/opt/server-manager/state"),
        log_dir=dict(type="path", default="/opt/server-manager/logs"),
        lock_dir=dict(type="path", default="/run/lock/smgr"),
        backup_root=dict(type="path", default="/var/backups/smgr"),
        archive_host=dict(type="str"),
        cron_file=dict(type="path", default="/etc/cron.d/smgr"),
        create_directories=dict(type="bool", default=False),
        logrotate_file=dict(type="path"),
        logrotate_frequency=dict(type="str", choices=list(LOGROTATE_FREQUENCIES), default="weekly"),
        logrotate_rotate=dict(type="int", default=8),
    )
    spec.update(JOB_SPEC)
    return spec


# --------------------------------------------------------------------------- desired state (pure)


def _job_mapping(entry):
    """Module options of one job -> the mapping validate_job reads (unset keys left out)."""
    raw = {key: entry.get(key) for key in JOB_KEYS if entry.get(key) is not None}
    if isinstance(raw.get("retention"), dict):
        raw["retention"] = {k: v for k, v in raw["retention"].items() if v is not None}
    return raw


def requested_jobs(params):
    """[(state, raw job mapping)] from either ``jobs`` or the single-job options."""
    if params["jobs"] is not None:
        if params["name"] is not None:
            raise SmgrError("jobs and name are mutually exclusive: list the job under jobs", field="name")
        return [(entry["state"], _job_mapping(entry)) for entry in params["jobs"]]
    if params["exclusive"]:
        raise SmgrError("exclusive only applies together with jobs", field="exclusive")
    if params["name"] is None:
        stray = [key for key in JOB_KEYS if key != "name" and params.get(key) is not None]
        if stray:
            raise SmgrError("needs name (or use jobs)", field=stray[0])
        return []
    return [(params["state"], _job_mapping(params))]


def desired_files(params, settings, existing_jobs):
    """{path: (bytes or None to remove, mode)} for runner.yaml and the job files; plus per-job actions."""
    requested = requested_jobs(params)
    present = [raw for state, raw in requested if state == "present"]
    for state, raw in requested:
        if state == "absent":
            validate_job_name(raw.get("name"))
    for raw in present:
        if raw.get("type") is None:
            raise SmgrError("is required with state present", job=raw.get("name"), field="type")
    jobs = validate_jobs(present, settings.backup_root)
    names = [raw["name"] for _state, raw in requested]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SmgrError("is listed twice", job=duplicates[0], field="name")
    files = {os.path.join(params["config_dir"], RUNNER_SETTINGS_FILE): (render_settings(settings), CONFIG_MODE)}
    plan = []
    for job in jobs:
        path = job_file_path(params["config_dir"], job.name)
        files[path] = (render_job(job), CONFIG_MODE)
        plan.append((job.name, path, "present"))
    for state, raw in requested:
        if state == "absent":
            path = job_file_path(params["config_dir"], raw["name"])
            files[path] = (None, CONFIG_MODE)
            plan.append((raw["name"], path, "absent"))
    if params["exclusive"]:
        for name, path in existing_jobs.items():
            if name not in names:
                files[path] = (None, CONFIG_MODE)
                plan.append((name, path, "absent"))
    return files, plan, jobs


def run_target(run_now, requested):
    """The job name ``run_now`` asks for, or None."""
    if run_now in (None, False) or (isinstance(run_now, str) and run_now.lower() in ("", "false", "no")):
        return None
    present = [raw["name"] for state, raw in requested if state == "present"]
    if run_now is True or (isinstance(run_now, str) and run_now.lower() in ("true", "yes")):
        if len(present) != 1:
            raise SmgrError(
                f"run_now: true needs exactly one job in the task (found {len(present)}); give the job's name",
                field="run_now",
            )
        return present[0]
    if isinstance(run_now, str):
        name = validate_job_name(run_now)
        absent = [raw["name"] for state, raw in requested if state == "absent"]
        if name in absent:
            raise SmgrError(f"run_now names job {name!r}, which this task removes", field="run_now")
        return name
    raise SmgrError(f"must be true, false or a job name, got {run_now!r}", field="run_now")


# --------------------------------------------------------------------------- current state and changes


def _mode_of(path):
    try:
        return stat.S_IMODE(os.lstat(path).st_mode)
    except FileNotFoundError:
        return None


def _text(data):
    return "" if data is None else data.decode("utf-8", "replace")


def _runner_text(data):
    if data is None:
        return ""
    return f"smgr runner: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}\n"


def plan_changes(files):
    """[(path, before, after, mode, kind)] for files whose content or mode differs."""
    changes = []
    for path, (after, mode) in sorted(files.items()):
        before = read_bytes(path)
        if after is None:
            if before is not None:
                changes.append((path, before, None, mode, "remove"))
        elif before != after:
            changes.append((path, before, after, mode, "create" if before is None else "update"))
        elif _mode_of(path) != mode:
            changes.append((path, before, after, mode, "mode"))
    return changes


def apply_changes(changes):
    # Every new content is written to its temp file first: a write that fails (a name too long, a full disk)
    # fails the run before any file was replaced.
    staged = {}
    try:
        for path, _before, after, mode, kind in changes:
            if kind in ("create", "update"):
                staged[path] = stage_file(path, after, mode)
    except SmgrError:
        for tmp_path in staged.values():
            discard_staged(tmp_path)
        raise
    for path, _before, _after, mode, kind in changes:
        if kind == "remove":
            remove_file(path)
        elif kind == "mode":
            os.chmod(path, mode)
        else:
            commit_staged(staged[path], path)


def diff_of(changes, runner_path):
    diffs = []
    for path, before, after, mode, kind in changes:
        render = _runner_text if path == runner_path else _text
        before_text = render(before)
        after_text = render(after)
        if kind == "mode":
            before_text += f"# mode {_mode_of(path):04o}\n"
            after_text += f"# mode {mode:04o}\n"
        diffs.append(dict(before_header=path, after_header=path, before=before_text, after=after_text))
    return diffs


def job_actions(plan, changes):
    by_path = {path: kind for path, _b, _a, _m, kind in changes}
    actions = []
    for name, path, state in plan:
        kind = by_path.get(path)
        if state == "absent":
            action = "removed" if kind == "remove" else "absent"
        else:
            action = {"create": "created", "update": "updated", "mode": "updated"}.get(kind, "unchanged")
        actions.append(dict(name=name, action=action, file=path))
    return actions


def layout_entries(params, logrotate_file):
    """``(path, mode, option)`` of the directories this task may create (see O(create_directories))."""
    config_dir = params["config_dir"]
    entries = [(config_dir, 0o750, "config_dir"), (os.path.join(config_dir, JOBS_SUBDIR), 0o700, "config_dir")]
    if params["install_runner"]:
        entries.append((os.path.dirname(params["runner_path"]), RUNNER_MODE, "runner_path"))
    if logrotate_file is not None:
        entries.append((os.path.dirname(logrotate_file), 0o755, "logrotate_file"))
    if params["create_directories"]:
        entries += [
            (params["state_dir"], 0o750, "state_dir"),
            (params["log_dir"], 0o750, "log_dir"),
            (params["lock_dir"], 0o700, "lock_dir"),
            (params["backup_root"], 0o700, "backup_root"),
            (os.path.dirname(params["cron_file"]), 0o755, "cron_file"),
        ]
    return entries


# --------------------------------------------------------------------------- run now


def run_backup_now(module, runner_path, config_dir, job_name):
    command = [runner_path, "--config-dir", config_dir, "--json", "backup", job_name]
    try:
        completed = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    except OSError as exc:
        module.fail_json(msg=f"cannot start the runner {runner_path}: {exc.strerror}")
    stdout = completed.stdout.decode("utf-8", "replace")
    stderr = completed.stderr.decode("utf-8", "replace")
    try:
        result = json.loads(stdout)
    except ValueError:
        result = {"status": "failed", "exit_code": completed.returncode, "error": stderr.strip()[-2000:]}
    result["exit_code"] = completed.returncode
    result["log"] = stderr.splitlines()[-40:]
    return result


# --------------------------------------------------------------------------- main


def main():
    try:
        module = AnsibleModule(
            argument_spec=argument_spec(),
            supports_check_mode=True,
            mutually_exclusive=[("jobs", "name")],
        )
    except (TypeError, ValueError, OverflowError) as exc:  # ansible-core's validation crashed
        fail_on_validation_crash(AnsibleModule, argument_spec(), exc)
        raise
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    params = module.params
    config_dir = params["config_dir"]
    runner_path = params["runner_path"]
    logrotate_file = params["logrotate_file"]
    try:
        settings = validate_settings(
            {key: params[key] for key in SETTINGS_KEYS},
            source="options",
        )
        existing_jobs = list_job_files(config_dir)
        files, plan, jobs = desired_files(params, settings, existing_jobs)
        target = run_target(params["run_now"], requested_jobs(params))
        if target is not None and target not in [job.name for job in jobs] and target not in existing_jobs:
            raise SmgrError(f"run_now names job {target!r}, which is neither in this task nor on the host")
        if params["install_runner"]:
            if runner_path in files:
                raise SmgrError(
                    f"{runner_path} is a configuration file, not a place for the runner", field="runner_path"
                )
            interpreter = params["runner_interpreter"] or sys.executable
            # The runner is _runner.cli and what it imports: imported above, so AnsiballZ ships all of it.
            sources = collect_sources(runner_cli.__name__.split(".module_utils.", 1)[1])
            files[runner_path] = (runner_bytes(interpreter, sources), RUNNER_MODE)
        if logrotate_file is not None:
            if logrotate_file in files:
                raise SmgrError(f"{logrotate_file} is already written by this task", field="logrotate_file")
            files[logrotate_file] = (
                render_logrotate(params["log_dir"], params["logrotate_frequency"], params["logrotate_rotate"]),
                LOGROTATE_MODE,
            )
        config_dirs = (os.path.normpath(config_dir), os.path.normpath(os.path.join(config_dir, JOBS_SUBDIR)))
        for path in files:
            # Checked before anything is written: a directory in the way would fail the run halfway.
            if path.endswith("/") or os.path.isdir(path) or os.path.normpath(path) in config_dirs:
                raise SmgrError(
                    f"{path} is a directory, not a file", field="runner_path" if path == runner_path else None
                )
        changes = plan_changes(files)
    except SmgrError as exc:
        module.fail_json(msg=str(exc))

    try:
        directory_changes = plan_directories(layout_entries(params, logrotate_file))
    except SmgrError as exc:
        module.fail_json(msg=str(exc))
    if not params["create_directories"]:
        # Only what the writes need, and only when there are writes.
        writes = any(change[4] != "remove" for change in changes)
        directory_changes = [change for change in directory_changes if change.created and writes]
    changed = bool(changes or directory_changes)

    result = dict(
        changed=changed,
        jobs=job_actions(plan, changes),
        changed_files=[change[0] for change in changes],
        changed_directories=[change.path for change in directory_changes],
        runner=dict(
            path=runner_path,
            installed=params["install_runner"],
            changed=any(change[0] == runner_path for change in changes),
            sha256=hashlib.sha256(files[runner_path][0]).hexdigest() if params["install_runner"] else None,
        ),
    )
    if module._diff:
        result["diff"] = [
            dict(
                before_header=change.path,
                after_header=change.path,
                before="" if change.created else f"directory {change.path} mode {change.before_mode:04o}\n",
                after=f"directory {change.path} mode {change.mode:04o}\n",
            )
            for change in directory_changes
        ] + diff_of(changes, runner_path)

    if not module.check_mode and changed:
        try:
            apply_directories(directory_changes)
            apply_changes(changes)
        except SmgrError as exc:
            module.fail_json(msg=str(exc), **result)

    if target is not None:
        if module.check_mode:
            result["run"] = dict(job=target, skipped=True, msg="check mode: the backup would run now")
            result["changed"] = True
        else:
            if not os.access(runner_path, os.X_OK):
                module.fail_json(msg=f"run_now: the runner {runner_path} is not installed (install_runner)", **result)
            run = run_backup_now(module, runner_path, config_dir, target)
            result["run"] = run
            result["changed"] = True
            for key in RUN_KEYS:
                result[key] = run.get(key)
            if run.get("exit_code") != 0:
                module.fail_json(
                    msg=f"backup {target} {run.get('status', 'failed')} (runner exit {run.get('exit_code')}): "
                    f"{run.get('error') or 'see run.log'}",
                    **result,
                )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
