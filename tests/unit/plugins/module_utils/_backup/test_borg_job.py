# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The borg engine through the installed runner: real borg, real local repositories and one over a loopback sshd,
a real SMTP server for the failure mails."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.borg_job import (
    members_of,
    mode_bits,
    verify_data_due,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import passphrase_path
from ansible_collections.smgr.server_manager.tests.support.backup_env import (
    Prefix,
    Sshd,
    free_port,
    snapshot,
)

PASSPHRASE = "the borg passphrase 7f3a"


@pytest.fixture
def data(tmp_path):
    root = tmp_path / "data"
    (root / "app" / "cache").mkdir(parents=True)
    (root / "app" / "a.txt").write_text("alpha\n")
    (root / "app" / "big.bin").write_bytes(os.urandom(200 * 1024))
    (root / "app" / "cache" / "junk.bin").write_bytes(b"junk")
    (root / "app" / "debug.log").write_text("log\n")
    (root / "app" / "script.sh").write_text("#!/bin/sh\n")
    (root / "app" / "script.sh").chmod(0o4755)
    os.symlink("a.txt", root / "app" / "link")
    os.link(root / "app" / "a.txt", root / "app" / "hard")
    return root


def borg_prefix(root: Path, host: str, repository: str, passphrase: str = PASSPHRASE, **job) -> Prefix:
    prefix = Prefix(root, host=host)
    options = dict(name="site", type="paths", engine="borg", repository=repository, borg_lock_wait=1)
    options.update(job)
    if options.get("encryption") != "none":
        prefix.write_passphrase(options["name"], passphrase)
    prefix.add_job(**options)
    return prefix


def test_backup_list_restore_drill_and_cleanup_on_a_local_repository(tmp_path, data):
    repository = str(tmp_path / "repo")
    prefix = borg_prefix(tmp_path / "web1", "web1", repository, paths=[str(data / "app")], exclude=["*.log"])
    first = prefix.run_json("backup", "site", check=0)
    assert first["status"] == "ok" and first["engine"] == "borg" and first["repository_created"] is True
    assert first["archive"].startswith(f"{repository}::web1+site-") and first["verified"] is True
    assert first["original_size"] > 200 * 1024 and first["deduplicated_size"] > 0
    (data / "app" / "a.txt").write_text("alpha changed\n")
    second = prefix.run_json("backup", "site", check=0)
    assert second["repository_created"] is False
    assert second["deduplicated_size"] < first["deduplicated_size"] / 4  # the 200 KiB file is stored once
    listed = prefix.run_json("list", check=0)["jobs"][0]
    assert listed["engine"] == "borg" and [item["name"] for item in listed["archives"]] == [
        second["archive"].split("::")[1],
        first["archive"].split("::")[1],
    ]
    target = tmp_path / "restored"
    prefix.run("restore", "site", "latest", "--to", str(target), check=0)
    restored = target / str(data / "app").lstrip("/")
    expected = snapshot(data / "app")
    expected.pop(b"debug.log")  # excluded
    assert snapshot(restored) == expected
    assert (restored / "a.txt").read_text() == "alpha changed\n"
    assert os.path.samefile(restored / "a.txt", restored / "hard")
    older = tmp_path / "older"
    prefix.run("restore", "site", first["archive"].split("::")[1], "--to", str(older), check=0)
    assert (older / str(data / "app").lstrip("/") / "a.txt").read_text() == "alpha\n"
    listing = prefix.run("restore", "site", "--list", check=0).stdout
    assert "a.txt" in listing and "debug.log" not in listing
    unknown = prefix.run("restore", "site", "web1+site-20200101T000000Z", "--to", str(tmp_path / "x"), check=1)
    assert "no archive 'web1+site-20200101T000000Z' of this job" in unknown.stderr
    drill = prefix.run_json("drill", check=0)["jobs"][0]
    assert drill["status"] == "ok" and drill["verified_data_at"] and drill["entries"] >= 7
    again = prefix.run_json("drill", check=0)["jobs"][0]
    assert again["verified_data_at"] == drill["verified_data_at"]  # verify-data is weekly, not every drill
    assert "check --verify-data" not in prefix.log_text().split("drill site")[-1]
    prefix.add_job(
        name="site",
        type="paths",
        engine="borg",
        repository=repository,
        paths=[str(data / "app")],
        retention={"keep_days": 0, "keep_min": 1},
    )
    dry = prefix.run_json("cleanup", "--dry-run", check=0)["jobs"][0]
    assert dry["removed"] == [first["archive"].split("::")[1]]
    cleaned = prefix.run_json("cleanup", check=0)["jobs"][0]
    assert cleaned["removed"] == [first["archive"].split("::")[1]] and cleaned["freed_bytes"] > 0
    assert len(prefix.run_json("list", check=0)["jobs"][0]["archives"]) == 1


