# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Notification e-mails: what they say (subjects and bodies in the seed's forms) and how they are sent.

Building is pure: ``*_notification(...)`` return a :class:`Notification` (subject, plain text,
HTML). :func:`skip_reason` says what the preferences hold back (success only with ``notify_on_success``,
failure with ``notify_on_failure``, health/custom/test always, nothing when disabled); :func:`send_mail`
builds the multipart/alternative message and hands it to :func:`deliver`, which speaks SMTP with the
standard library: certificates always verified, timeouts always set, STARTTLS required when
configured, no AUTH over an unencrypted connection. A failure raises :class:`SendError` whose
``kind`` names the cause (``SendError.REFUSED``, ``TIMEOUT``, ``TLS_UNTRUSTED`` ...).

``dispatch.dispatch`` is the one way a notification goes out (the runner, ``smgr notify`` and smgr_notify):
preferences, routes, templates and channels, then :func:`send_mail` for each mail.
"""

from __future__ import annotations

import socket
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.channels import LEVELS
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.config import NotifyConfig, is_dns_name

# smtplib, ssl and email are imported where a message is built or sent: the runner imports this module for
# every backup and cleanup, and most runs send nothing (about 60 ms and 8 MiB less per run).
if TYPE_CHECKING:
    import smtplib
    import ssl
    from email.message import EmailMessage

SUCCESS = "success"
FAILURE = "failure"
ALWAYS = "always"
PRODUCT = "Server Manager"
_LINE_BREAKING = ("Cc", "Zl", "Zp")
_COLOURS = {SUCCESS: "#1e7e34", FAILURE: "#b02a37", "warning": "#b35c00", "info": "#0b5ed7"}


class SendError(SmgrError):
    """Sending failed; ``kind`` is one of the class constants, the message says what to fix."""

    REFUSED = "connection_refused"
    TIMEOUT = "timeout"
    UNRESOLVED = "host_not_found"
    NETWORK = "network_error"
    TLS_UNTRUSTED = "tls_certificate_untrusted"
    TLS_FAILED = "tls_failed"
    CA_FILE = "ca_file_unusable"
    STARTTLS_NOT_OFFERED = "starttls_not_offered"
    AUTH_OVER_PLAINTEXT = "auth_over_plaintext"
    AUTH_NOT_OFFERED = "auth_not_offered"
    AUTH_FAILED = "authentication_failed"
    SENDER_REFUSED = "sender_refused"
    RECIPIENT_REFUSED = "recipient_refused"
    DISCONNECTED = "disconnected"
    SMTP_ERROR = "smtp_error"

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Notification:
    """One message before addressing: ``outcome`` decides whether the preferences let it through."""

    subject: str
    text: str
    html: str
    outcome: str
    host: str
    # What the text and HTML were rendered from, so that the sender can add the system block and render again.
    body: _Body | None = field(default=None, compare=False, repr=False)
    colour: str = ""
    # The template fields of the message (templates.FIELDS) other than subject and text.
    fields: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class SendResult:
    """``sent`` with its ``message_id``, or not sent and why (``skipped``; None in a dry run)."""

    sent: bool
    subject: str
    recipients: tuple[str, ...]
    message_id: str | None = None
    skipped: str | None = None


@dataclass(frozen=True)
class BackupReport:
    """One backup run, as the runner reports it. ``time`` is when it finished (default: now)."""

    job: str
    success: bool
    service: str | None = None
    time: datetime | None = None
    archive: str | None = None
    size_bytes: int | None = None
    duration_seconds: float | None = None
    verified: bool | None = None
    error: str | None = None
    log_tail: str | None = None
    recovered: bool = False
    skipped_in_a_row: int = 0  # > 0: this run did not start, the previous one still ran


@dataclass(frozen=True)
class MaintenanceReport:
    """A maintenance task (cleanup, ...): ``details`` are extra (label, value) rows like ("Space freed", "1.2 GiB")."""

    task: str
    success: bool
    details: tuple[tuple[str, str], ...] = ()
    time: datetime | None = None
    duration_seconds: float | None = None
    error: str | None = None
    log_tail: str | None = None


@dataclass(frozen=True)
class HealthCheck:
    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class HealthReport:
    checks: tuple[HealthCheck, ...]
    time: datetime | None = None

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


# --- formatting --------------------------------------------------------------------------------------------------


def default_hostname() -> str:
    return socket.getfqdn()


def now_local() -> datetime:
    return datetime.now(timezone.utc).astimezone()


def one_line(text: str) -> str:
    """``text`` safe for a header: control characters (CR, LF, tab, NEL ...) and the Unicode line and paragraph
    separators (U+2028, U+2029) become spaces: the e-mail library refuses all of them in a header."""
    return "".join(" " if unicodedata.category(char) in _LINE_BREAKING else char for char in text).strip()


def format_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S %z")


def format_size(size: int) -> str:
    """IEC units with the exact byte count: ``12.3 MiB (12897484 bytes)``."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit} ({size} bytes)"


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@dataclass(frozen=True)
class _Body:
    """The parts both renderings share: a headline, (label, value) rows and preformatted sections."""

    headline: str
    rows: tuple[tuple[str, str], ...]
    sections: tuple[tuple[str, str], ...] = ()
    paragraph: str | None = None
    system: tuple[tuple[str, str], ...] = ()  # host, uptime, load, memory, backup space: before the signature


