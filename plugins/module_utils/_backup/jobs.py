# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Backup job definitions: the model, its validation, and the YAML files under ``config/backups.d``.

One validation path serves both entry points: the module validates what the
playbook asks for before writing anything, and the runner validates the file it
reads (which a person may have edited) before touching any data.
"""

from __future__ import annotations

import os
import re
import traceback
from dataclasses import asdict, dataclass, field
from typing import Any

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.job_secrets import SECRET_JOB_KEYS
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError

try:
    import yaml

    HAS_YAML = True
    YAML_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised only on hosts without PyYAML
    HAS_YAML = False
    YAML_IMPORT_ERROR = traceback.format_exc()

JOB_TYPES = ("nginx", "mailcow", "npm", "paths")
ENGINES = ("tar", "borg")
COMPRESSIONS = ("zstd", "gzip")
MAILCOW_COMPONENTS = ("vmail", "crypt", "redis", "rspamd", "postfix", "mysql")
NGINX_DEFAULT_PATHS = ("/etc/nginx", "/etc/letsencrypt")
DEFAULT_MAILCOW_DIR = "/opt/mailcow-dockerized"
DEFAULT_NPM_DIR = "/root/nginx"
MAILCOW_SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/+-]*\Z")
MAILCOW_SAFE_CHARACTERS = "letters, digits and . _ / + - only"  # the old TUI's example settings
DEFAULT_BACKUP_ROOT = "/var/backups/smgr"
DEFAULT_CONFIG_DIR = "/opt/server-manager/config"
DEFAULT_STATE_DIR = "/opt/server-manager/state"
DEFAULT_LOG_DIR = "/opt/server-manager/logs"
DEFAULT_LOCK_DIR = "/run/lock/smgr"
DEFAULT_CRON_FILE = "/etc/cron.d/smgr"
DEFAULT_UNIT_DIR = "/etc/systemd/system"
DEFAULT_TIMEOUT = 4 * 3600
DEFAULT_KEEP_DAYS = 30
DEFAULT_KEEP_MIN = 3
DEFAULT_NOTIFY_AFTER_SKIPS = 2  # skipped runs in a row (the previous run still held the lock) before a mail
DEFAULT_BORG_LOCK_WAIT = 60  # seconds borg waits for another process's repository lock
MAX_AGE_HOURS_LIMIT = 24 * 400
CERT_WARN_DAYS = 14  # smgr health: a certificate expiring within this many days is a warning
CERT_FAIL_DAYS = 3  # ... and within this many a problem
JOBS_SUBDIR = "backups.d"
RUNNER_SETTINGS_FILE = "runner.yaml"
PASSPHRASE_SUBDIR = "borg"  # <config_dir>/borg/<job>.passphrase: a borg job's passphrase, 0600
PASSPHRASE_SUFFIX = ".passphrase"
# \Z, not $: "$" also matches before a final newline, and "nginx\n" must not be a job name.
JOB_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
# The cron entry (or timer) of backup job <name> is backup-<name>; entry names have at most 64 characters, so a
# job the role schedules has a name of at most 57.
BACKUP_ENTRY_PREFIX = "backup-"
# The cron entries of the role's other runner commands.
CLEANUP_ENTRY = "cleanup"
HEALTH_ENTRY = "health"
DRILL_ENTRY = "drill"
MAX_SCHEDULED_JOB_NAME = 64 - len(BACKUP_ENTRY_PREFIX)
HOST_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}\Z")
SSH_OPTION_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*=[^\s\x00]+\Z")
REMOTE_SSH_RE = re.compile(
    r"^(?:(?P<user>[A-Za-z0-9._][A-Za-z0-9._-]*)@)?(?P<host>[A-Za-z0-9._\[\]:-]+?):(?P<path>[^:].*)$"
)
FILE_HEADER = "# Managed by smgr.server_manager (smgr_backup): local changes are overwritten.\n"

JOB_KEYS = (
    "name",
    "type",
    "engine",
    "paths",
    "exclude",
    "dest",
    "compression",
    "verify",
    "remote",
    "remote_port",
    "remote_ssh_key",
    "remote_ssh_options",
    "retention",
    "pre_command",
    "post_command",
    "ping_url",
    "timeout",
    "mailcow_dir",
    "mailcow_components",
    "mailcow_threads",
    "mailcow_install_files",
    "npm_dir",
    "max_age_hours",
    "notify_after_skips",
    "repository",
    "encryption",
    "passphrase",
    "borg_remote_path",
    "ssh_key",
    "ssh_options",
    "borg_lock_wait",
)
BORG_KEYS = ("repository", "encryption", "passphrase", "borg_remote_path", "ssh_key", "ssh_options", "borg_lock_wait")
BORG_SSH_KEYS = ("borg_remote_path", "ssh_key", "ssh_options")
RETENTION_KEYS = ("keep_days", "keep_min", "keep_daily", "keep_weekly", "keep_monthly")
SETTINGS_KEYS = (
    "state_dir",
    "log_dir",
    "lock_dir",
    "backup_root",
    "archive_host",
    "cron_file",
    "unit_dir",
    "metrics_file",
)

# The job options in Ansible's argument-spec form: smgr_backup's ``jobs`` suboptions and, on the controller,
# the role's check of smgr_backups (the same type conversion before validate_job).
RETENTION_SPEC = dict(
    keep_days=dict(type="int"),
    keep_min=dict(type="int"),
    keep_daily=dict(type="int"),
    keep_weekly=dict(type="int"),
    keep_monthly=dict(type="int"),
)
JOB_SPEC = dict(
    type=dict(type="str", choices=list(JOB_TYPES)),
    engine=dict(type="str", choices=list(ENGINES)),
    paths=dict(type="list", elements="str"),
    exclude=dict(type="list", elements="str"),
    dest=dict(type="str"),
    compression=dict(type="str"),  # tar: zstd or gzip; borg: borg's syntax (checked by validate_job)
    verify=dict(type="bool"),
    remote=dict(type="str"),
    remote_port=dict(type="int"),
    remote_ssh_key=dict(type="str", no_log=False),
    remote_ssh_options=dict(type="list", elements="str"),
    retention=dict(type="dict", options=RETENTION_SPEC),
    pre_command=dict(type="str"),
    post_command=dict(type="str"),
    ping_url=dict(type="str"),
    timeout=dict(type="int"),
    mailcow_dir=dict(type="str"),
    mailcow_components=dict(type="list", elements="str"),
    mailcow_threads=dict(type="int"),
    mailcow_install_files=dict(type="bool"),
    npm_dir=dict(type="str"),
    max_age_hours=dict(type="int"),
    notify_after_skips=dict(type="int"),
    repository=dict(type="str"),
    encryption=dict(type="str"),
    passphrase=dict(type="str", no_log=True),
    borg_remote_path=dict(type="str"),
    ssh_key=dict(type="str", no_log=False),
    ssh_options=dict(type="list", elements="str"),
    borg_lock_wait=dict(type="int"),
)


@dataclass(frozen=True)
class Retention:
    """How many archives a job keeps (docs/runner.md, retention).

    Kept: the newest ``keep_min`` always; every archive younger than ``keep_days``
    (0 = no age rule); the newest archive of each of the last ``keep_daily`` days,
    ``keep_weekly`` ISO weeks and ``keep_monthly`` months that have archives.
    """

    keep_days: int = DEFAULT_KEEP_DAYS
    keep_min: int = DEFAULT_KEEP_MIN
    keep_daily: int | None = None
    keep_weekly: int | None = None
    keep_monthly: int | None = None


@dataclass(frozen=True)
class RemoteTarget:
    """Where ``remote`` points: a local directory, or ``[user@]host:path`` reached by rsync over ssh."""

    path: str
    host: str | None = None
    user: str | None = None

    @property
    def is_ssh(self) -> bool:
        return self.host is not None

    @property
    def login(self) -> str | None:
        if self.host is None:
            return None
        return f"{self.user}@{self.host}" if self.user else self.host


@dataclass(frozen=True)
class BackupJob:
    name: str
    type: str
    paths: tuple[str, ...]
    dest: str
    exclude: tuple[str, ...] = ()
    compression: str = "zstd"
    verify: bool = True
    remote: str | None = None
    remote_port: int | None = None
    remote_ssh_key: str | None = None
    remote_ssh_options: tuple[str, ...] = ()
    retention: Retention = field(default_factory=Retention)
    pre_command: str | None = None
    post_command: str | None = None
    ping_url: str | None = None
    timeout: int = DEFAULT_TIMEOUT
    mailcow_dir: str | None = None
    mailcow_components: tuple[str, ...] = ()
    mailcow_threads: int | None = None
    mailcow_install_files: bool | None = None  # mailcow: also archive mailcow.conf, compose files, ssl, conf
    npm_dir: str | None = None  # npm: Nginx Proxy Manager's install directory (compose file, data/, letsencrypt/)
    max_age_hours: int | None = None  # health limit; None: the job's schedule decides
    notify_after_skips: int = DEFAULT_NOTIFY_AFTER_SKIPS
    engine: str = "tar"
    repository: str | None = None  # borg: a local path or ssh://user@host:port/path
    encryption: str | None = None  # borg: borg init's --encryption mode
    passphrase: str | None = field(default=None, repr=False)  # borg: only in the module's request, never in files
    borg_remote_path: str | None = None
    ssh_key: str | None = None
    ssh_options: tuple[str, ...] = ()
    borg_lock_wait: int = DEFAULT_BORG_LOCK_WAIT

    @property
    def is_borg(self) -> bool:
        return self.engine == "borg"

    @property
    def remote_target(self) -> RemoteTarget | None:
        return parse_remote(self.remote, self.name) if self.remote else None

    def expanded_mailcow_components(self) -> tuple[str, ...]:
        if "all" in self.mailcow_components:
            return MAILCOW_COMPONENTS
        return self.mailcow_components


@dataclass(frozen=True)
class RunnerSettings:
    """Paths the runner needs besides the job files; written by the module to ``config/runner.yaml``."""

    state_dir: str = DEFAULT_STATE_DIR
    log_dir: str = DEFAULT_LOG_DIR
    lock_dir: str = DEFAULT_LOCK_DIR
    backup_root: str = DEFAULT_BACKUP_ROOT
    archive_host: str | None = None
    cron_file: str = DEFAULT_CRON_FILE
    unit_dir: str = DEFAULT_UNIT_DIR  # where smgr_schedule writes the jobs of its systemd backend
    metrics_file: str | None = None  # Prometheus text file for node_exporter's textfile collector


# --------------------------------------------------------------------------- field checks


def _fail(message: str, job: str | None, name: str) -> SmgrError:
    return SmgrError(message, job=job, field=name)


def _string(value: Any, job: str | None, name: str, allow_newline: bool = False) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(f"must be a non-empty string, got {value!r}", job, name)
    if "\x00" in value:
        raise _fail("must not contain a NUL byte", job, name)
    if not allow_newline and ("\n" in value or "\r" in value):
        raise _fail("must not contain a newline", job, name)
    return value


def _absolute_path(value: Any, job: str | None, name: str) -> str:
    path = _string(value, job, name)
    if not os.path.isabs(path):
        raise _fail(f"must be an absolute path, got {path!r}", job, name)
    normalized = os.path.normpath(path)
    if normalized.startswith("//"):
        normalized = "/" + normalized.lstrip("/")
    return normalized


def _integer(value: Any, job: str | None, name: str, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and re.fullmatch(r"[0-9]+", value.strip()):
            value = int(value)
        else:
            raise _fail(f"must be an integer, got {value!r}", job, name)
    if value < minimum:
        raise _fail(f"must be at least {minimum}, got {value}", job, name)
    if maximum is not None and value > maximum:
        raise _fail(f"must be at most {maximum}, got {value}", job, name)
    return value


def _boolean(value: Any, job: str | None, name: str) -> bool:
    if isinstance(value, bool):
        return value
    raise _fail(f"must be true or false, got {value!r}", job, name)


def _string_list(value: Any, job: str | None, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise _fail(f"must be a list of strings, got {value!r}", job, name)
    return [_string(item, job, f"{name}[{index}]") for index, item in enumerate(value)]


def parse_remote(value: str, job: str | None = None) -> RemoteTarget:
    """``/abs/dir`` (local) or ``[user@]host:path`` (rsync over ssh); rsync daemon syntax is refused."""
    text = _string(value, job, "remote")
    if text.startswith("/"):
        return RemoteTarget(path=_absolute_path(text, job, "remote"))
    if "::" in text or text.startswith("rsync://"):
        raise _fail(
            "rsync daemon targets (host::module, rsync://) are not supported; use [user@]host:path", job, "remote"
        )
    match = REMOTE_SSH_RE.match(text)
    if not match or match.group("host").startswith("-") or any(ch.isspace() for ch in text):
        raise _fail(f"must be an absolute local path or [user@]host:path, got {text!r}", job, "remote")
    path = match.group("path").rstrip("/") or "/"
    if any(char in path for char in "*?["):
        # The remote rsync expands wildcards in its path arguments: the copy would not land in this directory.
        raise _fail(f"the remote path must not contain '*', '?' or '[', got {path!r}", job, "remote")
    return RemoteTarget(path=path, host=match.group("host"), user=match.group("user"))


def validate_retention(value: Any, job: str | None) -> Retention:
    if value is None:
        return Retention()
    if not isinstance(value, dict):
        raise _fail(f"must be a mapping with {', '.join(RETENTION_KEYS)}, got {value!r}", job, "retention")
    unknown = sorted(set(value) - set(RETENTION_KEYS))
    if unknown:
        raise _fail(f"unknown key(s) {', '.join(map(str, unknown))}", job, "retention")
    given = {key: item for key, item in value.items() if item is not None}
    keep_days = _integer(given.get("keep_days", DEFAULT_KEEP_DAYS), job, "retention.keep_days", 0, 36500)
    if keep_days == 0 and "keep_min" not in given:
        raise _fail(
            "keep_days 0 disables the age rule; set keep_min explicitly to say how many archives to keep",
            job,
            "retention.keep_days",
        )
    if "keep_min" in value and value["keep_min"] is not None:
        keep_min = _integer(value["keep_min"], job, "retention.keep_min", 1, 100000)
    else:
        keep_min = DEFAULT_KEEP_MIN
    periods = {}
    for key in ("keep_daily", "keep_weekly", "keep_monthly"):
        periods[key] = _integer(given[key], job, f"retention.{key}", 1, 100000) if key in given else None
    return Retention(keep_days=keep_days, keep_min=keep_min, **periods)


def _ping_url(value: Any, job: str | None) -> str:
    url = _string(value, job, "ping_url")
    if not re.match(r"^https?://[^\s/]+", url) or any(ch.isspace() for ch in url):
        raise _fail(f"must be an http:// or https:// URL, got {url!r}", job, "ping_url")
    return url


def _mailcow_components(value: Any, job: str | None) -> tuple[str, ...]:
    items = _string_list(value if value is not None else ["all"], job, "mailcow_components")
    if not items:
        raise _fail("must name at least one component (or all)", job, "mailcow_components")
    allowed = (*MAILCOW_COMPONENTS, "all")
    for item in items:
        if item not in allowed:
            raise _fail(f"unknown component {item!r}; choose from {', '.join(allowed)}", job, "mailcow_components")
    if "all" in items and len(items) > 1:
        raise _fail("'all' cannot be combined with other components", job, "mailcow_components")
    if len(set(items)) != len(items):
        raise _fail("lists a component twice", job, "mailcow_components")
    return tuple(items)


def certificate_limits_problem(warn_days: object, fail_days: object) -> tuple[str, str] | None:
    """(which limit, why) when the certificate limits are not whole days with 0 <= fail_days <= warn_days."""
    for name, value in (("cert_warn_days", warn_days), ("cert_fail_days", fail_days)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return name, f"must be a whole number of days (0 or more), got {value!r}"
    if fail_days > warn_days:  # type: ignore[operator]
        return "cert_fail_days", f"{fail_days} is more than cert_warn_days {warn_days}"
    return None


def validate_job_name(value: Any) -> str:
    if not isinstance(value, str) or not JOB_NAME_RE.match(value):
        raise SmgrError(
            f"invalid job name {value!r}: use 1-64 letters, digits, '-' or '_', starting with a letter or digit",
            field="name",
        )
    return value


def backup_entry_name(job: str) -> str:
    """The name of the cron entry that runs backup job ``job``."""
    return BACKUP_ENTRY_PREFIX + job


def validate_scheduled_job_name(value: Any) -> str:
    """A job name that also leaves room for its entry name ``backup-<name>``."""
    name = validate_job_name(value)
    if len(name) > MAX_SCHEDULED_JOB_NAME:
        raise SmgrError(
            f"{name!r} has {len(name)} characters; a scheduled backup job's name has at most "
            f"{MAX_SCHEDULED_JOB_NAME}, so that its cron entry {backup_entry_name('<name>')} fits in 64",
            field="name",
        )
    return name


def _job_paths(raw: dict[str, Any], job: str, job_type: str) -> tuple[str, ...]:
    given = raw.get("paths")
    if job_type == "mailcow":
        if given:
            raise _fail("is not used by type mailcow (the Mailcow dump is archived)", job, "paths")
        return ()
    if job_type == "npm":
        if given:
            raise _fail("is not used by type npm (npm_dir is archived)", job, "paths")
        return ()
    if given is None and job_type == "nginx":
        return NGINX_DEFAULT_PATHS
    items = _string_list(given, job, "paths")
    if not items:
        raise _fail(f"type {job_type} needs at least one path", job, "paths")
    paths = [_absolute_path(item, job, f"paths[{index}]") for index, item in enumerate(items)]
    if len(set(paths)) != len(paths):
        raise _fail("lists a path twice", job, "paths")
    if "/" in paths:
        raise _fail("/ (the whole system) is not a supported backup path; list directories", job, "paths")
    return tuple(paths)


def _remote_options(raw: dict[str, Any], job: str) -> dict[str, Any]:
    remote = raw.get("remote")
    target = parse_remote(remote, job) if remote is not None else None
    port = raw.get("remote_port")
    key = raw.get("remote_ssh_key")
    options = _string_list(raw.get("remote_ssh_options"), job, "remote_ssh_options")
    ssh_only = {"remote_port": port, "remote_ssh_key": key, "remote_ssh_options": options or None}
    for name, item in ssh_only.items():
        if item is not None and (target is None or not target.is_ssh):
            raise _fail("only applies to a remote of the form [user@]host:path", job, name)
    for index, option in enumerate(options):
        if not SSH_OPTION_RE.match(option):
            raise _fail(f"must look like Name=value, got {option!r}", job, f"remote_ssh_options[{index}]")
    return {
        "remote": remote,
        "remote_port": _integer(port, job, "remote_port", 1, 65535) if port is not None else None,
        "remote_ssh_key": _absolute_path(key, job, "remote_ssh_key") if key is not None else None,
        "remote_ssh_options": tuple(options),
    }


def _mailcow_options(raw: dict[str, Any], job: str, job_type: str) -> dict[str, Any]:
    names = ("mailcow_dir", "mailcow_components", "mailcow_threads", "mailcow_install_files")
    if job_type != "mailcow":
        for name in names:
            if raw.get(name) is not None:
                raise _fail("only applies to type mailcow", job, name)
        return {}
    directory = raw.get("mailcow_dir")
    directory = _absolute_path(directory, job, "mailcow_dir") if directory is not None else DEFAULT_MAILCOW_DIR
    if not MAILCOW_SAFE_PATH.match(directory):
        # Mailcow's script uses its own directory unquoted (source, the compose file test).
        raise _fail(f"{directory!r}: Mailcow's script needs a path of {MAILCOW_SAFE_CHARACTERS}", job, "mailcow_dir")
    threads = raw.get("mailcow_threads")
    install_files = raw.get("mailcow_install_files")
    return {
        "mailcow_dir": directory,
        "mailcow_components": _mailcow_components(raw.get("mailcow_components"), job),
        # Mailcow's script refuses THREADS outside 1-99 (^[1-9][0-9]?$).
        "mailcow_threads": _integer(threads, job, "mailcow_threads", 1, 99) if threads is not None else 1,
        "mailcow_install_files": (
            _boolean(install_files, job, "mailcow_install_files") if install_files is not None else True
        ),
    }


def _npm_options(raw: dict[str, Any], job: str, job_type: str) -> dict[str, Any]:
    directory = raw.get("npm_dir")
    if job_type != "npm":
        if directory is not None:
            raise _fail("only applies to type npm", job, "npm_dir")
        return {}
    return {"npm_dir": _absolute_path(directory, job, "npm_dir") if directory is not None else DEFAULT_NPM_DIR}


def _compression(value: Any, job: str, engine: str) -> str:
    if engine == "borg":
        from ansible_collections.smgr.server_manager.plugins.module_utils._backup.borg import (
            DEFAULT_COMPRESSION,
            check_compression,
        )

        if value is None:
            return DEFAULT_COMPRESSION
        try:
            return check_compression(value)
        except SmgrError as exc:
            raise _fail(exc.reason, job, "compression") from None
    compression = value if value is not None else "zstd"
    if compression not in COMPRESSIONS:
        raise _fail(f"must be one of {', '.join(COMPRESSIONS)} (engine tar), got {compression!r}", job, "compression")
    return compression


def _borg_options(raw: dict[str, Any], job: str, engine: str, require_passphrase: bool) -> dict[str, Any]:
    """The borg engine's keys; with engine tar none of them may be set, with borg the rsync ``remote`` keys not."""
    if engine != "borg":
        for key in BORG_KEYS:
            if raw.get(key) is not None:
                raise _fail("only applies to engine borg", job, key)
        return {}
    from ansible_collections.smgr.server_manager.plugins.module_utils._backup.borg import (
        DEFAULT_ENCRYPTION,
        ENCRYPTIONS,
        check_repository,
    )

    for key in ("remote", "remote_port", "remote_ssh_key", "remote_ssh_options"):
        if raw.get(key) is not None:
            raise _fail("does not apply to engine borg (give repository an ssh:// URL instead)", job, key)
    if raw.get("repository") is None:
        raise _fail("is required with engine borg (a local path or ssh://user@host:port/path)", job, "repository")
    try:
        repository = check_repository(_string(raw["repository"], job, "repository"))
    except SmgrError as exc:
        raise _fail(exc.reason, job, "repository") from None
    encryption = raw.get("encryption") if raw.get("encryption") is not None else DEFAULT_ENCRYPTION
    if encryption not in ENCRYPTIONS:
        raise _fail(f"must be one of {', '.join(ENCRYPTIONS)}, got {encryption!r}", job, "encryption")
    passphrase = raw.get("passphrase")
    if passphrase is not None:
        # The value is never quoted in an error: it is a secret.
        if not isinstance(passphrase, str) or not passphrase or any(ch in passphrase for ch in "\n\r\x00"):
            raise _fail("must be one line of text (no newline, no NUL byte)", job, "passphrase")
        if encryption == "none":
            raise _fail("is not used with encryption none; remove it or choose an encryption", job, "passphrase")
    elif encryption != "none" and require_passphrase:
        raise _fail(f"is required with encryption {encryption} (keep it in Ansible Vault)", job, "passphrase")
    ssh = repository.startswith("ssh://")
    for key in BORG_SSH_KEYS:
        if raw.get(key) is not None and not ssh:
            raise _fail("only applies to an ssh:// repository", job, key)
    options = _string_list(raw.get("ssh_options"), job, "ssh_options")
    for index, option in enumerate(options):
        if not SSH_OPTION_RE.match(option):
            raise _fail(f"must look like Name=value, got {option!r}", job, f"ssh_options[{index}]")
    remote_path = raw.get("borg_remote_path")
    key = raw.get("ssh_key")
    lock_wait = raw.get("borg_lock_wait")
    return {
        "engine": "borg",
        "repository": repository,
        "encryption": encryption,
        "passphrase": passphrase,
        "borg_remote_path": _string(remote_path, job, "borg_remote_path") if remote_path is not None else None,
        "ssh_key": _absolute_path(key, job, "ssh_key") if key is not None else None,
        "ssh_options": tuple(options),
        "borg_lock_wait": (
            _integer(lock_wait, job, "borg_lock_wait", 0, 86400) if lock_wait is not None else DEFAULT_BORG_LOCK_WAIT
        ),
    }


