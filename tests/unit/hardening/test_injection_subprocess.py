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
from pathlib import Path

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._archive import tar_create_command
from ansible_collections.smgr.server_manager.plugins.module_utils._backup_jobs import validate_job
from ansible_collections.smgr.server_manager.plugins.module_utils._errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._remote import Remote
from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix, Sshd
from ansible_collections.smgr.server_manager.tests.unit.hardening.helpers import record_figures

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
    if TAR_OPTION_DIR.exists():
        pytest.fail(f"{TAR_OPTION_DIR} exists already; refusing to touch it")
    TAR_OPTION_DIR.mkdir(mode=0o700)
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
    "it's\"q\"",
    "100%",
    "-rf",
    "--rsh=touch${IFS}@CANARY@",
    "-e",
)


def test_hostile_remote_directories_local_and_over_ssh(scene, tmp_path):
    prefix, data, canary = scene
    sshd = Sshd(tmp_path / "sshd").start()
    done = []
    try:
        for index, raw in enumerate(REMOTE_NAMES):
            name = raw.replace("@CANARY@", str(canary))
            for kind in ("local", "ssh"):
                target = tmp_path / "targets" / kind / str(index) / name
                options = {"remote": str(target)} if kind == "local" else sshd.job_options(str(target))
                job = dict(
                    name="site", type="paths", paths=[str(data)], retention=dict(keep_days=0, keep_min=1), **options
                )
                try:
                    validate_job(job, prefix.settings.backup_root)
                except SmgrError as exc:
                    pytest.fail(f"{kind} {name!r} refused: {exc}")
                prefix.add_job(**job)
                first = prefix.run_json("backup", "site", check=0)
                second = prefix.run_json("backup", "site", check=0)
                assert first["synced"] and second["synced"], (kind, name, first, second)
                remote_dir = Path(target)
                names = sorted(os.listdir(remote_dir))
                archive = Path(second["archive"]).name
                # Retention ran on the remote too: only the second archive and its checksum file are left.
                assert names == [archive, archive + ".sha256"], (kind, name, names)
                assert second["remote_removed"] == [Path(first["archive"]).name]
                assert not canary.exists(), (kind, name)
                subprocess.run(["sha256sum", "-c", f"{archive}.sha256"], cwd=remote_dir, check=True, capture_output=True)
                done.append((kind, name))
    finally:
        sshd.stop()
    assert not canary.exists()
    record_figures("injection subprocess remotes", directories=len(REMOTE_NAMES), runs=2 * len(done))


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
        for _run in range(2):
            assert prefix.run_json("backup", "site", check=0)["synced"]
        assert len(list(home_dir.glob("*.tar.zst"))) == 1 and not canary.exists()
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
