# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bench-only callback: play time, per-host results and module round trips, written as JSON."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.action import ActionBase
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: bench_stats
type: aggregate
short_description: Time the play and count module executions per host (bench only)
description:
  - Writes a JSON summary to E(BENCH_STATS_FILE) when the playbook ends, with the time from the first play's start
    to the end, the ok/changed/failed counts per host, and the time of each task (from its start to the next
    task's start, all hosts together).
  - Every module execution (one transfer and run of a module on a host, including those an action plugin makes
    on its own, such as the C(stat) that C(copy) and C(template) run first) appends a line to
    E(BENCH_ROUNDTRIP_LOG); worker processes are forked, so the counting wrapper is inherited.
requirements:
  - enabled with C(ANSIBLE_CALLBACKS_ENABLED=bench_stats)
"""

_ORIGINAL_EXECUTE_MODULE = ActionBase._execute_module


def _counting_execute_module(self, module_name=None, module_args=None, tmp=None, task_vars=None, *args, **kwargs):
    path = os.environ.get("BENCH_ROUNDTRIP_LOG")
    if path:
        host = (task_vars or {}).get("inventory_hostname") or self._play_context.remote_addr or "?"
        line = f"{host}\t{module_name or self._task.action}\n".encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    return _ORIGINAL_EXECUTE_MODULE(self, module_name, module_args, tmp, task_vars, *args, **kwargs)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_stats"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        ActionBase._execute_module = _counting_execute_module
        self._started = None
        self._tasks = []  # [name, started]

    def v2_playbook_on_play_start(self, play):
        if self._started is None:
            self._started = time.perf_counter()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._tasks.append([task.get_name(), time.perf_counter()])

    def v2_playbook_on_handler_task_start(self, task):
        self._tasks.append([task.get_name(), time.perf_counter()])

    def v2_playbook_on_stats(self, stats):
        ended = time.perf_counter()
        path = os.environ.get("BENCH_STATS_FILE")
        if not path:
            return
        hosts = {host: stats.summarize(host) for host in sorted(stats.processed)}
        ends = [started for _name, started in self._tasks[1:]] + [ended]
        tasks = [[name, end - started] for (name, started), end in zip(self._tasks, ends)]
        with open(path, "w") as handle:
            json.dump({"play_seconds": ended - (self._started or ended), "hosts": hosts, "tasks": tasks}, handle)