def validate_job(raw: Any, backup_root: str = DEFAULT_BACKUP_ROOT, require_passphrase: bool = True) -> BackupJob:
    """Turn a mapping (module options or a parsed job file) into a BackupJob, or raise SmgrError naming the field.

    ``require_passphrase``: an encrypted borg job must come with its passphrase (the module's request, the
    controller's check); a job file never holds it (the runner reads the job's passphrase file)."""
    if not isinstance(raw, dict):
        raise SmgrError(f"a job must be a mapping, got {raw!r}")
    name = validate_job_name(raw.get("name"))
    unknown = sorted(str(key) for key in set(raw) - set(JOB_KEYS))
    if unknown:
        raise _fail(f"unknown key(s): {', '.join(unknown)}", name, unknown[0])
    job_type = raw.get("type")
    if job_type not in JOB_TYPES:
        raise _fail(f"must be one of {', '.join(JOB_TYPES)}, got {job_type!r}", name, "type")
    engine = raw.get("engine") if raw.get("engine") is not None else "tar"
    if engine not in ENGINES:
        raise _fail(f"must be one of {', '.join(ENGINES)}, got {engine!r}", name, "engine")
    compression = _compression(raw.get("compression"), name, engine)
    dest = raw.get("dest")
    dest = _absolute_path(dest, name, "dest") if dest is not None else os.path.join(backup_root, name)
    if job_type == "mailcow" and not MAILCOW_SAFE_PATH.match(dest):
        # Mailcow's script mounts its backup location unquoted (docker run -v ${BACKUP_LOCATION}/...): whitespace
        # splits it, glob characters expand, a colon ends the mount source.
        raise _fail(f"{dest!r}: Mailcow's script needs a path of {MAILCOW_SAFE_CHARACTERS}", name, "dest")
    paths = _job_paths(raw, name, job_type)
    for path in paths:
        if dest == path or dest.startswith(path.rstrip("/") + "/"):
            raise _fail(f"lies inside the backed-up path {path}; the archive would contain itself", name, "dest")
    exclude = _string_list(raw.get("exclude"), name, "exclude")
    optional_text = {}
    for key in ("pre_command", "post_command"):
        value = raw.get(key)
        optional_text[key] = _string(value, name, key, allow_newline=True) if value is not None else None
    ping = raw.get("ping_url")
    timeout = raw.get("timeout")
    max_age = raw.get("max_age_hours")
    skips = raw.get("notify_after_skips")
    return BackupJob(
        name=name,
        type=job_type,
        paths=paths,
        dest=dest,
        exclude=tuple(exclude),
        compression=compression,
        verify=_boolean(raw["verify"], name, "verify") if raw.get("verify") is not None else True,
        retention=validate_retention(raw.get("retention"), name),
        ping_url=_ping_url(ping, name) if ping is not None else None,
        timeout=_integer(timeout, name, "timeout", 1, 7 * 24 * 3600) if timeout is not None else DEFAULT_TIMEOUT,
        max_age_hours=_integer(max_age, name, "max_age_hours", 1, MAX_AGE_HOURS_LIMIT) if max_age is not None else None,
        notify_after_skips=(
            _integer(skips, name, "notify_after_skips", 1, 1000) if skips is not None else DEFAULT_NOTIFY_AFTER_SKIPS
        ),
        **optional_text,
        **_remote_options(raw, name),
        **_mailcow_options(raw, name, job_type),
        **_npm_options(raw, name, job_type),
        **_borg_options(raw, name, engine, require_passphrase),
    )


