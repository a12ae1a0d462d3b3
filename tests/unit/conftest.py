# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures shared by the unit tests."""

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.smgr.server_manager.tests.support import cron_model
from ansible_collections.smgr.server_manager.tests.support.module_harness import capture_module_exits
from ansible_collections.smgr.server_manager.tests.support.smtp_server import SmtpServer


@pytest.fixture
def data(tmp_path):
    """A one-file tree to back up (test files that need a richer tree define their own ``data``)."""
    root = tmp_path / "data"
    root.mkdir()
    (root / "index.html").write_text("<h1>hi</h1>\n")
    return root


@pytest.fixture(scope="session")
def smtp_cert_dir(tmp_path_factory):
    """One private CA and server certificate for every SMTP server of the session (``ca.pem`` in here)."""
    return tmp_path_factory.mktemp("smtp-certs")


@pytest.fixture
def smtp_server(smtp_cert_dir):
    """Start real SMTP servers on 127.0.0.1: ``smtp_server("starttls-auth", refuse=[...])``; stopped after the test.

    The arguments are those of ``tests/support/smtp_server.SmtpServer``; the certificates come from
    ``smtp_cert_dir`` unless ``cert_dir`` is given.
    """
    started: list[SmtpServer] = []

    def start(mode: str = "plain", **kwargs) -> SmtpServer:
        kwargs.setdefault("cert_dir", smtp_cert_dir)
        server = SmtpServer(mode, **kwargs).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MiB tmpfs (needs root), unmounted after the test: a disk that fills up."""
    mountpoint = tmp_path / "small-disk"
    mountpoint.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(mountpoint)], check=True)
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True)


@pytest.fixture
def module_exits(monkeypatch):
    """AnsibleModule's exit_json/fail_json raise with the result (tests/support/module_harness.py)."""
    capture_module_exits(monkeypatch)


@pytest.fixture
def throwaway_user():
    """A system user for crontab(1) tests, removed with its crontab afterwards (needs root)."""
    with cron_model.throwaway_user() as name:
        yield name
