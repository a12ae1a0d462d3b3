# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Nginx Proxy Manager jobs: a real SQLite database written to while it is backed up, and NPM's MariaDB
variant through the Docker CLI stand-in (``compose exec`` of the dump tool)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix
from ansible_collections.smgr.server_manager.tests.support.docker_world import NpmHost

# Writes rows in short transactions as NPM does, until killed; prints "ready" after its first commit.
WRITER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
if sys.argv[2] == "wal":
    connection.execute("PRAGMA journal_mode=WAL")
number = 0
while True:
    connection.execute("BEGIN IMMEDIATE")
    for _ in range(20):
        number += 1
        row = (f"h{number}.example", "x" * 500)
        connection.execute("INSERT INTO proxy_host (domain_names, meta) VALUES (?, ?)", row)
    connection.execute("COMMIT")
    if number == 20:
        print("ready", flush=True)
"""


def setup_job(tmp_path, database="sqlite", **job):
    host = NpmHost(tmp_path / "npm-host", database)
    prefix = Prefix(tmp_path / "host")
    prefix.add_job(name="npm", type="npm", npm_dir=str(host.dir), **job)
    return prefix, host


def run(prefix, host, check):
    return json.loads(prefix.run("--json", "backup", "npm", env=host.docker.env, check=check).stdout)


def restore(prefix, archive, tmp_path):
    target = tmp_path / "restored"
    prefix.run("restore", "npm", os.path.basename(archive), "--to", str(target), check=0)
    return target / "npm"


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_sqlite_is_copied_consistently_while_npm_writes(tmp_path, journal):
    prefix, host = setup_job(tmp_path)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(host.database_file), journal], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        result = run(prefix, host, check=0)
    finally:
        writer.kill()
        writer.wait()
    restored = restore(prefix, result["archive"], tmp_path)
    copy = restored / "data" / "database.sqlite"
    with sqlite3.connect(copy) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = connection.execute("SELECT count(*) FROM proxy_host").fetchone()[0]
    connection.close()
    assert rows >= 21 and (rows - 1) % 20 == 0  # whole transactions only
    names = {str(path.relative_to(restored)) for path in restored.rglob("*")}
    assert {"docker-compose.yml", "data/keys.json", "data/nginx/proxy_host/1.conf"} <= names
    assert "letsencrypt/live/npm-1/privkey.pem" in names
    assert not [name for name in names if name.startswith("data/logs")]
    assert not [name for name in names if name.endswith(("-wal", "-shm", "-journal"))]


def test_mariadb_is_dumped_through_its_service_and_its_files_left_out(tmp_path):
    prefix, host = setup_job(tmp_path, "mysql")
    result = run(prefix, host, check=0)
    restored = restore(prefix, result["archive"], tmp_path)
    dump = (restored / "npm-database.sql").read_text()
    assert "INSERT INTO `stand_in_files` VALUES ('npm/proxy_host.ibd'" in dump
    assert dump.rstrip().splitlines()[-1].startswith("-- Dump completed")
    assert not (restored / "mysql").exists()
    assert (restored / "data" / "nginx" / "proxy_host" / "1.conf").exists()
    assert "compose -f " + str(host.dir / "docker-compose.yml") + " exec -T db sh -c" in "\n".join(host.docker.calls())


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("stopped", 'service "db" is not running'),
        ("password", "Access denied for user 'npm'"),
        ("dies", "Lost connection to server during query"),
    ],
)
def test_a_failed_dump_fails_the_run_and_writes_nothing(tmp_path, breakage, expected):
    prefix, host = setup_job(tmp_path, "mysql")
    if breakage == "stopped":
        host.stop("db")
    elif breakage == "password":
        host.docker.set_container("db", db_password="changed-in-the-database-only")
    else:
        host.docker.update(faults={"dump_dies": True})
    result = run(prefix, host, check=1)
    assert "dumping NPM's database (service db) failed" in result["error"]
    assert expected in result["error"]
    assert prefix.archives("npm") == []
    assert [p.name for p in prefix.dest("npm").iterdir()] == []


def test_a_missing_npm_dir_is_named_and_nothing_is_written(tmp_path):
    prefix = Prefix(tmp_path / "host")
    prefix.add_job(name="npm", type="npm", npm_dir=str(tmp_path / "nowhere"))
    result = json.loads(prefix.run("--json", "backup", "npm", check=1).stdout)
    assert "npm_dir" in result["error"] and "is not a directory" in result["error"]
    assert prefix.archives("npm") == []


@pytest.mark.parametrize("database", ["sqlite", "mysql"])
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("./data:/data", "npm_data:/data"), "NPM's /data is not a bind mount"),
        (("./letsencrypt:/etc/letsencrypt", "npm_le:/etc/letsencrypt"), "NPM's /etc/letsencrypt is not a bind mount"),
        (("./data:/data", "/srv/elsewhere:/data"), "not a real directory inside"),
    ],
)
def test_configurations_and_certificates_outside_npm_dir_are_refused(tmp_path, database, change, expected):
    """Otherwise proxy hosts or certificates would be missing from the archive without a word."""
    prefix, host = setup_job(tmp_path, database)
    compose = host.dir / "docker-compose.yml"
    compose.write_text(compose.read_text().replace(*change))
    result = run(prefix, host, check=1)
    assert expected in result["error"] and "npm_dir" in result["error"]
    assert prefix.archives("npm") == []


def test_a_symlinked_data_directory_is_refused_not_copied_onto(tmp_path):
    prefix, host = setup_job(tmp_path)
    real = tmp_path / "real-data"
    (host.dir / "data").rename(real)
    (host.dir / "data").symlink_to(real)
    result = run(prefix, host, check=1)
    assert "not a real directory inside" in result["error"]
    with sqlite3.connect(real / "database.sqlite") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    connection.close()


def test_a_symlinked_npm_dir_is_fine_and_the_copy_is_private(tmp_path):
    prefix, host = setup_job(tmp_path)
    link = tmp_path / "nginx-link"
    link.symlink_to(host.dir)
    prefix.add_job(name="npm", type="npm", npm_dir=str(link))
    result = run(prefix, host, check=0)
    listing = subprocess.run(
        ["tar", "-I", "zstd", "-tvf", result["archive"]], check=True, capture_output=True, text=True
    ).stdout
    [line] = [line for line in listing.splitlines() if line.endswith("npm/data/database.sqlite")]
    assert line.startswith("-rw-------")


def test_a_corrupt_database_fails_the_integrity_check(tmp_path):
    prefix, host = setup_job(tmp_path)
    with open(host.database_file, "r+b") as handle:
        handle.seek(100)
        handle.write(b"\xff" * 3000)
    result = run(prefix, host, check=1)
    assert "NPM's" in result["error"] and ("integrity_check" in result["error"] or "malformed" in result["error"])
    assert prefix.archives("npm") == []
