# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fuzzing every module: hypothesis builds argument sets (wrong types, unicode, huge strings, missing and extra
keys, nested garbage, the hostile corpus) and runs the module's main() in-process, as Ansible would.

For every case: no exception escapes (no traceback); the module ends with a result or a failure with a message;
after a failure every file of the sandbox is byte for byte what it was; a check-mode run and the info modules
never change a byte; what a successful run wrote can be read back by the code that reads it (the cron file
parses to the jobs returned, the job files load in the runner, notifications.yaml loads); the SMTP password is
never in a result. At least MIN_CASES cases per module per run.

Every file a module may write is inside a per-test sandbox (path options are the sandbox or relative paths with
the sandbox as working directory); no crontab of a real user is ever touched; network lookups of anything but
loopback fail (see helpers.loopback_only); run_now never starts a backup.
"""

from __future__ import annotations

import functools
import os
import pwd
import re
import shutil
import stat
import sys
import time
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import load_job, load_settings
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.config import load_config
from ansible_collections.smgr.server_manager.plugins.module_utils._schedule.crontab import parse_cron_file
from ansible_collections.smgr.server_manager.plugins.modules import (
    smgr_backup,
    smgr_backup_info,
    smgr_notify,
    smgr_schedule,
    smgr_schedule_info,
)
from ansible_collections.smgr.server_manager.tests.support.module_harness import run_module
from ansible_collections.smgr.server_manager.tests.support.smtp_server import unused_port
from ansible_collections.smgr.server_manager.tests.unit.hardening.helpers import (
    CANARY,
    HOSTILE,
    Confinement,
    fast_runner,
    loopback_only,
    record_figures,
    snapshot,
    tree_difference,
)

MIN_CASES = 2000
SANDBOX = "@SANDBOX@"
FUZZ_SETTINGS = settings(
    max_examples=MIN_CASES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)

# --------------------------------------------------------------------------- value strategies

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
HUGE = st.builds(
    lambda chunk, count: chunk * count,
    st.sampled_from(["x", "é", "%", "'", "\\", "\u2028", "\n", "🙂", "a b", "${IFS}"]),
    st.integers(300, 40000),
)
CORPUS = st.sampled_from(HOSTILE)
STRINGS = st.one_of(TEXT, CORPUS, HUGE)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.integers(),
    st.floats(),
    STRINGS,
)
GARBAGE = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)
BOOLS = st.one_of(st.booleans(), st.sampled_from(["yes", "no", "on", "1", "0", "maybe", ""]), GARBAGE)


def _path_safe(value: object) -> bool:
    """Whether a value of a path option stays inside the sandbox once Ansible expanded it (~ and $VAR), and does
    not make Ansible fall back to the default path (null). The write guard refuses anything else anyway."""
    if value is None:
        return False
    text = str(value)
    if ".." in text:
        return False
    if text.startswith(SANDBOX):
        return True
    return not text.startswith(("/", "~")) and "$" not in text


def sandbox(*names: str) -> st.SearchStrategy[str]:
    return st.sampled_from([f"{SANDBOX}/{name}" for name in names])


def paths(*names: str) -> st.SearchStrategy:
    """A path option: a sandbox path, the sandbox plus a hostile tail, a relative path or garbage (all safe)."""
    tail = STRINGS.map(lambda text: f"{SANDBOX}/x/{text}")
    return st.one_of(sandbox(*names), tail, GARBAGE).filter(_path_safe)


def some(*options: st.SearchStrategy) -> st.SearchStrategy:
    """One of the valid-looking options, or garbage."""
    return st.one_of(*options, GARBAGE)


EXTRA_KEYS = st.dictionaries(
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12).filter(lambda key: key[0] != "_"),
    GARBAGE,
    min_size=1,
    max_size=2,
)


def arguments(
    valid: st.SearchStrategy[dict], garbage: dict[str, st.SearchStrategy], keep: tuple[str, ...] = ()
) -> st.SearchStrategy[dict]:
    """Module arguments in three shapes: a valid set; a valid set with one option replaced by garbage, the hostile
    corpus or a huge string, one option left out, or an unknown key added; and chaos, every option any value at
    all. The ``keep`` options (where the module writes) are always given, never null."""

    def mutate(args: dict) -> st.SearchStrategy[dict]:
        replace_one = st.sampled_from(sorted(garbage)).flatmap(
            lambda key: garbage[key].map(lambda value: {**args, key: value})
        )
        droppable = sorted(key for key in args if key not in keep) or [""]
        drop_one = st.sampled_from(droppable).map(lambda key: {k: v for k, v in args.items() if k != key})
        add_unknown = EXTRA_KEYS.map(lambda extra: {**extra, **args})
        return st.one_of(replace_one, replace_one, replace_one, drop_one, add_unknown)

    chaos = st.fixed_dictionaries(
        {key: garbage[key] for key in keep}, optional={key: value for key, value in garbage.items() if key not in keep}
    )
    return st.one_of(valid, valid.flatmap(mutate), valid.flatmap(mutate), chaos)


def valid_args(required: dict, optional: dict) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(required, optional=optional)


def place(value: object, root: str, canary: str) -> object:
    """Replace the sandbox and canary placeholders everywhere in a generated value."""
    if isinstance(value, str):
        return value.replace(SANDBOX, root).replace(CANARY, canary)
    if isinstance(value, list):
        return [place(item, root, canary) for item in value]
    if isinstance(value, dict):
        return {place(key, root, canary): place(item, root, canary) for key, item in value.items()}
    return value


# --------------------------------------------------------------------------- the harness


class Fuzz:
    """One module's sandbox: a baseline tree restored before every case, and the case counters."""

    def __init__(self, tmp_path: Path, monkeypatch, build_baseline) -> None:
        self.root = tmp_path / "sandbox"
        self.baseline = tmp_path / "baseline"
        self.canary = str(tmp_path / "canary")
        self.cases = self.successes = self.failures = 0
        self.started = time.monotonic()
        # Reading a crontab is harmless (crontab_user never names an existing user here); writing one is not.
        self.confinement = Confinement(
            self.root, allowed=lambda argv: argv[:1] == ("crontab",) and argv[-1:] == ("-l",)
        )
        # The baseline is built in place (file contents name the sandbox), then kept as the template of every case.
        self.root.mkdir()
        monkeypatch.chdir(self.root)
        with Confinement(self.root).active():
            build_baseline(self.root)
        shutil.copytree(self.root, self.baseline, symlinks=True)

    def reset(self) -> None:
        shutil.rmtree(self.root)
        shutil.copytree(self.baseline, self.root, symlinks=True)
        os.chdir(self.root)

    def args(self, generated: dict) -> dict:
        return place(generated, str(self.root), self.canary)

    def run(self, module, generated: dict, check: bool) -> tuple[dict, dict, dict]:
        """Reset, run one case under the write guard; return (result, snapshot before, snapshot after)."""
        self.reset()
        self.confinement.violations.clear()
        args = self.args(generated)
        before = snapshot(self.root)
        with self.confinement.active():
            result = run_module(module, args, check=check)
        after = snapshot(self.root)
        self.cases += 1
        if result["failed"]:
            self.failures += 1
        else:
            self.successes += 1
        assert self.confinement.violations == [], (self.confinement.violations, args)
        assert not os.path.exists(self.canary), f"a hostile string was executed: {args!r}"
        if result["failed"]:
            assert isinstance(result["msg"], str) and result["msg"].strip(), result
            assert "Traceback (most recent call last)" not in result["msg"], result["msg"]
            if not self.delivery_failure(result):
                assert tree_difference(before, after) == [], (tree_difference(before, after), result["msg"], args)
        if check:
            assert tree_difference(before, after) == [], ("check mode changed files", result, args)
        return result, before, after

    @staticmethod
    def delivery_failure(result: dict) -> bool:
        """smgr_notify converges the file, then sends: a failed send (valid settings, SMTP server unreachable)
        keeps the settings written and fails with the cause (tested in test_smgr_notify.py)."""
        cause = result["msg"].startswith(("cannot send e-mail via ", "cannot load ca_file "))
        return cause and result.get("changed") is True and result.get("sent") is False

    def figures(self, name: str) -> None:
        seconds = round(time.monotonic() - self.started, 1)
        record_figures(
            f"fuzz {name}", cases=self.cases, successes=self.successes, failures=self.failures, seconds=seconds
        )
        assert self.cases >= MIN_CASES, f"only {self.cases} cases ran"
        # Both outcomes must be exercised, or the generator is not testing what it claims to.
        assert self.successes >= MIN_CASES // 50 and self.failures >= MIN_CASES // 50, (self.successes, self.failures)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    loopback_only(monkeypatch)


