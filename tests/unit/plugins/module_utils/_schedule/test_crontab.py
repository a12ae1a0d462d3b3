# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Rendering and parsing of smgr's cron entries: pure logic, no cron needed."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import (
    BLOCK_BEGIN,
    BLOCK_END,
    DEFAULT_ENV,
    DEFAULT_HEADER,
    CronJob,
    audit_line,
    backup_previous,
    diff_summary,
    lock_path,
    merge_jobs,
    merge_managed_block,
    parse_block,
    parse_command,
    parse_cron_file,
    render_block,
    render_command,
    render_cron_file,
    split_managed_block,
    strip_crontab_header,
    validate_cron_file,
    validate_env,
    validate_job,
    validate_jobs,
)
from ansible_collections.smgr.server_manager.tests.support import cron_model
from ansible_collections.smgr.server_manager.tests.support.cron_strategies import COMMANDS, NAMES, TEXT, log_paths

cron_hands_to_shell = cron_model.cron_hands_to_shell


def job(name="nginx", command="/opt/server-manager/bin/smgr backup nginx", **kwargs) -> CronJob:
    values = {"expression": "0 2 * * *", "schedule": "daily_2am"}
    values.update(kwargs)
    return CronJob(name=name, command=command, **values)


# --- rendering the command -------------------------------------------------------------------


RENDER_TABLE = [
    pytest.param(
        job(command="backup.sh nginx", prevent_overlap=False),
        "eval 'backup.sh nginx'",
        id="plain",
    ),
    pytest.param(
        job(command="backup.sh nginx"),
        "mkdir -p -m 0700 '/run/lock/smgr' && test -O '/run/lock/smgr' && test ! -h '/run/lock/smgr' && "
        "flock -n '/run/lock/smgr/nginx.lock' -c 'backup.sh nginx'",
        id="locked",
    ),
    pytest.param(
        job(command="a | b && c", log="/var/log/x.log", prevent_overlap=False),
        "(o=$(umask); umask 027; exec >> '/var/log/x.log' 2>&1; umask \"$o\"; eval 'a | b && c')",
        id="log",
    ),
    pytest.param(
        job(command="a; b", log="/var/log/x.log"),
        "(o=$(umask); umask 027; exec >> '/var/log/x.log' 2>&1; umask \"$o\"; "
        "mkdir -p -m 0700 '/run/lock/smgr' && test -O '/run/lock/smgr' && test ! -h '/run/lock/smgr' && "
        "flock -n '/run/lock/smgr/nginx.lock' -c 'a; b')",
        id="locked-log",
    ),
    pytest.param(job(command="date +%F", prevent_overlap=False), "eval 'date +\\%F'", id="percent"),
    pytest.param(job(command="echo it's", prevent_overlap=False), "eval 'echo it'\\''s'", id="single-quote"),
    pytest.param(
        job(command="printf '%s\\n' \\%", prevent_overlap=False),
        "eval 'printf '\\''\\%s\\n'\\'' \\''\\%'",
        id="backslash-before-percent",
    ),
    pytest.param(job(command="echo a\\\\b", prevent_overlap=False), "eval 'echo a\\''\\b'", id="two-backslashes"),
    pytest.param(
        job(command="echo $(id -u) `date` $HOME", prevent_overlap=False),
        "eval 'echo $(id -u) `date` $HOME'",
        id="expansions-left-to-the-shell",
    ),
    pytest.param(
        job(command="true", log="/var/log/it's $(reboot) %p.log", prevent_overlap=False),
        "(o=$(umask); umask 027; exec >> '/var/log/it'\\''s $(reboot) \\%p.log' 2>&1; umask \"$o\"; eval 'true')",
        id="hostile-log-path",
    ),
    pytest.param(
        job(command="true", user="www-data"),
        "mkdir -p -m 0700 '/run/lock/smgr-www-data' && test -O '/run/lock/smgr-www-data' && "
        "test ! -h '/run/lock/smgr-www-data' && flock -n '/run/lock/smgr-www-data/nginx.lock' -c 'true'",
        id="other-user-own-lock-dir",
    ),
]


@pytest.mark.parametrize(("cron_job", "expected"), RENDER_TABLE)
def test_render_command(cron_job, expected):
    assert render_command(cron_job) == expected