def _aligned(rows: Sequence[tuple[str, str]], indent: str = "") -> list[str]:
    width = max((len(label) for label, _value in rows), default=0) + 1
    return [f"{indent}{label + ':':<{width}} {value}" for label, value in rows]


def _text_body(body: _Body, host: str) -> str:
    lines = [body.headline, ""]
    if body.paragraph:
        lines += [body.paragraph, ""]
    lines += _aligned(body.rows)
    for title, content in body.sections:
        lines += ["", f"{title}:", content.rstrip("\n")]
    if body.system:
        lines += ["", "System:", *_aligned(body.system, "  ")]
    lines += ["", "-- ", f"Sent by {PRODUCT} on {host}."]
    return "\n".join(lines) + "\n"


# html.escape's table: the html module also loads every named entity (0.5 MiB of the runner's memory, every run).
_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def escape_html(text: str) -> str:
    """``html.escape(text)`` (quotes too), without importing the html module."""
    return text.translate(_HTML_ESCAPES)


def _html_rows(rows: Sequence[tuple[str, str]]) -> str:
    esc = escape_html
    return "\n".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{esc(label)}</th><td>{esc(value)}</td></tr>'
        for label, value in rows
    )


def _html_body(body: _Body, host: str, colour: str) -> str:
    esc = escape_html
    rows = _html_rows(body.rows)
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"></head><body style="font-family:sans-serif">',
        f'<h2 style="color:{colour}">{esc(body.headline)}</h2>',
    ]
    if body.paragraph:
        parts.append(f'<div style="white-space:pre-wrap">{esc(body.paragraph)}</div>')
    parts.append(f"<table>\n{rows}\n</table>")
    for title, content in body.sections:
        parts += [f"<h3>{esc(title)}</h3>", f'<pre style="background:#f4f4f4;padding:8px">{esc(content)}</pre>']
    if body.system:
        parts += ["<h3>System</h3>", f'<table style="color:#444">\n{_html_rows(body.system)}\n</table>']
    parts += [f'<p style="color:#666">Sent by {esc(PRODUCT)} on {esc(host)}.</p>', "</body></html>"]
    return "\n".join(parts) + "\n"


def with_system_block(notification: Notification, rows: Sequence[tuple[str, str]]) -> Notification:
    """The notification rendered again with a "System" block (host, uptime, load, memory, backup space)."""
    if not rows or notification.body is None:
        return notification
    body = replace(notification.body, system=tuple(rows))
    return replace(
        notification,
        text=_text_body(body, notification.host),
        html=_html_body(body, notification.host, notification.colour),
        body=body,
    )