# --------------------------------------------------------------------------- smgr_schedule, smgr_schedule_info

VALID_SCHEDULES = st.sampled_from(
    [
        "daily_2am",
        "daily_3am",
        "weekly_sunday_2am",
        "hourly",
        "every_6_hours",
        "@daily",
        "@reboot",
        "@hourly",
        "0 2 * * *",
        "*/15 * * * *",
        "H H(1-4) * * *",
        "H/15 * * * *",
        "0 0 29 2 *",
        "1-5/2 1,2,3 1-31/7 jan-dec mon-fri",
    ]
)
BAD_SCHEDULES = st.sampled_from(
    ["0 2 30 feb *", "0 2 * * 1#2", "60 * * * *", "H(5-1) * * * *", "* * * * * *", "@fortnightly", "", "  "]
)
SCHEDULES = st.one_of(VALID_SCHEDULES, BAD_SCHEDULES, STRINGS)


def _printable(text: str) -> bool:
    return bool(text.strip()) and not any(unicodedata.category(char) == "Cc" for char in text)


# Commands that are valid however hostile they look: cron must run them exactly as written.
VALID_COMMANDS = st.one_of(
    st.sampled_from(
        [
            "true",
            "/opt/server-manager/bin/smgr backup nginx",
            "date +%F >> /tmp/x",
            "printf '%s\\n' \"it's\" | logger",
            "echo 100% \\% \\\\%",
        ]
    ),
    CORPUS.filter(lambda text: _printable(text) and not text.startswith("-") and len(text) < 500),
)
VALID_JOB_NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,8}", fullmatch=True)
USER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")


