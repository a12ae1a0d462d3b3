# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Runner notifications through a real SMTP server on 127.0.0.1 (disk full: tests/unit/hardening/test_faults.py)."""

from __future__ import annotations

import pytest

from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix
from ansible_collections.smgr.server_manager.tests.support.smtp_server import SmtpServer


@pytest.fixture
def smtp():
    with SmtpServer("plain") as server:
        yield server


def configure_mail(prefix: Prefix, server: SmtpServer, **prefs) -> None:
    prefix.configure_mail(server.port, **prefs)


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


def test_a_partial_run_is_no_success_and_the_next_full_success_recovers(tmp_path, smtp):
    prefix = Prefix(tmp_path / "host")
    configure_mail(prefix, smtp)
    data = tmp_path / "data"
    data.mkdir()
    (data / "f").write_text("x")
    blocked = tmp_path / "offsite"
    blocked.write_text("a file where the off-site directory should be")
    prefix.add_job(name="app", type="paths", paths=[str(data)], remote=str(blocked / "app"))
    result = prefix.run_json("backup", "app", check=5)
    assert (result["status"], result["local"], result["offsite"]) == ("partial", "ok", "failed")
    state = prefix.state("app")
    assert state["last_success"] is None
    assert state["last_local_success"]["archive"] == result["archive"]
    assert state["last_offsite_success"] is None
    assert (state["consecutive_failures"], state["consecutive_offsite_failures"]) == (1, 1)
    ((subject, text),) = bodies(smtp)
    assert subject.startswith("[FAILED] Backup: app") and "the archive is published, but" in text

    blocked.unlink()
    result = prefix.run_json("backup", "app", check=0)
    assert (result["status"], result["offsite"], result["recovered"]) == ("ok", "ok", True)
    state = prefix.state("app")
    assert state["last_success"]["archive"] == state["last_offsite_success"]["archive"] == result["archive"]
    assert (state["consecutive_failures"], state["consecutive_offsite_failures"]) == (0, 0)
    subject, text = bodies(smtp)[1]
    assert subject.startswith("[SUCCESS] Backup: app") and "recovered" in text


def test_skipped_runs_are_logged_counted_and_mailed_once(tmp_path, smtp):
    from ansible_collections.smgr.server_manager.plugins.module_utils._common.lock import JobLock

    prefix = Prefix(tmp_path / "host")
    configure_mail(prefix, smtp)
    data = tmp_path / "data"
    data.mkdir()
    (data / "f").write_text("x")
    prefix.add_job(name="app", type="paths", paths=[str(data)])
    with JobLock(prefix.settings.lock_dir, "app"):
        results = [prefix.run_json("backup", "app", check=3) for _attempt in range(3)]
    assert [result["status"] for result in results] == ["skipped"] * 3
    assert [result["consecutive_skips"] for result in results] == [1, 2, 3]
    state = prefix.state("app")
    assert (state["consecutive_skips"], state["skips_total"]) == (3, 3)
    assert "last_run" not in state  # a skipped run is not a run
    assert prefix.log_text().count("this run is skipped") == 3
    ((subject, text),) = bodies(smtp)  # once, when the second run in a row was skipped
    assert subject.startswith("[SKIPPED] Backup: app") and "2 times in a row" in text
    prefix.run_json("backup", "app", check=0)
    state = prefix.state("app")
    assert (state["consecutive_skips"], state["skips_total"], state["recovered"]) == (0, 3, False)


def test_a_failing_channel_never_fails_the_run_and_is_logged_by_name(tmp_path, smtp):
    from ansible_collections.smgr.server_manager.plugins.module_utils._notify.channels import Channel
    from ansible_collections.smgr.server_manager.tests.support.http_receiver import HttpReceiver

    secret = "hook-s3cret-0123456789"
    good, refusing = HttpReceiver("ok"), HttpReceiver("refuse")
    try:
        prefix = Prefix(tmp_path / "host")
        channels = (
            Channel("team-chat", f"json://127.0.0.1:{good.port}/{secret}", ("failure", "recovered")),
            Channel("pager", f"json://127.0.0.1:{refusing.port}/{secret}", ("failure",)),
        )
        configure_mail(prefix, smtp, channels=channels)
        data = tmp_path / "data"
        prefix.add_job(name="app", type="paths", paths=[str(data)])
        failed = prefix.run("backup", "app", check=1)  # the backup's own exit code, whatever the channels did
        assert len(smtp.messages) == 1 and len(good.requests) == 1 and len(refusing.requests) == 1
        assert "[FAILED] Backup: app on testhost" in good.requests[0].json()["title"]
        log = prefix.log_text()
        assert "channel pager: not delivered" in log and "team-chat" not in log
        assert secret not in log + failed.stdout + failed.stderr
        data.mkdir()
        (data / "f").write_text("x")
        prefix.run("backup", "app", check=0)
        assert "recovered" in good.requests[1].json()["title"] + good.requests[1].json()["message"]
        assert len(refusing.requests) == 1  # a recovery goes only where it is routed
    finally:
        good.stop()
        refusing.stop()
