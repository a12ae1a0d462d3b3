#!/usr/bin/python
# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: smgr_backup_info
short_description: List Server Manager backup jobs, their archives and their last results
version_added: 0.1.0
description:
  - Reads the job definitions in C(<config_dir>/backups.d/), the paths in C(<config_dir>/runner.yaml),
    each job's archives in its C(dest) and its state file, and returns them.
  - Only files named like the job's archives (C(<host>-<job>-<UTC timestamp>.tar.zst) or C(.tar.gz)) that are
    regular files are listed; the checksum is the one in the archive's C(.sha256) sidecar.
author:
  - Server Manager maintainers (@smgr)
extends_documentation_fragment:
  - smgr.server_manager.attributes
  - smgr.server_manager.attributes.info_module
requirements:
  - PyYAML on the managed host.
options:
  config_dir:
    description:
      - The runner's configuration directory.
    type: path
    default: /opt/server-manager/config
  name:
    description:
      - Only these jobs. Default is every job.
    type: list
    elements: str
    default: []
  verify_checksums:
    description:
      - Also read every archive and compare its SHA-256 with its sidecar (RV(jobs[].archives[].checksum_ok)).
        Engine V(tar) only (borg checks its archives with C(borg check)).
        Reads all archives completely, so it takes as long as reading them.
    type: bool
    default: false
seealso:
  - module: smgr.server_manager.smgr_backup
"""

EXAMPLES = r"""
- name: Get the archives and last results of every job
  smgr.server_manager.smgr_backup_info:
  register: backups

- name: Fail when the newest nginx archive is missing
  ansible.builtin.assert:
    that:
      - (backups.jobs | selectattr('name', 'equalto', 'nginx') | first).archives | length > 0

- name: Check the archives of one job against their checksums
  smgr.server_manager.smgr_backup_info:
    name: [nginx]
    verify_checksums: true
  register: nginx_backups
"""

RETURN = r"""
jobs:
  description: One entry per job, in name order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Job name.
      type: str
      returned: always
      sample: nginx
    type:
      description: Job type.
      type: str
      returned: always
      sample: nginx
    engine:
      description: V(tar) or V(borg).
      type: str
      returned: always
      sample: tar
      version_added: 0.2.0
    repository:
      description: The borg repository (engine V(borg)); null for engine V(tar).
      type: str
      returned: always
      sample: ssh://borg@backup.example.com:22/srv/borg/fleet
      version_added: 0.2.0
    dest:
      description: Directory of the job's archives (engine V(borg) - the staging place of dumps).
      type: str
      returned: always
      sample: /var/backups/smgr/nginx
    remote:
      description: The job's remote, if any.
      type: str
      returned: always
      sample: backup@backup.example.com:/srv/backups/web1
    file:
      description: The job's definition file.
      type: str
      returned: always
      sample: /opt/server-manager/config/backups.d/nginx.yaml
    definition:
      description: The job as the runner reads it, every default filled in.
      type: dict
      returned: always
    archives:
      description:
        - The job's archives, newest first. Engine V(borg) lists the repository's archives of this host and job
          (C(name), C(time), C(size), C(original_size), C(compressed_size), C(deduplicated_size), C(files),
          C(repository)).
      type: list
      elements: dict
      returned: always
      contains:
        name:
          description: File name.
          type: str
          returned: always
          sample: web1-nginx-20260101T020000Z.tar.zst
        path:
          description: Full path.
          type: str
          returned: engine tar
          sample: /var/backups/smgr/nginx/web1-nginx-20260101T020000Z.tar.zst
        size:
          description: Size in bytes (engine V(borg) - the original size of the archived files).
          type: int
          returned: always
          sample: 1048576
        time:
          description: When the backup ran (UTC, from the name), ISO 8601.
          type: str
          returned: always
          sample: "2026-01-01T02:00:00Z"
        compression:
          description: V(zstd) or V(gzip).
          type: str
          returned: engine tar
          sample: zstd
        sha256:
          description: SHA-256 from the sidecar file; null when the sidecar is missing or unreadable.
          type: str
          returned: engine tar
          sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
        checksum_ok:
          description: Whether the archive's content matches C(sha256).
          type: bool
          returned: when O(verify_checksums=true)
          sample: true
        original_size:
          description: The archived files' size in bytes.
          type: int
          returned: engine borg
          sample: 1073741824
          version_added: 0.2.0
        compressed_size:
          description: Their compressed size in bytes.
          type: int
          returned: engine borg
          sample: 536870912
          version_added: 0.2.0
        deduplicated_size:
          description: The bytes this archive alone holds in the repository (what deleting it would free).
          type: int
          returned: engine borg
          sample: 10485760
          version_added: 0.2.0
        files:
          description: Number of files in the archive.
          type: int
          returned: engine borg
          sample: 1200
          version_added: 0.2.0
        repository:
          description: The repository holding the archive.
          type: str
          returned: engine borg
          sample: /srv/borg/web1
          version_added: 0.2.0
    archives_error:
      description: Why a borg job's archives could not be listed (repository unreachable, locked ...); null otherwise.
      type: str
      returned: always
      version_added: 0.2.0
    last_run:
      description: Result of the last run (as C(smgr backup JOB --json) prints it); null if it never ran.
      type: dict
      returned: always
    last_success:
      description: Result of the last run whose every step succeeded (status C(ok)); null if none.
      type: dict
      returned: always
    last_local_success:
      description: Result of the last run that published an archive on the host (status C(ok) or C(partial)).
      type: dict
      returned: always
      version_added: 0.2.0
    last_offsite_success:
      description: Result of the last run whose off-site copy was verified; null if none (or no remote).
      type: dict
      returned: always
      version_added: 0.2.0
    consecutive_failures:
      description: Runs since the last success that were not ok (failed or partial).
      type: int
      returned: always
      sample: 0
    consecutive_skips:
      description: Runs in a row that did not start because the previous run still ran.
      type: int
      returned: always
      sample: 0
      version_added: 0.2.0
    last_drill:
      description:
        - Result of the last restore drill (C(smgr drill)) - C(status) (ok or failed), C(archive), C(entries),
          C(bytes), C(finished), C(duration), C(error); null if the job was never drilled.
      type: dict
      returned: always
      version_added: 0.2.0
