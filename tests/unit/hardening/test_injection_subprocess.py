# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""No option smuggled into tar, rsync or ssh, no command run through a remote shell: real backups with hostile
excludes, a source directory named like a tar option, and remote directories (local, and over a real sshd on
127.0.0.1) named with the corpus' shell metacharacters and a leading '-'.

Every run either is refused at validation or copies exactly what it should to exactly the directory named,
and the canary file that any executed fragment would create never appears.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import tar_create_command
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import validate_job
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.remote import Remote
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix, Sshd
from ansible_collections.smgr.server_manager.tests.unit.hardening.helpers import record_figures, wait_until

TAR_OPTION_DIR = Path("/--remove-files")  # what tar would read as "delete the files after archiving them"


@pytest.fixture
def scene(tmp_path):
    prefix = Prefix(tmp_path / "host")
    prefix.install_runner()
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "keep.txt").write_text("keep me\n")
    (data / "sub" / "-rf").write_text("a file named -rf\n")
    (data / "sub" / "--checkpoint-action=exec=touch x").write_text("a file named like an option\n")
    return prefix, data, tmp_path / "canary"


def make_directory(path: Path) -> bool:
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        return False
    return True


def archive_members(prefix: Prefix, job: str) -> list[str]:
    listed = prefix.run("restore", job, "--list", check=0).stdout
    return [line.split(None, 5)[-1] for line in listed.splitlines()]


def test_excludes_and_member_names_stay_arguments(scene):
    prefix, data, canary = scene
    excludes = [f"--to-command=touch {canary}", f"--checkpoint=1 --checkpoint-action=exec=touch {canary}", "-x", "-"]
    prefix.add_job(name="site", type="paths", paths=[str(data)], exclude=excludes)
    result = prefix.run_json("backup", "site", check=0)
    assert result["status"] == "ok"
    assert not canary.exists()
    members = archive_members(prefix, "site")
    relative = str(data).lstrip("/")
    assert f"{relative}/sub/-rf" in members and f"{relative}/sub/--checkpoint-action=exec=touch x" in members
    assert (data / "keep.txt").exists()


def test_a_source_named_like_a_tar_option_is_a_member(scene):
    """/--remove-files becomes the member '--remove-files': after '--', never the option that deletes sources."""
    prefix, data, _canary = scene
    assert "--" in tar_create_command([str(TAR_OPTION_DIR)])
    command = tar_create_command([str(TAR_OPTION_DIR), str(data)])
    assert command[command.index("--") + 1 :] == ["--remove-files", str(data).lstrip("/")]
    # mkdir is atomic: another run of this suite may hold the directory for a moment (it removes it at the end).
    assert wait_until(lambda: make_directory(TAR_OPTION_DIR), timeout=120, interval=0.5), f"{TAR_OPTION_DIR} stays"
    try:
        (TAR_OPTION_DIR / "inside.txt").write_text("inside\n")
        prefix.add_job(name="odd", type="paths", paths=[str(TAR_OPTION_DIR), str(data)])
        assert prefix.run_json("backup", "odd", check=0)["status"] == "ok"
        assert (TAR_OPTION_DIR / "inside.txt").exists() and (data / "keep.txt").exists()  # nothing removed
        assert "--remove-files/inside.txt" in archive_members(prefix, "odd")
    finally:
        shutil.rmtree(TAR_OPTION_DIR)


# Remote directory names: shell metacharacters without whitespace (whitespace is refused in a remote), and '-'.
REMOTE_NAMES = (
    "$(touch${IFS}@CANARY@)",
    "`touch${IFS}@CANARY@`",
    ";touch${IFS}@CANARY@;",
    "|touch${IFS}@CANARY@",
    "&&touch${IFS}@CANARY@",
    'it\'s"q"',
    "100%",
    "-rf",
    "--rsh=touch${IFS}@CANARY@",
    "-e",
    "a*b",
    "x?[y]",
)
WILDCARDS = "*?["