@pytest.mark.parametrize(
    "old_shape",
    [
        "eval 'a | b' >> '/var/log/x.log' 2>&1",
        "{ mkdir -p -m 0700 '/run/lock/smgr' && test -O '/run/lock/smgr' && test ! -h '/run/lock/smgr' && "
        "flock -n '/run/lock/smgr/nginx.lock' -c 'a; b'; } >> '/var/log/x.log' 2>&1",
    ],
)
def test_lines_written_before_the_log_mode_still_parse(old_shape):
    command, _prevent_overlap, log = parse_command(old_shape)
    assert command in ("a | b", "a; b") and log == "/var/log/x.log"


def test_a_log_opened_another_way_is_not_ours():
    text = "(o=$(umask); umask 022; exec >> '/var/log/x.log' 2>&1; umask \"$o\"; eval 'true')"
    assert parse_command(text) is None


@pytest.mark.parametrize(("cron_job", "expected"), RENDER_TABLE)
def test_parse_command_recovers_what_was_rendered(cron_job, expected):
    assert parse_command(expected) == (cron_job.command, cron_job.prevent_overlap, cron_job.log)


def test_lock_dir_is_a_parameter():
    cron_job = job(command="true")
    assert lock_path(cron_job, "/srv/demo/lock") == "/srv/demo/lock/nginx.lock"
    assert "flock -n '/srv/demo/lock/nginx.lock'" in render_command(cron_job, "/srv/demo/lock")


@pytest.mark.parametrize("debian", [True, False], ids=["debian-cron", "classic-cron"])
@pytest.mark.parametrize(
    "command",
    ["date +%F", "printf '%s\\n' \\%", "echo a\\\\%b", "echo 'x\\'", "echo \\\\\\\\%%", "echo %%%", "a\\"],
)
def test_every_cron_hands_the_quoted_command_to_the_shell_unchanged(command, debian):
    rendered = render_command(job(command=command, prevent_overlap=False))
    assert "\\\\" not in rendered
    assert cron_hands_to_shell(rendered, debian) == cron_hands_to_shell(rendered, not debian)
    assert parse_command(rendered)[0] == command


def test_rendered_line_has_user_field_only_in_the_cron_file():
    cron_job = job(command="true", prevent_overlap=False)
    assert "\n0 2 * * * root eval 'true'\n" in render_cron_file([cron_job])
    assert "\n0 2 * * * eval 'true'\n" in render_block([cron_job])


# --- the owned cron file ---------------------------------------------------------------------


def test_render_cron_file_layout():
    text = render_cron_file(
        [job("b", command="b.sh", prevent_overlap=False), job("a", command="a.sh", prevent_overlap=False)],
        env={"MAILTO": "ops@example.com"},
        header="managed by smgr",
    )
    assert text == (
        "# managed by smgr\n"
        "\n"
        "MAILTO=ops@example.com\n"
        "\n"
        '# smgr-job: {"name": "a", "schedule": "daily_2am"}\n'
        "0 2 * * * root eval 'a.sh'\n"
        "\n"
        '# smgr-job: {"name": "b", "schedule": "daily_2am"}\n'
        "0 2 * * * root eval 'b.sh'\n"
    )


def test_default_env_and_header_are_the_seeds():
    text = render_cron_file([job()])
    assert text.startswith("# Managed by the Ansible collection smgr.server_manager")
    assert "\nSHELL=/bin/bash\nPATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin\nMAILTO=root\n" in text
    parsed = parse_cron_file(text)
    assert parsed.env == DEFAULT_ENV
    assert parsed.header == DEFAULT_HEADER


def test_same_jobs_in_any_order_give_identical_bytes():
    jobs = [job("c"), job("a"), job("b", disabled=True)]
    assert render_cron_file(jobs) == render_cron_file(list(reversed(jobs)))


def test_disabled_job_is_a_recognisable_comment():
    text = render_cron_file([job(disabled=True)], env={}, header="")
    assert text.splitlines()[1].startswith("#smgr-disabled: 0 2 * * * root ")
    assert parse_cron_file(text).jobs == [job(disabled=True)]


