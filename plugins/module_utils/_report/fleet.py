# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report's data: what every host runs when, how its jobs did, and where runs collide.

Input is what the ``report`` playbook gathers per host (``smgr_schedule_info``, ``smgr_backup_info`` and
``smgr health --json`` results, or why they are missing); output is plain JSON-able data, times in UTC. The runs
of the next days are expanded on the controller from each entry's expression in the host's UTC offset (read from
its next run), as cron and the timers read it; a host that could not be read is kept, marked, with no entries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.cron import REBOOT, cron_times

WINDOW_DAYS = 7
COLLISION_WINDOW_MINUTES = 10
MAX_RUNS_PER_ENTRY = 7 * 24 * 12  # every 5 minutes for a week; more often is drawn as a band
SIZE_POINTS = 14
DEFAULT_MAX_AGE_HOURS = 26
BACKUP_PREFIX = "backup-"
_REMOTE_HOST_RE = re.compile(r"^(?:[^@/]+@)?(\[[^\]]+\]|[^:/]+):")


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time of the gathered data (``Z`` or an offset; none means UTC), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def utc_text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def expand_runs(expression: str, offset: timedelta, start: datetime, end: datetime) -> list[datetime]:
    """The starts of ``expression`` (cron's reading, in a zone ``offset`` from UTC) from ``start`` to ``end``."""
    if expression.strip() == REBOOT:
        return []
    times = cron_times(expression)
    zone = timezone(offset)
    local = start.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
    end_local = end.astimezone(zone)
    runs: list[datetime] = []
    day = local.date()
    while day <= end_local.date() and len(runs) < MAX_RUNS_PER_ENTRY:
        if day.month in times.months and times.runs_on(day):
            for hour in sorted(times.hours):
                for minute in sorted(times.minutes):
                    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                    if local <= moment <= end_local:
                        runs.append(moment.astimezone(timezone.utc))
        day += timedelta(days=1)
    return runs[:MAX_RUNS_PER_ENTRY]


def _offset_of(entry: Mapping[str, Any]) -> timedelta:
    for run in entry.get("next_runs") or ():
        moment = parse_time(run)
        if moment is not None and moment.utcoffset() is not None:
            return moment.utcoffset() or timedelta(0)
    return timedelta(0)


def remote_target(job: Mapping[str, Any]) -> str | None:
    """``host:port`` of a job's off-site copy (the backup server several hosts may write to), if it has one."""
    remote = str(job.get("remote") or "")
    match = _REMOTE_HOST_RE.match(remote)
    if not match:
        return None
    host = match.group(1)
    port = (job.get("definition") or {}).get("remote_port") or 22
    return f"{host}:{port}"


def _durations(job: Mapping[str, Any]) -> list[float]:
    """The durations of the job's recorded runs (each run once, though it may be several of these records)."""
    found: dict[str, float] = {}
    for key in ("last_run", "last_success", "last_local_success", "last_offsite_success"):
        run = job.get(key) or {}
        duration = run.get("duration")
        if isinstance(duration, (int, float)) and not isinstance(duration, bool) and duration >= 0:
            found[str(run.get("finished") or key)] = float(duration)
    return list(found.values())