@functools.cache
def _existing_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except (KeyError, ValueError):
        return False
    return True


def _never_a_real_crontab(value: object) -> bool:
    """crontab_user must never name an existing user: the fuzz would rewrite that user's crontab."""
    text = (value if isinstance(value, str) else str(value)).strip()
    return not (USER_RE.fullmatch(text) and _existing_user(text)) and text.lower() not in ("true", "false")


CRONTAB_USERS = st.one_of(st.just("smgr-no-such-user"), STRINGS, GARBAGE).filter(_never_a_real_crontab)
VALID_JOB_OPTIONS = dict(
    user=st.sampled_from(["root", "www-data", "backup"]),
    log=st.sampled_from(["/var/log/smgr-x.log", "/var/log/it's 100%.log", "/var/log/$(id).log"]),
    prevent_overlap=st.booleans(),
    disabled=st.booleans(),
)
GARBAGE_JOB_OPTIONS = dict(
    schedule=SCHEDULES | GARBAGE,
    command=STRINGS | GARBAGE,
    user=STRINGS | GARBAGE,
    log=STRINGS | GARBAGE | STRINGS.map(lambda text: "/var/log/" + text),
    prevent_overlap=BOOLS,
    disabled=BOOLS,
    state=STRINGS | GARBAGE,
)
VALID_JOB = st.fixed_dictionaries(
    {"name": VALID_JOB_NAMES, "schedule": VALID_SCHEDULES, "command": VALID_COMMANDS}, optional=VALID_JOB_OPTIONS
) | st.fixed_dictionaries({"name": VALID_JOB_NAMES, "state": st.just("absent")})
GARBAGE_JOB = st.fixed_dictionaries({"name": VALID_JOB_NAMES | STRINGS | GARBAGE}, optional=GARBAGE_JOB_OPTIONS)
SCHEDULE_TARGET = dict(
    cron_file=sandbox("cron_d_smgr", "cron_d_smgr", "cron_d_other", "new_cron"),
    backup_dir=sandbox("schedule-backups"),
    audit_log=sandbox("logs/audit.log"),
)
SCHEDULE_COMMON = dict(
    hash_seed=st.sampled_from(["web1", "", "host2.example.com"]),
    env=st.sampled_from([{"SHELL": "/bin/sh", "MAILTO": ""}, {}, {"PATH": "/usr/bin:/bin", "X_1": "a b %"}]),
    lock_dir=st.sampled_from(["/run/lock/smgr", "/run/lock/it's here"]),
    backup=st.integers(0, 4),
    next_runs=st.integers(0, 4),
)
VALID_SCHEDULE_ARGS = st.one_of(
    valid_args(
        {**SCHEDULE_TARGET, "name": VALID_JOB_NAMES, "schedule": VALID_SCHEDULES, "command": VALID_COMMANDS},
        {**SCHEDULE_COMMON, **VALID_JOB_OPTIONS},
    ),
    valid_args(
        {**SCHEDULE_TARGET, "jobs": st.lists(VALID_JOB, max_size=4, unique_by=lambda job: job["name"])},
        {**SCHEDULE_COMMON, "exclusive": st.booleans()},
    ),
)
SCHEDULE_GARBAGE = dict(
    cron_file=paths("cron_d_smgr", "cron_d_smgr.conf", "missing/cron_d_smgr", "logs"),
    backup_dir=paths("schedule-backups", "cron_d_smgr"),
    audit_log=paths("logs/audit.log", "logs", "cron_d_smgr"),
    name=VALID_JOB_NAMES | STRINGS | GARBAGE,
    jobs=st.lists(GARBAGE_JOB, max_size=4) | GARBAGE,
    exclusive=BOOLS,
    crontab_user=CRONTAB_USERS,
    hash_seed=STRINGS | GARBAGE,
    env=st.dictionaries(st.sampled_from(["SHELL", "PATH", "MAILTO", "BAD NAME", "X"]), STRINGS, max_size=3) | GARBAGE,
    lock_dir=STRINGS | GARBAGE,
    backup=GARBAGE,
    next_runs=GARBAGE | st.sampled_from([10**6, 10**12, 2**63]),
    **GARBAGE_JOB_OPTIONS,
)
SCHEDULE_ARGS = arguments(VALID_SCHEDULE_ARGS, SCHEDULE_GARBAGE, keep=("cron_file", "backup_dir", "audit_log"))