settings:
  description: The runner's paths as read from C(runner.yaml) (or their defaults).
  returned: always
  type: dict
  sample: {"state_dir": "/opt/server-manager/state", "log_dir": "/opt/server-manager/logs",
           "lock_dir": "/run/lock/smgr", "backup_root": "/var/backups/smgr", "archive_host": "web1"}
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import sha256_file
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.borg_job import listed_archives
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import (
    HAS_YAML,
    YAML_IMPORT_ERROR,
    job_to_dict,
    list_job_files,
    load_job,
    settings_to_dict,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.state import known_state, load_state
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.status import (
    archive_host,
    archives_of,
    effective_settings,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.argspec import fail_on_validation_crash
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError


def job_info(job, path, config_dir, settings, host, verify):
    known = known_state(settings.state_dir, job.name)
    # what is shown: the state as read (one that did not parse shows as empty, as in smgr status)
    state = known if known is not None else load_state(settings.state_dir, job.name)
    archives_error = None
    if job.is_borg:
        archives, archives_error = listed_archives(job, config_dir, settings.state_dir, host, known)
    else:
        archives = archives_of(job, host)
    if verify and not job.is_borg:
        for item in archives:
            item["checksum_ok"] = item["sha256"] is not None and sha256_file(item["path"]) == item["sha256"]
    return dict(
        name=job.name,
        type=job.type,
        engine=job.engine,
        repository=job.repository,
        dest=job.dest,
        remote=job.remote,
        file=path,
        definition=job_to_dict(job),
        archives=archives,
        archives_error=archives_error,
        last_run=state.get("last_run"),
        last_success=state.get("last_success"),
        last_local_success=state.get("last_local_success"),
        last_offsite_success=state.get("last_offsite_success"),
        consecutive_failures=state.get("consecutive_failures", 0),
        consecutive_skips=state.get("consecutive_skips", 0),
        last_drill=state.get("last_drill"),
    )


def main():
    spec = dict(
        config_dir=dict(type="path", default="/opt/server-manager/config"),
        name=dict(type="list", elements="str", default=[]),
        verify_checksums=dict(type="bool", default=False),
    )
    try:
        module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    except (TypeError, ValueError, OverflowError) as exc:  # ansible-core's validation crashed
        fail_on_validation_crash(AnsibleModule, spec, exc)
        raise
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    config_dir = module.params["config_dir"]
    try:
        settings = effective_settings(config_dir)
        host = archive_host(settings)
        files = list_job_files(config_dir)
        wanted = module.params["name"] or sorted(files)
        missing = [name for name in wanted if name not in files]
        if missing:
            raise SmgrError(f"no such backup job(s): {', '.join(missing)}; configured: {', '.join(files) or 'none'}")
        jobs = [
            job_info(
                load_job(config_dir, name, settings.backup_root),
                files[name],
                config_dir,
                settings,
                host,
                module.params["verify_checksums"],
            )
            for name in wanted
        ]
    except SmgrError as exc:
        module.fail_json(msg=str(exc))
    settings_view = settings_to_dict(settings)
    settings_view["archive_host"] = host
    module.exit_json(changed=False, jobs=jobs, settings=settings_view, config_dir=os.path.abspath(config_dir))


if __name__ == "__main__":
    main()