def _typical_duration(job: Mapping[str, Any]) -> float | None:
    durations = sorted(_durations(job))
    return durations[len(durations) // 2] if durations else None


def _kind(name: str) -> str:
    if name.startswith(BACKUP_PREFIX):
        return "backup"
    return name if name in ("cleanup", "health", "drill") else "other"


def _backup_details(job: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    last = job.get("last_run") or {}
    last_success = parse_time((job.get("last_success") or {}).get("finished"))
    max_age = (job.get("definition") or {}).get("max_age_hours") or DEFAULT_MAX_AGE_HOURS
    age = None if last_success is None else round((now - last_success).total_seconds() / 3600, 1)
    archives = sorted(job.get("archives") or (), key=lambda item: str(item.get("time")))
    sizes = [[item.get("time"), item.get("size")] for item in archives if isinstance(item.get("size"), int)]
    target = remote_target(job)
    offsite = parse_time((job.get("last_offsite_success") or {}).get("finished"))
    drill = job.get("last_drill") or {}
    return {
        "type": job.get("type"),
        "last_status": last.get("status") or "never",
        "last_finished": utc_text(parse_time(last.get("finished"))),
        "last_error": last.get("error"),
        "age_hours": age,
        "stale": age is None or age > float(max_age),
        "sizes": sizes[-SIZE_POINTS:],
        "archives": len(archives),
        "target": target,
        "offsite": "none configured" if target is None else ("ok" if offsite else "never"),
        "offsite_last": utc_text(offsite),
        "drill": drill.get("status") or "never",
        "drill_last": utc_text(parse_time(drill.get("finished"))),
        "duration": _typical_duration(job),
    }


def host_entries(host: Mapping[str, Any], now: datetime, end: datetime) -> list[dict[str, Any]]:
    backups = {str(job.get("name")): job for job in host.get("backups") or ()}
    entries = []
    for schedule in sorted(host.get("schedules") or (), key=lambda item: str(item.get("name"))):
        name = str(schedule.get("name"))
        kind = _kind(name)
        disabled = bool(schedule.get("disabled"))
        try:
            runs = [] if disabled else expand_runs(str(schedule.get("expression")), _offset_of(schedule), now, end)
        except SmgrError:
            runs = []
        entry: dict[str, Any] = {
            "name": name,
            "kind": kind,
            "job": name[len(BACKUP_PREFIX) :] if kind == "backup" else None,
            "schedule": schedule.get("schedule"),
            "expression": schedule.get("expression"),
            "description": schedule.get("description"),
            "command": schedule.get("command"),
            "disabled": disabled,
            "next_run": utc_text(runs[0]) if runs else None,
            "runs": [utc_text(run) for run in runs],
            "duration": None,
        }
        job = backups.get(entry["job"] or "")
        if job is not None:
            entry.update(_backup_details(job, now))
        entry["states"] = entry_states(entry)
        entries.append(entry)
    return entries


def entry_states(entry: Mapping[str, Any]) -> list[str]:
    """What the summary counts and the page's state filter matches: failing or ok, stale, no-offsite,
    drill-failed, disabled."""
    states = []
    if entry["kind"] == "backup":
        states.append("failing" if entry.get("last_status") not in ("ok", "never", None) else "ok")
        if entry.get("stale"):
            states.append("stale")
        if entry.get("offsite") != "ok":
            states.append("no-offsite")
        if entry.get("drill") == "failed":
            states.append("drill-failed")
    else:
        states.append("ok")
    if entry.get("disabled"):
        states.append("disabled")
    return states


def _state(host: Mapping[str, Any]) -> str:
    if host.get("unreachable"):
        return "unreachable"
    if host.get("error"):
        return "no runner" if host.get("no_runner") else "error"
    return "ok"


def _group(found: dict[tuple[Any, ...], list[str]], kind: str, target: str | None, members: tuple, when: str) -> None:
    found.setdefault((kind, target, members), []).append(when)


def find_collisions(hosts: Iterable[Mapping[str, Any]], window_minutes: int) -> list[dict[str, Any]]:
    """Entries of one host that start in the same minute, and backups of different hosts that write to one target
    within ``window_minutes`` of each other. The same entries colliding again are one collision: its first time,
    and how often it happens in the window."""
    found: dict[tuple[Any, ...], list[str]] = {}
    by_target: dict[str, list[tuple[datetime, str, str]]] = {}
    for host in hosts:
        minutes: dict[str, list[str]] = {}
        for entry in host["entries"]:
            for run in entry["runs"]:
                minutes.setdefault(run, []).append(entry["name"])
            if entry.get("target") and entry["kind"] == "backup":
                for run in entry["runs"]:
                    moment = parse_time(run)
                    if moment is not None:
                        by_target.setdefault(entry["target"], []).append((moment, host["name"], entry["name"]))
        for minute, names in sorted(minutes.items()):
            if len(names) > 1:
                _group(found, "same minute", None, tuple((host["name"], name) for name in sorted(names)), minute)
    window = timedelta(minutes=window_minutes)
    for target, runs in sorted(by_target.items()):
        runs.sort()
        index = 0
        while index < len(runs):
            probe = index + 1
            while probe < len(runs) and runs[probe][0] - runs[index][0] <= window:
                probe += 1
            group = runs[index:probe]
            if len({host for _when, host, _entry in group}) > 1:
                members = tuple(sorted({(host, entry) for _when, host, entry in group}))
                _group(found, "shared target", target, members, utc_text(group[0][0]) or "")
                index = probe
            else:
                index += 1
    collisions = [
        {
            "kind": kind,
            "time": min(times),
            "count": len(times),
            "members": [list(member) for member in members],
            "target": target,
        }
        for (kind, target, members), times in found.items()
    ]
    return sorted(collisions, key=lambda item: (item["time"], item["kind"], item["members"]))


def build_report(
    hosts: Iterable[Mapping[str, Any]],
    now: datetime | None = None,
    window_days: int = WINDOW_DAYS,
    collision_window_minutes: int = COLLISION_WINDOW_MINUTES,
) -> dict[str, Any]:
    """The report's data from the gathered hosts (see the module docstring)."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    end = now + timedelta(days=window_days)
    report_hosts = []
    for host in sorted(hosts, key=lambda item: str(item.get("host"))):
        state = _state(host)
        health = host.get("health") or None
        report_hosts.append(
            {
                "name": str(host.get("host")),
                "state": state,
                "error": host.get("error"),
                "scheduler": host.get("scheduler") or "cron",
                "health": None
                if health is None
                else {"ok": bool(health.get("ok")), "problems": health.get("problems") or []},
                "entries": host_entries(host, now, end) if state == "ok" else [],
            }
        )
    collisions = find_collisions(report_hosts, collision_window_minutes)
    backups = [entry for host in report_hosts for entry in host["entries"] if entry["kind"] == "backup"]
    summary = {
        "hosts": len(report_hosts),
        "unreachable": sum(host["state"] != "ok" for host in report_hosts),
        "jobs": sum(len(host["entries"]) for host in report_hosts),
        "backups": len(backups),
        "failing": sum("failing" in entry["states"] for entry in backups),
        "stale": sum("stale" in entry["states"] for entry in backups),
        "no_offsite": sum("no-offsite" in entry["states"] for entry in backups),
        "drills_failed": sum("drill-failed" in entry["states"] for entry in backups),
        "collisions": len(collisions),
    }
    return {
        "generated": utc_text(now),
        "window_days": window_days,
        "collision_window_minutes": collision_window_minutes,
        "summary": summary,
        "hosts": report_hosts,
        "collisions": collisions,
    }
