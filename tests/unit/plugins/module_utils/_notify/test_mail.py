# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Notification e-mails: their subjects and bodies, the preferences, and delivery to real SMTP servers."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._notify import mail
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.config import (
    NotifyConfig,
    config_from_mapping,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.dispatch import dispatch
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.mail import (
    BackupReport,
    HealthCheck,
    HealthReport,
    MaintenanceReport,
    SendError,
)
from ansible_collections.smgr.server_manager.tests.support.smtp_server import unused_port

HOST = "host1"
PASSWORD = "s3cret-Pa55"
WHEN = datetime(2026, 1, 1, 2, 0, 3, tzinfo=timezone(timedelta(hours=1)))


def settings(port: int = 25, security: str = "none", **overrides) -> NotifyConfig:
    data = dict(
        enabled=True,
        smtp_server="127.0.0.1",
        smtp_port=port,
        smtp_security=security,
        from_email="server-manager@example.com",
        to_emails=["admin@example.com", "alerts@example.com"],
        notify_on_success=True,
        smtp_timeout=5,
    )
    data.update(overrides)
    return config_from_mapping(data)


def send_test_mail(config: NotifyConfig) -> mail.SendResult:
    return mail.send_mail(config, mail.test_notification(config, HOST))


def parsed(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


# --- subjects and bodies ---------------------------------------------------------------------------------------

SUCCESS = BackupReport(
    job="nginx",
    success=True,
    service="nginx",
    time=WHEN,
    archive="/var/backups/smgr/nginx/host1-nginx-20260101T010003Z.tar.zst",
    size_bytes=12_897_484,
    duration_seconds=4.25,
    verified=True,
)
FAILURE = BackupReport(
    job="nginx",
    success=False,
    service="nginx",
    time=WHEN,
    duration_seconds=75,
    error="tar: /etc/nginx: Cannot open: Permission denied",
    log_tail="line 1\nline 2 <b>&</b>\n",
)


def test_backup_success_subject_and_details():
    note = mail.backup_notification(SUCCESS, HOST)
    assert note.subject == "[SUCCESS] Backup: nginx on host1"
    assert note.outcome == mail.SUCCESS
    for row in (
        "Server:   host1",
        "Service:  nginx",
        "Time:     2026-01-01 02:00:03 +0100",
        "Status:   Success",
        "Path:     /var/backups/smgr/nginx/host1-nginx-20260101T010003Z.tar.zst",
        "Size:     12.3 MiB (12897484 bytes)",
        "Duration: 4.2 s",
        "Verified: yes",
    ):
        assert row in note.text
    assert "Error" not in note.text


def test_backup_failure_carries_the_error_and_the_log_tail():
    note = mail.backup_notification(FAILURE, HOST)
    assert note.subject == "[FAILED] Backup: nginx on host1"
    assert note.outcome == mail.FAILURE
    assert "Status:   Failed" in note.text
    assert "Duration: 1 min 15 s" in note.text
    assert "Error:\ntar: /etc/nginx: Cannot open: Permission denied\n" in note.text
    assert "Last log lines:\nline 1\nline 2 <b>&</b>\n" in note.text


def test_a_recovered_backup_says_so():
    note = mail.backup_notification(replace(SUCCESS, recovered=True), HOST)
    assert "Status:   Success (recovered after a failed run)" in note.text
    assert note.subject == "[SUCCESS] Backup: nginx on host1"


def test_html_escapes_everything_that_comes_from_data():
    report = replace(FAILURE, job="<script>alert(1)</script>", error='quote " & <tag>')
    note = mail.backup_notification(report, "h&<1>")
    assert "<script>" not in note.html and "<tag>" not in note.html and "<1>" not in note.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in note.html
    assert "quote &quot; &amp; &lt;tag&gt;" in note.html
    assert "line 2 &lt;b&gt;&amp;&lt;/b&gt;" in note.html
    assert "h&amp;&lt;1&gt;" in note.html
    assert "<script>alert(1)</script>" in note.text


def test_maintenance_subjects_and_details():
    report = MaintenanceReport("cleanup", True, details=(("Files removed", "3"), ("Space freed", "1.2 GiB")))
    note = mail.maintenance_notification(report, HOST)
    assert note.subject == "[SUCCESS] Maintenance: cleanup on host1"
    assert "Files removed: 3" in note.text and "Space freed:   1.2 GiB" in note.text
    failed = mail.maintenance_notification(replace(report, success=False, error="rm failed", log_tail="x"), HOST)
    assert failed.subject == "[FAILED] Maintenance: cleanup on host1"
    assert failed.outcome == mail.FAILURE
    assert "Error:\nrm failed" in failed.text


def test_health_subjects_follow_the_checks():
    good = HealthReport((HealthCheck("disk /", True, "41% used"), HealthCheck("nginx", True)), time=WHEN)
    note = mail.health_notification(good, HOST)
    assert note.subject == "[OK] Health Check: host1"
    assert "all 2 checks passed" in note.text and "disk /: OK: 41% used" in note.text
    bad = replace(good, checks=(*good.checks, HealthCheck("mailcow", False, "3 containers down")))
    note = mail.health_notification(bad, HOST)
    assert note.subject == "[WARNING] Health Check: host1"
    assert "1 of 3 checks need attention" in note.text and "mailcow: WARNING: 3 containers down" in note.text
    assert note.outcome == mail.ALWAYS


@pytest.mark.parametrize("level", mail.LEVELS)
def test_custom_subject_carries_the_level(level):
    note = mail.custom_notification("Disk almost full", "90% used\n", level, HOST)
    assert note.subject == f"[{level.upper()}] Disk almost full - host1"
    assert "90% used" in note.text and "90% used" in note.html


@pytest.mark.parametrize(
    ("subject", "body", "level", "message"),
    [
        ("ok", "", "critical", "level: must be one of info, warning, error, success"),
        ("", "", "info", "subject: must not be empty"),
        ("two\nlines", "", "info", "subject: must be a single line"),
        ("nul", "a\x00b", "info", "body: must not contain NUL"),
    ],
)
def test_custom_input_is_validated(subject, body, level, message):
    with pytest.raises(SmgrError, match=message):
        mail.custom_notification(subject, body, level, HOST)


def test_the_test_message_lists_the_settings_but_not_the_password():
    config = settings(587, "starttls", smtp_user="smgr", smtp_password=PASSWORD)
    note = mail.test_notification(config, HOST)
    assert note.subject == "[TEST] Server Manager Notification Test - host1"
    assert "SMTP server:       127.0.0.1:587 (starttls)" in note.text
    assert "Authentication:    as smgr" in note.text
    assert "To:                admin@example.com, alerts@example.com" in note.text
    assert PASSWORD not in note.text and PASSWORD not in note.html


def test_data_cannot_inject_headers_through_the_subject():
    note = mail.backup_notification(replace(SUCCESS, job="x\r\nBcc: victim@example.com"), HOST)
    assert "\n" not in note.subject and "\r" not in note.subject
    message = mail.build_message(settings(), note)
    assert "Bcc" not in message


@pytest.mark.parametrize(
    ("size", "shown"), [(0, "0 bytes"), (1023, "1023 bytes"), (1536, "1.5 KiB (1536 bytes)"), (5 << 40, "5.0 TiB")]
)
def test_sizes(size, shown):
    assert mail.format_size(size).startswith(shown)


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0.4, "0.4 s"), (59.94, "59.9 s"), (61, "1 min 01 s"), (7322, "2 h 02 min")]
)
def test_durations(seconds, shown):
    assert mail.format_duration(seconds) == shown


