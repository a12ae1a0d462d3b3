# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""smgr_notify as Ansible runs it: the file, check and diff mode, bad input, and messages to a real SMTP server."""

from __future__ import annotations

import os
import stat

import pytest
from ansible.module_utils.common import warnings as ansible_warnings

from ansible_collections.smgr.server_manager.plugins.module_utils._notify import config as _notify_config
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.config import (
    config_from_mapping,
    render_config,
)
from ansible_collections.smgr.server_manager.plugins.modules import smgr_notify
from ansible_collections.smgr.server_manager.tests.support.module_harness import exit_result, fail_result
from ansible_collections.smgr.server_manager.tests.support.smtp_server import unused_port

PASSWORD = "Pa55-word-never-shown"


def run(args: dict, check: bool = False, diff: bool = True) -> dict:
    return exit_result(smgr_notify, args, check, diff)


def fail(args: dict, check: bool = False) -> dict:
    return fail_result(smgr_notify, args, check)


def warnings() -> tuple[str, ...]:
    return ansible_warnings.get_warning_messages()


@pytest.fixture
def path(tmp_path) -> str:
    return str(tmp_path / "config" / "notifications.yaml")


@pytest.fixture(autouse=True)
def config_dir(path):
    os.makedirs(os.path.dirname(path))


def options(path: str, **overrides) -> dict:
    args = dict(
        path=path,
        enabled=True,
        smtp_server="smtp.example.com",
        smtp_user="admin@example.com",
        smtp_password=PASSWORD,
        from_email="server-manager@example.com",
        to_emails=["admin@example.com", "alerts@example.com"],
        hostname="web1",
    )
    args.update(overrides)
    return {key: value for key, value in args.items() if value is not None}


def snapshot(path: str) -> tuple[bytes, int, int, int] | None:
    if not os.path.exists(path):
        return None
    info = os.stat(path)
    with open(path, "rb") as handle:
        return handle.read(), info.st_ino, info.st_mtime_ns, stat.S_IMODE(info.st_mode)


def assert_no_secret(*things: object, secret: str = PASSWORD) -> None:
    for thing in things:
        assert secret not in repr(thing)


# --- converging the file -------------------------------------------------------------------------------------


def test_check_real_check_real(path):
    args = options(path)
    first = run(args, check=True)
    assert first["changed"] and not os.path.exists(path)
    assert first["diff"][0]["before"] == ""
    second = run(args)
    assert second["changed"]
    assert second["diff"] == first["diff"]
    assert run(args, check=True)["changed"] is False
    assert run(args)["changed"] is False
    assert_no_secret(first, second, warnings())


def test_the_file_is_0600_root_and_holds_the_settings(path):
    result = run(options(path))
    info = os.stat(path)
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert (info.st_uid, info.st_gid) == (0, 0)
    expected = config_from_mapping({key: options(path).get(key) for key in _notify_config.KEYS})
    with open(path) as handle:
        assert handle.read() == render_config(expected)
    assert result["config"]["smtp_password"] == "********"
    assert result["config"]["smtp_port"] == 587
    assert result["migrated"] is False
    assert sorted(os.listdir(os.path.dirname(path))) == ["notifications.yaml"]


def test_without_root_the_file_belongs_to_the_current_user(path, monkeypatch):
    monkeypatch.setattr(_notify_config.os, "geteuid", lambda: 1234)
    monkeypatch.setattr(_notify_config.os, "getegid", lambda: 2345)
    run(options(path))
    info = os.stat(path)
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (1234, 2345, 0o600)
    assert run(options(path))["changed"] is False


def test_a_change_is_written_and_shown_redacted(path):
    run(options(path))
    result = run(options(path, smtp_port=2525, smtp_password="a-new-password"))
    assert result["changed"]
    diff = result["diff"][0]
    assert "smtp_port: 587" in diff["before"] and "smtp_port: 2525" in diff["after"]
    assert "smtp_password: '******** (changed)'" in diff["after"]
    assert_no_secret(result, secret="a-new-password")
    assert_no_secret(result)
    assert _notify_config.load_config(path).smtp_password == "a-new-password"


def test_without_diff_mode_there_is_no_diff(path):
    assert "diff" not in run(options(path), diff=False)


def test_a_world_readable_file_is_fixed(path):
    run(options(path))
    os.chmod(path, 0o644)
    before = snapshot(path)
    result = run(options(path))
    assert result["changed"]
    assert result["diff"][1] == {
        "before": {"path": path, "mode": "0644", "owner": 0, "group": 0},
        "after": {"path": path, "mode": "0600", "owner": 0, "group": 0},
    }
    after = snapshot(path)
    assert after[0] == before[0] and after[3] == 0o600


