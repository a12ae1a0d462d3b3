# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A generated fleet, as the report playbook gathers it (smgr_schedule_info, smgr_backup_info and health results
per host): for the report's tests and its bench row. Deterministic for a seed."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.cron import describe, expand_schedule

SCHEDULES = ["17 2 * * *", "H H(1-4) * * *", "0 */6 * * *", "30 3 * * 0", "45 * * * *", "5 4 1,15 * *"]


def gathered_host(name: str, jobs: int, now: datetime, rng: random.Random, offset_hours: int = 0) -> dict[str, Any]:
    zone = timezone(timedelta(hours=offset_hours))
    schedules, backups = [], []
    for index in range(jobs):
        kind = ["backup"] * 6 + ["cleanup", "health", "drill", "other"]
        entry_kind = kind[index % len(kind)]
        job = f"job{index}"
        entry = {"backup": f"backup-{job}", "cleanup": "cleanup", "health": "health", "drill": "drill"}.get(
            entry_kind, f"extra{index}"
        )
        schedule = SCHEDULES[rng.randrange(len(SCHEDULES))]
        expression = expand_schedule(schedule, name, entry)  # H fields hashed per host, as smgr_schedule does
        schedules.append(
            {
                "name": entry,
                "schedule": schedule,
                "expression": expression,
                "description": describe(expression),
                "next_runs": [(now + timedelta(hours=1)).astimezone(zone).isoformat()],
                "command": f"/opt/server-manager/bin/smgr backup {job}",
                "disabled": False,
            }
        )
        if entry_kind == "backup":
            status = rng.choice(["ok"] * 8 + ["failed", "partial"])
            finished = now - timedelta(hours=rng.randint(1, 40))
            archives = [
                {
                    "time": f"{(finished - timedelta(days=day)):%Y-%m-%dT%H:%M:%SZ}",
                    "size": 10_000_000 + rng.randint(0, 10**6) * day,
                }
                for day in range(rng.randint(2, 14))
            ]
            backups.append(
                {
                    "name": job,
                    "type": rng.choice(["nginx", "paths", "mailcow", "npm"]),
                    "remote": "backup@vault.example.com:/srv/backups" if index % 2 == 0 else None,
                    "definition": {"remote_port": 22},
                    "archives": archives,
                    "last_run": {"status": status, "finished": f"{finished:%Y-%m-%dT%H:%M:%SZ}", "duration": 300.0},
                    "last_success": {"finished": f"{finished:%Y-%m-%dT%H:%M:%SZ}", "duration": 280.0},
                    "last_offsite_success": {"finished": f"{finished:%Y-%m-%dT%H:%M:%SZ}"} if index % 4 == 0 else None,
                    "last_drill": {
                        "status": rng.choice(["ok", "failed"]),
                        "finished": f"{finished:%Y-%m-%dT%H:%M:%SZ}",
                    },
                }
            )
    return {
        "host": name,
        "scheduler": "cron",
        "schedules": schedules,
        "backups": backups,
        "health": {"ok": True, "problems": []},
    }


def generated_fleet(hosts: int, jobs: int, now: datetime, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [gathered_host(f"host{index:03d}.example.com", jobs, now, rng, index % 3 - 1) for index in range(hosts)]