def schedule_baseline(root: Path) -> None:
    args = dict(
        cron_file=str(root / "cron_d_smgr"),
        backup_dir=str(root / "schedule-backups"),
        audit_log=str(root / "logs" / "audit.log"),
        hash_seed="web1",
        jobs=[
            dict(name="backup-nginx", schedule="daily_2am", command="/opt/server-manager/bin/smgr backup nginx"),
            dict(name="health", schedule="H/15 * * * *", command="smgr health", disabled=True),
        ],
    )
    assert not run_module(smgr_schedule, args)["failed"]
    (root / "cron_d_other").write_text("# somebody else's\n17 1 * * * root /usr/local/bin/rotate\n")


@FUZZ_SETTINGS
@given(generated=SCHEDULE_ARGS, check=st.booleans())
def _schedule_case(fuzz: Fuzz, generated: dict, check: bool) -> None:
    result, _before, _after = fuzz.run(smgr_schedule, generated, check)
    if result["failed"] or check:
        return
    target = result["target"]
    if target.startswith("crontab:"):
        return
    if not os.path.exists(target):
        assert result["jobs"] == [], result
        return
    # No extra cron line: the file reads back as exactly the jobs returned, nothing unmanaged.
    parsed = parse_cron_file(Path(target).read_text(encoding="utf-8"))
    assert parsed.unmanaged == [], parsed.unmanaged
    assert [job.name for job in parsed.jobs] == [job["name"] for job in result["jobs"]]
    assert [job.command for job in parsed.jobs] == [job["command"] for job in result["jobs"]]
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644


def test_fuzz_smgr_schedule(tmp_path, monkeypatch):
    fuzz = Fuzz(tmp_path, monkeypatch, schedule_baseline)
    _schedule_case(fuzz)
    fuzz.figures("smgr_schedule")