def validate_jobs(raws: list[Any], backup_root: str = DEFAULT_BACKUP_ROOT) -> list[BackupJob]:
    jobs = [validate_job(raw, backup_root) for raw in raws]
    seen: dict[str, str] = {}
    for job in jobs:
        if job.name in seen:
            raise SmgrError("is listed twice", job=job.name, field="name")
        seen[job.name] = job.name
    return jobs


# --------------------------------------------------------------------------- files


def job_to_dict(job: BackupJob) -> dict[str, Any]:
    """The job as the plain mapping written to its file (keys in contract order, unset keys left out)."""
    data = asdict(job)
    out: dict[str, Any] = {}
    for key in JOB_KEYS:
        if key in SECRET_JOB_KEYS:
            continue
        value = data[key]
        if key == "retention":
            value = {k: v for k, v in value.items() if v is not None}
        elif isinstance(value, tuple):
            value = list(value)
        if value is None or value == [] or (key == "engine" and value == "tar"):
            continue  # engine tar is left out: the files of tar jobs stay as they were before borg
        if key == "borg_lock_wait" and data["engine"] != "borg":
            continue
        out[key] = value
    return out


def _require_yaml() -> None:
    if not HAS_YAML:
        raise SmgrError(f"PyYAML is required (install python3-yaml): {YAML_IMPORT_ERROR}")