def test_schedule_with_spaces_and_quotes_survives_in_the_marker():
    cron_job = job(schedule='H(0-30) 2 * * * "quoted" \\ ü', expression="17 2 * * *")
    assert parse_cron_file(render_cron_file([cron_job])).jobs == [cron_job]


def test_empty_env_value_is_quoted_for_cron():
    text = render_cron_file([], env={"MAILTO": ""}, header="")
    assert text == 'MAILTO=""\n'
    assert parse_cron_file(text).env == {"MAILTO": ""}


def test_parse_reads_quoted_env_values_as_cron_does():
    assert parse_cron_file('A="x y"\nB=\'q"\'\nC= spaced \n').env == {"A": "x y", "B": 'q"', "C": "spaced"}


def test_parse_reports_hand_edited_lines_as_unmanaged():
    good = render_cron_file([job("a", command="a.sh")], env={}, header="")
    text = (
        good
        + "\n# smgr-job: {broken json\n0 3 * * * root eval 'x'\n"
        + "5 5 * * * root /usr/bin/hand-added\n"
        + '# smgr-job: {"name": "a", "schedule": "dup"}\n'
        + "0 4 * * * root eval 'dup'\n"
        + '# smgr-job: {"name": "z", "schedule": "raw"}\n'
        + "0 4 * * * root date +%F\n"
    )
    parsed = parse_cron_file(text)
    assert [cron_job.name for cron_job in parsed.jobs] == ["a"]
    assert parsed.unmanaged == [
        "# smgr-job: {broken json",
        "0 3 * * * root eval 'x'",
        "5 5 * * * root /usr/bin/hand-added",
        '# smgr-job: {"name": "a", "schedule": "dup"}',
        "0 4 * * * root eval 'dup'",
        '# smgr-job: {"name": "z", "schedule": "raw"}',
        "0 4 * * * root date +%F",
    ]


def test_parse_does_not_trust_an_invalid_name_in_a_marker():
    text = '# smgr-job: {"name": "../../etc/x", "schedule": "s"}\n0 2 * * * root eval \'true\'\n'
    parsed = parse_cron_file(text)
    assert parsed.jobs == []
    assert len(parsed.unmanaged) == 2


@pytest.mark.parametrize("path", ["/etc/cron.d/smgr", "/etc/cron.d/smgr_backup-2"])
def test_cron_file_names_cron_reads(path):
    assert validate_cron_file(path) == path


@pytest.mark.parametrize("path", ["/etc/cron.d/smgr.cron", "/etc/cron.d/smgr~", "cron.d/smgr", "/etc/cron.d/"])
def test_cron_file_names_cron_skips_are_refused(path):
    with pytest.raises(SmgrError) as err:
        validate_cron_file(path)
    assert err.value.field == "cron_file"


# --- a user's crontab ------------------------------------------------------------------------


FOREIGN = (
    "# my own notes\n"
    "MAILTO=me@example.com\n"
    "\n"
    "#Ansible: rotate\n"
    "0 1 * * * /usr/local/bin/rotate\n"
    "   # indented comment with trailing spaces   \n"
    "@reboot /usr/local/bin/boot-thing % with stdin\n"
)


def test_merge_keeps_every_foreign_line_and_appends_the_block():
    block = render_block([job(command="x")])
    merged = merge_managed_block(FOREIGN, block)
    assert merged == FOREIGN + block
    before, found, after = split_managed_block(merged)
    assert "".join(before) == FOREIGN
    assert found == block
    assert after == []


def test_merge_is_idempotent():
    block = render_block([job(command="x")])
    once = merge_managed_block(FOREIGN, block)
    assert merge_managed_block(once, block) == once


def test_block_in_the_middle_moves_to_the_end_and_foreign_order_is_kept():
    old_block = render_block([job(command="old")])
    text = "#Ansible: first\n0 1 * * * first\n" + old_block + "#Ansible: second\n0 2 * * * second\n"
    new_block = render_block([job(command="new")])
    assert merge_managed_block(text, new_block) == (
        "#Ansible: first\n0 1 * * * first\n#Ansible: second\n0 2 * * * second\n" + new_block
    )


def test_empty_job_set_removes_the_block_entirely():
    text = merge_managed_block(FOREIGN, render_block([job(command="x")]))
    assert render_block([]) == ""
    assert merge_managed_block(text, render_block([])) == FOREIGN