SCHEDULE_INFO_ARGS = arguments(
    valid_args(
        {"cron_file": sandbox("cron_d_smgr", "cron_d_other", "missing")},
        {"next_runs": st.integers(0, 4)},
    ),
    dict(
        cron_file=paths("cron_d_smgr", "cron_d_smgr.conf", "logs"),
        crontab_user=CRONTAB_USERS,
        next_runs=GARBAGE | st.sampled_from([10**6, 10**12, 2**63]),
    ),
    keep=("cron_file",),
)


@FUZZ_SETTINGS
@given(generated=SCHEDULE_INFO_ARGS, check=st.booleans())
def _schedule_info_case(fuzz: Fuzz, generated: dict, check: bool) -> None:
    result, before, after = fuzz.run(smgr_schedule_info, generated, check)
    assert tree_difference(before, after) == [], "an info module changed files"
    assert result["failed"] or result["changed"] is False


def test_fuzz_smgr_schedule_info(tmp_path, monkeypatch):
    fuzz = Fuzz(tmp_path, monkeypatch, schedule_baseline)
    _schedule_info_case(fuzz)
    fuzz.figures("smgr_schedule_info")


# --------------------------------------------------------------------------- smgr_notify

PASSWORDS = st.builds(lambda number: f"Secret-{number:010d}-pw", st.integers(0, 10**10 - 1))
ADDRESSES = st.sampled_from(["ops@example.com", "a.b+c@mail.example.org", "o'neil@example.net", "x@y.example"])
REFUSED_PORT = unused_port()
BASELINE_PASSWORD = "Baseline-Password-0123"


def _port_like(value: object) -> bool:
    if isinstance(value, float):
        return True
    try:
        number = int(str(value).strip())
    except ValueError:
        return False
    return 0 < number < 65536


VALID_NOTIFY_ARGS = st.one_of(
    valid_args(
        {"path": sandbox("config/notifications.yaml", "config/new.yaml")},
        dict(
            enabled=st.just(False),
            state=st.sampled_from(["present", "absent"]),
            notify_on_success=st.booleans(),
            smtp_timeout=st.integers(1, 600),
        ),
    ),
    valid_args(
        dict(
            path=sandbox("config/notifications.yaml", "config/new.yaml"),
            enabled=st.just(True),
            smtp_server=st.sampled_from(["127.0.0.1", "localhost", "mail.example.com"]),
            from_email=ADDRESSES,
            to_emails=st.lists(ADDRESSES, min_size=1, max_size=3, unique=True),
        ),
        dict(
            smtp_security=st.sampled_from(["starttls", "tls"]),
            smtp_user=st.sampled_from(["smgr", "ops@example.com"]),
            smtp_password=PASSWORDS,
            notify_on_success=st.booleans(),
            notify_on_failure=st.booleans(),
            smtp_timeout=st.integers(1, 600),
            ca_file=sandbox("ca.pem", "missing.pem"),
            send_test=st.booleans(),
            send=st.fixed_dictionaries(
                {"subject": st.sampled_from(["Disk check", "100% done"])},
                optional={"body": TEXT, "level": st.sampled_from(["info", "error"])},
            ),
            hostname=st.sampled_from(["web1.example.com", "web1"]),
        ),
    ),
)
NOTIFY_GARBAGE = dict(
    path=paths("config/notifications.yaml", "missing/notifications.yaml", "config"),
    state=STRINGS | GARBAGE,
    enabled=BOOLS,
    smtp_server=STRINGS | GARBAGE | st.just("::1"),
    smtp_port=GARBAGE | st.sampled_from([0, -1, 65536, 10**9]),
    smtp_security=STRINGS | GARBAGE,
    smtp_user=STRINGS | GARBAGE,
    smtp_password=STRINGS | GARBAGE,
    from_email=STRINGS | GARBAGE,
    to_emails=st.lists(STRINGS, max_size=2) | GARBAGE,
    notify_on_success=BOOLS,
    notify_on_failure=BOOLS,
    smtp_timeout=GARBAGE,
    ca_file=paths("ca.pem", "config"),
    send_test=BOOLS,
    send=st.fixed_dictionaries(
        {"subject": STRINGS | GARBAGE}, optional={"body": STRINGS | GARBAGE, "level": STRINGS | GARBAGE}
    )
    | GARBAGE,
    hostname=STRINGS | GARBAGE,
)
NOTIFY_ARGS = arguments(VALID_NOTIFY_ARGS, NOTIFY_GARBAGE, keep=("path",))