# --- preferences ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("enabled", "on_success", "on_failure", "outcome", "reason"),
    [
        (False, True, True, mail.ALWAYS, "notifications are disabled"),
        (False, True, True, mail.FAILURE, "notifications are disabled"),
        (True, False, True, mail.SUCCESS, "notify_on_success is false"),
        (True, True, True, mail.SUCCESS, None),
        (True, True, False, mail.FAILURE, "notify_on_failure is false"),
        (True, False, True, mail.FAILURE, None),
        (True, False, False, mail.ALWAYS, None),
    ],
)
def test_preferences(enabled, on_success, on_failure, outcome, reason):
    config = NotifyConfig(enabled=enabled, notify_on_success=on_success, notify_on_failure=on_failure)
    assert mail.skip_reason(config, outcome) == reason


def test_a_message_held_back_by_the_preferences_is_never_sent():
    config = settings(unused_port(), notify_on_success=False)
    delivery = dispatch(config, mail.backup_notification(SUCCESS, HOST), "success", system=[])
    (result,) = delivery.mails
    assert (result.sent, result.skipped, result.message_id) == (False, "notify_on_success is false", None)
    assert delivery.mail_errors == ()  # nothing was tried: the port has no server
    disabled = dispatch(replace(config, enabled=False), mail.test_notification(config, HOST), "test", system=[])
    assert (disabled.mails, disabled.skipped) == ((), "notifications are disabled")


def test_a_dry_run_builds_the_message_and_sends_nothing():
    config = settings(unused_port())
    result = mail.send_mail(config, mail.test_notification(config, HOST), dry_run=True)
    assert (result.sent, result.skipped, result.message_id) == (False, None, None)
    assert result.subject == "[TEST] Server Manager Notification Test - host1"
    assert result.recipients == ("admin@example.com", "alerts@example.com")


# --- the message -------------------------------------------------------------------------------------------------