def test_block_only_crontab_becomes_empty():
    assert merge_managed_block(render_block([job()]), "") == ""


def test_foreign_text_without_final_newline_gets_one_before_the_block():
    block = render_block([job()])
    assert merge_managed_block("0 1 * * * a", block) == "0 1 * * * a\n" + block


def test_foreign_bytes_are_kept_exactly_even_odd_ones():
    odd = "0 1 * * * a\r\n\n\n# x\x0c y\n"
    assert merge_managed_block(odd, render_block([job()])).startswith(odd)


def test_block_layout():
    block = render_block([job(command="x", prevent_overlap=False)], env={"MAILTO": "ops"})
    assert block == (
        f"{BLOCK_BEGIN}\n"
        "MAILTO=ops\n"
        '# smgr-job: {"name": "nginx", "schedule": "daily_2am"}\n'
        "0 2 * * * eval 'x'\n"
        f"{BLOCK_END}\n"
    )


def test_parse_block_gives_the_jobs_the_crontab_owner():
    cron_job = job(user="alice")
    parsed = parse_block(render_block([cron_job]), user="alice")
    assert parsed.jobs == [cron_job]
    assert parsed.env == DEFAULT_ENV


def test_parse_block_of_nothing_is_empty():
    assert parse_block(None).jobs == []
    assert parse_block("").env == {}


@pytest.mark.parametrize(
    "text",
    [
        f"{BLOCK_BEGIN}\n0 1 * * * a\n",
        f"0 1 * * * a\n{BLOCK_END}\n",
        f"{BLOCK_END}\n{BLOCK_BEGIN}\n",
        f"{BLOCK_BEGIN}\n{BLOCK_END}\n{BLOCK_BEGIN}\n{BLOCK_END}\n",
    ],
    ids=["no-end", "no-begin", "reversed", "two-blocks"],
)
def test_broken_markers_are_refused_not_guessed(text):
    with pytest.raises(SmgrError, match="markers are broken") as err:
        merge_managed_block(text, render_block([job()]))
    assert err.value.field == "crontab_user"


def test_strip_crontab_header():
    header = (
        "# DO NOT EDIT THIS FILE - edit the master and reinstall.\n"
        "# (- installed on Sat Nov 28 11:00:22 2026)\n"
        "# (Cron version -- $Id: crontab.c,v 2.13 1994/01/17 03:20:37 vixie Exp $)\n"
    )
    assert strip_crontab_header(header + FOREIGN) == FOREIGN
    assert strip_crontab_header(FOREIGN) == FOREIGN


# --- invalid input ---------------------------------------------------------------------------


