# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The remote copy with real rsync: to a local path, and over a real sshd started on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import sha256_file
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import RemoteTarget
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.remote import (
    Remote,
    list_remote,
    parse_listing,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix, Sshd
from ansible_collections.smgr.server_manager.tests.support.processes import assert_ssh_ends


@pytest.fixture
def data(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    (root / "file.txt").write_text("payload\n")
    (root / "blob.bin").write_bytes(os.urandom(200_000))
    return root


@pytest.fixture
def sshd(tmp_path):
    server = Sshd(tmp_path / "sshd").start()
    try:
        yield server
    finally:
        server.stop()


def seed_old_remote_archives(directory, names):
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_bytes(b"old")
        (directory / f"{name}.sha256").write_text("0" * 64 + f"  {name}\n")


def test_sync_to_a_local_path(tmp_path, data):
    prefix = Prefix(tmp_path / "host")
    remote = tmp_path / "mounted-disk" / "backups"
    seed_old_remote_archives(remote, ["testhost-app-20200101T000000Z.tar.zst"])
    (remote / "someone-else.tar.zst").write_text("foreign")
    prefix.add_job(
        name="app", type="paths", paths=[str(data)], remote=str(remote), retention={"keep_days": 0, "keep_min": 1}
    )
    result = prefix.run_json("backup", "app", check=0)
    name = os.path.basename(result["archive"])
    assert result["synced"] is True and result["remote"] == str(remote)
    assert sha256_file(str(remote / name)) == result["sha256"]
    assert (remote / f"{name}.sha256").read_text() == f"{result['sha256']}  {name}\n"
    assert result["remote_removed"] == ["testhost-app-20200101T000000Z.tar.zst"]
    assert sorted(p.name for p in remote.iterdir()) == sorted([name, f"{name}.sha256", "someone-else.tar.zst"])


def test_sync_over_ssh_with_remote_checksum_and_retention(tmp_path, data, sshd):
    prefix = Prefix(tmp_path / "host")
    remote = tmp_path / "remote-host" / "srv" / "backups"
    seed_old_remote_archives(remote, ["testhost-app-20200101T000000Z.tar.zst", "testhost-app-20200102T000000Z.tar.zst"])
    (remote / "testhost-other-20200101T000000Z.tar.zst").write_text("other job")
    os.symlink("/etc/passwd", remote / "testhost-app-20190101T000000Z.tar.zst")
    prefix.add_job(
        name="app",
        type="paths",
        paths=[str(data)],
        retention={"keep_days": 0, "keep_min": 2},
        **sshd.job_options(str(remote)),
    )
    result = prefix.run_json("backup", "app", check=0)
    name = os.path.basename(result["archive"])
    assert result["synced"] is True
    assert result["remote"] == f"root@127.0.0.1:{remote}"
    assert sha256_file(str(remote / name)) == result["sha256"]
    assert result["remote_removed"] == ["testhost-app-20200101T000000Z.tar.zst"]
    left = sorted(p.name for p in remote.iterdir())
    assert left == sorted(
        [
            name,
            f"{name}.sha256",
            "testhost-app-20200102T000000Z.tar.zst",
            "testhost-app-20200102T000000Z.tar.zst.sha256",
            "testhost-other-20200101T000000Z.tar.zst",
            "testhost-app-20190101T000000Z.tar.zst",  # a symlink: never touched
        ]
    )
    assert not [n for n in left if n.endswith(".partial")]


def test_remote_failure_keeps_local_archive_and_exits_5(tmp_path, data, sshd):
    prefix = Prefix(tmp_path / "host")
    options = sshd.job_options(str(tmp_path / "remote"))
    sshd.stop()  # nobody listens any more
    prefix.add_job(name="app", type="paths", paths=[str(data)], **options)
    completed = prefix.run("--json", "backup", "app", check=5)
    result = json.loads(completed.stdout)
    assert result["status"] == "partial" and result["synced"] is False
    assert (result["local"], result["offsite"]) == ("ok", "failed")
    assert "remote root@127.0.0.1:" in result["error"]
    assert os.path.exists(result["archive"])
    state = prefix.state("app")
    assert state["last_local_success"]["archive"] == result["archive"]
    assert state["last_success"] is None  # the off-site copy failed: not a success


def test_unknown_host_key_is_refused(tmp_path, data, sshd):
    prefix = Prefix(tmp_path / "host")
    options = sshd.job_options(str(tmp_path / "remote"))
    sshd.known_hosts.write_text("")
    prefix.add_job(name="app", type="paths", paths=[str(data)], **options)
    result = json.loads(prefix.run("--json", "backup", "app", check=5).stdout)
    assert "Host key verification failed" in result["error"]


def test_cleanup_applies_retention_remotely_too(tmp_path, data, sshd):
    prefix = Prefix(tmp_path / "host")
    remote = tmp_path / "remote"
    prefix.add_job(
        name="app",
        type="paths",
        paths=[str(data)],
        retention={"keep_days": 0, "keep_min": 5},
        **sshd.job_options(str(remote)),
    )
    prefix.run("backup", "app", check=0)
    seed_old_remote_archives(remote, ["testhost-app-20200101T000000Z.tar.zst"])
    prefix.add_job(
        name="app",
        type="paths",
        paths=[str(data)],
        retention={"keep_days": 0, "keep_min": 1},
        **sshd.job_options(str(remote)),
    )
    dry = prefix.run_json("cleanup", "app", "--dry-run", check=0)
    assert dry["jobs"][0]["remote_removed"] == ["testhost-app-20200101T000000Z.tar.zst"]
    assert (remote / "testhost-app-20200101T000000Z.tar.zst").exists()
    done = prefix.run_json("cleanup", "app", check=0)
    assert done["jobs"][0]["remote_removed"] == ["testhost-app-20200101T000000Z.tar.zst"]
    assert done["jobs"][0]["remote_freed_bytes"] == 3 + 64 + 2 + len("testhost-app-20200101T000000Z.tar.zst") + 1
    assert not (remote / "testhost-app-20200101T000000Z.tar.zst").exists()


def test_parse_listing_keeps_only_regular_archives_of_the_job():
    listing = "\n".join(
        [
            "drwx------          4,096 2026/01/01 02:00:00 .",
            "-rw-------      1,234,567 2026/01/01 02:00:00 web1-app-20260101T020000Z.tar.zst",
            "-rw-------             99 2026/01/01 02:00:00 web1-app-20260101T020000Z.tar.zst.sha256",
            "-rw-------            100 2026/01/01 02:00:00 web1-app-data-20260101T020000Z.tar.zst",
            "lrwxrwxrwx             11 2026/01/01 02:00:00 web1-app-20250101T020000Z.tar.zst",
            "-rw-------            100 2026/01/01 02:00:00 .web1-app-20260102T020000Z.tar.zst.partial",
            "-rw-------         123456 2026/01/01 02:00:00 web1-app-20251231T020000Z.tar.gz",
        ]
    )
    records = parse_listing(listing, "web1", "app")
    assert [(r.name, r.size, r.sidecar_size) for r in records] == [
        ("web1-app-20260101T020000Z.tar.zst", 1234567, 99),
        ("web1-app-20251231T020000Z.tar.gz", 123456, 0),
    ]


def test_a_checksum_mismatch_leaves_no_sidecar_and_no_archive_on_the_remote(tmp_path, monkeypatch):
    from ansible_collections.smgr.server_manager.plugins.module_utils._backup import remote as remote_module
    from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import sidecar_text
    from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import parse_remote
    from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError

    local = tmp_path / "local"
    local.mkdir()
    archive = local / "web1+app-20260101T020000Z.tar.zst"
    archive.write_bytes(os.urandom(50_000))
    digest = sha256_file(str(archive))
    (local / (archive.name + ".sha256")).write_bytes(sidecar_text(archive.name, digest))
    target = tmp_path / "remote"
    remote = remote_module.Remote(parse_remote(str(target)))
    monkeypatch.setattr(remote_module, "remote_sha256", lambda _remote, _name: "0" * 64)  # the copy went bad
    with pytest.raises(SmgrError, match="checksum"):
        remote_module.sync_archive(remote, str(archive), digest)
    assert list(target.iterdir()) == []


def test_a_timeout_ends_rsync_and_the_ssh_it_started(tmp_path):
    """A server that accepts the connection and never says a word: the real ssh that rsync starts waits for its
    greeting, and the remote's timeout must end that ssh too, not rsync alone."""
    silent = socket.create_server(("127.0.0.1", 0))  # listens, never accepts: the kernel completes the handshake
    port = silent.getsockname()[1]
    options = ("StrictHostKeyChecking=yes", f"UserKnownHostsFile={tmp_path / 'known_hosts'}")
    remote = Remote(RemoteTarget("/srv/smgr", "127.0.0.1", "backup"), port=port, ssh_options=options, timeout=3)
    try:
        with pytest.raises(SmgrError, match="timed out after 3s"):
            list_remote(remote, "web1", "app")
        assert_ssh_ends(port)
    finally:
        silent.close()