def _notification(
    subject: str, body: _Body, outcome: str, host: str, colour: str, fields: dict[str, str] | None = None
) -> Notification:
    values = {"host": host, "details": "\n".join(_aligned(body.rows))}
    values.update({key: value for key, value in (fields or {}).items() if value})
    return Notification(
        one_line(subject),
        _text_body(body, host),
        _html_body(body, host, colour),
        outcome,
        host,
        body,
        colour,
        tuple(sorted(values.items())),
    )


def plain_html(text: str, colour: str) -> str:
    """The HTML part of a message whose text comes from a template: the same text, escaped, preformatted."""
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body style="font-family:sans-serif">\n'
        f'<pre style="white-space:pre-wrap;border-left:4px solid {escape_html(colour or "#666")};padding-left:8px">'
        f"{escape_html(text)}</pre>\n</body></html>\n"
    )


def _failure_sections(error: str | None, log_tail: str | None) -> tuple[tuple[str, str], ...]:
    sections = []
    if error:
        sections.append(("Error", error))
    if log_tail:
        sections.append(("Last log lines", log_tail))
    return tuple(sections)


# --- the notification types ----------------------------------------------------------------------------------------


def backup_notification(report: BackupReport, host: str) -> Notification:
    """``[SUCCESS] Backup: nginx on host1`` / ``[FAILED] Backup: nginx on host1``."""
    tag = "SUCCESS" if report.success else "FAILED"
    if report.success:
        status = "Success (recovered after a failed run)" if report.recovered else "Success"
        headline = f"Backup {report.job} on {host} " + ("recovered" if report.recovered else "succeeded")
    elif report.skipped_in_a_row:
        tag, status = "SKIPPED", f"Skipped ({report.skipped_in_a_row} runs in a row)"
        headline = f"Backup {report.job} on {host} did not start {report.skipped_in_a_row} times in a row"
    else:
        status, headline = "Failed", f"Backup {report.job} on {host} FAILED"
    when = format_time(report.time or now_local())
    size = format_size(report.size_bytes) if report.size_bytes is not None else ""
    duration = format_duration(report.duration_seconds) if report.duration_seconds is not None else ""
    rows = [("Server", host), ("Service", report.service or report.job), ("Job", report.job)]
    rows += [("Time", when), ("Status", status)]
    if report.archive:
        rows.append(("Path", report.archive))
    if size:
        rows.append(("Size", size))
    if duration:
        rows.append(("Duration", duration))
    if report.verified is not None:
        rows.append(("Verified", "yes" if report.verified else "no"))
    body = _Body(headline, tuple(rows), () if report.success else _failure_sections(report.error, report.log_tail))
    outcome = SUCCESS if report.success else FAILURE
    fields = {
        "job": report.job,
        "type": report.service or "",
        "status": status,
        "time": when,
        "duration": duration,
        "archive": report.archive or "",
        "size": size,
        "error": "" if report.success else report.error or "",
        "log_tail": "" if report.success else report.log_tail or "",
    }
    subject = f"[{tag}] Backup: {report.job} on {host}"
    return _notification(subject, body, outcome, host, _COLOURS[outcome], fields)


def maintenance_notification(report: MaintenanceReport, host: str) -> Notification:
    """``[SUCCESS] Maintenance: cleanup on host1`` / ``[FAILED] ...``."""
    tag = "SUCCESS" if report.success else "FAILED"
    headline = f"Maintenance task {report.task} on {host} " + ("completed" if report.success else "FAILED")
    when = format_time(report.time or now_local())
    status = "Success" if report.success else "Failed"
    duration = format_duration(report.duration_seconds) if report.duration_seconds is not None else ""
    rows = [("Server", host), ("Task", report.task), ("Time", when), ("Status", status)]
    if duration:
        rows.append(("Duration", duration))
    rows += list(report.details)
    body = _Body(headline, tuple(rows), () if report.success else _failure_sections(report.error, report.log_tail))
    outcome = SUCCESS if report.success else FAILURE
    fields = {
        "job": report.task,
        "status": status,
        "time": when,
        "duration": duration,
        "error": "" if report.success else report.error or "",
        "log_tail": "" if report.success else report.log_tail or "",
    }
    subject = f"[{tag}] Maintenance: {report.task} on {host}"
    return _notification(subject, body, outcome, host, _COLOURS[outcome], fields)