def notify_baseline(root: Path) -> None:
    (root / "config").mkdir()
    (root / "ca.pem").write_text("not a certificate\n")
    args = dict(
        path=str(root / "config" / "notifications.yaml"),
        enabled=True,
        smtp_server="127.0.0.1",
        smtp_user="smgr",
        smtp_password=BASELINE_PASSWORD,
        from_email="smgr@example.com",
        to_emails=["ops@example.com"],
    )
    assert not run_module(smgr_notify, args)["failed"]


def _reachable_port_only(generated: dict) -> dict:
    """A port that could reach a real service on this host becomes the refused one: sends fail fast."""
    if "smtp_port" not in generated or _port_like(generated["smtp_port"]):
        generated["smtp_port"] = REFUSED_PORT
    return generated


@FUZZ_SETTINGS
@given(generated=NOTIFY_ARGS.map(_reachable_port_only), check=st.booleans())
def _notify_case(fuzz: Fuzz, generated: dict, check: bool) -> None:
    result, _before, _after = fuzz.run(smgr_notify, generated, check)
    secrets = [BASELINE_PASSWORD]
    password = generated.get("smtp_password")
    if isinstance(password, str) and password.startswith("Secret-"):
        secrets.append(password)
    shown = repr(result)
    for secret in secrets:
        assert secret not in shown, f"the password is in the result: {shown[:500]}"
    if result["failed"] or check:
        return
    path = fuzz.args(generated)["path"]
    if isinstance(path, str) and os.path.exists(path):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        config = load_config(path)
        assert config.enabled == result["config"]["enabled"]
        assert list(config.to_emails) == result["config"]["to_emails"]


def test_fuzz_smgr_notify(tmp_path, monkeypatch):
    fuzz = Fuzz(tmp_path, monkeypatch, notify_baseline)
    _notify_case(fuzz)
    fuzz.figures("smgr_notify")


# --------------------------------------------------------------------------- smgr_backup, smgr_backup_info

