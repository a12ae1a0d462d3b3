#!/usr/bin/python
# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: smgr_schedule
short_description: Manage the cron entries of Server Manager idempotently
version_added: 0.1.0
description:
  - Manages cron jobs in a cron file it owns (O(cron_file), default C(/etc/cron.d/smgr)) or in a marked block
    of a user's crontab (O(crontab_user)), never touching lines it does not own.
  - With O(backend=systemd) the jobs are systemd timers instead, one C(smgr-<name>.service) and
    C(smgr-<name>.timer) per job in O(unit_dir), at exactly the minutes the cron entry would run. A job lives in
    one backend - the run writes the chosen one first and then removes the same jobs (with O(exclusive), every
    managed job) from the other, so a host that switches misses no run and runs none twice.
  - Manage one job (O(name), O(schedule), O(command) ...) or the whole set at once (O(jobs), with O(exclusive)
    to remove managed jobs that are not listed). Every call writes the target at most once.
  - Schedules are the Server Manager presets, cron macros, 5-field cron expressions, or expressions with hashed
    fields (V(H), V(H(a-b\)), V(H/n)) that are expanded from O(hash_seed) so that a fleet does not start every
    job in the same minute. The expansion is the same on every host and with every croniter version.
  - Commands run exactly as written; V(%) is escaped for cron. With O(prevent_overlap) a job is skipped while its
    previous run still holds its lock (C(flock -n) on C(<lock_dir>/<name>.lock)).
  - Invalid input fails before anything is written, with a message naming the job and the field.
author:
  - Server Manager maintainers (@smgr)
extends_documentation_fragment:
  - smgr.server_manager.attributes
  - smgr.server_manager.schedule_target
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
requirements:
  - croniter (any version from 1.3 on; Debian package C(python3-croniter))
  - cron-descriptor (optional, for richer descriptions)
  - C(crontab(1)) when O(crontab_user) is used, C(flock(1)) when O(prevent_overlap) is used