def test_the_seed_format_is_read_and_migrated_on_the_next_write(path):
    seed = (
        "notifications:\n"
        "  enabled: true\n"
        "  smtp_server: smtp.example.com\n"
        "  smtp_port: 587\n"
        "  smtp_use_tls: true\n"
        "  smtp_user: admin@example.com\n"
        f"  smtp_password: {PASSWORD}\n"
        "  from_email: server-manager@example.com\n"
        "  to_emails:\n"
        "    - admin@example.com\n"
        "    - alerts@example.com\n"
        "  notify_on_success: false\n"
        "  notify_on_failure: true\n"
    )
    with open(path, "w") as handle:
        handle.write(seed)
    os.chmod(path, 0o600)
    before = snapshot(path)
    same = run(options(path))
    assert same["changed"] is False and same["migrated"] is False
    assert snapshot(path) == before
    changed = run(options(path, notify_on_success=True))
    assert changed["changed"] and changed["migrated"]
    assert "smtp_use_tls: true" in changed["diff"][0]["before"]
    with open(path) as handle:
        text = handle.read()
    assert "smtp_use_tls" not in text and "smtp_security: starttls" in text
    assert_no_secret(same, changed)


def test_an_invalid_file_is_replaced_with_a_warning(path):
    with open(path, "w") as handle:
        handle.write(f"notifications:\n  smtp_password: {PASSWORD}\n  smtp_port: [not a port\n")
    result = run(options(path, smtp_password="other-password"))
    assert result["changed"]
    assert any("replacing an invalid file" in warning for warning in warnings())
    assert_no_secret(result, warnings())


def test_state_absent_removes_the_file(path):
    run(options(path))
    checked = run({"path": path, "state": "absent"}, check=True)
    assert checked["changed"] and os.path.exists(path)
    assert "smtp_password: '********'" in checked["diff"][0]["before"]
    removed = run({"path": path, "state": "absent"})
    assert removed["changed"] and not os.path.exists(path)
    assert run({"path": path, "state": "absent"})["changed"] is False
    assert_no_secret(checked, removed)


def test_a_missing_directory_fails_clearly(tmp_path):
    path = str(tmp_path / "nowhere" / "notifications.yaml")
    result = fail(options(path))
    assert result["msg"] == f"directory {tmp_path / 'nowhere'} does not exist"


# --- bad input -----------------------------------------------------------------------------------------------------