JOB_FILE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.yaml")
VALID_BACKUP_NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,8}", fullmatch=True)
VALID_BACKUP_JOB = st.one_of(
    st.fixed_dictionaries(
        dict(name=VALID_BACKUP_NAMES, type=st.just("paths"), paths=st.just([f"{SANDBOX}/data", "/etc/hostname"])),
        optional=dict(
            exclude=st.lists(st.sampled_from(["*.log", "/etc/hostname", "-x", "--to-command=id", "a b"]), max_size=3),
            compression=st.sampled_from(["zstd", "gzip"]),
            verify=st.booleans(),
            remote=st.sampled_from([f"{SANDBOX}/remote", "backup@127.0.0.1:/srv/b", "h:/it's $(here)"]),
            retention=st.fixed_dictionaries(
                {},
                optional=dict(keep_days=st.integers(1, 60), keep_min=st.integers(1, 9), keep_daily=st.integers(1, 9)),
            ),
            pre_command=VALID_COMMANDS,
            post_command=st.just("echo done\nlogger -t smgr done"),
            ping_url=st.just("http://127.0.0.1:9/ping"),
            timeout=st.integers(1, 86400),
        ),
    ),
    st.fixed_dictionaries(dict(name=VALID_BACKUP_NAMES, type=st.just("nginx"))),
    st.fixed_dictionaries(
        dict(name=VALID_BACKUP_NAMES, type=st.just("mailcow")),
        optional=dict(mailcow_components=st.sampled_from([["all"], ["vmail", "mysql"]]), mailcow_threads=st.just(2)),
    ),
    st.fixed_dictionaries(dict(name=VALID_BACKUP_NAMES, state=st.just("absent"))),
)
GARBAGE_BACKUP_JOB_OPTIONS = dict(
    state=STRINGS | GARBAGE,
    type=STRINGS | GARBAGE,
    paths=st.lists(st.sampled_from(["/etc/hostname", f"{SANDBOX}/data", "/", "relative"]), max_size=3)
    | st.lists(STRINGS, max_size=2)
    | GARBAGE,
    exclude=st.lists(STRINGS, max_size=2) | GARBAGE,
    dest=STRINGS | GARBAGE | st.just(f"{SANDBOX}/data/inside"),
    compression=STRINGS | GARBAGE,
    verify=BOOLS,
    remote=STRINGS | GARBAGE | st.sampled_from(["host::module", "-oProxyCommand=id:/x", "rsync://h/m"]),
    remote_port=GARBAGE,
    remote_ssh_key=STRINGS | GARBAGE,
    remote_ssh_options=st.lists(STRINGS, max_size=2) | GARBAGE,
    retention=st.fixed_dictionaries({}, optional={key: GARBAGE for key in ("keep_days", "keep_min", "keep_daily")})
    | GARBAGE,
    pre_command=STRINGS | GARBAGE,
    post_command=STRINGS | GARBAGE,
    ping_url=STRINGS | GARBAGE | st.just("ftp://x"),
    timeout=GARBAGE,
    mailcow_dir=STRINGS | GARBAGE,
    mailcow_components=st.lists(STRINGS, max_size=2) | GARBAGE,
    mailcow_threads=GARBAGE,
)
GARBAGE_BACKUP_JOB = st.fixed_dictionaries(
    {"name": VALID_BACKUP_NAMES | STRINGS | GARBAGE}, optional=GARBAGE_BACKUP_JOB_OPTIONS
)
BACKUP_TARGET = dict(
    config_dir=sandbox("config", "config", "config-new"),
    runner_path=sandbox("bin/smgr", "bin/smgr", "bin-new/smgr"),
)
BACKUP_COMMON = dict(
    install_runner=st.booleans(),
    runner_interpreter=st.sampled_from([sys.executable, "/usr/bin/python3"]),
    state_dir=st.sampled_from(["/opt/server-manager/state", "/srv/it's state"]),
    backup_root=st.just(f"{SANDBOX}/backups"),
    archive_host=st.sampled_from(["web1", "web1.example.com"]),
)
VALID_BACKUP_ARGS = st.one_of(
    valid_args(
        {**BACKUP_TARGET, "jobs": st.lists(VALID_BACKUP_JOB, max_size=3, unique_by=lambda job: job["name"])},
        {**BACKUP_COMMON, "exclusive": st.booleans()},
    ),
    valid_args(
        {**BACKUP_TARGET, "name": VALID_BACKUP_NAMES, "type": st.just("paths"), "paths": st.just([f"{SANDBOX}/data"])},
        {**BACKUP_COMMON, "state": st.sampled_from(["present", "absent"])},
    ),
)
# run_now never starts a backup here: only values that mean "no" or that the module refuses.
RUN_NOW_SAFE = st.one_of(
    st.sampled_from([False, "no", "false", "", 0, "../x", "-rf", 2, [], {}]),
    GARBAGE.filter(lambda value: not isinstance(value, (str, bool)) and value not in (1, 1.0)),
)
BACKUP_GARBAGE = dict(
    config_dir=paths("config", "missing/config", "data/index.html"),
    runner_path=paths("bin/smgr", "config", "data/index.html"),
    jobs=st.lists(GARBAGE_BACKUP_JOB, max_size=3) | GARBAGE,
    exclusive=BOOLS,
    name=VALID_BACKUP_NAMES | STRINGS | GARBAGE,
    run_now=RUN_NOW_SAFE,
    install_runner=BOOLS,
    runner_interpreter=STRINGS | GARBAGE,
    state_dir=STRINGS | GARBAGE,
    log_dir=STRINGS | GARBAGE,
    lock_dir=STRINGS | GARBAGE,
    backup_root=STRINGS | GARBAGE,
    archive_host=STRINGS | GARBAGE,
    cron_file=STRINGS | GARBAGE,
    **GARBAGE_BACKUP_JOB_OPTIONS,
)
BACKUP_ARGS = arguments(VALID_BACKUP_ARGS, BACKUP_GARBAGE, keep=("config_dir", "runner_path"))