def health_notification(report: HealthReport, host: str) -> Notification:
    """``[OK] Health Check: host1`` / ``[WARNING] Health Check: host1``; one row per check."""
    failing = [check for check in report.checks if not check.ok]
    if failing:
        status = f"{len(failing)} of {len(report.checks)} checks need attention"
    else:
        status = f"all {len(report.checks)} checks passed"
    when = format_time(report.time or now_local())
    rows = [("Server", host), ("Time", when), ("Status", status)]
    rows += [
        (check.name, ("OK" if check.ok else "WARNING") + (f": {check.detail}" if check.detail else ""))
        for check in report.checks
    ]
    tag = "WARNING" if failing else "OK"
    body = _Body(f"Health check on {host}: {status}", tuple(rows))
    colour = _COLOURS["warning" if failing else SUCCESS]
    fields = {
        "status": status,
        "time": when,
        "error": "; ".join(f"{check.name}: {check.detail}" for check in failing),
    }
    return _notification(f"[{tag}] Health Check: {host}", body, ALWAYS, host, colour, fields)


def validate_custom(subject: str, body: str, level: str) -> None:
    """A custom notification's input: a one-line subject, a level from :data:`LEVELS`."""
    if level not in LEVELS:
        raise SmgrError(f"must be one of {', '.join(LEVELS)}, got {level!r}", field="level")
    if not subject.strip():
        raise SmgrError("must not be empty", field="subject")
    if one_line(subject) != subject:
        raise SmgrError("must be a single line without control characters", field="subject")
    if "\x00" in body:
        raise SmgrError("must not contain NUL characters", field="body")


def custom_notification(subject: str, body: str, level: str, host: str) -> Notification:
    """``[LEVEL] <subject> - <host>`` (the seed's custom notification)."""
    validate_custom(subject, body, level)
    when = format_time(now_local())
    rows = (("Server", host), ("Time", when), ("Level", level.upper()))
    colour = _COLOURS[FAILURE if level == "error" else level]
    content = _Body(subject, rows, paragraph=body.rstrip("\n") or None)
    fields = {"status": level.upper(), "time": when}
    return _notification(f"[{level.upper()}] {subject} - {host}", content, ALWAYS, host, colour, fields)


def test_notification(config: NotifyConfig, host: str) -> Notification:
    """``[TEST] Server Manager Notification Test - <host>``, listing the settings it was sent with."""
    auth = f"as {config.smtp_user}" if config.smtp_user else "none"
    rows = (
        ("Server", host),
        ("Time", format_time(now_local())),
        ("SMTP server", f"{config.smtp_server}:{config.smtp_port} ({config.smtp_security})"),
        ("Authentication", auth),
        ("From", config.from_email or ""),
        ("To", ", ".join(config.to_emails)),
        ("Notify on success", "yes" if config.notify_on_success else "no"),
        ("Notify on failure", "yes" if config.notify_on_failure else "no"),
    )
    paragraph = f"This is a test notification from {PRODUCT} on {host}. If you can read it, e-mail notifications work."
    content = _Body(f"{PRODUCT} notification test", rows, paragraph=paragraph)
    return _notification(f"[TEST] {PRODUCT} Notification Test - {host}", content, ALWAYS, host, _COLOURS["info"])


test_notification.__test__ = False  # a builder, not a pytest test


# --- preferences, message, delivery -------------------------------------------------------------------------------


def skip_reason(config: NotifyConfig, outcome: str, event: str = "") -> str | None:
    """Why the default mail's preferences hold a message of this outcome back, or None to send it. A recovery
    (``event``) ends a failure the operator was told of: it goes wherever failures go."""
    if not config.enabled:
        return "notifications are disabled"
    if event == "recovered" and config.notify_on_failure:
        return None
    if outcome == SUCCESS and not config.notify_on_success:
        return "notify_on_success is false"
    if outcome == FAILURE and not config.notify_on_failure:
        return "notify_on_failure is false"
    return None