def test_hostile_remote_directories_local_and_over_ssh(scene, tmp_path):
    prefix, data, canary = scene
    sshd = Sshd(tmp_path / "sshd").start()
    # One ssh connection per run instead of six (a socket path must be short: not under tmp_path).
    control = Path(tempfile.mkdtemp(prefix="smgr-cm-", dir="/tmp"))
    multiplex = ["ControlMaster=auto", f"ControlPath={control}/%C", "ControlPersist=10"]
    done = []
    try:
        for index, raw in enumerate(REMOTE_NAMES):
            name = raw.replace("@CANARY@", str(canary))
            # A local remote never meets a shell; a few names there, every name over ssh.
            for kind in ("local", "ssh") if index % 3 == 0 else ("ssh",):
                target = tmp_path / "targets" / kind / str(index) / name
                options = {"remote": str(target)} if kind == "local" else sshd.job_options(str(target))
                if kind == "ssh":
                    options["remote_ssh_options"] = [*options["remote_ssh_options"], *multiplex]
                job = dict(
                    name="site", type="paths", paths=[str(data)], retention=dict(keep_days=0, keep_min=1), **options
                )
                if kind == "ssh" and any(char in name for char in WILDCARDS):
                    # The remote rsync would expand them: refused, with the reason.
                    with pytest.raises(SmgrError, match="must not contain"):
                        validate_job(job, prefix.settings.backup_root)
                    continue
                try:
                    validate_job(job, prefix.settings.backup_root)
                except SmgrError as exc:
                    pytest.fail(f"{kind} {name!r} refused: {exc}")
                prefix.add_job(**job)
                # An older archive already there: retention on the remote lists, picks and removes it.
                target.mkdir(parents=True)
                old = f"{prefix.host}-site-20200101T000000Z.tar.zst"
                (target / old).write_bytes(b"old")
                (target / f"{old}.sha256").write_text(f"{'0' * 64}  {old}\n")
                result = prefix.run_json("backup", "site", check=0)
                assert result["synced"], (kind, name, result)
                names = sorted(os.listdir(target))
                archive = Path(result["archive"]).name
                assert names == [archive, archive + ".sha256"], (kind, name, names)
                assert result["remote_removed"] == [old]
                assert not canary.exists(), (kind, name)
                subprocess.run(["sha256sum", "-c", f"{archive}.sha256"], cwd=target, check=True, capture_output=True)
                done.append((kind, name))
    finally:
        sshd.stop()
        shutil.rmtree(control, ignore_errors=True)
    assert not canary.exists()
    record_figures("injection subprocess remotes", directories=len(REMOTE_NAMES), runs=len(done))


def test_relative_remote_path_starting_with_a_dash(scene, tmp_path):
    """``host:-rf`` is a directory named -rf in the remote account's home: ssh, rsync, mkdir, sha256sum, mv and
    rm all get it after '--' (or as rsync's protected remote argument), never as an option."""
    prefix, data, canary = scene
    sshd = Sshd(tmp_path / "sshd").start()
    home_dir = Path(os.path.expanduser("~root")) / f"-rf-smgr-{os.getpid()}"
    try:
        options = sshd.job_options(str(home_dir.name))
        options["remote"] = f"root@127.0.0.1:{home_dir.name}"
        prefix.add_job(name="site", type="paths", paths=[str(data)], retention=dict(keep_days=0, keep_min=1), **options)
        home_dir.mkdir()
        old = f"{prefix.host}-site-20200101T000000Z.tar.zst"
        (home_dir / old).write_bytes(b"old")
        result = prefix.run_json("backup", "site", check=0)
        assert result["synced"] and result["remote_removed"] == [old]
        assert [path.name for path in home_dir.glob("*.tar.zst")] == [Path(result["archive"]).name]
        assert not canary.exists()
    finally:
        sshd.stop()
        shutil.rmtree(home_dir, ignore_errors=True)


def test_ssh_and_rsync_argument_lists():
    """Checked on the argument lists too: a '--' before every operand, the remote login never first."""
    job = validate_job(
        dict(name="site", type="paths", paths=["/srv"], remote="backup@127.0.0.1:-x", remote_ssh_options=["A=b"])
    )
    remote = Remote.for_job(job)
    ssh = remote.ssh_command()
    assert ssh[0] == "ssh" and all(part.startswith("-") or "=" in part for part in ssh[1:])
    for hostile in ("-oProxyCommand=id:/x", "--:/x", "a b:/x", "host::module", "rsync://h/m", "-u@h:/x"):
        with pytest.raises(SmgrError):
            validate_job(dict(name="site", type="paths", paths=["/srv"], remote=hostile))
