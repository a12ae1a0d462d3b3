# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report as one self-contained HTML page: inline CSS, inline SVG, a little inline JavaScript.

No URL of any kind: it opens from a file or a mail attachment, offline. Everything is readable with JavaScript
off (times in UTC, every table shown); the script only adds the filters and shows times in the viewer's zone
(UTC stays in each time's title). Every value from the data is HTML-escaped, so a job named ``<script>`` stays
text. Colour is never the only signal: states carry a symbol and a word, the calendar has a text alternative
(the tables list the same schedules and next runs).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from ansible_collections.smgr.server_manager.plugins.module_utils._common.sysinfo import human_bytes

DAY_MINUTES = 1440
LABEL_WIDTH = 170.0
PLOT_WIDTH = 980.0
LANE_HEIGHT = 16.0
HEADER_HEIGHT = 22.0
MIN_RUN_MINUTES = 20  # a run is drawn at least this long, to be seen on a week's width
STATE_WORDS = {
    "ok": ("\u2714", "ok"),
    "failed": ("\u2716", "failed"),
    "partial": ("\u26a0", "partial"),
    "skipped": ("\u2016", "skipped"),
    "already_running": ("\u2016", "skipped"),
    "never": ("\u2013", "never ran"),
    "disabled": ("\u2016", "disabled"),
}
HOST_STATES = {
    "ok": ("\u2714", "reachable"),
    "unreachable": ("\u2716", "unreachable"),
    "no runner": ("\u2716", "no runner"),
    "error": ("\u2716", "not readable"),
}
COLUMNS = ("Job", "Schedule", "Next run", "Last result", "Age", "Size trend", "Off-site", "Drill")
LEGEND = (("backup", "#1f6fb2"), ("cleanup", "#7a4fb0"), ("health", "#2e8b57"), ("drill", "#b8860b"), ("other", "#666"))
DASH = "\u2013"
WARN_SIGN = '<i aria-hidden="true">\u26a0</i>'

CSS = """
:root{--ok:#1e7e34;--bad:#b02a37;--warn:#8a5300;--muted:#555;--line:#d0d0d0;font-family:system-ui,sans-serif}
body{margin:1rem auto;max-width:80rem;padding:0 1rem;color:#111;line-height:1.4}
h1{font-size:1.6rem;margin:.2rem 0}
h2{font-size:1.25rem;margin-top:1.6rem}
h3{font-size:1.05rem;margin:1.2rem 0 .3rem}
table{border-collapse:collapse;margin:.4rem 0;font-size:.9rem}
th,td{border:1px solid var(--line);padding:.2rem .45rem;text-align:left;vertical-align:top}
thead th{background:#f1f3f5}
caption{text-align:left;font-weight:600;padding:.2rem 0}
.wrap{overflow-x:auto}
.summary td{font-variant-numeric:tabular-nums;text-align:right}
.st-ok{color:var(--ok)}
.st-bad{color:var(--bad);font-weight:600}
.st-warn{color:var(--warn);font-weight:600}
.st-muted{color:var(--muted)}
i{font-style:normal}
code{font-size:.85em;background:#f4f4f4;padding:0 .2em;overflow-wrap:anywhere}
.filters{display:flex;flex-wrap:wrap;gap:.6rem 1.2rem;align-items:end;padding:.6rem;background:#f7f7f9}
.filters label{display:flex;flex-direction:column;font-size:.85rem}
svg.calendar{width:100%;height:auto;border:1px solid var(--line);background:#fff}
svg .day{stroke:#e2e2e2}
svg .lane-label,svg .day-label{font-size:11px;fill:#222}
svg .runs{fill:none;stroke-width:11}
svg .k-backup{stroke:#1f6fb2;stroke-opacity:.75}
svg .k-cleanup{stroke:#7a4fb0;stroke-opacity:.7}
svg .k-health{stroke:#2e8b57;stroke-opacity:.6}
svg .k-drill{stroke:#b8860b;stroke-opacity:.7}
svg .k-other{stroke:#666;stroke-opacity:.6}
svg .collision-mark{fill:var(--bad);stroke:#fff;stroke-width:1}
svg .lane-bad{fill:#fbe9eb}
.legend span{margin-right:1rem;white-space:nowrap}
.sw{display:inline-block;width:.9em;height:.9em;vertical-align:-.1em;margin-right:.25em}
svg.spark{width:64px;height:16px;vertical-align:middle}
svg.spark polyline{fill:none;stroke:#1f6fb2;stroke-width:15}
[hidden]{display:none!important}
@media print{.filters{display:none}}
"""

SCRIPT = """
(function(){
  function pad(n){return (n<10?'0':'')+n;}
  var zones={},names=null;
  try{names=new Intl.DateTimeFormat(undefined,{timeZoneName:'short'});}catch(e){}
  function zone(d){
    var key=d.getTimezoneOffset();
    if(!(key in zones)){
      zones[key]='';
      try{zones[key]=' '+names.formatToParts(d).filter(function(x){return x.type==='timeZoneName';})[0].value;}
      catch(e){}
    }
    return zones[key];
  }
  function local(d){
    return d.getFullYear()+'-'+pad(d.getMonth()+1)+'-'+pad(d.getDate())+' '+pad(d.getHours())+':'
      +pad(d.getMinutes())+zone(d);
  }
  document.querySelectorAll('time[datetime]').forEach(function(t){
    var d=new Date(t.getAttribute('datetime'));
    if(!isNaN(d)){t.title=t.textContent;t.textContent=local(d);}
  });
  document.getElementById('filters').hidden=false;
  var host=document.getElementById('f-host'),job=document.getElementById('f-job');
  var state=document.getElementById('f-state'),out=document.getElementById('f-count');
  function matches(el,h,j){
    var owner=el.closest('[data-host]');
    return (!h||owner.dataset.host===h)&&(!j||el.dataset.job.toLowerCase().indexOf(j)>=0);
  }
  function apply(){
    var h=host.value,j=job.value.trim().toLowerCase(),s=state.value,shown=0;
    document.querySelectorAll('tr.entry').forEach(function(r){
      var ok=matches(r,h,j)&&(!s||(' '+r.dataset.states+' ').indexOf(' '+s+' ')>=0);
      r.hidden=!ok;
      if(ok){shown++;}
    });
    document.querySelectorAll('section.host').forEach(function(sec){
      var empty=!!(j||s)&&!sec.querySelector('tr.entry:not([hidden])');
      sec.hidden=(!!h&&sec.dataset.host!==h)||empty;
    });
    document.querySelectorAll('svg.calendar .runs').forEach(function(p){
      p.style.display=matches(p,h,j)?'':'none';
    });
    out.textContent=shown+' job(s) shown';
  }
  [host,job,state].forEach(function(e){
    e.addEventListener('input',apply);
    e.addEventListener('change',apply);
  });
  apply();
})();
"""

FILTERS = (
    '<label>Job<input id="f-job" type="search" placeholder="name contains"></label>'
    '<label>State<select id="f-state"><option value="">any state</option>'
    '<option value="failing">failing</option><option value="stale">stale</option>'
    '<option value="no-offsite">no off-site copy</option><option value="drill-failed">drill failed</option>'
    '<option value="ok">ok</option></select></label><output id="f-count" aria-live="polite"></output>'
)


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _parse(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def time_tag(value: str | None, empty: str = DASH) -> str:
    """A time in UTC as text, converted to the viewer's zone by the script; UTC stays in the title."""
    if not value:
        return esc(empty)
    shown = _parse(value).strftime("%Y-%m-%d %H:%M UTC")
    return f'<time datetime="{esc(value)}">{esc(shown)}</time>'


def _state_cell(key: str, extra: str = "") -> str:
    symbol, word = STATE_WORDS.get(key, ("?", key))
    css = {"ok": "st-ok", "failed": "st-bad", "partial": "st-warn", "skipped": "st-warn"}.get(key, "st-muted")
    return f'<span class="{css}"><i aria-hidden="true">{symbol}</i> {esc(word)}{esc(extra)}</span>'


def sparkline(sizes: Sequence[Sequence[Any]]) -> str:
    """The sizes of the last archives as a small line, with its words for screen readers."""
    values = [int(size) for _time, size in sizes if isinstance(size, int)]
    if len(values) < 2:
        return human_bytes(values[-1]) if values else DASH
    low, high = min(values), max(values)
    span = (high - low) or 1
    step = 600 / (len(values) - 1)
    points = " ".join(f"{20 + i * step:.0f},{140 - (value - low) * 120 / span:.0f}" for i, value in enumerate(values))
    first, last = human_bytes(values[0]), human_bytes(values[-1])
    label = f"sizes of the last {len(values)} archives: {first} to {last}"
    return (
        f'<svg class="spark" viewBox="0 0 640 160" role="img"><title>{esc(label)}</title>'
        f'<polyline points="{points}"/></svg> {esc(last)}'
    )


def _x(moment: datetime, start: datetime, window_minutes: int) -> float:
    return LABEL_WIDTH + (moment - start).total_seconds() / 60 * PLOT_WIDTH / window_minutes


def _runs_path(runs: Sequence[str], duration: float | None, y: float, start: datetime) -> tuple[str, str | None]:
    """Every run as a horizontal stroke as long as the typical duration, in minutes from the start (the plot group
    scales minutes to the width). Runs at a constant interval (hourly, daily, every 6 hours ...) are one dashed
    stroke, others relative moves: one short path per entry keeps a page of 200 hosts small."""
    width = max(MIN_RUN_MINUTES, round((duration or 0) / 60))
    minutes = [round((_parse(run) - start).total_seconds() / 60) for run in runs]
    gaps = {later - earlier for earlier, later in zip(minutes, minutes[1:])}
    if len(minutes) > 2 and len(gaps) == 1 and min(gaps) > width:
        gap = gaps.pop()
        return f"M{minutes[0]} {y:g}h{(len(minutes) - 1) * gap + width}", f"{width} {gap - width}"
    parts = []
    pen = None
    for x in minutes:
        parts.append(f"M{x} {y:g}h{width}" if pen is None else f"m{x - pen} 0h{width}")
        pen = x + width
    return "".join(parts), None


def _lane(host: Mapping[str, Any], y: float, start: datetime, window_minutes: int) -> str:
    name = host["name"]
    lane = [f'<g class="lane" data-host="{esc(name)}">']
    if host["state"] != "ok":
        lane.append(
            f'<rect class="lane-bad" x="{LABEL_WIDTH:.0f}" y="{y + 1:.1f}" width="{PLOT_WIDTH:.0f}" '
            f'height="{LANE_HEIGHT - 2:.0f}"/>'
        )
    word = HOST_STATES.get(host["state"], ("?", host["state"]))[1]
    label = name if host["state"] == "ok" else f"{name} ({word})"
    lane.append(f'<text class="lane-label" x="4" y="{y + 12:.1f}">{esc(label[:28])}<title>{esc(label)}</title></text>')
    plot = []
    for entry in host["entries"]:
        if not entry["runs"]:
            continue
        path, dashes = _runs_path(entry["runs"], entry.get("duration"), y + LANE_HEIGHT / 2, start)
        dashed = f' stroke-dasharray="{dashes}"' if dashes else ""
        when = entry.get("description") or entry.get("expression")
        tip = f"{entry['name']}: {when} ({len(entry['runs'])} runs)"
        plot.append(
            f'<path class="runs k-{esc(entry["kind"])}" data-job="{esc(entry["name"])}" d="{path}"{dashed}>'
            f"<title>{esc(tip)}</title></path>"
        )
    if plot:
        scale = PLOT_WIDTH / window_minutes
        lane.append(f'<g transform="translate({LABEL_WIDTH:g} 0) scale({scale:.6f} 1)">{"".join(plot)}</g>')
    lane.append("</g>")
    return "".join(lane)


def calendar(report: Mapping[str, Any]) -> str:
    """The timeline: one lane per host, each entry's runs at their minute, as wide as their typical duration; a
    red dot on every collision."""
    start = _parse(report["generated"])
    window_minutes = report["window_days"] * DAY_MINUTES
    hosts = report["hosts"]
    height = HEADER_HEIGHT + LANE_HEIGHT * max(len(hosts), 1) + 4
    width = LABEL_WIDTH + PLOT_WIDTH + 6
    parts = [
        f'<svg class="calendar" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        'aria-labelledby="cal-title cal-desc" xmlns="http://www.w3.org/2000/svg">',
        '<title id="cal-title">Runs of the next days, one lane per host</title>',
        f'<desc id="cal-desc">{len(hosts)} hosts, {report["summary"]["jobs"]} scheduled entries and '
        f"{len(report['collisions'])} collisions; the tables below list every schedule, next run and collision "
        "as text.</desc>",
    ]
    midnight = start.replace(hour=0, minute=0, second=0)
    for day in range(report["window_days"] + 1):
        moment = midnight + timedelta(days=day)
        x = _x(moment, start, window_minutes)
        if LABEL_WIDTH <= x <= LABEL_WIDTH + PLOT_WIDTH:
            parts.append(f'<line class="day" x1="{x:.1f}" y1="{HEADER_HEIGHT - 4}" x2="{x:.1f}" y2="{height:.0f}"/>')
            parts.append(f'<text class="day-label" x="{x + 3:.1f}" y="14">{moment:%a %d %b} UTC</text>')
    lanes = {}
    for index, host in enumerate(hosts):
        y = HEADER_HEIGHT + index * LANE_HEIGHT
        lanes[host["name"]] = y + LANE_HEIGHT / 2
        parts.append(_lane(host, y, start, window_minutes))
    for collision in report["collisions"]:
        moment = _parse(collision["time"])
        members = ", ".join(f"{host}/{entry}" for host, entry in collision["members"])
        target = f", {collision['target']}" if collision.get("target") else ""
        times = f", {collision['count']} times in the window" if collision.get("count", 1) > 1 else ""
        tip = f"Collision ({collision['kind']}{target}) at {moment:%Y-%m-%d %H:%M} UTC{times}: {members}"
        x, y = _x(moment, start, window_minutes), lanes.get(collision["members"][0][0], HEADER_HEIGHT)
        parts.append(
            f'<circle class="collision-mark" cx="{x:.1f}" cy="{y:.1f}" r="4"><title>{esc(tip)}</title></circle>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _entry_row(entry: Mapping[str, Any]) -> str:
    backup = entry["kind"] == "backup"
    status = "disabled" if entry.get("disabled") else entry.get("last_status") or ("never" if backup else "ok")
    last = _state_cell(status) if backup or entry.get("disabled") else f'<span class="st-muted">{DASH}</span>'
    if entry.get("last_finished"):
        last += f"<br>{time_tag(entry['last_finished'])}"
    age = DASH if entry.get("age_hours") is None else f"{entry['age_hours']:.1f} h"
    if backup and entry.get("stale"):
        age = f'<span class="st-warn">{WARN_SIGN} stale</span> {esc(age)}'
    offsite = entry.get("offsite")
    if offsite is None:
        offsite_cell = DASH
    elif offsite == "ok":
        offsite_cell = _state_cell("ok", f" {(entry.get('offsite_last') or '')[:10]}")
    else:
        offsite_cell = f'<span class="st-warn">{WARN_SIGN} {esc(offsite)}</span>'
    drill = entry.get("drill")
    drill_cell = DASH if drill is None else _state_cell(drill if drill in STATE_WORDS else "never")
    trend = sparkline(entry.get("sizes") or []) if backup else DASH
    return (
        f'<tr class="entry" data-job="{esc(entry["name"])}" '
        f'data-states="{esc(" ".join(entry["states"]))}"><th scope="row">{esc(entry["name"])}</th>'
        f"<td>{esc(entry.get('description') or '')}<br><code>{esc(entry.get('schedule'))}</code></td>"
        f"<td>{time_tag(entry.get('next_run'), 'none')}</td><td>{last}</td><td>{age}</td><td>{trend}</td>"
        f"<td>{offsite_cell}</td><td>{drill_cell}</td></tr>"
    )


def host_section(host: Mapping[str, Any]) -> str:
    symbol, word = HOST_STATES.get(host["state"], ("?", host["state"]))
    css = "st-ok" if host["state"] == "ok" else "st-bad"
    name = host["name"]
    head = (
        f'<section class="host" data-host="{esc(name)}"><h3>{esc(name)} <span class="{css}">'
        f'<i aria-hidden="true">{symbol}</i> {esc(word)}</span>'
        f' <span class="st-muted">({esc(host["scheduler"])})</span></h3>'
    )
    if host["state"] != "ok":
        return head + f'<p class="st-bad">{esc(host.get("error") or word)}</p></section>'
    health = host.get("health")
    if health is not None:
        problems = "; ".join(
            str(problem.get("message", problem)) if isinstance(problem, dict) else str(problem)
            for problem in health["problems"]
        )
        verdict = _state_cell("ok") if health["ok"] else _state_cell("failed", f": {problems}")
        head += f"<p>Health: {verdict}</p>"
    header = "".join(f'<th scope="col">{column}</th>' for column in COLUMNS)
    rows = "".join(_entry_row(entry) for entry in host["entries"])
    return (
        f'{head}<div class="wrap"><table><caption>Jobs of {esc(name)}</caption><thead><tr>{header}</tr></thead>'
        f"<tbody>{rows}</tbody></table></div></section>"
    )


def summary_table(summary: Mapping[str, int]) -> str:
    rows = [
        ("Hosts", summary["hosts"], False),
        ("Hosts not readable", summary["unreachable"], True),
        ("Scheduled jobs", summary["jobs"], False),
        ("Backup jobs", summary["backups"], False),
        ("Failing", summary["failing"], True),
        ("Stale (no recent success)", summary["stale"], True),
        ("No off-site copy", summary["no_offsite"], True),
        ("Drills failed", summary["drills_failed"], True),
        ("Collisions", summary["collisions"], True),
    ]
    cells = []
    for label, value, bad in rows:
        shown = f'<span class="st-bad"><i aria-hidden="true">\u2716</i> {value}</span>' if bad and value else value
        cells.append(f'<tr><th scope="row">{esc(label)}</th><td>{shown}</td></tr>')
    return f'<table class="summary"><caption>Fleet summary</caption><tbody>{"".join(cells)}</tbody></table>'


def collisions_table(collisions: Sequence[Mapping[str, Any]], window: int) -> str:
    if not collisions:
        return (
            "<p>No collisions: no two entries of a host start in the same minute, and no two hosts write to one "
            f"target within {window} minutes.</p>"
        )
    rows = []
    for collision in collisions:
        members = ", ".join(f"{host} / {entry}" for host, entry in collision["members"])
        kind = collision["kind"] + (f" ({collision['target']})" if collision.get("target") else "")
        if collision.get("count", 1) > 1:
            kind += f", {collision['count']} times"
        rows.append(
            f'<tr class="collision-row"><td>{time_tag(collision["time"])}</td><td>{esc(kind)}</td>'
            f"<td>{esc(members)}</td></tr>"
        )
    header = '<th scope="col">When</th><th scope="col">Kind</th><th scope="col">Entries</th>'
    return (
        f'<div class="wrap"><table><caption>Collisions</caption><thead><tr>{header}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _swatch(colour: str, circle: bool = False) -> str:
    shape = (
        f'<circle cx="5" cy="5" r="4" fill="{colour}"/>'
        if circle
        else f'<rect width="10" height="10" fill="{colour}"/>'
    )
    return f'<svg class="sw" viewBox="0 0 10 10" aria-hidden="true">{shape}</svg>'


def render_page(report: Mapping[str, Any]) -> str:
    """The whole page for ``report`` (fleet.build_report)."""
    hosts = report["hosts"]
    options = "".join(f'<option value="{esc(host["name"])}">{esc(host["name"])}</option>' for host in hosts)
    legend = "".join(f"<span>{_swatch(colour)}{name}</span>" for name, colour in LEGEND)
    legend += f"<span>{_swatch('#b02a37', circle=True)}collision</span>"
    collisions = collisions_table(report["collisions"], report["collision_window_minutes"])
    days = report["window_days"]
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>Backup fleet report</title><style>{CSS}</style></head><body>",
            "<header><h1>Backup fleet report</h1>",
            f"<p>Generated {time_tag(report['generated'])} for the next {days} days. Times are shown in your time "
            "zone when scripts run (hover for UTC), else in UTC.</p></header><main>",
            '<section aria-labelledby="s-summary"><h2 id="s-summary">Summary</h2>',
            f"{summary_table(report['summary'])}</section>",
            '<section id="filters" class="filters" aria-label="Filters" hidden>',
            f'<label>Host<select id="f-host"><option value="">all hosts</option>{options}</select></label>{FILTERS}',
            "</section>",
            f'<section aria-labelledby="s-calendar"><h2 id="s-calendar">Next {days} days</h2>',
            f'<p class="legend">{legend}</p><div class="wrap">{calendar(report)}</div></section>',
            f'<section aria-labelledby="s-collisions"><h2 id="s-collisions">Collisions</h2>{collisions}</section>',
            '<section aria-labelledby="s-hosts"><h2 id="s-hosts">Hosts</h2>',
            "".join(host_section(host) for host in hosts),
            "</section></main>",
            f"<script>{SCRIPT}</script></body></html>\n",
        ]
    )
