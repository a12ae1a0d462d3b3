# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Runner notifications through a real SMTP server on 127.0.0.1 (disk full: tests/unit/hardening/test_faults.py)."""

from __future__ import annotations

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._notify.config import NotifyConfig, render_config
from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix
from ansible_collections.smgr.server_manager.tests.support.smtp_server import SmtpServer


@pytest.fixture
def smtp():
    with SmtpServer("plain") as server:
        yield server


def configure_mail(prefix: Prefix, server: SmtpServer, **prefs) -> None:
    config = NotifyConfig(
        enabled=True,
        smtp_server="127.0.0.1",
        smtp_port=server.port,
        smtp_security="none",
        from_email="smgr@example.org",
        to_emails=("ops@example.org",),
        **prefs,
    )
    path = prefix.config / "notifications.yaml"
    path.write_text(render_config(config))
    path.chmod(0o600)


def bodies(server: SmtpServer) -> list:
    result = []
    for received in server.messages:
        message = received.message()
        text = message.get_body(("plain",)).get_content()
        result.append((message["Subject"], text))
    return result


def test_failure_mail_has_error_and_log_tail_then_recovered(tmp_path, smtp):
    prefix = Prefix(tmp_path / "host")
    configure_mail(prefix, smtp)  # notify_on_success false, notify_on_failure true
    data = tmp_path / "data"
    prefix.add_job(name="app", type="paths", paths=[str(data)])
    prefix.run("backup", "app", check=1)  # data does not exist yet
    ((subject, text),) = bodies(smtp)
    assert subject.startswith("[FAILED] Backup: app on testhost")
    assert "path(s) to back up do not exist" in text
    assert "backup started (type paths" in text  # the log tail
    data.mkdir()
    (data / "f").write_text("x")
    result = prefix.run_json("backup", "app", check=0)
    assert result["recovered"] is True
    assert len(smtp.messages) == 2
    subject, text = bodies(smtp)[1]
    assert subject.startswith("[SUCCESS] Backup: app on testhost") and "recovered" in text
    prefix.run("backup", "app", check=0)  # a plain success: notify_on_success is false
    assert len(smtp.messages) == 2


def test_success_mail_when_asked(tmp_path, smtp):
    prefix = Prefix(tmp_path / "host")
    configure_mail(prefix, smtp, notify_on_success=True)
    data = tmp_path / "data"
    data.mkdir()
    (data / "f").write_text("x")
    prefix.add_job(name="app", type="paths", paths=[str(data)])
    archive = prefix.run_json("backup", "app", check=0)["archive"]
    ((subject, text),) = bodies(smtp)
    assert subject.startswith("[SUCCESS]") and archive in text


def test_unreachable_smtp_server_does_not_fail_the_backup(tmp_path):
    prefix = Prefix(tmp_path / "host")
    with SmtpServer("plain") as server:
        port = server.port
    configure_mail(prefix, server)
    data = tmp_path / "data"
    data.mkdir()
    prefix.add_job(name="app", type="paths", paths=[str(data / "missing")])
    completed = prefix.run("backup", "app", check=1)
    assert "notification not sent" in completed.stderr
    assert str(port) in completed.stderr or "refused" in completed.stderr.lower()
