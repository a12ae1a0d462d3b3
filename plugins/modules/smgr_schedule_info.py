#!/usr/bin/python
# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: smgr_schedule_info
short_description: List the jobs managed by smgr_schedule (cron entries or systemd timers), with next runs
version_added: 0.1.0
description:
  - Reads the cron file owned by M(smgr.server_manager.smgr_schedule) or the managed block of a user's crontab and
    returns every managed job with its schedule, the expression cron reads, an English description, the next run
    times and whether it is disabled (the Server Manager's "View scheduled tasks").
  - Also counts the lines it leaves alone (entries of the user's crontab outside the block, hand edits of the owned
    file).
  - With O(backend=systemd), reads the managed timers of O(unit_dir) instead and, where systemd reads that
    directory, adds what systemd says of each (next elapse, last trigger, result of the last run).
author:
  - Server Manager maintainers (@smgr)
extends_documentation_fragment:
  - smgr.server_manager.attributes
  - smgr.server_manager.attributes.info_module
  - smgr.server_manager.schedule_target
requirements:
  - croniter (any version from 1.3 on)
  - cron-descriptor (optional, for richer descriptions)
options:
  backend:
    description: Which scheduler's jobs to list, as in M(smgr.server_manager.smgr_schedule).
    type: str
    choices: [cron, systemd]
    default: cron
    version_added: 0.2.0
  unit_dir:
    description: Unit directory of O(backend=systemd).
    type: path
    default: /etc/systemd/system
    version_added: 0.2.0
seealso:
  - module: smgr.server_manager.smgr_schedule
"""

EXAMPLES = r"""
- name: What runs when on this host
  smgr.server_manager.smgr_schedule_info:
    next_runs: 5
  register: schedules

- name: Show it
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.description }}, next {{ item.next_runs | first | default('never') }}"
  loop: "{{ schedules.jobs }}"
"""

RETURN = r"""
jobs:
  description: The managed jobs, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Job name.
      type: str
      sample: backup-nginx
    schedule:
      description: The schedule as given when the job was written.
      type: str
      sample: daily_2am
    expression:
      description: The expression cron reads.
      type: str
      sample: 0 2 * * *
    description:
      description: The schedule in English, 24-hour clock.
      type: str
      sample: At 02:00
    next_runs:
      description: Next start times in the host's local time zone, ISO 8601 with offset; empty when disabled.
      type: list
      elements: str
      sample: ["2026-11-29T02:00:00+01:00"]
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
      description: Whether the job is commented out (cron) or its timer is kept stopped (systemd).
      type: bool
    units:
      description: The job's unit files.
      type: list
      elements: str
      returned: with O(backend=systemd)
      version_added: 0.2.0
    timer:
      description:
        - What systemd says of the job's timer (of its service, for a V(@reboot) job); V(null) when systemd does not
          read O(unit_dir).
      type: dict
      returned: with O(backend=systemd)
      version_added: 0.2.0
      contains:
        enabled:
          description: C(UnitFileState) of the timer (V(enabled), V(disabled) ...).
          type: str
        active:
          description: C(ActiveState) of the timer (V(active) when it is waiting for its next elapse).
          type: str
        next_elapse:
          description: Next elapse, local ISO 8601 (includes any randomized delay); V(null) when none.
          type: str
        last_trigger:
          description: When the timer last started the service, local ISO 8601; V(null) when never.
          type: str
        result:
          description: C(Result) of the service's last run (V(success), V(exit-code) ...).
          type: str
        exit_status:
          description: Exit status of the service's last run.
          type: str
foreign_lines:
  description:
    - Lines left alone. For a user's crontab, the lines outside the managed block; for the owned cron file, lines
      that smgr_schedule did not write (they are dropped by its next change).
  returned: always
  type: int
  sample: 4
target:
  description: The cron file, V(crontab:<user>), or V(systemd:<unit_dir>).
  returned: always
  type: str
  sample: /etc/cron.d/smgr
exists:
  description: Whether the cron file, the user's crontab or the unit directory exists.
  returned: always
  type: bool
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.smgr.server_manager.plugins.module_utils._common.argspec import fail_on_validation_crash
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.cron import (
    CRONITER_IMPORT_ERROR,
    HAS_CRONITER,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.plan import (
    BACKENDS,
    check_next_runs,
    current_jobs,
    job_report,
    read_target,
    target_from,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.systemd import (
    DEFAULT_UNIT_DIR,
    check_unit_dir,
    jobs_of,
    read_unit_dir,
    systemd_reads,
    systemd_running,
    timer_report,
    timer_runtime,
)


def timer_reports(unit_dir: str, next_run_count: int) -> tuple[list[dict], bool]:
    """The managed timers of ``unit_dir`` as job reports, with systemd's view where systemd reads the directory."""
    current = read_unit_dir(check_unit_dir(unit_dir))
    jobs, _broken = jobs_of(current.files)
    runtime = {}
    if systemd_reads(unit_dir) and systemd_running():
        runtime = timer_runtime(job.trigger_unit for job in jobs)
    reports = [
        job_report(job.job, next_run_count) | timer_report(job) | {"timer": runtime.get(job.trigger_unit)}
        for job in jobs
    ]
    return reports, current.exists


def main() -> None:
    spec = dict(
        backend=dict(type="str", choices=list(BACKENDS), default="cron"),
        unit_dir=dict(type="path", default=DEFAULT_UNIT_DIR),
        cron_file=dict(type="path", default="/etc/cron.d/smgr"),
        crontab_user=dict(type="str"),
        next_runs=dict(type="int", default=3),
    )
    try:
        module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    except (TypeError, ValueError, OverflowError) as exc:  # ansible-core's validation crashed
        fail_on_validation_crash(AnsibleModule, spec, exc)
        raise
    if not HAS_CRONITER:
        module.fail_json(msg=missing_required_lib("croniter"), exception=CRONITER_IMPORT_ERROR)
    try:
        check_next_runs(module.params["next_runs"])
        if module.params["backend"] == "systemd":
            reports, exists = timer_reports(module.params["unit_dir"], module.params["next_runs"])
            label = f"systemd:{module.params['unit_dir']}"
            module.exit_json(changed=False, jobs=reports, foreign_lines=0, target=label, exists=exists)
        target = target_from(module.params["cron_file"], module.params["crontab_user"])
        text, exists, _mode = read_target(target)
        jobs, _env, _unmanaged, foreign = current_jobs(target, text)
        reports = [job_report(job, module.params["next_runs"]) for job in jobs]
    except SmgrError as exc:
        module.fail_json(msg=str(exc), exception=traceback.format_exc())
    module.exit_json(changed=False, jobs=reports, foreign_lines=foreign, target=target.label, exists=exists)


if __name__ == "__main__":
    main()