def render_yaml(data: dict[str, Any]) -> bytes:
    _require_yaml()
    # allow_unicode=False: non-ASCII characters are written as escapes, which read back exactly; written raw,
    # PyYAML folds a NEL (U+0085) into a space on the next load ("/srv/x\x85y" would become "/srv/x y").
    body = yaml.safe_dump(data, default_flow_style=False, sort_keys=False, allow_unicode=False, width=1000)
    return (FILE_HEADER + body).encode("utf-8")


def render_job(job: BackupJob) -> bytes:
    return render_yaml(job_to_dict(job))


def parse_yaml(content: bytes, path: str) -> Any:
    _require_yaml()
    # libyaml's loader when PyYAML has it (Debian's python3-yaml does): the runner reads every job file at each
    # start, and the pure-Python loader takes about 1 ms per file (50 jobs in B8, docs/performance.md).
    loader = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    try:
        return yaml.load(content.decode("utf-8"), Loader=loader)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SmgrError(f"{path} is not valid YAML: {exc}") from exc


def passphrase_path(config_dir: str, job: str) -> str:
    return os.path.join(config_dir, PASSPHRASE_SUBDIR, job + PASSPHRASE_SUFFIX)


def job_file_path(config_dir: str, name: str) -> str:
    return os.path.join(config_dir, JOBS_SUBDIR, f"{name}.yaml")


