# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What smgr writes, run by the real things: bash and flock, crontab(1), and Debian's cron daemon.

Needs root (useradd, /etc/cron.d) and the Debian packages cron and util-linux.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import uuid
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.smgr.server_manager.plugins.module_utils._common.atomic import remove_file, write_atomic
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import (
    BLOCK_BEGIN,
    BLOCK_END,
    CronJob,
    lock_dir_for,
    lock_path,
    merge_managed_block,
    parse_block,
    read_user_crontab,
    render_block,
    render_command,
    render_cron_file,
    split_managed_block,
    write_user_crontab,
)
from ansible_collections.smgr.server_manager.tests.support import cron_model
from ansible_collections.smgr.server_manager.tests.support.cron_strategies import COMMANDS, NAMES, TEXT, log_paths
from ansible_collections.smgr.server_manager.tests.support.processes import running_pid

CRON = "/usr/sbin/cron"
CRON_PID_FILE = "/run/crond.pid"


cron_hands_to_shell = cron_model.cron_hands_to_shell


def run_as_cron_would(cron_job: CronJob, lock_dir: str, shell: str, prelude: str = "") -> subprocess.CompletedProcess:
    """Run the rendered command part the way cron does: ``$SHELL -c`` with SHELL in the environment."""
    shell_text = cron_hands_to_shell(render_command(cron_job, lock_dir))
    env = {"PATH": os.environ["PATH"], "SHELL": shell}
    return subprocess.run(["/bin/bash", "-c", prelude + shell_text], env=env, capture_output=True, check=False)


# --- the command reaches the shell exactly as written (bash + flock, no daemon) ---------------


@settings(max_examples=60, deadline=None)
@given(command=COMMANDS, with_log=st.booleans())
def test_locked_command_reaches_the_shell_exactly(tmp_path_factory, command, with_log):
    tmp = tmp_path_factory.mktemp("locked")
    record, script = tmp / "record", tmp / "recorder"
    script.write_text(f"#!/bin/sh\nprintf '%s' \"$2\" > '{record}'\nprintf out\nprintf err >&2\n")
    script.chmod(0o755)
    log = str(tmp / "it's a %log%") if with_log else None
    cron_job = CronJob("job", "* * * * *", command, "s", log=log, prevent_overlap=True)
    result = run_as_cron_would(cron_job, str(tmp / "lock"), str(script))
    assert result.returncode == 0, result.stderr
    assert record.read_text() == command
    assert os.path.exists(lock_path(cron_job, str(tmp / "lock")))
    if with_log:
        assert (tmp / "it's a %log%").read_text() == "outerr"
        assert stat.S_IMODE(os.stat(tmp / "it's a %log%").st_mode) == 0o640
        assert result.stdout == b""
        assert result.stderr == b""
    else:
        assert (result.stdout, result.stderr) == (b"out", b"err")


@settings(max_examples=60, deadline=None)
@given(command=COMMANDS, with_log=st.booleans())
def test_unlocked_command_reaches_the_shell_exactly(tmp_path_factory, command, with_log):
    tmp = tmp_path_factory.mktemp("unlocked")
    record = tmp / "record"
    log = str(tmp / "log") if with_log else None
    cron_job = CronJob("job", "* * * * *", command, "s", log=log, prevent_overlap=False)
    # eval is a builtin; a function of that name shows which string the shell was asked to evaluate.
    prelude = f"eval() {{ printf '%s' \"$1\" > '{record}'; printf out; printf err >&2; }}; "
    result = run_as_cron_would(cron_job, str(tmp / "lock"), "/bin/bash", prelude)
    assert result.returncode == 0, result.stderr
    assert record.read_text() == command
    if with_log:
        assert (tmp / "log").read_text() == "outerr"


@settings(max_examples=60, deadline=None)
@given(payload=TEXT, prevent_overlap=st.booleans())
def test_command_runs_with_its_shell_semantics(tmp_path_factory, payload, prevent_overlap):
    tmp = tmp_path_factory.mktemp("semantics")
    command = f"printf '%s' {shlex.quote(payload)} | cat && printf '|%s' \"$((40 + 2))\"; exit 3"
    cron_job = CronJob("job", "* * * * *", command, "s", log=str(tmp / "log"), prevent_overlap=prevent_overlap)
    result = run_as_cron_would(cron_job, str(tmp / "lock"), "/bin/bash")
    assert (tmp / "log").read_text() == f"{payload}|42"
    assert result.returncode == 3


