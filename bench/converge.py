# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""B1/B2: the example profile on a fleet of local-connection hosts, ours against the plain-playbook baseline;
B10: the same profile with ``smgr_scheduler: systemd`` against ours with cron (module runs per host, time).

Ours is ``ansible-playbook smgr.server_manager.site`` with the example inventory's group_vars
(examples/inventory/group_vars/all.yml, copied unchanged); the baseline is bench/baseline/profile.yml with the
same inventory. Each host is ``ansible_connection: local`` with a prefix of its own, so every host writes its
own tree; forks are Ansible's default (5). B2 is the first run into empty prefixes; B1 is the fastest of
the runs after it (``Settings.repeats``, ours and the baseline alternating, as B4 does), each of which must
change nothing: one 7-second run on this 2-core VM with neighbours moves by 20 %. Both sides skip package
installation (``smgr_install_packages: false``; the baseline has no apt task): all "hosts" are this one
machine.
"""

from __future__ import annotations

import functools
import shutil
import sys
from pathlib import Path

from ansible_run import PlaybookResult, playbook, write_local_inventory
from common import BENCH_DIR, ROOT, Row, Settings, best_of, log, seconds

from ansible_collections.smgr.server_manager.plugins.module_utils._runner.build import runner_bytes

EXAMPLE_GROUP_VARS = ROOT / "examples" / "inventory" / "group_vars" / "all.yml"
OURS_PLAYBOOK = "smgr.server_manager.site"
BASELINE_PLAYBOOK = BENCH_DIR / "baseline" / "profile.yml"


def _inventory(directory: Path, prefixes: Path, hosts: int, runner: Path, **extra: object) -> Path:
    """``hosts`` hosts with their own prefix, plus what makes the example run here (as scripts/demo.sh sets)."""
    (directory / "group_vars").mkdir(parents=True)
    shutil.copy(EXAMPLE_GROUP_VARS, directory / "group_vars" / "all.yml")
    host_vars = {}
    for index in range(1, hosts + 1):
        name = f"host{index:02d}"
        prefix = prefixes / name
        for data in ("etc/nginx", "etc/letsencrypt", "srv/app"):
            (prefix / data).mkdir(parents=True)
        (prefix / "etc/nginx/nginx.conf").write_text("events {}\nhttp {}\n")
        host_vars[name] = {
            "smgr_prefix": str(prefix),
            "smgr_install_packages": False,
            "smgr_migrate_tui": False,  # every "host" is this machine, whose root crontab is not the TUI's
            "ansible_become": False,
            "vault_smgr_smtp_password": "bench-password",
            "bench_runner_file": str(runner),
            **extra,
        }
    return write_local_inventory(directory / "hosts.json", host_vars)


def _first_run(name: str, target: Path | str, inventory: Path, work: Path) -> PlaybookResult:
    first = playbook(target, inventory, work)
    if first.changed == 0:
        raise RuntimeError(f"{name}: the first run changed nothing")
    return first


def _no_change_run(name: str, target: Path | str, inventory: Path, work: Path) -> PlaybookResult:
    again = playbook(target, inventory, work)
    if again.changed != 0:
        raise RuntimeError(f"{name}: a run after the first changed {again.changed} task result(s)")
    return again


def _no_change_runs(sides: list[tuple[str, Path | str, Path]], work: Path, repeats: int) -> list[PlaybookResult]:
    """The fastest of ``repeats`` no-change runs of each side, the sides alternating; every run must change
    nothing."""
    runs = [functools.partial(_no_change_run, name, target, inventory, work) for name, target, inventory in sides]
    return best_of(repeats, *runs, key=lambda result: result.wall)


def _cell(result: PlaybookResult) -> str:
    return f"{seconds(result.wall)}, {result.round_trips_per_host:.0f} module runs/host"


def run_converge_rows(work: Path, settings: Settings) -> list[Row]:
    runner = work / "smgr-runner"
    runner.write_bytes(runner_bytes(sys.executable))
    no_change: list[Row] = []
    first_runs: list[Row] = []
    timers_rows: list[Row] = []
    for hosts in settings.fleet_sizes:
        fleet = work / f"fleet{hosts}"
        ours_inventory = _inventory(fleet / "ours-inventory", fleet / "ours", hosts, runner)
        base_inventory = _inventory(fleet / "baseline-inventory", fleet / "baseline", hosts, runner)
        log(f"B1/B2: {hosts} hosts, first runs of smgr.server_manager.site and of the baseline playbook")
        ours_first = _first_run("ours", OURS_PLAYBOOK, ours_inventory, fleet)
        base_first = _first_run("baseline", BASELINE_PLAYBOOK, base_inventory, fleet)
        sides = [("ours", OURS_PLAYBOOK, ours_inventory), ("baseline", BASELINE_PLAYBOOK, base_inventory)]
        if hosts == settings.fleet_sizes[0]:
            timers_inventory = _inventory(
                fleet / "timers-inventory", fleet / "timers", hosts, runner, smgr_scheduler="systemd"
            )
            log(f"B10: {hosts} hosts, first run of smgr.server_manager.site with smgr_scheduler: systemd")
            _first_run("ours, systemd timers", OURS_PLAYBOOK, timers_inventory, fleet)
            sides.append(("ours, systemd timers", OURS_PLAYBOOK, timers_inventory))
        log(f"B1/B10: {hosts} hosts, no-change runs, best of {settings.repeats}, the sides alternating")
        ours_again, base_again, *timers_runs = _no_change_runs(sides, fleet, settings.repeats)
        ratio = ours_again.wall / base_again.wall
        no_change.append(
            Row(
                "B1",
                f"no-change converge of the example profile, {hosts} hosts (wall time)",
                _cell(ours_again),
                _cell(base_again),
                f"{ratio:.2f} x time",
                "≤ 0.35",
                ratio <= 0.35,
                [
                    f"fastest of {settings.repeats} no-change runs each, ours and the baseline alternating",
                    f"play time without ansible-playbook start-up: {ours_again.play:.2f} s vs {base_again.play:.2f} s",
                    f"ours, slowest tasks: {ours_again.slowest_tasks()}",
                    f"baseline, slowest tasks: {base_again.slowest_tasks()}",
                ],
            )
        )
        if timers_runs:
            timers_again = timers_runs[0]
            runs, cron_runs = timers_again.round_trips_per_host, ours_again.round_trips_per_host
            timers_rows.append(
                Row(
                    "B10",
                    f"no-change converge with smgr_scheduler: systemd, {hosts} hosts (module runs per host)",
                    _cell(timers_again),
                    _cell(ours_again) + " (cron)",
                    f"{runs:.0f} vs {cron_runs:.0f} module runs/host, {timers_again.wall / ours_again.wall:.2f} x time",
                    "≤ cron's runs",
                    runs <= cron_runs,
                    [
                        "under a prefix systemd does not read: unit files written, no systemctl (as in the demo); "
                        "the systemctl side is measured by nothing here and tested in the Molecule scenario timers"
                    ],
                )
            )
        ratio = ours_first.wall / base_first.wall
        first_runs.append(
            Row(
                "B2",
                f"first converge of the example profile, {hosts} hosts (wall time)",
                _cell(ours_first),
                _cell(base_first),
                f"{ratio:.2f} x time",
                "≤ 0.5",
                ratio <= 0.5,
                [f"play time without ansible-playbook start-up: {ours_first.play:.2f} s vs {base_first.play:.2f} s"],
            )
        )
        shutil.rmtree(fleet)
    return no_change + first_runs + timers_rows