def build_message(config: NotifyConfig, notification: Notification, date: datetime | None = None) -> EmailMessage:
    """multipart/alternative (text/plain, then text/html) with Date, Message-ID, From, To and Subject."""
    from email.message import EmailMessage
    from email.utils import format_datetime, formataddr, make_msgid

    if not config.from_email or not config.to_emails:
        raise SmgrError("from_email and at least one address in to_emails are needed to send a notification")
    message = EmailMessage()
    message["Subject"] = notification.subject
    message["From"] = formataddr((PRODUCT, config.from_email))
    message["To"] = ", ".join(config.to_emails)
    message["Date"] = format_datetime(date or now_local())
    message["Message-ID"] = make_msgid("smgr", domain=config.from_email.rpartition("@")[2])
    message["Auto-Submitted"] = "auto-generated"
    message["X-Mailer"] = "smgr.server_manager"
    message.set_content(notification.text, cte="quoted-printable")
    message.add_alternative(notification.html, subtype="html", cte="quoted-printable")
    return message


def tls_context(config: NotifyConfig) -> ssl.SSLContext:
    """Verifying context: the system's CAs, or only ``ca_file`` when set."""
    import ssl

    try:
        return ssl.create_default_context(cafile=config.ca_file)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror or str(exc)
        raise SendError(SendError.CA_FILE, f"cannot load ca_file {config.ca_file}: {reason}") from None


def _reply(code: int, text: bytes | str) -> str:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {one_line(message)}"


def _describe_tls_error(exc: ssl.SSLError) -> str:
    import ssl

    if isinstance(exc, ssl.SSLCertVerificationError):
        return exc.verify_message or str(exc)
    return exc.reason or str(exc)


