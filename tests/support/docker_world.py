# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A Docker host for tests: the Docker CLI stand-in (tests/support/docker/docker) with a world of its own, and
a Mailcow installation (tests/support/mailcow) whose compose project runs in that world.

Import as ``from ansible_collections.smgr.server_manager.tests.support.docker_world import ...``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

SUPPORT_DIR = Path(__file__).resolve().parent
DOCKER_STANDIN = SUPPORT_DIR / "docker" / "docker"
MAILCOW_STANDIN = SUPPORT_DIR / "mailcow"
BACKUP_IMAGE = "ghcr.io/mailcow/backup:latest"
MAILCOW_PROJECT = "mailcowdockerized"
MAILCOW_VOLUMES = ("vmail", "crypt", "redis", "rspamd", "postfix", "mysql")
# service -> (image, {container path: volume component})
MAILCOW_SERVICES: dict[str, tuple[str, dict[str, str]]] = {
    "mysql-mailcow": ("mariadb:10.11", {"/var/lib/mysql": "mysql"}),
    "redis-mailcow": ("redis:7.4.6-alpine", {"/data": "redis"}),
    "dovecot-mailcow": ("ghcr.io/mailcow/dovecot:2.34", {"/var/vmail": "vmail", "/mail_crypt": "crypt"}),
    "postfix-mailcow": ("ghcr.io/mailcow/postfix:1.80", {"/var/spool/postfix": "postfix"}),
    "rspamd-mailcow": ("ghcr.io/mailcow/rspamd:2.2", {"/var/lib/rspamd": "rspamd"}),
    "nginx-mailcow": ("ghcr.io/mailcow/nginx:1.03", {}),
    "watchdog-mailcow": ("ghcr.io/mailcow/watchdog:2.08", {}),
}


class DockerWorld:
    """``bin/docker`` (a link to the stand-in) and ``world/`` (its state) under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = root / "bin"
        self.dir = root / "world"
        (self.dir / "volumes").mkdir(parents=True)
        self.bin.mkdir(parents=True)
        (self.bin / "docker").symlink_to(DOCKER_STANDIN)
        self.save({"networks": {}, "images": {}, "registry": {}, "containers": {}, "faults": {}})

    @property
    def env(self) -> dict[str, str]:
        """Environment for a process that should find this world's ``docker`` first on PATH."""
        return {"PATH": f"{self.bin}:{os.environ.get('PATH', '/usr/bin:/bin')}"}

    def load(self) -> dict[str, Any]:
        return json.loads((self.dir / "world.json").read_text())

    def save(self, data: dict[str, Any]) -> None:
        (self.dir / "world.json").write_text(json.dumps(data, indent=1, sort_keys=True))

    def update(self, **changes: Any) -> None:
        data = self.load()
        data.update(changes)
        self.save(data)

    def volume(self, name: str) -> Path:
        path = self.dir / "volumes" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def calls(self) -> list[str]:
        path = self.dir / "calls"
        return path.read_text().splitlines() if path.exists() else []

    def containers(self) -> dict[str, dict[str, Any]]:
        return self.load()["containers"]

    def add_container(self, name: str, image: str, project: str, service: str, mounts: dict[str, str], **extra: Any):
        data = self.load()
        data["containers"][name] = {
            "id": f"{abs(hash(name)) % 16**12:012x}",
            "image": image,
            "state": "running",
            "mounts": mounts,
            "network": extra.pop("network", None),
            "rm": False,
            "project": project,
            "service": service,
            "health": extra.pop("health", "healthy"),
            "pid": None,
            **extra,
        }
        self.save(data)

    def set_container(self, service: str, **changes: Any) -> None:
        data = self.load()
        for container in data["containers"].values():
            if container.get("service") == service:
                container.update(changes)
        self.save(data)


class MailcowHost:
    """A Mailcow installation at ``root/mailcow-dockerized`` whose compose project runs in a DockerWorld.

    ``version`` picks the behaviour of Mailcow's backup script stand-in: ``2025-12`` (zstd dumps, image
    prefetch) or ``2025-03`` (pigz/gzip dumps).
    """

    def __init__(self, root: Path, version: str = "2025-12") -> None:
        self.docker = DockerWorld(root / "docker")
        self.dir = root / "mailcow-dockerized"
        shutil.copytree(MAILCOW_STANDIN, self.dir, symlinks=True)
        (self.dir / "helper-scripts" / ".standin-version").write_text(version + "\n")
        network = f"{MAILCOW_PROJECT}_mailcow-network"
        self.docker.update(
            networks={network: "4f1c2a9b7d3e"},
            images={BACKUP_IMAGE: "sha256:" + "b" * 64, "mariadb:10.11": "sha256:" + "d" * 64},
            mysql_root_password="standin-dbroot",
        )
        for component in MAILCOW_VOLUMES:
            self.docker.volume(self.volume_name(component))
        for service, (image, mounts) in MAILCOW_SERVICES.items():
            self.docker.add_container(
                f"{MAILCOW_PROJECT}-{service}-1",
                image,
                MAILCOW_PROJECT,
                service,
                {inside: str(self.volume(component)) for inside, component in mounts.items()},
                network=network,
            )
        self.fill_volumes()

    @staticmethod
    def volume_name(component: str) -> str:
        return f"{MAILCOW_PROJECT}_{component}-vol-1"

    def volume(self, component: str) -> Path:
        return self.docker.volume(self.volume_name(component))

    def fill_volumes(self) -> None:
        """A little of what each volume holds on a real host."""
        maildir = self.volume("vmail") / "example.org" / "ops" / "Maildir" / "cur"
        maildir.mkdir(parents=True)
        (maildir / "1700000000.M1P1.mail:2,S").write_text("Subject: hello\n\nbody\n")
        (self.volume("crypt") / "ecprivkey.pem").write_text("private\n")
        (self.volume("crypt") / "ecpubkey.pem").write_text("public\n")
        (self.volume("redis") / "dump.rdb").write_bytes(b"REDIS0011old")
        (self.volume("rspamd") / "stats.ucl").write_text("learned = 12;\n")
        (self.volume("postfix") / "maildrop").mkdir()
        mysql = self.volume("mysql")
        (mysql / "ibdata1").write_bytes(b"\x00" * 4096)
        (mysql / "mailcow").mkdir()
        (mysql / "mailcow" / "mailbox.ibd").write_bytes(b"mailbox" * 100)

    def stop(self, service: str) -> None:
        self.docker.set_container(service, state="exited")


