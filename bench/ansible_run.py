# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run ansible-playbook as a user would, with the bench_stats callback counting time and module round trips."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from common import BENCH_DIR, COLLECTIONS, VENV_BIN, run


@dataclass
class PlaybookResult:
    wall: float  # the whole ansible-playbook process
    play: float  # first play start to the end (no interpreter start, no inventory parsing)
    changed: int
    failed: int
    hosts: int
    round_trips: dict[str, int]  # module executions per host
    tasks: list[tuple[str, float]]  # (task name, seconds) in the order they ran

    def slowest_tasks(self, count: int = 4) -> str:
        ranked = sorted(self.tasks, key=lambda task: task[1], reverse=True)[:count]
        return ", ".join(f"{name} {duration:.2f} s" for name, duration in ranked)

    @property
    def round_trips_per_host(self) -> float:
        return sum(self.round_trips.values()) / max(1, len(self.round_trips))


def write_local_inventory(path: Path, hosts: dict[str, dict[str, object]]) -> Path:
    """A YAML inventory (JSON is YAML) of local-connection hosts using this interpreter."""
    inventory = {
        "all": {
            "hosts": hosts,
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        }
    }
    path.write_text(json.dumps(inventory, indent=2) + "\n")
    return path


def playbook(
    playbook_path: Path | str,
    inventory: Path,
    work: Path,
    extra_vars: dict[str, object] | None = None,
    extra_args: Sequence[str] = (),
) -> PlaybookResult:
    """One ``ansible-playbook`` run with default forks and no ansible.cfg; raises when a task failed."""
    stats_file = work / "stats.json"
    round_trip_log = work / "roundtrips.log"
    for path in (stats_file, round_trip_log):
        path.unlink(missing_ok=True)
    tmp = work / "ansible-tmp"
    tmp.mkdir(exist_ok=True)
    env = {
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_CALLBACK_PLUGINS": str(BENCH_DIR / "plugins" / "callback"),
        "ANSIBLE_CALLBACKS_ENABLED": "bench_stats",
        "ANSIBLE_LOCAL_TEMP": str(tmp / "local"),
        "ANSIBLE_REMOTE_TEMP": str(tmp / "remote"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "BENCH_STATS_FILE": str(stats_file),
        "BENCH_ROUNDTRIP_LOG": str(round_trip_log),
    }
    command = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(playbook_path), *extra_args]
    if extra_vars:
        vars_file = work / "extra-vars.json"
        vars_file.write_text(json.dumps(extra_vars))
        command += ["-e", f"@{vars_file}"]
    started = time.perf_counter()
    completed = run(command, env=env, cwd=work, check=False)
    wall = time.perf_counter() - started
    if completed.returncode != 0 or not stats_file.exists():
        raise RuntimeError(
            f"ansible-playbook {playbook_path} exited {completed.returncode}:\n{completed.stdout[-4000:]}\n"
            f"{completed.stderr[-2000:]}"
        )
    stats = json.loads(stats_file.read_text())
    hosts = stats["hosts"]
    trips: Counter = Counter()
    if round_trip_log.exists():
        for line in round_trip_log.read_text().splitlines():
            trips[line.split("\t", 1)[0]] += 1
    return PlaybookResult(
        wall=wall,
        play=stats["play_seconds"],
        changed=sum(host["changed"] for host in hosts.values()),
        failed=sum(host["failures"] + host["unreachable"] for host in hosts.values()),
        hosts=len(hosts),
        round_trips={host: trips.get(host, 0) for host in hosts},
        tasks=[tuple(task) for task in stats.get("tasks", [])],
    )
