# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``smgr backup``: the whole run through the installed runner, with real tar, zstd, gzip and locks."""

from __future__ import annotations

import json
import os
import random
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._backup import archive as _archive
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.archive import (
    archive_name_pattern,
    read_sidecar,
    sha256_file,
    verify_archive,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._runner.cli import main
from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix
from ansible_collections.smgr.server_manager.tests.support.http_receiver import HttpReceiver


@pytest.fixture
def prefix(tmp_path):
    return Prefix(tmp_path / "host")


@pytest.fixture
def data(tmp_path):
    root = tmp_path / "data"
    (root / "app").mkdir(parents=True)
    (root / "app" / "a.txt").write_text("a\n")
    (root / "app" / "cache").mkdir()
    (root / "app" / "cache" / "junk.bin").write_bytes(b"junk")
    (root / "app" / "debug.log").write_text("log\n")
    (root / "etc").mkdir()
    (root / "etc" / "app.conf").write_text("conf\n")
    return root


def members(archive: str) -> list:
    decompress = "zstd" if archive.endswith(".zst") else "gzip"
    listing = subprocess.run(
        f"{decompress} -dc '{archive}' | tar -tf -", shell=True, check=True, capture_output=True, text=True
    )
    return listing.stdout.splitlines()


def test_backup_publishes_archive_sidecar_state_and_log(prefix, data):
    prefix.add_job(name="app", type="paths", paths=[str(data / "app"), str(data / "etc")])
    result = prefix.run_json("backup", "app", check=0)
    archive = Path(result["archive"])
    assert archive_name_pattern("testhost", "app").match(archive.name)
    assert result["size"] == archive.stat().st_size
    assert result["sha256"] == sha256_file(str(archive)) == read_sidecar(str(archive))
    assert (archive.parent / (archive.name + ".sha256")).read_text() == f"{result['sha256']}  {archive.name}\n"
    assert result["verified"] is True and result["entries"] >= 6
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    assert oct(archive.parent.stat().st_mode & 0o777) == "0o700"
    state = prefix.state("app")
    assert state["last_run"]["status"] == "ok" and state["last_success"]["archive"] == str(archive)
    assert oct(os.stat(Path(prefix.settings.state_dir) / "app.json").st_mode & 0o777) == "0o640"
    assert f"INFO backup app: published {archive.name}" in prefix.log_text()
    names = members(str(archive))
    assert str(data / "app" / "a.txt").lstrip("/") in names
    assert not [name for name in names if name.endswith(".partial")]


def test_excludes_anchored_and_floating(prefix, data):
    prefix.add_job(name="app", type="paths", paths=[str(data / "app")], exclude=["*.log", str(data / "app" / "cache")])
    names = members(prefix.run_json("backup", "app", check=0)["archive"])
    assert any(name.endswith("a.txt") for name in names)
    assert not any("debug.log" in name for name in names)
    assert not any("/cache" in name for name in names)


def test_tar_warnings_are_warnings_not_failures(prefix, data, tmp_path):
    """tar's exit 1 ("file changed as we read it") keeps the archive and reports the warning."""
    wrapper_dir = tmp_path / "wrap"
    wrapper_dir.mkdir()
    wrapper = wrapper_dir / "tar"
    wrapper.write_text(
        "#!/bin/sh\n"
        'case "$*" in *--create*) /usr/bin/tar "$@" || exit $?; '
        'echo "tar: /data/app/a.txt: file changed as we read it" >&2; exit 1;; esac\n'
        'exec /usr/bin/tar "$@"\n'
    )
    wrapper.chmod(0o755)
    prefix.add_job(name="app", type="paths", paths=[str(data)])
    completed = prefix.run("--json", "backup", "app", check=0, env={"PATH": f"{wrapper_dir}:{os.environ['PATH']}"})
    result = json.loads(completed.stdout)
    assert result["status"] == "ok" and result["verified"] is True
    assert result["warnings"] == ["tar: /data/app/a.txt: file changed as we read it"]
    assert "WARNING backup app: tar: tar: /data/app/a.txt: file changed as we read it" in prefix.log_text()


def test_tar_fatal_error_fails_and_leaves_nothing(prefix, data, tmp_path):
    wrapper_dir = tmp_path / "wrap"
    wrapper_dir.mkdir()
    wrapper = wrapper_dir / "tar"
    wrapper.write_text('#!/bin/sh\necho "tar: something fatal" >&2\nexit 2\n')
    wrapper.chmod(0o755)
    prefix.add_job(name="app", type="paths", paths=[str(data)])
    completed = prefix.run("--json", "backup", "app", check=1, env={"PATH": f"{wrapper_dir}:{os.environ['PATH']}"})
    assert "tar failed: tar: something fatal" in json.loads(completed.stdout)["error"]
    assert list(prefix.dest("app").iterdir()) == []


def test_gzip_compression(prefix, data):
    prefix.add_job(name="app", type="paths", paths=[str(data)], compression="gzip")
    result = prefix.run_json("backup", "app", check=0)
    assert result["archive"].endswith(".tar.gz")
    assert subprocess.run(["gzip", "-t", result["archive"]], check=False).returncode == 0


def test_missing_path_is_a_clear_error(prefix, data):
    prefix.add_job(name="app", type="paths", paths=[str(data / "app"), str(data / "gone")])
    completed = prefix.run("--json", "backup", "app", check=1)
    result = json.loads(completed.stdout)
    assert result["status"] == "failed"
    assert f"path(s) to back up do not exist: {data / 'gone'}" in result["error"]
    assert prefix.archives("app") == []
    assert prefix.state("app")["consecutive_failures"] == 1


def test_nginx_defaults_and_nginx_t(prefix, tmp_path, data):
    """nginx -t runs when nginx is installed; a broken configuration is backed up with a warning."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    nginx = fake_bin / "nginx"
    nginx.write_text("#!/bin/sh\necho \"nginx: [emerg] unknown directive 'bogus'\" >&2\nexit 1\n")
    nginx.chmod(0o755)
    prefix.add_job(name="web", type="nginx", paths=[str(data / "etc")])
    completed = prefix.run("--json", "backup", "web", check=0, env={"PATH": f"{fake_bin}:{os.environ['PATH']}"})
    result = json.loads(completed.stdout)
    assert any("nginx -t reports a broken configuration" in w and "bogus" in w for w in result["warnings"])
    nginx.write_text("#!/bin/sh\nexit 0\n")
    completed = prefix.run("--json", "backup", "web", check=0, env={"PATH": f"{fake_bin}:{os.environ['PATH']}"})
    assert json.loads(completed.stdout)["warnings"] == []
    assert "nginx -t: configuration ok" in completed.stderr


def test_nginx_missing_default_path_is_an_error(prefix):
    prefix.add_job(name="web", type="nginx", paths=["/nonexistent/nginx", "/nonexistent/letsencrypt"])
    result = json.loads(prefix.run("--json", "backup", "web", check=1).stdout)
    assert "/nonexistent/nginx" in result["error"]


def test_pre_and_post_command(prefix, data, tmp_path):
    marker = tmp_path / "hooks.txt"
    prefix.add_job(
        name="app",
        type="paths",
        paths=[str(data)],
        pre_command=f'echo "pre $SMGR_JOB $SMGR_DEST" >> {marker}; echo dumped > {data}/dump.sql',
        post_command=f'echo "post $SMGR_STATUS" >> {marker}',
    )
    archive = prefix.run_json("backup", "app", check=0)["archive"]
    assert marker.read_text().splitlines() == [f"pre app {prefix.dest('app')}", "post ok"]
    assert str(data / "dump.sql").lstrip("/") in members(archive)


def test_failing_pre_command_fails_without_archive_and_post_runs(prefix, data, tmp_path):
    marker = tmp_path / "hooks.txt"
    prefix.add_job(
        name="app",
        type="paths",
        paths=[str(data)],
        pre_command="echo 'dump failed' >&2; exit 7",
        post_command=f'echo "post $SMGR_STATUS" >> {marker}',
    )
    result = json.loads(prefix.run("--json", "backup", "app", check=1).stdout)
    assert "pre_command: failed with exit 7: dump failed" in result["error"]
    assert prefix.archives("app") == []
    assert marker.read_text() == "post failed\n"


def test_failing_post_command_makes_run_partial(prefix, data):
    prefix.add_job(name="app", type="paths", paths=[str(data)], pre_command="true", post_command="exit 3")
    result = json.loads(prefix.run("--json", "backup", "app", check=5).stdout)
    assert result["status"] == "partial" and "post_command" in result["error"]
    assert len(prefix.archives("app")) == 1


def test_hook_timeout(prefix, data):
    prefix.add_job(name="app", type="paths", paths=[str(data)], pre_command="sleep 30", timeout=1)
    result = json.loads(prefix.run("--json", "backup", "app", check=1).stdout)
    assert "did not finish within 1s" in result["error"]


def test_two_runs_in_the_same_second_get_distinct_names(prefix, data):
    prefix.add_job(name="app", type="paths", paths=[str(data)], retention={"keep_days": 0, "keep_min": 10})
    names = {prefix.run_json("backup", "app", check=0)["archive"] for _attempt in range(3)}
    assert len(names) == 3 and len(prefix.archives("app")) == 3


def test_retention_runs_after_backup(prefix, data):
    dest = prefix.add_job(name="app", type="paths", paths=[str(data)], retention={"keep_days": 0, "keep_min": 2})
    dest.mkdir(parents=True)
    old = dest / "testhost-app-20200101T000000Z.tar.zst"
    old.write_bytes(b"old archive")
    (dest / (old.name + ".sha256")).write_text("x" * 64 + f"  {old.name}\n")
    foreign = dest / "notes.txt"
    foreign.write_text("keep me")
    prefix.run_json("backup", "app", check=0)
    result = prefix.run_json("backup", "app", check=0)
    assert result["removed"] == [old.name]
    assert result["freed_bytes"] == len(b"old archive") + 64 + 2 + len(old.name) + 1
    assert not old.exists() and foreign.exists()
    assert len(prefix.archives("app")) == 2


# --------------------------------------------------------------------------- locking


def test_second_run_of_the_same_job_is_skipped(prefix, data, tmp_path):
    """Run 1 blocks in its pre_command until released; run 2 meanwhile exits 3; exactly one archive."""
    gate = tmp_path / "gate"
    started = tmp_path / "started"
    prefix.add_job(
        name="app",
        type="paths",
        paths=[str(data)],
        pre_command=f"touch {started}; while [ ! -e {gate} ]; do sleep 0.05; done",
    )
    prefix.install_runner()
    first = subprocess.Popen(
        [str(prefix.bin), "--json", "backup", "app"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    while not started.exists():
        assert first.poll() is None, first.communicate()
        time.sleep(0.05)
    second = prefix.run("--json", "backup", "app", check=3)
    assert "already running" in second.stderr
    assert json.loads(second.stdout)["status"] == "skipped"
    gate.touch()
    _out, err = first.communicate()
    assert first.returncode == 0, err
    assert len(prefix.archives("app")) == 1
    assert prefix.state("app")["last_run"]["status"] == "ok"  # the refused run did not overwrite the state


def test_concurrent_starts_exactly_one_archives(prefix, data, tmp_path):
    """Several runs started at once with a slow pre_command: exactly one gets the lock and archives."""
    prefix.add_job(name="app", type="paths", paths=[str(data)], pre_command="sleep 1")
    prefix.install_runner()
    runs = [
        subprocess.Popen([str(prefix.bin), "backup", "app"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _attempt in range(4)
    ]
    codes = sorted(run.wait() for run in runs)
    assert codes.count(0) == 1 and codes.count(3) == 3, codes
    assert len(prefix.archives("app")) == 1


def test_different_jobs_do_not_block_each_other(prefix, data, tmp_path):
    gate = tmp_path / "gate"
    started = tmp_path / "started"
    prefix.add_job(
        name="slow",
        type="paths",
        paths=[str(data)],
        pre_command=f"touch {started}; while [ ! -e {gate} ]; do sleep 0.05; done",
    )
    prefix.add_job(name="fast", type="paths", paths=[str(data)])
    prefix.install_runner()
    slow = subprocess.Popen([str(prefix.bin), "backup", "slow"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not started.exists():
        time.sleep(0.05)
    prefix.run("backup", "fast", check=0)
    gate.touch()
    assert slow.wait() == 0


def test_lock_directory_is_private(prefix, data):
    prefix.add_job(name="app", type="paths", paths=[str(data)])
    prefix.run("backup", "app", check=0)
    lock_dir = Path(prefix.settings.lock_dir)
    assert oct(lock_dir.stat().st_mode & 0o777) == "0o700"
    assert (lock_dir / "jobs" / "app.lock").exists()


def test_world_writable_lock_directory_is_refused(prefix, data):
    prefix.add_job(name="app", type="paths", paths=[str(data)])
    lock_dir = Path(prefix.settings.lock_dir)
    lock_dir.mkdir(parents=True)
    lock_dir.chmod(0o777)
    result = json.loads(prefix.run("--json", "backup", "app", check=1).stdout)
    assert "writable by others" in result["error"]


# --------------------------------------------------------------------------- verification


def test_failed_verification_discards_archive_keeps_older_and_exits_4(prefix, data, monkeypatch, tmp_path):
    """One byte of the compressed stream flips on its way into the file: the read-back catches it (exit 4), the
    bad archive is gone, the old one intact."""
    prefix.add_job(name="app", type="paths", paths=[str(data)], retention={"keep_days": 0, "keep_min": 1})
    good = prefix.run_json("backup", "app", check=0)["archive"]
    good_sum = sha256_file(good)

    flip_middle_byte = (
        "import sys; d = bytearray(sys.stdin.buffer.read()); d[len(d) // 2] ^= 0x55; sys.stdout.buffer.write(d)"
    )

    def corrupting_compressor(compression):
        command = " ".join(shlex.quote(word) for word in real_compressor(compression))
        return ["sh", "-c", f"{command} | {shlex.quote(sys.executable)} -c {shlex.quote(flip_middle_byte)}"]

    real_compressor = _archive.compressor_command
    monkeypatch.setattr(_archive, "compressor_command", corrupting_compressor)
    out, err = _Streams(), _Streams()
    code = main(["--config-dir", str(prefix.config), "--json", "backup", "app"], stdout=out, stderr=err)
    assert code == 4
    result = json.loads(out.text)
    assert "verification failed, archive discarded" in result["error"] and "does not decompress" in result["error"]
    assert [str(p) for p in prefix.archives("app")] == [good]
    assert sha256_file(good) == good_sum
    assert not [p for p in prefix.dest("app").iterdir() if p.name.endswith(".partial")]
    assert prefix.state("app")["last_success"]["archive"] == good


def test_verify_false_skips_the_read_back(prefix, data):
    prefix.add_job(name="app", type="paths", paths=[str(data)], verify=False)
    result = prefix.run_json("backup", "app", check=0)
    assert result["verified"] is False and result["entries"] is None


class _Streams:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


# --------------------------------------------------------------------------- crash safety


def _published(prefix, job):
    return {p.name: sha256_file(str(p)) for p in prefix.archives(job)}


def test_sigkill_at_random_points_never_publishes_incomplete_or_loses_older(prefix, tmp_path):
    """Kill the runner with SIGKILL at random moments of a run over a tree big enough to take a while; after
    every kill, each published archive verifies against its sidecar and every older archive is unchanged."""
    data = tmp_path / "big"
    data.mkdir()
    for index in range(12):
        (data / f"blob{index}.bin").write_bytes(os.urandom(2_000_000))
    prefix.add_job(name="big", type="paths", paths=[str(data)], retention={"keep_days": 0, "keep_min": 50})
    prefix.install_runner()
    clean = subprocess.run([str(prefix.bin), "--json", "backup", "big"], capture_output=True, text=True, check=True)
    full_duration = json.loads(clean.stdout)["duration"] + 0.3
    rng = random.Random(4242)
    kills = 0
    for _attempt in range(8):
        before = _published(prefix, "big")
        process = subprocess.Popen(
            [str(prefix.bin), "backup", "big"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(0.0, full_duration))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait()
        after = _published(prefix, "big")
        for name, digest in before.items():
            assert after.get(name) == digest, f"older archive {name} changed or vanished"
        for name in after:
            path = prefix.dest("big") / name
            assert read_sidecar(str(path)) == sha256_file(str(path))
            verify_archive(str(path), read_sidecar(str(path)))
    assert kills >= 1
    # the next normal run cleans what the killed runs left behind
    result = subprocess.run([str(prefix.bin), "backup", "big"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    leftovers = [
        p.name
        for p in prefix.dest("big").iterdir()
        if p.name.endswith(".partial") or p.name.startswith(".smgr-staging-")
    ]
    assert leftovers == []
    for path in prefix.archives("big"):
        assert (path.parent / (path.name + ".sha256")).exists()


def test_sigterm_removes_the_partial_file(prefix, tmp_path):
    data = tmp_path / "big"
    data.mkdir()
    (data / "blob.bin").write_bytes(os.urandom(1_000_000))
    started = tmp_path / "started"
    prefix.add_job(name="big", type="paths", paths=[str(data)], pre_command=f"touch {started}; sleep 30")
    prefix.install_runner()
    process = subprocess.Popen(
        [str(prefix.bin), "--json", "backup", "big"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    while not started.exists():
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    out, _err = process.communicate()
    assert process.returncode == 1
    assert "stopped by signal SIGTERM" in json.loads(out)["error"]
    assert [p.name for p in prefix.dest("big").iterdir()] == []


# --------------------------------------------------------------------------- pings and notifications seam


def test_ping_start_and_success(prefix, data):
    with HttpReceiver() as server:
        prefix.add_job(name="app", type="paths", paths=[str(data)], ping_url=server.url("/ping/abc"))
        prefix.run("backup", "app", check=0)
    assert server.paths == ["/ping/abc/start", "/ping/abc"]


def test_ping_fail_on_failure(prefix, data):
    with HttpReceiver() as server:
        prefix.add_job(name="app", type="paths", paths=[str(data / "missing")], ping_url=server.url("/ping/abc"))
        prefix.run("backup", "app", check=1)
    assert server.paths == ["/ping/abc/start", "/ping/abc/fail"]


def test_failing_ping_never_fails_the_backup(prefix, data):
    with HttpReceiver("refuse") as server:
        prefix.add_job(name="app", type="paths", paths=[str(data)], ping_url=server.url("/ping/abc"))
        completed = prefix.run("backup", "app", check=0)
    assert "ping" in completed.stderr and "failed (ignored)" in completed.stderr
    port = server.port
    prefix.add_job(name="app", type="paths", paths=[str(data)], ping_url=f"http://127.0.0.1:{port}/closed")
    prefix.run("backup", "app", check=0)  # nothing listens any more: connection refused, still ok