def parse_job_file(content: bytes, path: str, backup_root: str = DEFAULT_BACKUP_ROOT) -> BackupJob:
    data = parse_yaml(content, path)
    if isinstance(data, dict) and data.get("passphrase") is not None:
        raise SmgrError(
            f"{path}: a job file must not hold the passphrase (it has a file of its own)", field="passphrase"
        )
    job = validate_job(data, backup_root, require_passphrase=False)
    expected = os.path.basename(path)[: -len(".yaml")]
    if job.name != expected:
        raise SmgrError(f"{path} defines job {job.name!r}; the file must be named {job.name}.yaml", job=job.name)
    return job


def list_job_files(config_dir: str) -> dict[str, str]:
    """Job name -> file path for every ``backups.d/<name>.yaml`` with a valid job name (other files are ignored)."""
    directory = os.path.join(config_dir, JOBS_SUBDIR)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SmgrError(f"cannot list {directory}: {exc.strerror}") from exc
    except ValueError as exc:  # a NUL byte in the path
        raise SmgrError(f"cannot list {directory!r}: {exc}") from exc
    found = {}
    for entry in sorted(names):
        if entry.endswith(".yaml") and JOB_NAME_RE.match(entry[: -len(".yaml")]):
            found[entry[: -len(".yaml")]] = os.path.join(directory, entry)
    return found