INVALID_JOBS = [
    pytest.param(job(name=""), "", "name", "1-64 characters", id="empty-name"),
    pytest.param(job(name="a/b"), "a/b", "name", "1-64 characters", id="slash-in-name"),
    pytest.param(job(name=".hidden"), ".hidden", "name", "starting with a letter", id="leading-dot"),
    pytest.param(job(name="-x"), "-x", "name", "starting with a letter", id="leading-dash"),
    pytest.param(job(name="a b"), "a b", "name", "1-64 characters", id="space-in-name"),
    pytest.param(job(name="x" * 65), "x" * 65, "name", "1-64 characters", id="name-too-long"),
    pytest.param(job(command=""), "nginx", "command", "must not be empty", id="empty-command"),
    pytest.param(job(command="   "), "nginx", "command", "must not be empty", id="blank-command"),
    pytest.param(job(command="a\nb"), "nginx", "command", "U+000A", id="newline"),
    pytest.param(job(command="a\rb"), "nginx", "command", "U+000D", id="carriage-return"),
    pytest.param(job(command="a\x00b"), "nginx", "command", "U+0000", id="nul"),
    pytest.param(job(command="a\tb"), "nginx", "command", "U+0009", id="tab"),
    pytest.param(job(command="a\x1bb"), "nginx", "command", "U+001B", id="escape"),
    pytest.param(job(command="a\x85b"), "nginx", "command", "U+0085", id="c1-next-line"),
    pytest.param(job(command="-rf /"), "nginx", "command", "must not start with '-'", id="option-like"),
    pytest.param(job(command="x" * 990), "nginx", "command", "too long for cron", id="command-too-long"),
    pytest.param(job(command=["ls"]), "nginx", "command", "must be a string", id="command-not-string"),
    pytest.param(job(user="root user"), "nginx", "user", "not a valid user name", id="space-in-user"),
    pytest.param(job(user="-u"), "nginx", "user", "not a valid user name", id="option-user"),
    pytest.param(job(user=""), "nginx", "user", "not a valid user name", id="empty-user"),
    pytest.param(job(log="relative.log"), "nginx", "log", "absolute path", id="relative-log"),
    pytest.param(job(log="/var/log/\nx"), "nginx", "log", "U+000A", id="newline-in-log"),
    pytest.param(job(log="/var/log/a\x00"), "nginx", "log", "U+0000", id="nul-in-log"),
    pytest.param(job(log="/var/log/"), "nginx", "log", "must name a file", id="log-is-directory"),
    pytest.param(job(expression="0 2 * *"), "nginx", "expression", "5 fields", id="four-fields"),
    pytest.param(job(expression="0 2 * * * root"), "nginx", "expression", "5 fields", id="six-fields"),
    pytest.param(job(expression="0  2 * * *"), "nginx", "expression", "5 fields", id="double-space"),
    pytest.param(job(expression="0 2 * * 1;reboot"), "nginx", "expression", "5 fields", id="junk-in-field"),
    pytest.param(job(expression="@sometimes"), "nginx", "expression", "unknown cron macro", id="bad-macro"),
    pytest.param(job(schedule=""), "nginx", "schedule", "must not be empty", id="empty-schedule"),
    pytest.param(job(schedule="daily\n* * * * * root x"), "nginx", "schedule", "U+000A", id="schedule-newline"),
    pytest.param(job(prevent_overlap="yes"), "nginx", "prevent_overlap", "true or false", id="flag-not-bool"),
]


@pytest.mark.parametrize(("cron_job", "name", "field", "message"), INVALID_JOBS)
def test_invalid_job_names_job_and_field(cron_job, name, field, message):
    with pytest.raises(SmgrError) as err:
        render_cron_file([cron_job])
    assert err.value.job == name
    assert err.value.field == field
    assert message in str(err.value)
    assert str(err.value).startswith(f"job {name!r}: {field}: ")


@pytest.mark.parametrize(
    ("env", "field", "message"),
    [
        ({"1X": "a"}, "env", "not a valid variable name"),
        ({"A-B": "a"}, "env", "not a valid variable name"),
        ({"PATH": "/bin\nX=1"}, "env.PATH", "U+000A"),
        ({"MAILTO": " root"}, "env.MAILTO", "whitespace"),
        ({"MAILTO": '"root"'}, "env.MAILTO", "quote"),
        ({"X": "v" * 1000}, "env.X", "too long"),
        ({"X": 1}, "env.X", "must be a string"),
        (["SHELL=/bin/sh"], "env", "must be a mapping"),
    ],
)
def test_invalid_env_names_the_variable(env, field, message):
    with pytest.raises(SmgrError) as err:
        validate_env(env)
    assert err.value.field == field
    assert message in str(err.value)


def test_duplicate_job_names_are_refused():
    with pytest.raises(SmgrError, match="listed more than once") as err:
        render_block([job("a"), job("b"), job("a", command="other")])
    assert (err.value.job, err.value.field) == ("a", "name")


def test_invalid_lock_dir_is_refused():
    with pytest.raises(SmgrError) as err:
        validate_jobs([job()], lock_dir="run/lock")
    assert err.value.field == "lock_dir"


@pytest.mark.parametrize("header", ["a\x00b", " indented", "smgr-job: {}"])
def test_invalid_header_is_refused(header):
    with pytest.raises(SmgrError) as err:
        render_cron_file([], header=header)
    assert err.value.field == "header"


def test_validate_job_returns_the_job():
    assert validate_job(job()) == job()


# --- job sets --------------------------------------------------------------------------------


def test_merge_non_exclusive_replaces_same_names_and_keeps_others():
    current = [job("a", command="old"), job("b")]
    result = merge_jobs(current, [job("a", command="new"), job("c")], exclusive=False, absent=set())
    assert result == [job("a", command="new"), job("b"), job("c")]