options:
  backend:
    description:
      - Which scheduler runs the jobs.
      - V(cron) writes cron lines (O(cron_file) or O(crontab_user)).
      - V(systemd) writes a service (C(Type=oneshot), the same command through the cron environment's C(SHELL),
        the same O(log) file) and a timer (C(OnCalendar=) lines, C(Persistent=) as O(persistent)) per job into
        O(unit_dir), runs C(systemctl daemon-reload) once when a file changed, C(enable --now) for enabled timers,
        C(disable --now) for O(disabled) ones and for removed jobs, and C(restart) for active timers whose
        calendar changed. A V(@reboot) job is a service enabled for C(multi-user.target), without a timer.
        systemd never starts a second copy of a running service, so O(prevent_overlap) has nothing to add there.
      - The O(env) variables other than C(MAILTO) and C(SHELL) become C(Environment=) lines of the service.
    type: str
    choices: [cron, systemd]
    default: cron
    version_added: 0.2.0
  unit_dir:
    description:
      - Directory of the unit files of O(backend=systemd). Only files named C(smgr-*.service) and C(smgr-*.timer)
        that start with the module's marker line are ever changed or removed; a file of that name without the
        marker is refused, not overwritten.
      - When it is not one of systemd's unit directories (a prefix in tests or a demo), the files are written and
        C(systemctl) is not called; RV(systemd_managed) says which.
      - It is created (mode V(0755)) when missing; a path that is not a directory fails before anything is written.
      - With O(backend=cron) it is read too, to remove what an earlier O(backend=systemd) run left there.
    type: path
    default: /etc/systemd/system
    version_added: 0.2.0
  name:
    description:
      - Name of a single job. Letters, digits, V(_), V(.) and V(-), starting with a letter or digit.
      - Mutually exclusive with O(jobs).
    type: str
  schedule:
    description:
      - When the single job runs.
      - 'A preset: V(daily_2am), V(daily_3am), V(daily_4am), V(daily_midnight), V(weekly_sunday_2am),
        V(weekly_monday_2am), V(hourly), V(every_6_hours), V(every_12_hours).'
      - A macro (V(@daily), V(@hourly), V(@weekly), V(@monthly), V(@yearly), V(@reboot)).
      - A 5-field expression (minute hour day-of-month month day-of-week) with numbers, names (V(mon), V(jan)),
        ranges, lists and steps, or hashed fields V(H), V(H(a-b\)), V(H/n), V(H(a-b\)/n).
      - Required when O(state=present).
    type: str
  command:
    description:
      - Shell command of the single job, run by the cron shell exactly as written.
      - Newlines, carriage returns, NUL and other control characters are rejected.
      - Required when O(state=present).
    type: str
  user:
    description:
      - User the single job runs as (cron file target). With O(crontab_user) it must be unset or that user.
    type: str
  log:
    description:
      - Absolute path of a log file that stdout and stderr of every part of the command are appended to.
    type: path
  prevent_overlap:
    description:
      - Skip a run while the previous run of the same job still holds C(<lock_dir>/<name>.lock).
    type: bool
    default: true
  disabled:
    description:
      - Keep the job in the target, commented out.
    type: bool
    default: false
  state:
    description:
      - Whether the single job is present or absent.
    type: str
    choices: [present, absent]
    default: present
  persistent:
    description:
      - O(backend=systemd) only. C(Persistent=) of the timer - a run missed while the host was off (or the timer
        stopped) starts as soon as the timer runs again.
    type: bool
    default: true
    version_added: 0.2.0
  randomized_delay:
    description:
      - O(backend=systemd) only. C(RandomizedDelaySec=) of the timer - each run starts up to this many seconds
        late (at most a week). Unset or V(0) starts at the minute.
    type: int
    version_added: 0.2.0
  nice:
    description:
      - O(backend=systemd) only. C(Nice=) of the service (V(-20) to V(19)).
    type: int
    version_added: 0.2.0
  io_class:
    description:
      - O(backend=systemd) only. C(IOSchedulingClass=) of the service.
    type: str
    choices: [realtime, best-effort, idle]
    version_added: 0.2.0
  jobs:
    description:
      - The set of jobs to manage in one call, each with the options of a single job.
      - With O(exclusive=true), managed jobs not listed are removed; V([]) with O(exclusive=true) removes
        all managed jobs ("disable all") and never touches anybody else's entries.
    type: list
    elements: dict
    suboptions:
      name:
        description: Job name.
        type: str
        required: true
      schedule:
        description: When the job runs, as O(schedule).
        type: str
      command:
        description: Shell command, as O(command).
        type: str
      user:
        description: User the job runs as, as O(user).
        type: str
      log:
        description: Log file, as O(log).
        type: path
      prevent_overlap:
        description: As O(prevent_overlap).
        type: bool
        default: true
      disabled:
        description: As O(disabled).
        type: bool
        default: false
      state:
        description: As O(state).
        type: str
        choices: [present, absent]
        default: present
      persistent:
        description: As O(persistent).
        type: bool
        default: true
        version_added: 0.2.0
      randomized_delay:
        description: As O(randomized_delay).
        type: int
        version_added: 0.2.0
      nice:
        description: As O(nice).
        type: int
        version_added: 0.2.0
      io_class:
        description: As O(io_class).
        type: str
        choices: [realtime, best-effort, idle]
        version_added: 0.2.0
  exclusive:
    description:
      - With O(jobs), remove every managed job that is not listed.
    type: bool
    default: false
  hash_seed:
    description:
      - Seed of the hashed (V(H)) fields. The role passes C(inventory_hostname).
      - Empty means the host's fully qualified name.
    type: str
    default: ''
  env:
    description:
      - Environment lines written before the jobs.
      - In a user's crontab they are part of the managed block, which is kept at the end of the crontab.
    type: dict
    default:
      SHELL: /bin/bash
      PATH: /usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin
      MAILTO: root
  lock_dir:
    description:
      - Directory of the overlap locks. The cron line creates it (mode 0700) when it is missing, as C(/run) is
        emptied at boot, and refuses to run if somebody else owns it.
      - Jobs of users other than root lock under C(<lock_dir>-<user>).
    type: path
    default: /run/lock/smgr
  backup:
    description:
      - Keep this many timestamped copies of the previous version in O(backup_dir); V(0) keeps none.
    type: int
    default: 5
  backup_dir:
    description:
      - Directory of the copies of previous versions (created with mode 0700).
    type: path
    default: /opt/server-manager/state/schedule-backups
  audit_log:
    description:
      - File that one line per change is appended to (time, target, jobs added, removed and changed).
      - Empty disables the audit log.
    type: path
    default: /opt/server-manager/logs/schedule-audit.log
  migrate_tui:
    description:
      - Remove the old Server Manager TUI's entries from O(migrate_tui_user)'s crontab, so a host converted to
        this collection does not run every backup twice. An entry is a C(# server-manager:) comment (with the
        schedule's name) and the cron line after it that runs one of the TUI's scripts
        (C(.../server-manager/scripts/automated-backup.sh ...), C(cleanup-backups.sh)); the TUI's header comments
        go with them. Every other line stays byte for byte.
      - The crontab is copied to O(backup_dir) first (with O(backup) > 0); RV(migrated) lists each entry removed.
    type: bool
    default: false
    version_added: 0.2.0
  migrate_tui_user:
    description: Whose crontab O(migrate_tui) cleans (the TUI wrote root's).
    type: str
    default: root
    version_added: 0.2.0
notes:
  - The timer-only options (O(persistent), O(randomized_delay), O(nice), O(io_class)) are refused with
    O(backend=cron), naming the job, rather than silently ignored.
  - A O(backend=systemd) run on a host where systemd is not PID 1 fails before writing, unless O(unit_dir) is
    outside systemd's directories.
  - Debian's cron ignores files in C(/etc/cron.d) whose name contains a dot, so O(cron_file) must not have one.
  - When no managed job is left, the owned O(cron_file) is removed and the managed block leaves the crontab.
seealso:
  - module: smgr.server_manager.smgr_schedule_info
  - module: ansible.builtin.cron
    description: Manages single entries; its C(#Ansible:) entries are left alone by this module.
"""

EXAMPLES = r"""
- name: Nightly nginx backup at 02:00
  smgr.server_manager.smgr_schedule:
    name: backup-nginx
    schedule: daily_2am
    command: /opt/server-manager/bin/smgr backup nginx
    log: /opt/server-manager/logs/backup-nginx-cron.log

- name: The whole set of a host, spread over the night per host
  smgr.server_manager.smgr_schedule:
    hash_seed: "{{ inventory_hostname }}"
    exclusive: true
    jobs:
      - name: backup-app
        schedule: "H H(1-4) * * *"
        command: /opt/server-manager/bin/smgr backup app
      - name: cleanup
        schedule: weekly_sunday_2am
        command: /opt/server-manager/bin/smgr cleanup
      - name: health
        schedule: "H/15 * * * *"
        command: /opt/server-manager/bin/smgr health
        prevent_overlap: false

- name: A block in the backup user's crontab
  smgr.server_manager.smgr_schedule:
    crontab_user: backup
    name: sync
    schedule: every_6_hours
    command: rsync -a /srv/data/ /mnt/copy/

- name: The same set as systemd timers (the cron entries of these jobs are removed once the timers exist)
  smgr.server_manager.smgr_schedule:
    backend: systemd
    hash_seed: "{{ inventory_hostname }}"
    exclusive: true
    jobs:
      - name: backup-app
        schedule: "H H(1-4) * * *"
        command: /opt/server-manager/bin/smgr backup app
        randomized_delay: 600
        nice: 10
        io_class: idle

- name: Disable all managed schedules (leaves everybody else's alone)
  smgr.server_manager.smgr_schedule:
    jobs: []
    exclusive: true
"""

RETURN = r"""
jobs:
  description: The managed jobs after the run (in check mode, as they would be), sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Job name.
      type: str
      sample: backup-nginx
    schedule:
      description: The schedule as given.
      type: str
      sample: H H(1-4) * * *
    expression:
      description: The expression written to cron (hashed fields expanded, presets and macros written out).
      type: str
      sample: 17 3 * * *
    description:
      description: The schedule in English, 24-hour clock.
      type: str
      sample: At 03:17
    next_runs:
      description: The next O(next_runs) start times in the host's local time zone, ISO 8601 with offset.
      type: list
      elements: str
      sample: ["2026-11-29T03:17:00+01:00"]
    command:
      description: The command as given.
      type: str
    user:
      description: The user the job runs as.
      type: str
    log:
      description: The log file, if any.
      type: str
    prevent_overlap:
      description: Whether the job runs under its lock.
      type: bool
    disabled:
      description: Whether the job is commented out (cron) or its timer stopped and disabled (systemd).
      type: bool
    persistent:
      description: C(Persistent=) of the timer.
      type: bool
      returned: with O(backend=systemd)
      version_added: 0.2.0
    randomized_delay:
      description: C(RandomizedDelaySec=) of the timer, if any.
      type: int
      returned: with O(backend=systemd)
      version_added: 0.2.0
    nice:
      description: C(Nice=) of the service, if any.
      type: int
      returned: with O(backend=systemd)
      version_added: 0.2.0
    io_class:
      description: C(IOSchedulingClass=) of the service, if any.
      type: str
      returned: with O(backend=systemd)
      version_added: 0.2.0
    units:
      description: The job's unit files (a V(@reboot) job has no timer).
      type: list
      elements: str
      returned: with O(backend=systemd)
      sample: [smgr-backup-app.service, smgr-backup-app.timer]
      version_added: 0.2.0
added:
  description: Names of the jobs added.
  returned: always
  type: list
  elements: str
  sample: [backup-app]
removed:
  description: Names of the jobs removed.
  returned: always
  type: list
  elements: str
  sample: [cleanup]
changed_jobs:
  description: Names of the jobs whose schedule, command or options changed.
  returned: always
  type: list
  elements: str
  sample: [backup-nginx]
target:
  description: The cron file, V(crontab:<user>), or V(systemd:<unit_dir>).
  returned: always
  type: str
  sample: /etc/cron.d/smgr
backend:
  description: The backend the jobs are in after the run.
  returned: always
  type: str
  sample: systemd
  version_added: 0.2.0
systemd_managed:
  description:
    - Whether C(systemctl) is called for O(unit_dir) (false when it is outside systemd's directories, or when
      only files left by an earlier systemd run are removed on a host where systemd does not run).
  returned: always
  type: bool
  version_added: 0.2.0
systemctl:
  description: The C(systemctl) calls made (in check mode, that would be made), in order.
  returned: always
  type: list
  elements: str
  sample: ["systemctl daemon-reload", "systemctl enable --now smgr-backup-app.timer"]
  version_added: 0.2.0
units_written:
  description: Unit files written (in check mode, that would be written).
  returned: always
  type: list
  elements: str
  sample: [smgr-backup-app.service, smgr-backup-app.timer]
  version_added: 0.2.0
units_removed:
  description: Unit files removed (in check mode, that would be removed).
  returned: always
  type: list
  elements: str
  version_added: 0.2.0
other_backend:
  description:
    - The jobs removed from the backend not chosen (a switch of backend, or a job moved), and where from.
  returned: when jobs were removed there
  type: dict
  contains:
    target:
      description: The cron file, V(crontab:<user>), or V(systemd:<unit_dir>).
      type: str
    removed:
      description: Names of the jobs removed there.
      type: list
      elements: str
  sample: {target: /etc/cron.d/smgr, removed: [backup-app]}
  version_added: 0.2.0
backup_file:
  description: Copy of the previous version, when one was made.
  returned: changed and O(backup) > 0 and the target existed
  type: str
  sample: /opt/server-manager/state/schedule-backups/smgr.20261128T020000.000000Z
migrated:
  description: The old TUI's entries removed (in check mode, that would be removed) by O(migrate_tui).
  returned: when O(migrate_tui=true)
  type: list
  elements: dict
  contains:
    name:
      description: The TUI's schedule name (from its C(# server-manager:) comment).
      type: str
      sample: backup_nginx
    line:
      description: The cron line removed.
      type: str
      sample: 0 2 * * * /opt/server-manager/scripts/automated-backup.sh nginx --verify --remote
  version_added: 0.2.0
migration_backup_file:
  description: Copy of the crontab before the TUI's entries were removed.
  returned: when O(migrate_tui=true) removed entries and O(backup) > 0
  type: str
  sample: /opt/server-manager/state/schedule-backups/crontab-root.20261128T020000.000000Z
  version_added: 0.2.0
"""

import getpass
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.smgr.server_manager.plugins.module_utils._common.argspec import fail_on_validation_crash
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.backends import apply_run, plan_run
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.cron import (
    CRONITER_IMPORT_ERROR,
    HAS_CRONITER,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import DEFAULT_ENV
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.plan import (
    BACKENDS,
    CRON_FILE_MODE,
    JOB_OPTIONS,
    JobRequest,
    apply_tui_migration,
    check_next_runs,
    collision_warnings,
    default_hash_seed,
    job_report,
    read_target,
    target_from,
    tui_migration,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.systemd import (
    DEFAULT_UNIT_DIR,
    diff_of_timers,
    timer_report,
)


def argument_spec() -> dict:
    return dict(
        name=dict(type="str"),
        jobs=dict(type="list", elements="dict", options=dict(name=dict(type="str", required=True), **JOB_OPTIONS)),
        exclusive=dict(type="bool", default=False),
        backend=dict(type="str", choices=list(BACKENDS), default="cron"),
        unit_dir=dict(type="path", default=DEFAULT_UNIT_DIR),
        cron_file=dict(type="path", default="/etc/cron.d/smgr"),
        crontab_user=dict(type="str"),
        hash_seed=dict(type="str", default=""),
        env=dict(type="dict", default=dict(DEFAULT_ENV)),
        lock_dir=dict(type="path", default="/run/lock/smgr"),
        backup=dict(type="int", default=5),
        backup_dir=dict(type="path", default="/opt/server-manager/state/schedule-backups"),
        audit_log=dict(type="path", default="/opt/server-manager/logs/schedule-audit.log"),
        next_runs=dict(type="int", default=3),
        migrate_tui=dict(type="bool", default=False),
        migrate_tui_user=dict(type="str", default="root"),
        **JOB_OPTIONS,
    )


def requests_from(params: dict) -> list[JobRequest]:
    if params["jobs"] is not None:
        return [JobRequest(**{key: job[key] for key in ("name", *JOB_OPTIONS)}) for job in params["jobs"]]
    return [JobRequest(**{key: params[key] for key in ("name", *JOB_OPTIONS)})]


def diff_of(change, mode: int) -> list[dict]:
    label = change.target.label
    diffs = [
        dict(
            before=change.before_text,
            after=change.after_text,
            before_header=label if change.exists else f"{label} (absent)",
            after_header=label if change.after_text else f"{label} (absent)",
        )
    ]
    if change.mode_wrong:
        diffs.append(dict(before=dict(mode=f"{change.mode_before:04o}"), after=dict(mode=f"{mode:04o}")))
    return diffs


def main() -> None:
    try:
        module = AnsibleModule(
            argument_spec=argument_spec(),
            mutually_exclusive=[("name", "jobs")],
            required_one_of=[("name", "jobs")],
            supports_check_mode=True,
        )
    except (TypeError, ValueError, OverflowError) as exc:  # ansible-core's validation crashed
        fail_on_validation_crash(AnsibleModule, argument_spec(), exc)
        raise
    if not HAS_CRONITER:
        module.fail_json(msg=missing_required_lib("croniter"), exception=CRONITER_IMPORT_ERROR)
    params = module.params
    if params["exclusive"] and params["jobs"] is None:
        module.fail_json(msg="exclusive: needs jobs (the whole set); a single job cannot be exclusive")
    if params["backup"] < 0:
        module.fail_json(msg=f"backup: must be 0 or more, got {params['backup']}")
    try:
        check_next_runs(params["next_runs"])
        target = target_from(params["cron_file"], params["crontab_user"])
        current = read_target(target)
        migration = None
        if params["migrate_tui"]:
            migration, current = tui_migration(target, current, params["migrate_tui_user"])
        run = plan_run(
            params["backend"],
            requests_from(params),
            params["exclusive"],
            target,
            current,
            params["unit_dir"],
            params["env"],
            params["hash_seed"] or default_hash_seed(),
            params["lock_dir"],
        )
        change, timers = run.cron, run.timers.plan
        if migration is not None and migration.user == target.crontab_user:
            change.before_text = migration.before  # one crontab: the TUI's lines and ours change together
        if run.backend == "systemd":
            reports = [job_report(job.job, params["next_runs"]) | timer_report(job) for job in timers.after_jobs]
        else:
            reports = [job_report(job, params["next_runs"]) for job in change.after_jobs]
        backup_file = migration_backup = None
        if not module.check_mode:
            if migration is not None and migration.changed and migration.user != target.crontab_user:
                migration_backup = apply_tui_migration(migration, params["backup"], params["backup_dir"])
            backup_file = apply_run(
                run, params["backup"], params["backup_dir"], params["audit_log"], f"ansible:{getpass.getuser()}"
            )
    except SmgrError as exc:
        module.fail_json(msg=str(exc), exception=traceback.format_exc())
    chosen_jobs = [job.job for job in timers.after_jobs] if run.backend == "systemd" else change.after_jobs
    for warning in collision_warnings(chosen_jobs):
        module.warn(warning)
    if change.unmanaged and change.before_text != change.after_text:
        module.warn(f"{len(change.unmanaged)} line(s) of {target.label} not written by this module are dropped")
    if timers.broken:
        module.warn(f"managed unit file(s) without a readable job record are removed: {', '.join(timers.broken)}")
    if run.backend == "systemd":
        summary, other_summary, label, other_label = timers.summary, change.summary, run.timers.label, target.label
    else:
        summary, other_summary, label, other_label = change.summary, timers.summary, target.label, run.timers.label
    result = dict(
        changed=run.changed or (migration is not None and migration.changed),
        jobs=reports,
        added=summary["added"],
        removed=summary["removed"],
        changed_jobs=summary["changed"],
        target=label,
        backend=run.backend,
        systemd_managed=timers.manage,
        systemctl=timers.actions,
        units_written=timers.written,
        units_removed=timers.removed,
    )
    if other_summary["removed"]:
        result["other_backend"] = dict(target=other_label, removed=other_summary["removed"])
    if backup_file:
        result["backup_file"] = backup_file
    if migration is not None:
        result["migrated"] = migration.report()
        if migration_backup:
            result["migration_backup_file"] = migration_backup
    if module._diff:
        cron_diffs = diff_of(change, CRON_FILE_MODE) if change.changed or run.backend == "cron" else []
        timer_diffs = diff_of_timers(timers)
        result["diff"] = timer_diffs + cron_diffs if run.backend == "systemd" else cron_diffs + timer_diffs
        if migration is not None and migration.changed and migration.user != target.crontab_user:
            label = f"crontab:{migration.user}"
            result["diff"].append(
                dict(before=migration.before, after=migration.after, before_header=label, after_header=label)
            )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