def translate(exc: BaseException, config: NotifyConfig) -> SendError:
    """The real cause of a failed delivery, as an error an operator can act on."""
    import smtplib
    import ssl

    where = f"cannot send e-mail via {config.smtp_server}:{config.smtp_port}"
    timed_out = isinstance(exc, (socket.timeout, TimeoutError)) or (
        isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(exc.__context__, (socket.timeout, TimeoutError))
    )
    if timed_out:
        return SendError(
            SendError.TIMEOUT,
            f"{where}: timed out after {config.smtp_timeout} s (smtp_timeout) waiting for the server to answer",
        )
    if isinstance(exc, ConnectionRefusedError):
        return SendError(SendError.REFUSED, f"{where}: connection refused (is an SMTP server listening on that port?)")
    if isinstance(exc, socket.gaierror):
        return SendError(SendError.UNRESOLVED, f"{where}: host name not found ({exc.strerror})")
    if isinstance(exc, ssl.SSLCertVerificationError):
        hint = "" if config.ca_file else "; set ca_file to the CA certificate that signed it"
        return SendError(
            SendError.TLS_UNTRUSTED, f"{where}: TLS certificate not trusted ({_describe_tls_error(exc)}){hint}"
        )
    if isinstance(exc, ssl.SSLError):
        hint = (
            " (does the port speak implicit TLS? 465 is tls, 587 is starttls)" if config.smtp_security == "tls" else ""
        )
        return SendError(SendError.TLS_FAILED, f"{where}: TLS handshake failed ({_describe_tls_error(exc)}){hint}")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return SendError(
            SendError.AUTH_FAILED,
            f"{where}: authentication failed for user {config.smtp_user!r} ({_reply(exc.smtp_code, exc.smtp_error)})",
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(f"{addr} ({_reply(code, text)})" for addr, (code, text) in exc.recipients.items())
        return SendError(SendError.RECIPIENT_REFUSED, f"{where}: recipient refused: {refused}")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return SendError(
            SendError.SENDER_REFUSED,
            f"{where}: sender {config.from_email} refused ({_reply(exc.smtp_code, exc.smtp_error)})",
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SendError(SendError.AUTH_NOT_OFFERED, f"{where}: the server does not offer AUTH ({exc})")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SendError(SendError.DISCONNECTED, f"{where}: the server closed the connection unexpectedly ({exc})")
    if isinstance(exc, smtplib.SMTPResponseException):
        return SendError(SendError.SMTP_ERROR, f"{where}: {_reply(exc.smtp_code, exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPException):
        return SendError(SendError.SMTP_ERROR, f"{where}: {exc}")
    if isinstance(exc, OSError):
        return SendError(SendError.NETWORK, f"{where}: {exc.strerror or exc}")
    return SendError(SendError.SMTP_ERROR, f"{where}: {type(exc).__name__}: {exc}")


def _connect(config: NotifyConfig, context: ssl.SSLContext | None, ehlo_name: str) -> smtplib.SMTP:
    import smtplib

    if config.smtp_security == "tls":
        return smtplib.SMTP_SSL(
            config.smtp_server, config.smtp_port, local_hostname=ehlo_name, timeout=config.smtp_timeout, context=context
        )
    return smtplib.SMTP(config.smtp_server, config.smtp_port, local_hostname=ehlo_name, timeout=config.smtp_timeout)


def _converse(smtp: smtplib.SMTP, config: NotifyConfig, context: ssl.SSLContext | None, message: EmailMessage) -> None:
    where = f"cannot send e-mail via {config.smtp_server}:{config.smtp_port}"
    smtp.ehlo()
    if config.smtp_security == "starttls":
        if not smtp.has_extn("starttls"):
            raise SendError(
                SendError.STARTTLS_NOT_OFFERED,
                f"{where}: the server does not offer STARTTLS; refusing to continue unencrypted "
                "(smtp_security: starttls)",
            )
        smtp.starttls(context=context)
        smtp.ehlo()
    if config.smtp_user is not None:
        if not smtp.has_extn("auth"):
            raise SendError(SendError.AUTH_NOT_OFFERED, f"{where}: the server does not offer AUTH")
        smtp.login(config.smtp_user, config.smtp_password or "")
    refused = smtp.send_message(message, from_addr=config.from_email, to_addrs=list(config.to_emails))
    if refused:
        listed = ", ".join(f"{addr} ({_reply(code, text)})" for addr, (code, text) in refused.items())
        raise SendError(
            SendError.RECIPIENT_REFUSED, f"{where}: recipient refused: {listed}; the other recipients got the message"
        )


def deliver(config: NotifyConfig, message: EmailMessage, ehlo_name: str = "localhost") -> None:
    """Send ``message`` to all of ``to_emails`` with the configured server, security and credentials."""
    import smtplib

    if config.smtp_user is not None and config.smtp_security == "none":
        raise SendError(
            SendError.AUTH_OVER_PLAINTEXT,
            f"cannot send e-mail via {config.smtp_server}:{config.smtp_port}: refusing to authenticate over an "
            "unencrypted connection (smtp_security: none); use starttls or tls",
        )
    context = None if config.smtp_security == "none" else tls_context(config)
    try:
        smtp = _connect(config, context, ehlo_name)
    except Exception as exc:
        raise translate(exc, config) from None
    try:
        _converse(smtp, config, context, message)
    except SendError:
        smtp.close()
        raise
    except Exception as exc:
        smtp.close()  # no QUIT: after a timeout it would wait as long again
        raise translate(exc, config) from None
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()  # the message is delivered; a rude goodbye changes nothing


def send_mail(config: NotifyConfig, notification: Notification, dry_run: bool = False) -> SendResult:
    """Send ``notification`` (its system block already added) to ``config``'s recipients with its SMTP settings,
    whatever the preferences say; raises SendError."""
    message = build_message(config, notification)
    if dry_run:
        return SendResult(False, notification.subject, config.to_emails)
    ehlo_name = notification.host if is_dns_name(notification.host) else "localhost"
    deliver(config, message, ehlo_name)
    return SendResult(True, notification.subject, config.to_emails, message_id=message["Message-ID"])