def test_merge_exclusive_is_exactly_the_desired_set():
    assert merge_jobs([job("a"), job("b")], [job("c")], exclusive=True, absent=set()) == [job("c")]


def test_merge_exclusive_with_nothing_disables_all_of_ours():
    assert merge_jobs([job("a"), job("b")], [], exclusive=True, absent=set()) == []


def test_merge_removes_absent_names():
    assert merge_jobs([job("a"), job("b")], [], exclusive=False, absent={"a", "zzz"}) == [job("b")]


def test_merge_refuses_duplicates_in_desired():
    with pytest.raises(SmgrError) as err:
        merge_jobs([], [job("a"), job("a")], exclusive=False, absent=set())
    assert (err.value.job, err.value.field) == ("a", "name")


def test_merge_refuses_a_job_both_present_and_absent():
    with pytest.raises(SmgrError) as err:
        merge_jobs([], [job("a")], exclusive=False, absent={"a"})
    assert (err.value.job, err.value.field) == ("a", "state")


def test_diff_summary():
    before = [job("a"), job("b"), job("c")]
    after = [job("b", command="changed"), job("c"), job("d")]
    assert diff_summary(before, after) == {"added": ["d"], "removed": ["a"], "changed": ["b"]}
    assert diff_summary(after, after) == {"added": [], "removed": [], "changed": []}


# --- audit and backups -----------------------------------------------------------------------


WHEN = datetime(2026, 11, 28, 10, 0, 0, tzinfo=timezone.utc)


def test_audit_line_format():
    summary = {"added": ["a", "b"], "removed": ["c"], "changed": []}
    assert audit_line(WHEN, "/etc/cron.d/smgr", summary, "ansible") == (
        "2026-11-28T10:00:00+00:00 target=/etc/cron.d/smgr added=a,b removed=c changed= by=ansible"
    )


def test_audit_line_keeps_the_local_offset():
    when = datetime(2026, 11, 28, 11, 0, 0, tzinfo=timezone(timedelta(hours=1)))
    assert audit_line(when, "crontab:alice", {}, "ansible").startswith("2026-11-28T11:00:00+01:00 target=crontab:alice")


def test_audit_line_cannot_be_forged_by_hostile_values():
    summary = {"added": ["x\n2026-01-01T00:00:00+00:00 target=/etc/passwd added=evil", "a,b"], "removed": []}
    line = audit_line(WHEN, "/etc/cron.d/smgr removed=all", summary, "me by=root")
    assert "\n" not in line
    assert line.split(" ", maxsplit=1)[0] == "2026-11-28T10:00:00+00:00"
    fields = dict(part.split("=", 1) for part in line.split(" ")[1:])
    assert list(fields) == ["target", "added", "removed", "changed", "by"]
    assert fields["added"].split(",") == [
        "x%0A2026-01-01T00:00:00+00:00%20target%3D/etc/passwd%20added%3Devil",
        "a%2Cb",
    ]


def test_audit_line_needs_a_time_zone():
    with pytest.raises(ValueError):
        audit_line(datetime(2026, 1, 1), "t", {}, "a")


def test_backup_previous_writes_a_private_timestamped_copy(tmp_path):
    path = backup_previous("/etc/cron.d/smgr", b"old content\n", str(tmp_path / "backups"), 3, WHEN)
    assert path == str(tmp_path / "backups" / "smgr.20261128T100000.000000Z")
    with open(path, "rb") as handle:
        assert handle.read() == b"old content\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_backup_previous_keeps_only_the_newest_and_touches_nothing_else(tmp_path):
    others = ["smgr", "smgr.old", "smgr-other.20200101T000000.000000Z", "notes.txt", "smgr.20200101T000000Z"]
    for name in others:
        (tmp_path / name).write_text("keep me")
    paths = [
        backup_previous("/etc/cron.d/smgr", f"v{i}".encode(), str(tmp_path), 2, WHEN + timedelta(seconds=i))
        for i in range(4)
    ]
    remaining = sorted(name for name in os.listdir(tmp_path) if name not in others)
    assert remaining == [os.path.basename(paths[2]), os.path.basename(paths[3])]
    assert all((tmp_path / name).read_text() == "keep me" for name in others)
    assert (tmp_path / os.path.basename(paths[3])).read_bytes() == b"v3"