def test_shared_repository_each_host_lists_and_prunes_only_its_own(tmp_path, data):
    repository = str(tmp_path / "shared")
    keep_one = {"keep_days": 0, "keep_min": 1}
    web1 = borg_prefix(tmp_path / "web1", "web1", repository, paths=[str(data)], retention=keep_one)
    web2 = borg_prefix(tmp_path / "web2", "web2", repository, paths=[str(data)], retention=keep_one)
    # web2-site would match a loose "web2*" or "site*" pattern: it must stay untouched.
    web12 = borg_prefix(tmp_path / "web12", "web1", repository, name="site-2", paths=[str(data)], retention=keep_one)
    for prefix, job in ((web1, "site"), (web2, "site"), (web12, "site-2"), (web2, "site"), (web1, "site")):
        prefix.run_json("backup", job, check=0)

    def names(prefix):
        return [item["name"] for item in prefix.run_json("list", check=0)["jobs"][0]["archives"]]

    assert len(names(web1)) == 1 and names(web1)[0].startswith("web1+site-2026")  # pruned to one by its own run
    assert len(names(web2)) == 1 and names(web2)[0].startswith("web2+site-")
    assert len(names(web12)) == 1 and names(web12)[0].startswith("web1+site-2-")  # never taken for web1's site
    listing = subprocess.run(
        ["borg", "list", "--short", repository],
        env={**os.environ, "BORG_PASSPHRASE": PASSPHRASE, "BORG_BASE_DIR": str(tmp_path / "inspect")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert sorted(listing) == sorted(names(web1) + names(web2) + names(web12))


def test_repository_over_ssh(tmp_path, data):
    sshd = Sshd(tmp_path / "sshd").start()
    try:
        options = sshd.borg_options(str(tmp_path / "remote-repo"))
        repository = options["repository"]
        prefix = borg_prefix(tmp_path / "web1", "web1", paths=[str(data / "app")], **options)
        result = prefix.run_json("backup", "site", check=0)
        assert result["archive"].startswith(repository + "::web1+site-")
        target = tmp_path / "restored"
        prefix.run("restore", "site", "--to", str(target), check=0)
        assert (target / str(data / "app").lstrip("/") / "a.txt").read_text() == "alpha\n"
    finally:
        sshd.stop()
    down = prefix.run_json("backup", "site", check=1)
    assert down["status"] == "failed" and "refused the connection" in down["error"]


def test_failures_end_clearly_with_a_mail_and_never_show_the_passphrase(tmp_path, data, smtp_server, small_disk):
    server = smtp_server("plain")
    repository = str(tmp_path / "repo")
    prefix = borg_prefix(tmp_path / "web1", "web1", repository, paths=[str(data / "app")])
    prefix.configure_mail(server.port)
    prefix.run_json("backup", "site", check=0)
    outputs = []
    # A wrong passphrase.
    prefix.write_passphrase("site", "not the passphrase")
    wrong = prefix.run("--json", "backup", "site", check=1)
    outputs.append(wrong.stdout + wrong.stderr)
    assert "the passphrase is wrong" in json.loads(wrong.stdout)["error"]
    prefix.write_passphrase("site", PASSPHRASE)
    # An unreachable repository (nothing listens on the port).
    unreachable = borg_prefix(
        tmp_path / "web2", "web2", f"ssh://root@127.0.0.1:{free_port()}/srv/repo", paths=[str(data / "app")]
    )
    unreachable.configure_mail(server.port)
    down = unreachable.run("--json", "backup", "site", check=1)
    outputs.append(down.stdout + down.stderr)
    assert "refused the connection" in json.loads(down.stdout)["error"]
    # A full disk: the repository on a 1 MiB tmpfs.
    full = borg_prefix(tmp_path / "web3", "web3", str(small_disk / "repo"), paths=[str(data / "app")])
    (data / "app" / "huge.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    full.configure_mail(server.port)
    nospace = full.run("--json", "backup", "site", check=1)
    outputs.append(nospace.stdout + nospace.stderr)
    assert "no space left" in json.loads(nospace.stdout)["error"]
    mails = server.wait_for(3)
    subjects = [mail.message()["Subject"] for mail in mails]
    assert all("FAILED" in subject or "failed" in subject.lower() for subject in subjects), subjects
    for root in (tmp_path / "web1", tmp_path / "web2", tmp_path / "web3"):
        for path in root.rglob("*"):
            if path.is_file() and not path.name.endswith(".passphrase") and path.stat().st_size < 10**6:
                assert PASSPHRASE.encode() not in path.read_bytes(), path
    for output in outputs + [mail.message().as_string() for mail in mails]:
        assert PASSPHRASE not in output and "not the passphrase" not in output


def test_a_live_lock_is_waited_for_and_never_broken(tmp_path, data):
    repository = str(tmp_path / "repo")
    prefix = borg_prefix(tmp_path / "web1", "web1", repository, paths=[str(data / "app")])
    prefix.run_json("backup", "site", check=0)
    env = {**os.environ, "BORG_PASSPHRASE": PASSPHRASE, "BORG_BASE_DIR": str(tmp_path / "other-base")}
    holder = subprocess.Popen(["borg", "with-lock", repository, "sleep", "30"], env=env)
    try:
        for _attempt in range(100):
            if (Path(repository) / "lock.exclusive").exists():
                break
            time.sleep(0.1)
        locked = prefix.run_json("backup", "site", check=3)
        assert locked["status"] == "failed" and "locked by another borg process" in locked["error"]
        assert "borg break-lock" in locked["error"]
        assert holder.poll() is None and (Path(repository) / "lock.exclusive").exists()
    finally:
        holder.terminate()
        holder.wait()
    assert prefix.run_json("backup", "site", check=0)["status"] == "ok"


def test_a_stale_lock_of_this_host_is_broken(tmp_path, data):
    """borg removes the lock of a holder that is gone; left is one whose process number now belongs to another
    program: this host's lock, no borg process with that pid, so the runner breaks it and says so."""
    repository = str(tmp_path / "repo")
    prefix = borg_prefix(tmp_path / "web1", "web1", repository, paths=[str(data / "app")])
    prefix.run_json("backup", "site", check=0)
    impostor = subprocess.Popen(["sleep", "60"])
    try:
        host_id = f"{socket.getfqdn()}@{uuid.getnode()}"
        lock = Path(repository) / "lock.exclusive"
        lock.mkdir()
        (lock / f"{host_id}.{impostor.pid}-0").touch()
        (Path(repository) / "lock.roster").write_text(json.dumps({"exclusive": [[host_id, impostor.pid, 0]]}))
        result = prefix.run_json("backup", "site", check=0)
        assert any("broke the stale lock" in warning for warning in result["warnings"])
        assert "broke the stale lock" in prefix.log_text()
    finally:
        impostor.kill()
        impostor.wait()


def test_another_hosts_lock_is_never_broken(tmp_path, data):
    repository = str(tmp_path / "repo")
    prefix = borg_prefix(tmp_path / "web1", "web1", repository, paths=[str(data / "app")])
    prefix.run_json("backup", "site", check=0)
    lock = Path(repository) / "lock.exclusive"
    lock.mkdir()
    (lock / "other-host.example.org@123456.4242-0").touch()
    (Path(repository) / "lock.roster").write_text(
        json.dumps({"exclusive": [["other-host.example.org@123456", 4242, 0]]})
    )
    result = prefix.run_json("backup", "site", check=3)
    assert "locked by another borg process" in result["error"] and lock.exists()


def test_killed_run_leaves_nothing_that_stops_the_next(tmp_path, data):
    repository = str(tmp_path / "repo")
    (data / "app" / "more.bin").write_bytes(os.urandom(20 * 1024 * 1024))
    prefix = borg_prefix(tmp_path / "web1", "web1", repository, paths=[str(data / "app")])
    prefix.run_json("backup", "site", check=0)
    (data / "app" / "more.bin").write_bytes(os.urandom(20 * 1024 * 1024))
    runner = subprocess.Popen(
        [str(prefix.bin), "backup", "site"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _attempt in range(200):
        if (Path(repository) / "lock.exclusive").exists():
            break
        time.sleep(0.02)
    os.killpg(runner.pid, 9)  # runner and borg, no chance to clean up
    runner.wait()
    assert prefix.run_json("backup", "site", check=0)["status"] == "ok"


def test_key_export_and_a_new_machine_restores_from_repository_key_and_passphrase(tmp_path, data):
    repository = str(tmp_path / "repo")
    old = borg_prefix(tmp_path / "old", "web1", repository, paths=[str(data / "app")], encryption="keyfile-blake2")
    old.run_json("backup", "site", check=0)
    key = old.run("key", "export", "site", check=0).stdout
    assert key.startswith("BORG_KEY ")
    (tmp_path / "site.key").write_text(key)
    # The new machine: only the repository, the exported key and the passphrase (no state, no borg cache).
    new = borg_prefix(tmp_path / "new", "web1", repository, paths=[str(data / "app")], encryption="keyfile-blake2")
    assert "key" in new.run("restore", "site", "--to", str(tmp_path / "nokey"), check=1).stderr.lower()
    new.run("key", "import", "site", str(tmp_path / "site.key"), check=0)
    new.run("restore", "site", "--to", str(tmp_path / "restored"), check=0)
    assert snapshot(tmp_path / "restored" / str(data / "app").lstrip("/")) == snapshot(data / "app")
    tar_job = Prefix(tmp_path / "tar")
    tar_job.add_job(name="plain", type="paths", paths=[str(data)])
    assert "has no borg key" in tar_job.run("key", "export", "plain", check=2).stderr


def test_excludes_mean_what_they_mean_for_tar(tmp_path, data):
    """The same exclude list gives the same restored tree with both engines (GNU tar's meaning: an absolute
    pattern anchored at the root, others at any depth)."""
    (data / "app" / "sub" / "scratch").mkdir(parents=True)  # not "tmp": the test tree itself lies in /tmp
    (data / "app" / "sub" / "scratch" / "x.bin").write_bytes(b"x")
    (data / "app" / "sub" / "keep.txt").write_text("keep\n")
    (data / "app" / "sub" / "trace.log").write_text("log\n")
    excludes = [str(data / "app" / "cache"), "*.log", "scratch/"]
    prefix = borg_prefix(tmp_path / "web1", "web1", str(tmp_path / "repo"), paths=[str(data / "app")], exclude=excludes)
    prefix.add_job(name="plain", type="paths", paths=[str(data / "app")], exclude=excludes)
    prefix.run_json("backup", "site", check=0)
    prefix.run_json("backup", "plain", check=0)
    prefix.run("restore", "site", "--to", str(tmp_path / "borg"), check=0)
    prefix.run("restore", "plain", "--to", str(tmp_path / "tar"), check=0)
    inside = str(data / "app").lstrip("/")
    restored = snapshot(tmp_path / "borg" / inside)
    assert restored == snapshot(tmp_path / "tar" / inside)
    assert b"sub/keep.txt" in restored and not [name for name in restored if b"cache" in name or b"scratch" in name]
    assert not [name for name in restored if name.endswith(b".log")]


def test_mode_bits_and_members():
    assert mode_bits("-rwsr-xr-x") == 0o4755
    assert mode_bits("drwxrwxrwt") == 0o1777
    assert mode_bits("-rwSr-----") == 0o4640
    assert mode_bits("-rw-r-S--T") == 0o3640
    hardlink = {"path": "b", "type": "-", "mode": "hrw-r--r--", "size": 0, "source": "a", "linktarget": "a"}
    assert members_of([hardlink])[0].kind == "hardlink" and members_of([hardlink])[0].link == "a"
    items = [
        {"path": "a", "type": "-", "mode": "-rw-r--r--", "size": 3},
        {"path": "l", "type": "l", "mode": "lrwxrwxrwx", "linktarget": "a"},
    ]
    assert [(m.kind, m.mode, m.link) for m in members_of(items)] == [("file", 0o644, ""), ("symlink", 0o777, "a")]


def test_verify_data_is_weekly():
    from datetime import datetime, timezone

    now = datetime(2026, 12, 5, tzinfo=timezone.utc)
    assert verify_data_due(None, now) is True
    assert verify_data_due({"verified_data_at": "2026-12-01T00:00:00Z"}, now) is False
    assert verify_data_due({"verified_data_at": "2026-11-28T00:00:00Z"}, now) is True


def test_a_check_that_finds_damage_fails(tmp_path, data):
    """borg check exits 1 (its "warning" code) when it finds errors: that is a failure, not a pass."""
    from ansible_collections.smgr.server_manager.plugins.module_utils._backup.borg import BorgError, BorgRepository

    repository = tmp_path / "repo"
    prefix = borg_prefix(tmp_path / "web1", "web1", str(repository), paths=[str(data / "app")])
    prefix.run_json("backup", "site", check=0)
    segment = max((repository / "data").rglob("[0-9]*"), key=lambda path: path.stat().st_size)
    content = bytearray(segment.read_bytes())
    for offset in range(100, min(len(content), 4000), 97):
        content[offset] ^= 0xFF
    segment.write_bytes(bytes(content))
    repo = BorgRepository(str(repository), str(tmp_path / "web1-base"), passphrase_path(str(prefix.config), "site"))
    with pytest.raises(BorgError) as caught:
        repo.check(verify_data=True)
    assert "exit 1" in str(caught.value)  # borg's "finished with warnings" code, here: errors found
    drill = prefix.run_json("drill", check=1)["jobs"][0]
    assert drill["status"] == "failed" and "borg check" in drill["error"]


def test_file_names_that_are_not_utf8_restore_and_drill(tmp_path, data):
    odd = os.fsencode(str(data / "app")) + b"/caf\xe9.txt"
    with open(odd, "wb") as handle:
        handle.write(b"latin-1 name\n")
    prefix = borg_prefix(tmp_path / "web1", "web1", str(tmp_path / "repo"), paths=[str(data / "app")])
    prefix.run_json("backup", "site", check=0)
    assert prefix.run_json("drill", check=0)["jobs"][0]["status"] == "ok"
    prefix.run("restore", "site", "--to", str(tmp_path / "restored"), check=0)
    restored = os.fsencode(str(tmp_path / "restored")) + b"/" + odd.lstrip(b"/")
    with open(restored, "rb") as handle:
        assert handle.read() == b"latin-1 name\n"


def test_repository_created_in_an_empty_directory_but_never_again_once_used(tmp_path, data):
    repository = tmp_path / "prepared"
    repository.mkdir()  # what the backup server's admin prepares for --restrict-to-path
    prefix = borg_prefix(tmp_path / "web1", "web1", str(repository), paths=[str(data / "app")])
    assert prefix.run_json("list", check=0)["jobs"][0]["archives"] == []  # before the first run: empty, no error
    assert prefix.run_json("backup", "site", check=0)["repository_created"] is True
    os.rename(repository, tmp_path / "unmounted")  # the disk is not mounted any more
    gone = prefix.run_json("backup", "site", check=1)
    assert "held this job's archives before" in gone["error"] and not repository.exists()
    assert "does not exist" in prefix.run_json("list", check=0)["jobs"][0]["error"]
    # A state that cannot be read or parsed counts as "stored", for the run and for the listing alike.
    state_file = Path(prefix.settings.state_dir) / "site.json"
    state_file.unlink()
    state_file.mkdir()  # unreadable
    assert "does not exist" in prefix.run_json("list", check=0)["jobs"][0]["error"]
    prefix.run("backup", "site", check=1)
    assert not repository.exists()
    state_file.rmdir()
    state_file.write_text("{not json")
    # ... and stays so after the failed run records its result over it, until a run publishes an archive
    for _run in range(2):
        assert "held this job's archives before" in prefix.run_json("backup", "site", check=1)["error"]
    assert not repository.exists()
    copy = Path(prefix.settings.state_dir) / "site.json.unreadable"
    assert copy.read_text() == "{not json"
    assert prefix.run_json("status", check=0)["jobs"][0]["unreadable_state"]["copy"] == str(copy)
    assert f"did not parse (kept as {copy})" in prefix.run("status", "site", check=0).stdout


def test_a_replacement_host_restores_the_old_hosts_archive_by_name(tmp_path, data):
    repository = str(tmp_path / "repo")
    old = borg_prefix(tmp_path / "old", "web1", repository, paths=[str(data / "app")])
    name = old.run_json("backup", "site", check=0)["archive"].split("::")[1]
    new = borg_prefix(tmp_path / "new", "web1-new", repository, paths=[str(data / "app")])
    assert (
        "no archives of this job from host web1-new"
        in new.run("restore", "site", "--to", str(tmp_path / "x"), check=1).stderr
    )
    new.run("restore", "site", name, "--to", str(tmp_path / "restored"), check=0)
    assert (tmp_path / "restored" / str(data / "app").lstrip("/") / "a.txt").read_text() == "alpha\n"


def test_ssh_setup_errors_are_named(tmp_path, data):
    sshd = Sshd(tmp_path / "sshd").start()
    try:
        unknown_host = sshd.borg_options(str(tmp_path / "remote-repo"), known_hosts=tmp_path / "empty_known_hosts")
        wrong_key = tmp_path / "wrong_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong_key)], check=True)
        refused = sshd.borg_options(str(tmp_path / "remote-repo"), key=wrong_key)
        # ssh works, but what answers on the server is not borg: ssh itself has nothing to add
        not_borg = dict(sshd.borg_options(str(tmp_path / "remote-repo")), borg_remote_path="/bin/false")
        # borg relays ssh's reason only when it reads it before it exits; the runner then asks ssh itself.
        for root, options, reason in (
            (tmp_path / "a", unknown_host, "known_hosts"),
            (tmp_path / "b", refused, "ssh refused the key"),
            (tmp_path / "c", not_borg, "the repository's host closed the connection"),
        ):
            prefix = borg_prefix(root, "web1", paths=[str(data / "app")], **options)
            assert reason in prefix.run_json("backup", "site", check=1)["error"]
    finally:
        sshd.stop()


def test_first_runs_of_hosts_sharing_a_repository_may_start_together(tmp_path, data):
    repository = str(tmp_path / "shared")
    prefixes = [borg_prefix(tmp_path / host, host, repository, paths=[str(data / "app")]) for host in ("a", "b", "c")]
    for prefix in prefixes:
        prefix.install_runner()
    runs = [
        subprocess.Popen([str(prefix.bin), "--json", "backup", "site"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for prefix in prefixes
    ]
    results = [json.loads(run.communicate()[0]) for run in runs]
    assert [result["status"] for result in results] == ["ok", "ok", "ok"], [result["error"] for result in results]
    assert sum(result["repository_created"] for result in results) == 1


def test_mailcow_and_nginx_jobs_store_the_same_layout_with_borg(tmp_path, data):
    """borg takes the Mailcow helper's output (checked first, as for tar) and an nginx job's paths; hooks run."""
    from ansible_collections.smgr.server_manager.tests.support.docker_world import MailcowHost

    host = MailcowHost(tmp_path / "mailcow-host", "2025-12")
    prefix = Prefix(tmp_path / "host", host="mx1")
    prefix.write_passphrase("mail", PASSPHRASE)
    prefix.write_passphrase("web", PASSPHRASE)
    repository = str(tmp_path / "repo")
    marker = tmp_path / "hook-ran"
    prefix.add_job(
        name="mail",
        type="mailcow",
        mailcow_dir=str(host.dir),
        engine="borg",
        repository=repository,
        pre_command=f"echo $SMGR_JOB > {marker}",
    )
    prefix.add_job(name="web", type="nginx", paths=[str(data / "app")], engine="borg", repository=repository)
    result = json.loads(prefix.run("--json", "backup", "mail", env=host.docker.env, check=0).stdout)
    assert result["engine"] == "borg" and marker.read_text() == "mail\n"
    assert [p.name for p in prefix.dest("mail").iterdir() if p.name.startswith(".smgr-staging-")] == []
    target = tmp_path / "restored"
    prefix.run("restore", "mail", "--to", str(target), check=0)
    names = {str(path.relative_to(target)) for path in target.rglob("*")}
    dumps = [name for name in names if re.fullmatch(r"mailcow-\d{4}(-\d\d){5}", name)]
    assert len(dumps) == 1 and f"{dumps[0]}/backup_vmail.tar.zst" in names
    assert "mailcow-dockerized/mailcow.conf" in names
    assert prefix.run_json("backup", "web", check=0)["status"] == "ok"
    names = [item["name"] for item in prefix.run_json("list", check=0)["jobs"][1]["archives"]]
    assert len(names) == 1 and names[0].startswith("mx1+web-")