def test_second_run_is_skipped_while_the_first_holds_the_lock(tmp_path):
    cron_job = CronJob("job", "* * * * *", "echo ran >> out", "s")
    lock = lock_path(cron_job, str(tmp_path / "lock"))
    os.makedirs(os.path.dirname(lock), mode=0o700)
    with subprocess.Popen(["flock", lock, "-c", "read line"], stdin=subprocess.PIPE) as holder:
        try:
            while subprocess.run(["flock", "-n", lock, "true"], check=False).returncode == 0:
                time.sleep(0.05)
            result = subprocess.run(
                ["/bin/bash", "-c", cron_hands_to_shell(render_command(cron_job, str(tmp_path / "lock")))],
                cwd=tmp_path,
                env={"PATH": os.environ["PATH"], "SHELL": "/bin/bash"},
                check=False,
            )
        finally:
            holder.communicate(b"\n")
    assert result.returncode == 1
    assert not (tmp_path / "out").exists()


def test_lock_dir_owned_by_someone_else_stops_the_job(tmp_path):
    lock_dir = tmp_path / "lock"
    lock_dir.mkdir(mode=0o700)
    os.chown(lock_dir, 65534, 65534)
    cron_job = CronJob("job", "* * * * *", "echo ran >> out", "s")
    result = subprocess.run(
        ["/bin/bash", "-c", cron_hands_to_shell(render_command(cron_job, str(lock_dir)))],
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode != 0
    assert not (tmp_path / "out").exists()
    assert os.listdir(lock_dir) == []


# --- crontab(1) ---------------------------------------------------------------------------------


FOREIGN = (
    "# notes kept by a human\n"
    "MAILTO=someone@example.com\n"
    "\n"
    "#Ansible: rotate logs\n"
    "17 1 * * * /usr/local/bin/rotate --all\n"
    "@reboot echo booted % with stdin\n"
)


def crontab_l(user: str) -> str:
    return subprocess.run(["crontab", "-l", "-u", user], capture_output=True, text=True, check=True).stdout


def test_user_without_crontab_reads_empty(throwaway_user):
    assert read_user_crontab(throwaway_user) == ""


def test_block_merged_into_a_real_crontab_keeps_the_foreign_entries(throwaway_user):
    write_user_crontab(throwaway_user, FOREIGN)
    assert read_user_crontab(throwaway_user) == FOREIGN
    jobs = [
        CronJob("backup", "30 2 * * *", "smgr backup nginx | logger -t smgr", "daily_2am", user=throwaway_user),
        CronJob("report", "@weekly", "date +%F >> /tmp/x", "@weekly", user=throwaway_user, disabled=True),
    ]
    block = render_block(jobs, lock_dir="/run/lock/smgr")
    write_user_crontab(throwaway_user, merge_managed_block(read_user_crontab(throwaway_user), block))

    listed = crontab_l(throwaway_user)
    assert listed == FOREIGN + block
    before, found, after = split_managed_block(listed)
    assert "".join(before) == FOREIGN
    assert parse_block(found, user=throwaway_user).jobs == jobs
    assert after == []

    write_user_crontab(throwaway_user, merge_managed_block(read_user_crontab(throwaway_user), render_block([])))
    assert crontab_l(throwaway_user) == FOREIGN


def test_crontab_without_foreign_lines_is_removed_with_the_last_job(throwaway_user):
    cron_job = CronJob("only", "0 3 * * *", "true", "daily_3am", user=throwaway_user)
    write_user_crontab(throwaway_user, merge_managed_block("", render_block([cron_job])))
    assert BLOCK_BEGIN in crontab_l(throwaway_user)
    write_user_crontab(throwaway_user, merge_managed_block(read_user_crontab(throwaway_user), ""))
    assert read_user_crontab(throwaway_user) == ""
    listed = subprocess.run(["crontab", "-l", "-u", throwaway_user], capture_output=True, text=True, check=False)
    assert "no crontab for" in listed.stderr


def test_crontab_refusal_is_reported_with_its_reason(throwaway_user):
    with pytest.raises(SmgrError, match="errors in crontab file") as err:
        write_user_crontab(throwaway_user, "this is not a cron line\n")
    assert err.value.field == "crontab_user"


def test_unknown_user_is_reported():
    with pytest.raises(SmgrError, match="unknown") as err:
        read_user_crontab("smgr-no-such-user")
    assert err.value.field == "crontab_user"


USERS = st.just("root")
JOBS = st.builds(
    CronJob,
    name=NAMES,
    expression=st.sampled_from(["@reboot", "@daily", "0 2 * * *", "*/5 1-3 * jan mon-fri", "0 0 1,15 * 7"]),
    command=COMMANDS,
    schedule=TEXT.filter(str.strip),
    user=USERS,
    log=log_paths("/var/log/"),
    prevent_overlap=st.booleans(),
    disabled=st.booleans(),
)


@settings(max_examples=40, deadline=None)
@given(jobs=st.lists(JOBS, min_size=1, max_size=5, unique_by=lambda item: item.name))
def test_crontab_accepts_every_rendered_block(throwaway_user_module, jobs):
    block = render_block(jobs)
    write_user_crontab(throwaway_user_module, block)
    listed = crontab_l(throwaway_user_module)
    assert listed == block
    assert parse_block(listed).jobs == sorted(jobs, key=lambda item: item.name)


@pytest.fixture(scope="module")
def throwaway_user_module():
    with cron_model.throwaway_user() as name:
        yield name


# --- Debian's cron daemon -------------------------------------------------------------------------


def wait_for(predicate, deadline: float) -> bool:
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(1)
    return predicate()


@pytest.fixture
def shared_tmp():
    """A directory other users can reach (pytest's tmp_path is private to root)."""
    path = tempfile.mkdtemp(prefix="smgr-cron-")
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_cron_daemon_runs_what_was_written(shared_tmp, throwaway_user):
    out_dir = os.path.join(shared_tmp, "out")
    os.mkdir(out_dir, 0o755)
    lock_parent = os.path.join(shared_tmp, "run-lock")
    os.mkdir(lock_parent)
    os.chmod(lock_parent, 0o1777)
    lock_dir = os.path.join(lock_parent, "smgr")
    root_log = os.path.join(out_dir, "root's log %.txt")
    plain_out = os.path.join(out_dir, "plain.txt")
    never = os.path.join(out_dir, "never.txt")
    user_out = os.path.join(shared_tmp, "user-out")
    os.mkdir(user_out, 0o755)
    os.chown(user_out, int(subprocess.check_output(["id", "-u", throwaway_user])), -1)

    root_jobs = [
        CronJob(
            "locked-logged",
            "* * * * *",
            "printf '%s|%s\\n' 'pct%sign' \"it's\" | tr a-z A-Z; echo to-stderr >&2; id -un",
            "* * * * *",
            log=root_log,
        ),
        CronJob("plain", "* * * * *", f"date +%s > {shlex.quote(plain_out)}", "* * * * *", prevent_overlap=False),
        CronJob("off", "* * * * *", f"touch {shlex.quote(never)}", "* * * * *", disabled=True),
    ]
    cron_file = f"/etc/cron.d/smgr-test-{uuid.uuid4().hex[:12]}"
    env = {"SHELL": "/bin/bash", "PATH": "/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin", "MAILTO": ""}
    user_job = CronJob(
        "mine", "* * * * *", f"id -un > {shlex.quote(user_out)}/whoami", "* * * * *", user=throwaway_user
    )

    daemon = None
    try:
        write_atomic(cron_file, render_cron_file(root_jobs, env, lock_dir=lock_dir).encode(), 0o644, 0, 0)
        write_user_crontab(throwaway_user, render_block([user_job], env, lock_dir=lock_dir))
        if running_pid(CRON_PID_FILE, "cron") is None:
            daemon = subprocess.Popen([CRON, "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        next_minute = (int(time.time()) // 60 + 1) * 60
        deadline = next_minute + 70

        def all_ran() -> bool:
            return (
                os.path.exists(os.path.join(user_out, "whoami"))
                and os.path.exists(plain_out)
                and os.path.exists(root_log)
                and open(root_log, encoding="utf-8").read().count("\n") >= 3
            )

        assert wait_for(all_ran, deadline), f"cron did not run the jobs by {datetime.fromtimestamp(deadline)}"
    finally:
        if daemon is not None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=30)
            if running_pid(CRON_PID_FILE, "cron") is None:
                remove_file(CRON_PID_FILE)
        remove_file(cron_file)

    with open(root_log, encoding="utf-8") as handle:
        assert handle.read().splitlines()[:3] == ["PCT%SIGN|IT'S", "to-stderr", "root"]
    assert stat.S_IMODE(os.stat(root_log).st_mode) == 0o640  # the log: created with umask 027
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(plain_out).st_mode) == 0o666 & ~umask  # the job itself keeps cron's umask
    with open(plain_out, encoding="utf-8") as handle:
        assert handle.read().strip().isdigit()
    assert os.path.exists(lock_path(root_jobs[0], lock_dir))
    assert stat.S_IMODE(os.stat(lock_dir).st_mode) == 0o700
    assert not os.path.exists(lock_path(root_jobs[1], lock_dir))
    assert not os.path.exists(never)
    with open(os.path.join(user_out, "whoami"), encoding="utf-8") as handle:
        assert handle.read().strip() == throwaway_user
    user_lock_dir = lock_dir_for(throwaway_user, lock_dir)
    assert os.stat(user_lock_dir).st_uid == os.stat(user_out).st_uid
    assert os.path.exists(lock_path(user_job, lock_dir))
    assert BLOCK_END in crontab_l(throwaway_user)
