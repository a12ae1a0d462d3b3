# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The borg engine of a backup job: where its repository, passphrase and borg state live, and each step of a
run (create, check, prune and compact), of a drill, a restore, a listing and a key export.

Paths on the host: the passphrase in ``<config_dir>/borg/<job>.passphrase`` (0600, written by smgr_backup, read
by borg through ``BORG_PASSCOMMAND``), borg's cache and security records in ``<state_dir>/borg``
(``BORG_BASE_DIR``). Every archive of a job is ``<host>+<job>-<UTC time>``; everything below is scoped to them.
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.borg import (
    ARCHIVE_EXISTS,
    ARCHIVE_STAMP_GLOB,
    LOCKED,
    MISSING_REPOSITORY,
    NO_MANIFEST,
    NOT_A_REPOSITORY,
    PATH_EXISTS,
    REPOSITORY_EXISTS,
    ArchiveStats,
    BorgError,
    BorgRepository,
    archive_glob,
    archive_name,
    local_host_names,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.drill import (
    DRILL_PREFIX,
    Member,
    raise_if_different,
    remove_scratch,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import BackupJob, passphrase_path
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.retention import CleanupResult
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._common.process import command_lines

BASE_SUBDIR = "borg"
VERIFY_DATA_DAYS = 7  # a drill also reads and authenticates the newest archive's data when the last one is older
# Seconds a run waits while a repository looks half-initialised (another host's borg init of a shared
# repository; a damaged one looks the same and then fails this much later).
INIT_WAIT = 30
NAME_ATTEMPTS = 60  # a second later each time the name is taken (runs in quick succession)

Result = TypeVar("Result")


def base_dir(state_dir: str) -> str:
    return os.path.join(state_dir, BASE_SUBDIR)


def repository_for(job: BackupJob, config_dir: str, state_dir: str) -> BorgRepository:
    """The job's repository as borg reaches it; SmgrError when the passphrase file of an encrypted job is missing."""
    passphrase_file = None
    if job.encryption != "none":
        passphrase_file = passphrase_path(config_dir, job.name)
        if not os.path.isfile(passphrase_file):
            raise SmgrError(
                f"the passphrase file {passphrase_file} does not exist (smgr_backup writes it from the job's "
                "passphrase)",
                job=job.name,
                field="passphrase",
            )
    return BorgRepository(
        repository=job.repository or "",
        base_dir=base_dir(state_dir),
        passphrase_file=passphrase_file,
        remote_path=job.borg_remote_path,
        ssh_key=job.ssh_key,
        ssh_options=job.ssh_options,
        lock_wait=job.borg_lock_wait,
        timeout=job.timeout,
    )


def job_glob(host: str, job: str) -> str:
    # The trailing * takes the job's checkpoint archives (NAME.checkpoint) along, so that prune sees them too.
    return archive_glob(host, job) + "*"


def exclude_patterns(patterns: Sequence[str]) -> list[str]:
    """The job's ``exclude`` with GNU tar's meaning as borg patterns: absolute ones anchored at the archive's
    root, others matching at any depth (borg's ``fm:`` star matches '/' as tar's does when excluding)."""
    result = []
    for pattern in patterns:
        if pattern.startswith("/"):
            result.append("fm:" + (os.path.normpath(pattern).lstrip("/") or "."))
        else:
            floating = pattern.rstrip("/") or pattern
            result.append("fm:" + floating)
            if not floating.startswith("*"):  # a leading star already crosses '/'
                result.append("fm:*/" + floating)
    return result


# --------------------------------------------------------------------------- locks


def _borg_processes() -> list[tuple[int, str]]:
    """(pid, command line) of every borg process on this host."""
    found = []
    for pid, argv in command_lines():
        words = [os.path.basename(arg.decode("utf-8", "replace")) for arg in argv[:3]]
        if any(word in ("borg", "borgfs") or word.startswith("borg.") for word in words):
            found.append((pid, " ".join(arg.decode("utf-8", "replace") for arg in argv)))
    return found


def stale_lock(repo: BorgRepository) -> str | None:
    """A description of the repository's lock when it is stale for certain, else None.

    Certain means: a local repository whose every lock holder is this host, and no borg process on this host
    holds it or uses the repository (borg itself removes the lock of a holder that is gone; left are the
    locks whose process number now belongs to another program). Another host's lock, or an ssh:// repository's,
    is never taken for stale: that host may be writing."""
    holders = repo.lock_holders()
    if not holders:
        return None
    names = local_host_names()
    running = _borg_processes()
    for host, pid in holders:
        if host.split("@")[0] not in names:
            return None
        if any(process == pid for process, _command in running):
            return None
    if any(repo.repository in command for _pid, command in running):
        return None
    return ", ".join(f"{host} pid {pid}" for host, pid in holders)


def with_stale_lock_broken(repo: BorgRepository, action: Callable[[], Result], warn: Callable[[str], None]) -> Result:
    """``action``; when borg finds the repository locked and the lock is stale for certain, break it once and
    try again. The caller holds the job's lock, so no borg process of this job runs."""
    try:
        return action()
    except BorgError as exc:
        if exc.kind != LOCKED:
            raise
        holder = stale_lock(repo)
        if holder is None:
            raise BorgError(
                f"{exc}; if no borg process on any host uses {repo.repository}, run borg break-lock (docs/borg.md)",
                exc.kind,
            ) from None
    repo.break_lock()
    warn(f"broke the stale lock of {repo.repository} ({holder}: no such borg process runs)")
    return action()


# --------------------------------------------------------------------------- a run


@dataclass
class BorgCreated:
    name: str
    stats: ArchiveStats
    repository_created: bool = False


def _empty_local_directory(path: str) -> bool:
    # A directory the backup server's admin created for the repository (borg init accepts it, borg says
    # "not a valid repository" until then).
    return path.startswith("/") and os.path.isdir(path) and not os.listdir(path)


def _is_borg_directory(path: str) -> bool:
    return path.startswith("/") and os.path.isfile(os.path.join(path, "README"))


def _unfinished(error: BorgError, path: str) -> bool:
    # borg init writes README, then config, then the key and the manifest: until it is done, another process
    # reads "not a valid repository" and then "no manifest" (hosts sharing a repository start together).
    return error.kind == NO_MANIFEST or (error.kind == NOT_A_REPOSITORY and _is_borg_directory(path))


def _once_initialised(repo: BorgRepository, create: Callable[[], Result], warn: Callable[[str], None]) -> Result:
    """``create``, tried again for up to INIT_WAIT seconds while another process's borg init is unfinished."""
    deadline = time.monotonic() + INIT_WAIT
    while True:
        try:
            return with_stale_lock_broken(repo, create, warn)
        except BorgError as exc:
            if not _unfinished(exc, repo.repository) or time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def create_backup(
    job: BackupJob,
    repo: BorgRepository,
    host: str,
    when: datetime,
    sources: Sequence[str],
    base: str,
    warn: Callable[[str], None],
    may_init: bool = True,
) -> BorgCreated:
    """One archive of ``sources`` (paths under ``base``, stored relative to it as the tar engine does).

    The repository is created when it does not exist (or is an empty directory) and ``may_init``: the caller
    says no once this job has stored an archive there, so that a repository that vanished (a disk not mounted,
    a path moved on the server) fails the run instead of being replaced by a new, empty one with a new key."""
    members = [os.path.relpath(path, base) for path in sources]
    for offset in range(NAME_ATTEMPTS):
        name = archive_name(host, job.name, when + timedelta(seconds=offset))

        def create(name: str = name) -> ArchiveStats:
            return repo.create(
                name, members, job.compression, exclude_patterns(job.exclude), cwd=base, timeout=job.timeout
            )

        created = False
        try:
            stats = _once_initialised(repo, create, warn)
        except BorgError as exc:
            missing = exc.kind == MISSING_REPOSITORY or (
                exc.kind == NOT_A_REPOSITORY and _empty_local_directory(repo.repository)
            )
            if missing:
                if not may_init:
                    raise BorgError(
                        f"{exc}: it held this job's archives before (or the job's state file did not parse), so no "
                        "new one is created (a disk not mounted? a path moved?); to start a new repository, remove "
                        "the job's state file",
                        exc.kind,
                    ) from None
                try:
                    repo.init(job.encryption or "none")
                    created = True
                except BorgError as init_error:
                    # Hosts sharing a repository start their first runs together: one init wins, the others
                    # find the repository there (or its README while the init is writing it: "already
                    # something at") and store their archive once it is complete.
                    lost = init_error.kind == REPOSITORY_EXISTS or (
                        init_error.kind == PATH_EXISTS and _is_borg_directory(repo.repository)
                    )
                    if not lost:
                        raise
                stats = _once_initialised(repo, create, warn)
            elif exc.kind == ARCHIVE_EXISTS:
                continue
            else:
                raise
        for warning in stats.warnings:
            warn(f"borg create: {warning}")
        return BorgCreated(name, stats, created)
    raise SmgrError("cannot find a free archive name", job=job.name)


def verify_archive(job: BackupJob, repo: BorgRepository, name: str, warn: Callable[[str], None]) -> None:
    """``borg check --archives-only`` of the new archive, within the job's timeout (any finding fails it)."""
    with_stale_lock_broken(repo, lambda: repo.check(archive=name, timeout=job.timeout), warn)


def retain(
    job: BackupJob, repo: BorgRepository, host: str, dry_run: bool, warn: Callable[[str], None]
) -> CleanupResult:
    """The job's retention as ``borg prune`` of its own archives, then ``borg compact`` when something went."""
    removed, kept = with_stale_lock_broken(
        repo, lambda: repo.prune(job_glob(host, job.name), asdict(job.retention), dry_run), warn
    )
    freed = with_stale_lock_broken(repo, repo.compact, warn) if removed and not dry_run else 0
    return CleanupResult(kept=kept, removed=removed, freed_bytes=freed, dry_run=dry_run)


def may_create(state: dict[str, Any] | None, repository: str) -> bool:
    """Whether ``repository`` may be created for the job whose ``state.known_state`` this is (and be missing
    without that being an error): no run of the job stored an archive there. An unknown history (None: a state
    file that cannot be read or parsed, and the states after it until an archive is published) counts as
    "stored": a repository that is gone (an unmounted disk) must never be replaced by a new one with a new key."""
    if state is None:
        return False
    archive = str((state.get("last_local_success") or {}).get("archive") or "")
    return not archive.startswith(repository + "::")


def archives(job: BackupJob, repo: BorgRepository, host: str, missing_ok: bool = True) -> list[dict[str, Any]]:
    """The job's archives, newest first: name, repository, time (UTC, from the name), size (the files' original
    size), original/compressed/deduplicated size and files."""
    from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import stamp_datetime
    from ansible_collections.smgr.server_manager.plugins.module_utils._backup.runlog import iso

    found = []
    try:
        listed = repo.archives(archive_glob(host, job.name))
    except BorgError as exc:
        if missing_ok and (exc.kind == MISSING_REPOSITORY or _empty_local_directory(repo.repository)):
            return []  # no run yet: the first one creates the repository
        raise
    for item in listed:
        stamp = item["name"].rsplit("-", 1)[-1]
        try:
            when = iso(stamp_datetime(stamp))
        except ValueError:
            when = item.get("time")
        found.append({**item, "time": when, "size": item.get("original_size"), "repository": repo.repository})
    return sorted(found, key=lambda item: str(item["time"]), reverse=True)


def listed_archives(
    job: BackupJob, config_dir: str, state_dir: str, host: str, state: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], str | None]:
    """``smgr list``'s and smgr_backup_info's view of a borg job (``state``: its ``state.known_state``):
    (archives, None), or ([], why) when the repository cannot be read (unreachable, locked, gone after it held
    the job's archives): one repository must not hide the other jobs."""
    try:
        repo = repository_for(job, config_dir, state_dir)
        return archives(job, repo, host, missing_ok=may_create(state, repo.repository)), None
    except SmgrError as exc:
        return [], str(exc)


def find_archive(job: BackupJob, repo: BorgRepository, host: str, which: str) -> str:
    """``latest`` (this host's newest archive of the job) or the name of an archive of the job, of any host: a
    replacement machine with another name restores the old host's archives by name."""
    if which == "latest":
        names = repo.names(archive_glob(host, job.name))
        if not names:
            raise SmgrError(
                f"no archives of this job from host {host} in {repo.repository} (another host's: smgr list, or "
                "name the archive)",
                job=job.name,
            )
        return names[-1]
    names = repo.names(f"*+{job.name}-{ARCHIVE_STAMP_GLOB}")
    if which not in names:
        raise SmgrError(f"no archive {which!r} of this job in {repo.repository} (smgr list {job.name})", job=job.name)
    return which


def members_of(items: list[dict[str, Any]]) -> list[Member]:
    """borg's item listing as the drill's members (what must be restored)."""
    kinds = {"-": "file", "d": "dir", "l": "symlink", "h": "hardlink"}
    members = []
    for item in items:
        # borg 1.2 lists a hard link to an earlier entry as mode "h...", size 0, source = that entry.
        hardlink = str(item.get("mode", "")).startswith("h") and bool(item.get("source"))
        kind = "hardlink" if hardlink else kinds.get(str(item.get("type")), "other")
        link = str(item.get("linktarget") or item.get("source") or "")
        members.append(Member(str(item["path"]), kind, int(item.get("size") or 0), mode_bits(item.get("mode")), link))
    return members


def _as_listed(name: str) -> str:
    """A restored name as borg 1.2 prints it: bytes that are not UTF-8 (surrogate escapes) as '?'."""
    return "".join("?" if "\udc80" <= char <= "\udcff" else char for char in name)


def with_real_names(members: list[Member], scratch: str) -> list[Member]:
    """borg 1.2's listing prints a name that is not UTF-8 with '?' for each odd byte (even its verbatim ``bpath``:
    its output stream replaces them). Such a member is matched to the one restored name that reads the same
    that way; without a match it stays as listed and the comparison reports it."""
    odd = [member for member in members if "?" in member.name]
    if not odd:
        return members
    listed = {member.name for member in members}
    candidates: dict[str, list[str]] = {}
    for root, dirs, files in os.walk(scratch):
        for entry in dirs + files:
            relative = os.path.relpath(os.path.join(root, entry), scratch)
            if relative not in listed:
                candidates.setdefault(_as_listed(relative), []).append(relative)
    resolved = []
    for member in members:
        found = candidates.get(member.name, []) if "?" in member.name else []
        resolved.append(
            Member(found[0], member.kind, member.size, member.mode, member.link) if len(found) == 1 else member
        )
    return resolved


def mode_bits(text: Any) -> int:
    """``-rwsr-x--T`` -> 0o5754: the permission bits of an ``ls -l`` style mode."""
    if not isinstance(text, str) or len(text) != 10:
        return 0
    bits = 0
    for index, char in enumerate(text[1:]):
        if char not in "-ST":
            bits |= 1 << (8 - index)
    specials = ((3, "sS", stat.S_ISUID), (6, "sS", stat.S_ISGID), (9, "tT", stat.S_ISVTX))
    for position, chars, flag in specials:
        if text[position] in chars:  # lower case: the bit and execute; upper case: the bit alone
            bits |= flag
    return bits


def drill(job: BackupJob, repo: BorgRepository, host: str, verify_data: bool) -> tuple[str, int, int]:
    """Extract the job's newest archive into a scratch directory under ``dest`` and compare it with borg's
    listing (and with ``verify_data`` read and authenticate its data first); (archive, entries, bytes)."""
    name = find_archive(job, repo, host, "latest")
    if verify_data:
        repo.check(archive=name, verify_data=True, timeout=job.timeout)
    os.makedirs(job.dest, mode=0o700, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=DRILL_PREFIX, dir=job.dest)
    try:
        repo.extract(name, scratch, timeout=job.timeout)
        members = with_real_names(members_of(repo.items(name)), scratch)
        raise_if_different(name, members, scratch)
        return name, len(members), sum(member.size for member in members if member.kind == "file")
    finally:
        remove_scratch(scratch)


def verify_data_due(previous: dict[str, Any] | None, now: datetime) -> bool:
    """Whether this drill also reads the data (``borg check --verify-data``): when no earlier drill did within
    VERIFY_DATA_DAYS."""
    last = (previous or {}).get("verified_data_at")
    if not isinstance(last, str):
        return True
    try:
        when = datetime.fromisoformat(last.replace("Z", "+00:00"))
    except ValueError:
        return True
    return now - when >= timedelta(days=VERIFY_DATA_DAYS)