BAD = [
    pytest.param({"smtp_port": 0}, "smtp_port: must be an integer from 1 to 65535, got 0", id="port-0"),
    pytest.param({"smtp_port": 65536}, "smtp_port: must be an integer from 1 to 65535", id="port-high"),
    pytest.param({"smtp_port": "submission"}, "argument 'smtp_port' is of type", id="port-word"),
    pytest.param({"smtp_security": "ssl"}, "value of smtp_security must be one of: starttls, tls, none", id="security"),
    pytest.param({"smtp_server": "smtp example.com"}, "smtp_server: must be a host name", id="server-space"),
    pytest.param({"smtp_server": None}, "smtp_server: is required when notifications are enabled", id="no-server"),
    pytest.param({"from_email": "server-manager"}, "from_email: must be an e-mail address", id="from-bad"),
    pytest.param({"from_email": None}, "from_email: is required when notifications are enabled", id="no-from"),
    pytest.param({"to_emails": []}, "to_emails: needs at least one recipient", id="no-recipient"),
    pytest.param({"to_emails": ["ok@example.com", "bad"]}, "to_emails: must be an e-mail address", id="to-bad"),
    pytest.param({"to_emails": ["a@example.com", "a@example.com"]}, "to_emails: lists a@example.com twice", id="dup"),
    pytest.param(
        {"to_emails": ["a@example.com\r\nBcc: x@example.com"]}, "to_emails: must be an e-mail address", id="inject"
    ),
    pytest.param({"smtp_timeout": 0}, "smtp_timeout: must be an integer from 1 to 600", id="timeout-0"),
    pytest.param({"smtp_timeout": 3601}, "smtp_timeout: must be an integer from 1 to 600", id="timeout-high"),
    pytest.param({"ca_file": "ca.pem"}, "ca_file: must be an absolute path", id="ca-relative"),
    pytest.param({"smtp_user": None}, "smtp_user: smtp_user and smtp_password go together", id="password-alone"),
    pytest.param(
        {"smtp_security": "none"}, "smtp_user: refusing to send the password over an unencrypted", id="auth-plain"
    ),
    pytest.param({"enabled": "maybe"}, "argument 'enabled' is of type", id="enabled-word"),
    pytest.param({"smtp_password": PASSWORD + "\n"}, "smtp_password: must not contain control", id="password-nl"),
    pytest.param({"smtp_password": PASSWORD + "é"}, "smtp_password: must contain only printable ASCII", id="pw-utf8"),
    pytest.param({"send_test": True, "enabled": False}, "send_test needs enabled=true", id="test-disabled"),
    pytest.param({"send_test": True, "send": {"subject": "x"}}, "set send_test or send, not both", id="both"),
    pytest.param({"send": {"body": "no subject"}}, "missing required arguments: subject", id="send-no-subject"),
    pytest.param({"send": {"subject": "x", "level": "loud"}}, "value of level must be one of", id="send-level"),
    pytest.param({"send": {"subject": "two\nlines"}}, "subject: must be a single line", id="send-subject-nl"),
    pytest.param({"state": "absent", "send_test": True}, "send_test needs state=present", id="absent-test"),
    pytest.param({"color": "blue"}, "Unsupported parameters", id="unknown-option"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_bad_input_fails_clearly_and_leaves_the_file_as_it_was(path, change, message):
    run(options(path))
    before = snapshot(path)
    args = options(path)
    args.update(change)
    args = {key: value for key, value in args.items() if value is not None}
    for check in (True, False):
        result = fail(args, check=check)
        assert message in result["msg"]
        assert snapshot(path) == before
        assert sorted(os.listdir(os.path.dirname(path))) == ["notifications.yaml"]
        assert_no_secret(result, warnings())


def test_bad_input_creates_no_file(path):
    fail(options(path, smtp_port=0))
    assert not os.path.exists(path)
    assert os.listdir(os.path.dirname(path)) == []


# --- sending ---------------------------------------------------------------------------------------------------


def smtp_options(path: str, server, **overrides) -> dict:
    """Options that reach ``server`` (a value of None in ``overrides`` leaves that option out)."""
    to_server = dict(smtp_server="127.0.0.1", smtp_port=server.port, smtp_user="smgr", ca_file=server.ca_file)
    return options(path, **{**to_server, "smtp_timeout": 5, **overrides})


def test_send_test_writes_then_sends(path, smtp_server):
    server = smtp_server("starttls-auth", password=PASSWORD)
    result = run(smtp_options(path, server, send_test=True))
    assert result["changed"] and result["sent"]
    received = server.wait_for(1)[0]
    assert received.auth_user == "smgr"
    assert received.rcpt_tos == ("admin@example.com", "alerts@example.com")
    message = received.message()
    assert message["Message-ID"] == result["message_id"]
    assert message["Subject"] == result["notification"]["subject"] == "[TEST] Server Manager Notification Test - web1"
    assert result["notification"]["smtp_server"] == f"127.0.0.1:{server.port} (starttls)"
    again = run(smtp_options(path, server, send_test=True))
    assert again["changed"] is False and again["sent"] is True
    assert len(server.wait_for(2)) == 2
    assert_no_secret(result, again, warnings())


def test_send_test_in_check_mode_reports_and_sends_nothing(path, smtp_server):
    server = smtp_server("starttls-auth", password=PASSWORD)
    result = run(smtp_options(path, server, send_test=True), check=True)
    assert result["changed"] and result["sent"] is False and "message_id" not in result
    assert result["notification"]["subject"] == "[TEST] Server Manager Notification Test - web1"
    assert result["notification"]["to_emails"] == ["admin@example.com", "alerts@example.com"]
    assert server.messages == [] and not os.path.exists(path)


def test_send_a_custom_message(path, smtp_server):
    server = smtp_server("tls-auth", password=PASSWORD)
    custom = {"subject": "Maintenance at 22:00", "body": "Reboot for kernel updates.", "level": "warning"}
    result = run(smtp_options(path, server, smtp_security="tls", send=custom))
    assert result["sent"]
    message = server.wait_for(1)[0].message()
    assert message["Subject"] == "[WARNING] Maintenance at 22:00 - web1"
    assert "Reboot for kernel updates." in next(message.iter_parts()).get_content()


@pytest.mark.parametrize(
    ("mode", "change", "cause"),
    [
        ("starttls-auth", {"smtp_password": "wrong-password"}, "authentication failed for user 'smgr'"),
        ("starttls-auth", {"ca_file": None}, "TLS certificate not trusted"),
        ("plain", {}, "does not offer STARTTLS"),
        ("silent", {"smtp_timeout": 1}, "timed out after 1 s"),
        (
            "plain-refusing",
            {"smtp_security": "none", "smtp_user": None, "smtp_password": None, "ca_file": None},
            "recipient refused: admin@example.com (550 5.1.1",
        ),
    ],
)
def test_a_failed_send_fails_with_the_cause(path, smtp_server, mode, change, cause):
    if mode == "plain-refusing":
        server = smtp_server("plain", refuse=["admin@example.com", "alerts@example.com"])
    else:
        server = smtp_server(mode, password=PASSWORD)
    args = smtp_options(path, server, send_test=True)
    args.update(change)
    args = {key: value for key, value in args.items() if value is not None}
    result = fail(args)
    assert cause in result["msg"]
    assert result["sent"] is False and result["changed"] is True
    assert os.path.exists(path)
    assert server.messages == []
    again = fail(args)
    assert again["changed"] is False
    assert_no_secret(result, again, warnings())
    assert_no_secret(result, again, warnings(), secret="wrong-password")


def test_server_down_is_named(path):
    args = options(path, smtp_server="127.0.0.1", smtp_port=unused_port(), smtp_timeout=5, send_test=True)
    assert "connection refused" in fail(args)["msg"]


def test_a_missing_ca_file_is_a_warning(path, tmp_path):
    ca_file = tmp_path / "missing-ca.pem"
    assert run(options(path, ca_file=str(ca_file)))["changed"]
    assert warnings() == (f"ca_file {ca_file} does not exist on this host: sending will fail until it does",)


@pytest.mark.parametrize("bad_path", ["", "notifications.yaml", "/opt/server-manager/config/"])
def test_a_path_that_is_not_an_absolute_file_is_refused_before_writing(bad_path, tmp_path, monkeypatch):
    """Found by the fuzz suite: path '' wrote a temp file into the working directory."""
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.iterdir())
    result = fail({"path": bad_path, "enabled": False})
    assert result["msg"].startswith("path: must be the absolute path of a file")
    assert sorted(tmp_path.iterdir()) == before


CHANNEL_SECRET = "chan-0123456789-secret"


def test_channels_converge_idempotently_and_their_urls_stay_secret(path):
    channel = {"name": "chat", "url": f"json://127.0.0.1:9/{CHANNEL_SECRET}", "events": "failure, recovered"}
    args = dict(path=path, enabled=True, channels=[channel], templates={"failure": {"subject": "{job} failed"}})
    check = run(args, check=True)
    first = run(args)
    assert check["changed"] and first["changed"] and not run(args)["changed"]
    with open(path, encoding="utf-8") as handle:
        assert CHANNEL_SECRET in handle.read()
    assert CHANNEL_SECRET not in str(first) and CHANNEL_SECRET not in str(check)
    assert first["config"]["channels"] == [{"name": "chat", "url": "********", "events": ["failure", "recovered"]}]
    moved = dict(args, channels=[dict(channel, url=f"json://127.0.0.1:9/{CHANNEL_SECRET}-2")])
    changed = run(moved, check=True)
    assert "url: '******** (changed)'" in changed["diff"][0]["after"] and CHANNEL_SECRET not in str(changed)


def test_a_bad_channel_fails_before_writing_and_hides_the_url(path):
    failed = fail(dict(path=path, enabled=True, channels=[{"name": "chat", "url": f"slack://{CHANNEL_SECRET}"}]))
    assert failed["msg"].startswith("channels.chat.url: is not a valid URL") and CHANNEL_SECRET not in str(failed)
    assert not os.path.exists(path)


def test_a_refusing_channel_fails_the_send_and_the_result_keeps_what_went_out(path, smtp_server):
    from ansible_collections.smgr.server_manager.tests.support.http_receiver import HttpReceiver

    server = smtp_server("plain")
    with HttpReceiver("refuse") as refusing:
        channel = {"name": "chat", "url": f"json://127.0.0.1:{refusing.port}/{CHANNEL_SECRET}"}
        no_auth = dict(smtp_security="none", smtp_user=None, smtp_password=None, ca_file=None)
        failed = fail(smtp_options(path, server, **no_auth, channels=[channel], send_test=True))
    assert "channel chat" in failed["msg"] and CHANNEL_SECRET not in str(failed)
    assert failed["sent"] is True and failed["message_id"] and len(server.wait_for(1)) == 1  # the mail went out
    assert [(item["name"], item["sent"]) for item in failed["channels"]] == [("chat", False)]