def assert_well_formed(message: email.message.EmailMessage, config: NotifyConfig, subject: str) -> None:
    assert message["Subject"] == subject
    assert message["From"] == f"Server Manager <{config.from_email}>"
    assert [address.addr_spec for address in message["To"].addresses] == list(config.to_emails)
    assert email.utils.parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith("@example.com>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert all(part.get_content_charset() == "utf-8" for part in parts)


def test_the_message_is_multipart_alternative_with_all_headers():
    config = settings()
    note = mail.backup_notification(FAILURE, HOST)
    message = parsed(bytes(mail.build_message(config, note, WHEN)))
    assert_well_formed(message, config, "[FAILED] Backup: nginx on host1")
    assert message["Date"] == "Thu, 01 Jan 2026 02:00:03 +0100"
    text, html_part = (part.get_content() for part in message.iter_parts())
    assert text == note.text and html_part == note.html


def test_non_ascii_data_survives_the_message():
    note = mail.custom_notification("Sauvegarde réussie ✓", "Données: 12 Mo\n", "success", "hôte1")
    message = parsed(bytes(mail.build_message(settings(), note)))
    assert message["Subject"] == "[SUCCESS] Sauvegarde réussie ✓ - hôte1"
    assert "Données: 12 Mo" in next(message.iter_parts()).get_content()
    assert all(byte < 128 for byte in bytes(mail.build_message(settings(), note)))


# --- delivery to real servers ----------------------------------------------------------------------------------


def test_plain_delivery_arrives_intact(smtp_server):
    server = smtp_server("plain")
    config = settings(server.port)
    result = mail.send_mail(config, mail.custom_notification("Disk almost full", "90% used on /\n", "warning", HOST))
    assert result.sent and result.message_id
    received = server.wait_for(1)[0]
    assert received.mail_from == "server-manager@example.com"
    assert received.rcpt_tos == ("admin@example.com", "alerts@example.com")
    assert received.auth_user is None
    message = received.message()
    assert_well_formed(message, config, "[WARNING] Disk almost full - host1")
    assert message["Message-ID"] == result.message_id
    text, html_part = (part.get_content() for part in message.iter_parts())
    assert "90% used on /" in text and "Level:  WARNING" in text
    assert '<div style="white-space:pre-wrap">90% used on /</div>' in html_part


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_starttls_with_auth(smtp_server, mechanism):
    server = smtp_server("starttls-auth", user="smgr", password=PASSWORD, auth_mechanisms=[mechanism])
    config = settings(server.port, "starttls", smtp_user="smgr", smtp_password=PASSWORD, ca_file=server.ca_file)
    result = mail.send_mail(config, mail.backup_notification(FAILURE, HOST))
    assert result.sent
    received = server.wait_for(1)[0]
    assert received.auth_user == "smgr"
    message = received.message()
    assert_well_formed(message, config, "[FAILED] Backup: nginx on host1")
    text, html_part = (part.get_content() for part in message.iter_parts())
    assert "Cannot open: Permission denied" in text and "line 2 &lt;b&gt;" in html_part


@pytest.mark.parametrize("mode", ["tls", "tls-auth"])
def test_implicit_tls(smtp_server, mode):
    server = smtp_server(mode, password=PASSWORD)
    auth = dict(smtp_user="smgr", smtp_password=PASSWORD) if mode == "tls-auth" else {}
    config = settings(server.port, "tls", ca_file=server.ca_file, **auth)
    assert mail.send_mail(config, mail.test_notification(config, HOST)).sent
    received = server.wait_for(1)[0]
    assert received.message()["Subject"] == "[TEST] Server Manager Notification Test - host1"
    assert received.auth_user == ("smgr" if auth else None)


@pytest.mark.parametrize(("mode", "security"), [("starttls", "starttls"), ("tls", "tls")])
def test_a_private_ca_is_trusted_only_with_ca_file(smtp_server, mode, security):
    server = smtp_server(mode)
    with pytest.raises(SendError) as caught:
        send_test_mail(settings(server.port, security))
    assert caught.value.kind == SendError.TLS_UNTRUSTED
    assert "TLS certificate not trusted (unable to get local issuer certificate)" in str(caught.value)
    assert "set ca_file" in str(caught.value)
    assert server.messages == []
    assert send_test_mail(settings(server.port, security, ca_file=server.ca_file)).sent


def test_the_certificate_must_name_the_server(smtp_server, tmp_path):
    server = smtp_server("starttls", cert_dir=tmp_path, cert_names=["mail.example.com"])
    with pytest.raises(SendError) as caught:
        send_test_mail(settings(server.port, "starttls", ca_file=server.ca_file))
    assert caught.value.kind == SendError.TLS_UNTRUSTED
    assert "IP address mismatch, certificate is not valid for '127.0.0.1'" in str(caught.value)
    assert server.messages == []


def test_a_wrong_password_fails_as_authentication(smtp_server):
    server = smtp_server("starttls-auth", password="right-one")
    config = settings(server.port, "starttls", smtp_user="smgr", smtp_password=PASSWORD, ca_file=server.ca_file)
    with pytest.raises(SendError) as caught:
        mail.send_mail(config, mail.test_notification(config, HOST))
    assert caught.value.kind == SendError.AUTH_FAILED
    assert "authentication failed for user 'smgr' (535 5.7.8 Authentication credentials invalid)" in str(caught.value)
    assert PASSWORD not in str(caught.value)
    assert server.messages == []


def test_a_server_that_requires_auth_refuses_the_sender(smtp_server):
    server = smtp_server("starttls-auth")
    with pytest.raises(SendError) as caught:
        send_test_mail(settings(server.port, "starttls", ca_file=server.ca_file))
    assert caught.value.kind == SendError.SENDER_REFUSED
    assert "530" in str(caught.value)


def test_server_down_is_connection_refused():
    port = unused_port()
    with pytest.raises(SendError) as caught:
        send_test_mail(settings(port))
    assert caught.value.kind == SendError.REFUSED
    assert str(caught.value) == (
        f"cannot send e-mail via 127.0.0.1:{port}: connection refused (is an SMTP server listening on that port?)"
    )


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
def test_a_server_that_never_answers_times_out(smtp_server, security):
    server = smtp_server("silent")
    with pytest.raises(SendError) as caught:
        send_test_mail(settings(server.port, security, smtp_timeout=1, ca_file=None))
    assert caught.value.kind == SendError.TIMEOUT
    assert "timed out after 1 s (smtp_timeout)" in str(caught.value)


def test_starttls_is_required_when_configured(smtp_server):
    server = smtp_server("plain")
    with pytest.raises(SendError) as caught:
        send_test_mail(settings(server.port, "starttls"))
    assert caught.value.kind == SendError.STARTTLS_NOT_OFFERED
    assert "does not offer STARTTLS; refusing to continue unencrypted" in str(caught.value)
    assert server.messages == []


def test_auth_over_an_unencrypted_connection_is_refused_before_connecting():
    # Validation already rejects this configuration; the sender refuses it too, without connecting
    # (nothing listens on the port: a connection attempt would fail as "refused" instead).
    config = replace(settings(unused_port()), smtp_user="smgr", smtp_password=PASSWORD)
    with pytest.raises(SendError) as caught:
        mail.send_mail(config, mail.test_notification(config, HOST))
    assert caught.value.kind == SendError.AUTH_OVER_PLAINTEXT
    assert PASSWORD not in str(caught.value)


def test_all_recipients_refused(smtp_server):
    server = smtp_server("plain", refuse=["admin@example.com", "alerts@example.com"])
    with pytest.raises(SendError) as caught:
        send_test_mail(settings(server.port))
    assert caught.value.kind == SendError.RECIPIENT_REFUSED
    assert "recipient refused: admin@example.com (550 5.1.1 <admin@example.com>: Recipient address rejected" in str(
        caught.value
    )
    assert server.messages == []


def test_one_recipient_refused_fails_after_the_others_got_it(smtp_server):
    server = smtp_server("plain", refuse=["alerts@example.com"])
    with pytest.raises(SendError) as caught:
        send_test_mail(settings(server.port))
    assert caught.value.kind == SendError.RECIPIENT_REFUSED
    assert "alerts@example.com (550" in str(caught.value)
    assert "the other recipients got the message" in str(caught.value)
    assert server.wait_for(1)[0].rcpt_tos == ("admin@example.com",)


def test_implicit_tls_against_a_plain_server_fails_as_tls(smtp_server):
    server = smtp_server("plain")
    with pytest.raises(SendError) as caught:
        send_test_mail(settings(server.port, "tls", smtp_timeout=5))
    assert caught.value.kind in (SendError.TLS_FAILED, SendError.DISCONNECTED)
    assert server.messages == []


def test_an_unreadable_ca_file_is_named(tmp_path):
    config = settings(unused_port(), "starttls", ca_file=str(tmp_path / "missing.pem"))
    with pytest.raises(SendError) as caught:
        mail.send_mail(config, mail.test_notification(config, HOST))
    assert caught.value.kind == SendError.CA_FILE
    assert "missing.pem: No such file or directory" in str(caught.value)


def test_a_ca_file_without_certificates_is_named(tmp_path):
    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")
    with pytest.raises(SendError) as caught:
        send_test_mail(settings(unused_port(), "starttls", ca_file=str(empty)))
    assert caught.value.kind == SendError.CA_FILE


@given(st.text())
def test_escape_html_is_html_escape(text):
    import html

    assert mail.escape_html(text) == html.escape(text)
