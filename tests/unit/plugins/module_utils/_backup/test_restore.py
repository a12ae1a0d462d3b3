# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Restore round trip through the installed runner: back up an odd tree, restore it with ``smgr restore``
and with plain ``tar``/``zstd``/``gzip``, and compare every property that matters."""

from __future__ import annotations

import os
import subprocess

import pytest

from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix, make_odd_tree, snapshot


def _restored_root(target, source):
    return target / str(source).lstrip("/")


@pytest.fixture
def odd_tree(tmp_path):
    return make_odd_tree(tmp_path / "data" / "tree")


@pytest.mark.parametrize("compression", ["zstd", "gzip"])
def test_round_trip_with_smgr_restore_and_plain_tar(tmp_path, odd_tree, compression):
    prefix = Prefix(tmp_path / "host")
    prefix.add_job(name="odd", type="paths", paths=[str(odd_tree)], compression=compression)
    before = snapshot(odd_tree)

    result = prefix.run_json("backup", "odd", check=0)
    assert result["status"] == "ok" and result["verified"] is True
    archive = result["archive"]
    assert archive.endswith(".tar.zst" if compression == "zstd" else ".tar.gz")
    assert os.path.basename(archive).startswith("testhost+odd-")

    # smgr restore
    target = tmp_path / "restore-smgr"
    prefix.run("restore", "odd", "latest", "--to", str(target), check=0)
    assert snapshot(_restored_root(target, odd_tree)) == before

    # plain tools, without smgr: sha256sum -c, then decompress | tar -x
    subprocess.run(
        ["sha256sum", "-c", os.path.basename(archive) + ".sha256"],
        cwd=os.path.dirname(archive),
        check=True,
        capture_output=True,
    )
    plain = tmp_path / "restore-plain"
    plain.mkdir()
    decompress = "zstd -dc" if compression == "zstd" else "gzip -dc"
    subprocess.run(
        f"{decompress} '{archive}' | tar --xattrs --xattrs-include='*' --acls -xpf - -C '{plain}'",
        shell=True,
        check=True,
    )
    assert snapshot(_restored_root(plain, odd_tree)) == before


def test_symlinks_survive_as_symlinks(tmp_path, odd_tree):
    prefix = Prefix(tmp_path / "host")
    prefix.add_job(name="odd", type="paths", paths=[str(odd_tree)])
    prefix.run("backup", "odd", check=0)
    target = tmp_path / "r"
    prefix.run("restore", "odd", "--to", str(target), check=0)
    root = _restored_root(target, odd_tree)
    live = root / "letsencrypt" / "live" / "example.org" / "cert.pem"
    assert live.is_symlink() and os.readlink(live) == "../../archive/example.org/cert1.pem"
    assert live.read_text() == "CERT\n"
    assert (root / "dangling-link").is_symlink() and not (root / "dangling-link").exists()
    assert os.stat(root / "plain.txt").st_ino == os.stat(root / "hardlink-to-plain").st_ino


def test_restore_refuses_non_empty_target_unless_forced(tmp_path, odd_tree):
    prefix = Prefix(tmp_path / "host")
    prefix.add_job(name="odd", type="paths", paths=[str(odd_tree)])
    prefix.run("backup", "odd", check=0)
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    refused = prefix.run("restore", "odd", "--to", str(target), check=1)
    assert "is not empty" in refused.stderr and "--force" in refused.stderr
    assert sorted(os.listdir(target)) == ["keep.txt"]
    prefix.run("restore", "odd", "--to", str(target), "--force", check=0)
    assert (target / "keep.txt").read_text() == "mine"
    assert snapshot(_restored_root(target, odd_tree)) == snapshot(odd_tree)


def test_restore_checks_the_checksum_first(tmp_path, odd_tree):
    prefix = Prefix(tmp_path / "host")
    prefix.add_job(name="odd", type="paths", paths=[str(odd_tree)])
    archive = prefix.run_json("backup", "odd", check=0)["archive"]
    with open(archive, "r+b") as handle:
        handle.seek(100)
        byte = handle.read(1)
        handle.seek(100)
        handle.write(bytes([byte[0] ^ 0xFF]))
    target = tmp_path / "r"
    failed = prefix.run("restore", "odd", "--to", str(target), check=1)
    assert "does not match its checksum" in failed.stderr
    assert not target.exists()


def test_restore_without_sidecar_needs_no_checksum_flag(tmp_path, odd_tree):
    prefix = Prefix(tmp_path / "host")
    prefix.add_job(name="odd", type="paths", paths=[str(odd_tree)])
    archive = prefix.run_json("backup", "odd", check=0)["archive"]
    os.unlink(archive + ".sha256")
    target = tmp_path / "r"
    assert "no readable checksum file" in prefix.run("restore", "odd", "--to", str(target), check=1).stderr
    prefix.run("restore", "odd", os.path.basename(archive), "--to", str(target), "--no-checksum", check=0)
    assert snapshot(_restored_root(target, odd_tree)) == snapshot(odd_tree)


def test_restore_list_shows_contents(tmp_path, odd_tree):
    prefix = Prefix(tmp_path / "host")
    prefix.add_job(name="odd", type="paths", paths=[str(odd_tree)])
    archive = prefix.run_json("backup", "odd", check=0)["archive"]
    listing = prefix.run("restore", "odd", archive, "--list", check=0)
    assert "name with spaces.conf" in listing.stdout
    assert "new\\nline" in listing.stdout
    assert "link-to-plain -> plain.txt" in listing.stdout


def test_restore_of_a_missing_archive_or_job(tmp_path):
    prefix = Prefix(tmp_path / "host")
    src = tmp_path / "src"
    src.mkdir()
    prefix.add_job(name="empty", type="paths", paths=[str(src)])
    assert "no archives in" in prefix.run("restore", "empty", "--to", str(tmp_path / "r"), check=1).stderr
    assert (
        "no such archive" in prefix.run("restore", "empty", "nope.tar.zst", "--to", str(tmp_path / "r"), check=1).stderr
    )
    assert "no such backup job" in prefix.run("restore", "ghost", "--to", str(tmp_path / "r"), check=2).stderr
    (src / "f").write_text("x")
    prefix.run("backup", "empty", check=0)
    assert "needs --to" in prefix.run("restore", "empty", check=2).stderr