def load_job(config_dir: str, name: str, backup_root: str = DEFAULT_BACKUP_ROOT) -> BackupJob:
    validate_job_name(name)
    path = job_file_path(config_dir, name)
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except FileNotFoundError:
        known = ", ".join(list_job_files(config_dir)) or "none"
        raise SmgrError(f"no such backup job (no {path}); configured jobs: {known}", job=name) from None
    except OSError as exc:
        raise SmgrError(f"cannot read {path}: {exc.strerror}", job=name) from exc
    except ValueError as exc:  # a NUL byte in the path
        raise SmgrError(f"cannot read {path!r}: {exc}", job=name) from exc
    return parse_job_file(content, path, backup_root)


# --------------------------------------------------------------------------- runner settings


def settings_to_dict(settings: RunnerSettings) -> dict[str, Any]:
    return {key: value for key, value in asdict(settings).items() if value is not None}


def render_settings(settings: RunnerSettings) -> bytes:
    return render_yaml(settings_to_dict(settings))


def validate_settings(raw: Any, source: str = RUNNER_SETTINGS_FILE) -> RunnerSettings:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SmgrError(f"{source} must be a mapping, got {raw!r}")
    unknown = sorted(str(key) for key in set(raw) - set(SETTINGS_KEYS))
    if unknown:
        raise SmgrError(f"{source}: unknown key(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for key in ("state_dir", "log_dir", "lock_dir", "backup_root", "cron_file", "unit_dir", "metrics_file"):
        if raw.get(key) is not None:
            values[key] = _absolute_path(raw[key], None, key)
    metrics = values.get("metrics_file")
    if metrics is not None and not metrics.endswith(".prom"):
        # node_exporter's textfile collector reads only *.prom files.
        raise SmgrError(f"metrics_file must end in .prom (node_exporter reads only those), got {metrics!r}")
    host = raw.get("archive_host")
    if host is not None:
        if not isinstance(host, str) or not HOST_NAME_RE.match(host):
            raise SmgrError(f"archive_host must be a host name (letters, digits, '.', '-'), got {host!r}")
        values["archive_host"] = host
    return RunnerSettings(**values)


def load_settings(config_dir: str) -> RunnerSettings:
    """``config/runner.yaml`` if present; otherwise the default host layout."""
    path = os.path.join(config_dir, RUNNER_SETTINGS_FILE)
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except FileNotFoundError:
        return RunnerSettings()
    except OSError as exc:
        raise SmgrError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:  # a NUL byte in the path
        raise SmgrError(f"cannot read {path!r}: {exc}") from exc
    return validate_settings(parse_yaml(content, path), path)
