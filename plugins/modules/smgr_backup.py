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
  - borgbackup (Debian's package) on the managed host for O(engine=borg).
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
        choices: [nginx, mailcow, npm, paths]
      engine:
        description: See O(engine).
        type: str
        choices: [tar, borg]
        version_added: 0.2.0
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
      mailcow_install_files:
        description: See O(mailcow_install_files).
        type: bool
        version_added: 0.2.0
      npm_dir:
        description: See O(npm_dir).
        type: str
        version_added: 0.2.0
      max_age_hours:
        description: See O(max_age_hours).
        type: int
        version_added: 0.2.0
      notify_after_skips:
        description: See O(notify_after_skips).
        type: int
        version_added: 0.2.0
      repository:
        description: See O(repository).
        type: str
        version_added: 0.2.0
      encryption:
        description: See O(encryption).
        type: str
        version_added: 0.2.0
      passphrase:
        description: See O(passphrase).
        type: str
        version_added: 0.2.0
      borg_remote_path:
        description: See O(borg_remote_path).
        type: str
        version_added: 0.2.0
      ssh_key:
        description: See O(ssh_key).
        type: str
        version_added: 0.2.0
      ssh_options:
        description: See O(ssh_options).
        type: list
        elements: str
        version_added: 0.2.0
      borg_lock_wait:
        description: See O(borg_lock_wait).
        type: int
        version_added: 0.2.0
  exclusive:
    description:
      - With O(jobs), remove the definition files of jobs that are not listed (archives are never removed).
      - O(jobs=[]) with O(exclusive=true) removes every job definition.
    type: bool
    default: false
  name:
    description:
      - Name of a single job to manage; 1 to 64 letters, digits, V(-) or V(_), starting with a letter or digit.
      - The archive names are C(<host>+<name>-<UTC timestamp>.tar.zst) (engine V(borg) - without the suffix).
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
        directory, proves every component archive (it decompresses, lists and holds its tree), then archives
        the dump and Mailcow's install files.
      - V(npm) backs up Nginx Proxy Manager's O(npm_dir) with a consistent copy of its database (SQLite's online
        backup API, or a dump of its MariaDB through C(docker compose exec)).
      - V(paths) backs up O(paths).
      - Required with O(state=present).
    type: str
    choices: [nginx, mailcow, npm, paths]
  paths:
    description:
      - Absolute paths to back up (directories or files). Symlinks are stored as symlinks; permissions,
        owners, ACLs and extended attributes are kept. A missing path fails the run.
      - Required for V(paths); defaults to V(/etc/nginx) and V(/etc/letsencrypt) for V(nginx); not used by V(mailcow)
        and V(npm).
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
      - Engine V(tar) - V(zstd) (multi-threaded, C(.tar.zst)) or V(gzip) (C(.tar.gz)). Default V(zstd).
      - Engine V(borg) - borg's syntax (V(none), V(lz4), V(zstd,N), V(zlib,N), V(lzma,N), V(auto,...)). Default
        V(zstd,3).
    type: str
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
      - Mailcow's script uses this path and the job's O(dest) unquoted, so neither may contain whitespace.
    type: str
  mailcow_components:
    description:
      - Components to dump (type V(mailcow) only) - V(vmail), V(crypt), V(redis), V(rspamd), V(postfix),
        V(mysql), or V(all) (the default).
    type: list
    elements: str
  mailcow_threads:
    description:
      - C(THREADS) for Mailcow's script (type V(mailcow) only), V(1) to V(99) (the script refuses others).
        Default V(1).
    type: int
  mailcow_install_files:
    description:
      - Also archive Mailcow's install files (type V(mailcow) only) - C(mailcow.conf), C(docker-compose.yml),
        C(docker-compose.override.yml), C(data/assets/ssl) and C(data/conf), without log files - in
        C(mailcow-dockerized/) beside the dump, so the archive alone rebuilds the host. Default V(true).
    type: bool
    version_added: 0.2.0
  npm_dir:
    description:
      - Nginx Proxy Manager's install directory (type V(npm) only) - its compose file, C(data/) and C(letsencrypt/).
        Default V(/root/nginx).
      - Archived as C(npm/) without C(data/logs); NPM's SQLite database is copied with SQLite's online backup API
        (checked with C(PRAGMA integrity_check)), or, when the compose file gives NPM a MariaDB/MySQL service
        (C(DB_MYSQL_HOST)), that database is dumped to C(npm/npm-database.sql) and its data directory left out.
    type: str
    version_added: 0.2.0
  max_age_hours:
    description:
      - How old the job's last successful backup (and, with O(remote), its last verified off-site copy) may be
        before C(smgr health) reports it (V(1) to V(9600)).
      - Default is the job's own schedule - the longest gap between two runs of its cron entry plus a tenth of it,
        at least an hour (a daily job 26.4 hours, a weekly one 184.8) - and, for a job without a cron entry, the
        health check's C(--max-age).
    type: int
    version_added: 0.2.0
  notify_after_skips:
    description:
      - A run that finds the previous run still holding the job's lock does not start; it is logged and counted in
        the job's state. When this many runs in a row were skipped, one notification says so (V(1) to V(1000)).
        Default V(2).
    type: int
    version_added: 0.2.0
  engine:
    description:
      - V(tar) (the default) writes a full, verified C(.tar.zst) archive per run to O(dest), copied by O(remote).
      - V(borg) stores each run as a deduplicated, compressed and (by default) encrypted archive in the BorgBackup
        O(repository), created by the first run. The archive is named C(<host>+<job>-<UTC time>); retention is
        C(borg prune) of this host's and job's archives, then C(borg compact); O(verify) runs C(borg check
        --archives-only) of the new archive. O(dest) is only the staging place of Mailcow's and NPM's dumps.
        Needs Debian's C(borgbackup) package on the host.
    type: str
    choices: [tar, borg]
    version_added: 0.2.0
  repository:
    description:
      - The borg repository (engine V(borg), required there) - an absolute local path or
        V(ssh://user@host:port/path). Several hosts may share one, see the borg guide in the docs.
    type: str
    version_added: 0.2.0
  encryption:
    description:
      - borg's encryption mode for a new repository (engine V(borg)) - V(repokey-blake2) (default), V(repokey),
        V(keyfile-blake2), V(keyfile), V(authenticated-blake2), V(authenticated) or V(none), which is only used
        when written explicitly.
    type: str
    version_added: 0.2.0
  passphrase:
    description:
      - The repository's passphrase (engine V(borg); required unless O(encryption=none)). Written to
        C(<config_dir>/borg/<name>.passphrase) (mode V(0600)) and read by borg through C(BORG_PASSCOMMAND); never in
        the job file, a result, a diff (shown as C(********)) or a log. Keep it in Ansible Vault.
    type: str
    version_added: 0.2.0
  borg_remote_path:
    description:
      - The borg program on the repository's host (C(--remote-path)), for an V(ssh://) O(repository).
    type: str
    version_added: 0.2.0
  ssh_key:
    description:
      - Absolute path of the ssh private key on the managed host for an V(ssh://) O(repository).
    type: str
    version_added: 0.2.0
  ssh_options:
    description:
      - Extra ssh options for an V(ssh://) O(repository), each V(Name=value). ssh runs with C(BatchMode=yes).
    type: list
    elements: str
    version_added: 0.2.0
  borg_lock_wait:
    description:
      - Seconds borg waits for the repository lock of another borg process (engine V(borg)). Default V(60).
    type: int
    version_added: 0.2.0
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
  unit_dir:
    description:
      - The unit directory of M(smgr.server_manager.smgr_schedule)'s systemd backend. Only read, by C(smgr status)
        and C(smgr health), for the jobs scheduled as timers.
    type: path
    default: /etc/systemd/system
    version_added: 0.2.0
  metrics_file:
    description:
      - Write Prometheus metrics of every job (last success, last run status and duration, archive size and count,
        off-site status, last restore drill, skipped runs) to this file after every backup, cleanup and drill, in
        the text exposition format, for node_exporter's textfile collector, for example
        V(/var/lib/prometheus/node-exporter/smgr.prom) (mode V(0644), replaced atomically).
      - Its name must end in C(.prom); its directory must exist and be writable, else the task fails before
        anything is written. Unset writes no metrics.
    type: path
    version_added: 0.2.0
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
  logrotate_state:
    description:
      - V(present) writes O(logrotate_file); V(absent) removes it (the role's C(smgr_logrotate_enabled=false)).
    type: str
    choices: [present, absent]
    default: present
    version_added: 0.2.0
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
  sample: /var/backups/smgr/nginx/web1+nginx-20260101T020000Z.tar.zst
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
  sample: ["web1+nginx-20251101T020000Z.tar.zst"]
freed_bytes:
  description: Bytes retention freed locally (archives and their sidecars).
  returned: when O(run_now) ran
  type: int
  sample: 2097152
"""

import os
import sys
from typing import TYPE_CHECKING

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import (
    HAS_YAML,
    JOB_SPEC,
    SETTINGS_KEYS,
    YAML_IMPORT_ERROR,
    list_job_files,
    validate_settings,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.layout import LOGROTATE_FREQUENCIES
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.plan import apply, plan, run_backup_now
from ansible_collections.smgr.server_manager.plugins.module_utils._common.argspec import fail_on_validation_crash
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._runner.build import collect_sources, runner_bytes

# AnsiballZ ships the module_utils that a module imports, wherever the import statement stands. The runner is
# built from the text of _runner.cli and what it imports, so this import is for AnsiballZ only: executing it
# would import the whole runner into this process for nothing (a tenth of a second per host).
if TYPE_CHECKING:
    from ansible_collections.smgr.server_manager.plugins.module_utils._runner import cli  # noqa: F401

RUN_KEYS = ("archive", "size", "sha256", "duration", "verified", "synced", "removed", "freed_bytes")


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
        unit_dir=dict(type="path", default="/etc/systemd/system"),
        metrics_file=dict(type="path"),
        create_directories=dict(type="bool", default=False),
        logrotate_file=dict(type="path"),
        logrotate_state=dict(type="str", choices=["present", "absent"], default="present"),
        logrotate_frequency=dict(type="str", choices=list(LOGROTATE_FREQUENCIES), default="weekly"),
        logrotate_rotate=dict(type="int", default=8),
    )
    spec.update(JOB_SPEC)
    return spec


def runner_file(params):
    """The runner's bytes, built from _runner.cli and what it imports (imported above, so AnsiballZ ships all of
    it), or None when the task does not install it."""
    if not params["install_runner"]:
        return None
    interpreter = params["runner_interpreter"] or sys.executable
    return runner_bytes(interpreter, collect_sources())


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
    try:
        settings = validate_settings({key: params[key] for key in SETTINGS_KEYS}, source="options")
        change = plan(params, settings, list_job_files(params["config_dir"]), runner_file(params))
    except SmgrError as exc:
        module.fail_json(msg=str(exc))

    result = dict(
        changed=change.changed,
        jobs=change.job_actions(),
        changed_files=[file.path for file in change.files],
        changed_directories=[directory.path for directory in change.directories],
        runner=dict(
            path=change.runner_path,
            installed=params["install_runner"],
            changed=any(file.path == change.runner_path for file in change.files),
            sha256=change.runner_sha256,
        ),
    )
    if module._diff:
        result["diff"] = change.diff()
    for warning in change.warnings():
        module.warn(warning)
    if change.changed and not module.check_mode:
        try:
            apply(change)
        except SmgrError as exc:
            module.fail_json(msg=str(exc), **result)

    target = change.run_target
    if target is not None:
        result["changed"] = True
        if module.check_mode:
            result["run"] = dict(job=target, skipped=True, msg="check mode: the backup would run now")
            module.exit_json(**result)
        runner_path = change.runner_path
        if not os.access(runner_path, os.X_OK):
            module.fail_json(msg=f"run_now: the runner {runner_path} is not installed (install_runner)", **result)
        try:
            run = run_backup_now(runner_path, params["config_dir"], target)
        except SmgrError as exc:
            module.fail_json(msg=str(exc), **result)
        result["run"] = run
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
