# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Where managed cron entries live: shared by smgr_schedule and smgr_schedule_info.
    DOCUMENTATION = r"""
options:
  cron_file:
    description:
      - Cron file owned by this module, in the system cron format (with a user field).
      - Its name must be valid for C(run-parts), that is letters, digits, V(_) and V(-) only. Debian's cron
        silently ignores files with a dot in their name.
      - Ignored when O(crontab_user) is set.
    type: path
    default: /etc/cron.d/smgr
  crontab_user:
    description:
      - Manage a marked block inside this user's crontab through C(crontab(1)) instead of O(cron_file).
      - Every line outside the block is kept byte for byte, including C(ansible.builtin.cron)'s C(#Ansible:) entries.
      - The block is kept at the end of the crontab, so its environment lines cannot change the environment
        of the user's own entries.
    type: str
  next_runs:
    description:
      - How many next run times to return per job (0 to 100), computed in the host's local time zone.
    type: int
    default: 3
"""
