# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_backup.borg against the real borg (Debian's borgbackup) and real local repositories."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.borg import (
    LOCKED,
    MISSING_REPOSITORY,
    TIMEOUT,
    BorgError,
    BorgRepository,
    archive_glob,
    check_compression,
    check_repository,
    classify,
    prune_arguments,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.tests.support.backup_env import write_passphrase
from ansible_collections.smgr.server_manager.tests.support.processes import assert_ssh_ends

PASSPHRASE = "correct horse battery staple 42"


@pytest.fixture
def repo(tmp_path):
    write_passphrase(str(tmp_path / "secrets" / "job.passphrase"), PASSPHRASE)
    return BorgRepository(
        str(tmp_path / "repo"), str(tmp_path / "borg-base"), str(tmp_path / "secrets" / "job.passphrase"), lock_wait=1
    )


@pytest.fixture
def data(tmp_path):
    tree = tmp_path / "data"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.txt").write_text("alpha\n")
    (tree / "sub" / "b.bin").write_bytes(os.urandom(64 * 1024))
    return tree


def test_create_list_prune_compact_extract(repo, data, tmp_path):
    repo.init()
    first = repo.create("web1+site-20261201T020000Z", [str(data)])
    assert first.files == 2 and first.original_size > 64 * 1024
    (data / "a.txt").write_text("alpha changed\n")
    second = repo.create("web1+site-20261202T020000Z", [str(data)])
    assert second.deduplicated_size < first.deduplicated_size  # the unchanged 64 KiB is stored once
    repo.create("web2+site-20261202T020000Z", [str(data)])  # another host in the same repository
    listed = repo.archives(archive_glob("web1", "site"))
    assert [item["name"] for item in listed] == ["web1+site-20261201T020000Z", "web1+site-20261202T020000Z"]
    assert listed[0]["files"] == 2 and listed[0]["original_size"] >= 64 * 1024
    kept = ["web1+site-20261202T020000Z"]
    assert repo.prune(archive_glob("web1", "site"), {"keep_min": 1}, dry_run=True) == (
        ["web1+site-20261201T020000Z"],
        kept,
    )
    assert repo.prune(archive_glob("web1", "site"), {"keep_min": 1}) == (["web1+site-20261201T020000Z"], kept)
    assert repo.compact() >= 0
    assert [item["name"] for item in repo.archives(archive_glob("web2", "site"))] == [
        "web2+site-20261202T020000Z"
    ]  # untouched
    repo.check("web1+site-20261202T020000Z")
    target = tmp_path / "restore"
    target.mkdir()
    repo.extract("web1+site-20261202T020000Z", str(target))
    assert (target / str(data).lstrip("/") / "a.txt").read_text() == "alpha changed\n"


def test_the_exported_key_and_the_passphrase_alone_open_the_repository(repo, data, tmp_path):
    repo.init(encryption="keyfile-blake2")  # the key lives outside the repository: lose it, lose the data
    repo.create("web1+site-20261201T020000Z", [str(data)])
    key = repo.export_key()
    assert key.startswith("BORG_KEY ") and PASSPHRASE not in key
    fresh = BorgRepository(repo.repository, str(tmp_path / "new-machine"), repo.passphrase_file, lock_wait=1)
    with pytest.raises(BorgError):
        fresh.archives(archive_glob("web1", "site"))  # a new machine without the key
    fresh.import_key(key)
    assert [item["name"] for item in fresh.archives(archive_glob("web1", "site"))] == ["web1+site-20261201T020000Z"]


def test_failures_say_what_to_fix_and_never_the_passphrase(repo, data, tmp_path):
    with pytest.raises(BorgError) as missing:
        repo.archives(archive_glob("web1", "site"))
    assert missing.value.kind == MISSING_REPOSITORY
    repo.init()
    write_passphrase(str(tmp_path / "wrong"), "not it")
    wrong = BorgRepository(repo.repository, repo.base_dir, str(tmp_path / "wrong"), lock_wait=1)
    with pytest.raises(BorgError) as caught:
        wrong.create("web1+site-20261201T020000Z", [str(data)])
    assert "the passphrase is wrong" in str(caught.value) and "not it" not in str(caught.value)
    assert PASSPHRASE not in str(caught.value)


def test_a_held_lock_is_reported_and_a_dead_holders_lock_is_taken_over(repo):
    """borg removes the lock of a process of this host that no longer runs (borg's own stale-lock rule)."""
    repo.init()
    holder = subprocess.Popen(
        ["borg", "with-lock", repo.repository, "sleep", "60"], env=repo.environment(), start_new_session=True
    )
    try:
        deadline = time.monotonic() + 20
        while not any(name.startswith("lock") for name in os.listdir(repo.repository)):
            assert time.monotonic() < deadline, "borg with-lock did not take the lock"
            time.sleep(0.1)
        with pytest.raises(BorgError) as locked:
            repo.check()
        assert locked.value.kind == LOCKED and "locked by another borg process" in str(locked.value)
        os.killpg(holder.pid, signal.SIGKILL)  # killed: its lock stays behind
        holder.wait()
        repo.check()
        repo.break_lock()  # nothing left to break: a no-op
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: check_compression("zstd,3;rm"), "compression"),
        (lambda: check_repository("relative/repo"), "repository"),
        (lambda: check_repository("/repo::archive"), "repository"),
        (lambda: prune_arguments({}), "retention"),
    ],
)
def test_bad_input_names_the_field(call, field):
    with pytest.raises(SmgrError) as caught:
        call()
    assert caught.value.field == field


def test_retention_maps_onto_borg_prune():
    assert prune_arguments({"keep_days": 14, "keep_min": 3, "keep_weekly": 4}) == [
        "--keep-within=14d",
        "--keep-last=3",
        "--keep-weekly=4",
    ]
    assert check_repository("ssh://backup@127.0.0.1:2222/srv/borg/web1") == "ssh://backup@127.0.0.1:2222/srv/borg/web1"


def test_a_timeout_ends_borg_and_the_ssh_it_started(tmp_path):
    """A server that accepts the connection and never says a word: the real ssh waits for its greeting, and the
    job's timeout must end borg and that ssh (its process group), not borg alone."""
    silent = socket.create_server(("127.0.0.1", 0))  # listens, never accepts: the kernel completes the handshake
    port = silent.getsockname()[1]
    write_passphrase(str(tmp_path / "secrets" / "job.passphrase"), PASSPHRASE)
    repo = BorgRepository(
        f"ssh://backup@127.0.0.1:{port}/./repo",
        str(tmp_path / "borg-base"),
        str(tmp_path / "secrets" / "job.passphrase"),
        timeout=3,
    )
    try:
        started = time.monotonic()
        with pytest.raises(BorgError) as timed_out:
            repo.names("*")
        assert timed_out.value.kind == TIMEOUT and "did not finish within 3 s" in str(timed_out.value)
        assert time.monotonic() - started < 30
        assert_ssh_ends(port)
    finally:
        silent.close()


@pytest.mark.parametrize(
    ("stderr", "kind"),
    [
        ("A repository already exists at /srv/borg/web.", "repository_exists"),
        ("There is already something at /srv/borg/web.", "path_exists"),
        ("Archive web1+site-20261205T010203Z already exists", "archive_exists"),
        ("Repository has no manifest.", "no_manifest"),
    ],
)
def test_borgs_messages_of_a_race_have_kinds(stderr, kind):
    """borg 1.2's own wording (borg.repository, borg.archive): the runner acts on the kind, not on the text."""
    assert classify("init", stderr, 2).kind == kind