def backup_baseline(root: Path) -> None:
    (root / "data").mkdir()
    (root / "data" / "index.html").write_text("<h1>hi</h1>\n")
    args = dict(
        config_dir=str(root / "config"),
        runner_path=str(root / "bin" / "smgr"),
        runner_interpreter=sys.executable,
        backup_root=str(root / "backups"),
        archive_host="web1",
        jobs=[
            dict(name="site", type="paths", paths=[str(root / "data")], retention=dict(keep_days=7)),
            dict(name="nginx", type="nginx", compression="gzip"),
        ],
    )
    assert not run_module(smgr_backup, args)["failed"]
    dest = root / "backups" / "site"
    dest.mkdir(parents=True)
    archive = dest / "web1-site-20260101T020000Z.tar.zst"
    archive.write_bytes(b"not really zstd")
    (dest / (archive.name + ".sha256")).write_text(f"{'0' * 64}  {archive.name}\n")
    (root / "config" / "backups.d" / "README").write_text("not a job\n")


def _no_run_now(generated: dict) -> dict:
    run_now = generated.get("run_now")
    if run_now is True or (isinstance(run_now, str) and run_now.strip().lower() in ("true", "yes", "on", "1")):
        generated["run_now"] = False
    return generated


@FUZZ_SETTINGS
@given(generated=BACKUP_ARGS.map(_no_run_now), check=st.booleans())
def _backup_case(fuzz: Fuzz, generated: dict, check: bool) -> None:
    result, _before, _after = fuzz.run(smgr_backup, generated, check)
    assert "run" not in result or result["run"].get("skipped"), "the fuzz must never start a backup"
    if result["failed"] or check:
        return
    config_dir = fuzz.args(generated)["config_dir"]
    jobs_dir = os.path.join(str(config_dir), "backups.d")
    if not isinstance(config_dir, str) or not os.path.isdir(jobs_dir):
        return
    runner_settings = load_settings(config_dir)
    for name in os.listdir(jobs_dir):
        if name == "README":
            continue
        # Every job file the module wrote has a proper name, mode 0600, and loads in the runner.
        assert JOB_FILE_RE.fullmatch(name), f"job file with an unsafe name: {name!r}"
        assert stat.S_IMODE(os.stat(os.path.join(jobs_dir, name)).st_mode) == 0o600
        load_job(config_dir, name[: -len(".yaml")], runner_settings.backup_root)


def test_fuzz_smgr_backup(tmp_path, monkeypatch):
    fast_runner(monkeypatch)
    fuzz = Fuzz(tmp_path, monkeypatch, backup_baseline)
    _backup_case(fuzz)
    fuzz.figures("smgr_backup")


BACKUP_INFO_ARGS = arguments(
    valid_args(
        {"config_dir": sandbox("config", "config", "missing")},
        dict(
            name=st.lists(st.sampled_from(["site", "nginx"]), max_size=2, unique=True), verify_checksums=st.booleans()
        ),
    ),
    dict(
        config_dir=paths("config", "missing", "data"),
        name=st.lists(st.sampled_from(["site", "nope", "../x", "site\n"]), max_size=3) | STRINGS | GARBAGE,
        verify_checksums=BOOLS,
    ),
    keep=("config_dir",),
)


@FUZZ_SETTINGS
@given(generated=BACKUP_INFO_ARGS, check=st.booleans())
def _backup_info_case(fuzz: Fuzz, generated: dict, check: bool) -> None:
    result, before, after = fuzz.run(smgr_backup_info, generated, check)
    assert tree_difference(before, after) == [], "an info module changed files"
    assert result["failed"] or result["changed"] is False


def test_fuzz_smgr_backup_info(tmp_path, monkeypatch):
    fast_runner(monkeypatch)
    fuzz = Fuzz(tmp_path, monkeypatch, backup_baseline)
    _backup_info_case(fuzz)
    fuzz.figures("smgr_backup_info")