NPM_IMAGE = "jc21/nginx-proxy-manager:2.12.3"
NPM_SQLITE_COMPOSE = """\
---
services:
  app:
    image: 'jc21/nginx-proxy-manager:2.12.3'
    restart: unless-stopped
    ports:
      - '80:80'
      - '81:81'
      - '443:443'
    volumes:
      - ./data:/data
      - ./letsencrypt:/etc/letsencrypt
"""
NPM_MYSQL_COMPOSE = """\
---
services:
  app:
    image: 'jc21/nginx-proxy-manager:2.12.3'
    restart: unless-stopped
    environment:
      DB_MYSQL_HOST: "db"
      DB_MYSQL_PORT: 3306
      DB_MYSQL_USER: "npm"
      DB_MYSQL_PASSWORD: "npm-secret"
      DB_MYSQL_NAME: "npm"
    volumes:
      - ./data:/data
      - ./letsencrypt:/etc/letsencrypt
    depends_on:
      - db
  db:
    image: 'jc21/mariadb-aria:latest'
    restart: unless-stopped
    environment:
      MYSQL_ROOT_PASSWORD: 'npm-root'
      MYSQL_DATABASE: 'npm'
      MYSQL_USER: 'npm'
      MYSQL_PASSWORD: 'npm-secret'
    volumes:
      - ./mysql:/var/lib/mysql
"""


class NpmHost:
    """Nginx Proxy Manager's install directory at ``root/nginx`` (as ``/root/nginx`` on the TUI's hosts), its
    compose project (``nginx``) running in a DockerWorld; ``database`` "sqlite" (NPM's default) or "mysql"."""

    def __init__(self, root: Path, database: str = "sqlite") -> None:
        import sqlite3

        self.docker = DockerWorld(root / "docker")
        self.dir = root / "nginx"
        data = self.dir / "data"
        (data / "nginx" / "proxy_host").mkdir(parents=True)
        (data / "nginx" / "proxy_host" / "1.conf").write_text("server { server_name app.example.org; }\n")
        (data / "keys.json").write_text('{"key": "stand-in"}\n')
        (data / "logs").mkdir()
        (data / "logs" / "proxy-host-1_access.log").write_text("GET / 200\n")
        live = self.dir / "letsencrypt" / "live" / "npm-1"
        live.mkdir(parents=True)
        (live / "privkey.pem").write_text("stand-in key\n")
        (live / "cert.pem").write_text("stand-in certificate\n")
        self.database_file = data / "database.sqlite"
        self.database = database
        mounts = {"/data": str(data), "/etc/letsencrypt": str(self.dir / "letsencrypt")}
        if database == "sqlite":
            (self.dir / "docker-compose.yml").write_text(NPM_SQLITE_COMPOSE)
            with sqlite3.connect(self.database_file) as connection:
                connection.execute("CREATE TABLE proxy_host (id INTEGER PRIMARY KEY, domain_names TEXT, meta TEXT)")
                connection.execute("INSERT INTO proxy_host (domain_names, meta) VALUES ('app.example.org', '{}')")
            connection.close()
        else:
            (self.dir / "docker-compose.yml").write_text(NPM_MYSQL_COMPOSE)
            mysql = self.dir / "mysql"
            (mysql / "npm").mkdir(parents=True)
            (mysql / "ibdata1").write_bytes(b"\x00" * 2048)
            (mysql / "npm" / "proxy_host.ibd").write_bytes(b"proxy" * 64)
            self.docker.add_container(
                "nginx-db-1",
                "jc21/mariadb-aria:latest",
                "nginx",
                "db",
                {"/var/lib/mysql": str(mysql)},
                env={
                    "MYSQL_ROOT_PASSWORD": "npm-root",
                    "MYSQL_DATABASE": "npm",
                    "MYSQL_USER": "npm",
                    "MYSQL_PASSWORD": "npm-secret",
                },
            )
        self.docker.add_container("nginx-app-1", NPM_IMAGE, "nginx", "app", mounts)

    def stop(self, service: str) -> None:
        self.docker.set_container(service, state="exited")


def main(argv: list[str]) -> int:
    """``docker_world.py mailcow ROOT [VERSION]``: a Mailcow host under ROOT for shell tests (the integration
    targets); prints the install directory and the directory to put first on PATH."""
    if len(argv) not in (2, 3) or argv[0] != "mailcow":
        print("usage: docker_world.py mailcow ROOT [2025-12|2025-03]", file=sys.stderr)
        return 2
    host = MailcowHost(Path(argv[1]), *(argv[2:]))
    print(host.dir)
    print(host.docker.bin)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