def test_backup_timestamps_are_utc(tmp_path):
    when = datetime(2026, 11, 28, 11, 30, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    path = backup_previous("crontab-alice", b"x", str(tmp_path), 1, when)
    assert os.path.basename(path) == "crontab-alice.20261128T103000.123456Z"


@pytest.mark.parametrize(("content", "keep"), [(None, 3), (b"x", 0)])
def test_nothing_to_back_up_returns_none(tmp_path, content, keep):
    assert backup_previous("/etc/cron.d/smgr", content, str(tmp_path), keep, WHEN) is None
    assert os.listdir(tmp_path) == []


def test_backup_keep_must_be_a_count(tmp_path):
    with pytest.raises(SmgrError) as err:
        backup_previous("/etc/cron.d/smgr", b"x", str(tmp_path), -1, WHEN)
    assert err.value.field == "backup"


# --- properties ------------------------------------------------------------------------------


USERS = st.from_regex(r"[a-z_][a-z0-9_.-]{0,12}", fullmatch=True)
FIELD = st.from_regex(r"[0-9A-Za-z*,/-]{1,8}", fullmatch=True)
EXPRESSIONS = st.one_of(
    st.sampled_from(["@reboot", "@daily", "@hourly", "@weekly", "0 2 * * *", "*/5 1-3 * jan mon-fri"]),
    st.lists(FIELD, min_size=5, max_size=5).map(" ".join),
)
JOBS = st.builds(
    CronJob,
    name=NAMES,
    expression=EXPRESSIONS,
    command=COMMANDS,
    schedule=TEXT.filter(str.strip),
    user=USERS,
    log=log_paths("/"),
    prevent_overlap=st.booleans(),
    disabled=st.booleans(),
)
JOB_LISTS = st.lists(JOBS, max_size=6, unique_by=lambda item: item.name)
ENV_VALUES = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30).filter(
    lambda text: text == text.strip() and text[:1] not in ("'", '"')
)
ENVS = st.dictionaries(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True), ENV_VALUES, max_size=4)
HEADERS = st.lists(
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30).filter(
        lambda text: text == text.strip() and not text.startswith("smgr-job:")
    ),
    max_size=3,
).map("\n".join)


def by_name(jobs):
    return sorted(jobs, key=lambda item: item.name)


@settings(max_examples=300, deadline=None)
@given(jobs=JOB_LISTS, env=ENVS, header=HEADERS)
def test_cron_file_round_trip(jobs, env, header):
    text = render_cron_file(jobs, env, header)
    parsed = parse_cron_file(text)
    assert parsed.jobs == by_name(jobs)
    assert parsed.env == env
    assert parsed.unmanaged == []
    assert render_cron_file(parsed.jobs, parsed.env, parsed.header) == text


@settings(max_examples=300, deadline=None)
@given(jobs=JOB_LISTS, env=ENVS, user=USERS)
def test_block_round_trip(jobs, env, user):
    jobs = [replace(item, user=user) for item in jobs]
    block = render_block(jobs, env)
    parsed = parse_block(block, user=user)
    assert parsed.jobs == by_name(jobs)
    assert parsed.unmanaged == []
    assert render_block(parsed.jobs, parsed.env) == block


@settings(max_examples=300, deadline=None)
@given(cron_job=JOBS, debian=st.booleans())
def test_cron_never_sees_an_unescaped_percent_or_a_double_backslash(cron_job, debian):
    rendered = render_command(cron_job)
    assert "\\\\" not in rendered
    handed = cron_hands_to_shell(rendered, debian)
    assert handed.count("%") == cron_job.command.count("%") + (cron_job.log or "").count("%")
    assert handed == cron_hands_to_shell(rendered, not debian)


@settings(max_examples=200, deadline=None)
@given(foreign=st.lists(TEXT.filter(lambda text: BLOCK_BEGIN not in text and BLOCK_END not in text)), jobs=JOB_LISTS)
def test_merge_keeps_foreign_lines_in_order(foreign, jobs):
    text = "".join(line + "\n" for line in foreign)
    merged = merge_managed_block(text, render_block(jobs))
    assert merged.startswith(text)
    assert merge_managed_block(merged, render_block(jobs)) == merged
    assert merge_managed_block(merged, "") == text
