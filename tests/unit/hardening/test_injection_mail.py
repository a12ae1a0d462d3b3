# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The hostile corpus in every string that reaches a mail header or an SMTP conversation, delivered to a real SMTP
server (aiosmtpd on 127.0.0.1).

For each string: the sender refuses it with a message naming the field, or exactly one message arrives, to exactly
the configured recipients, with exactly the headers smgr sets (no Bcc, no second Subject), a one-line Subject, and
the text in the body. Paths: smgr_notify's ``send`` and ``hostname``, ``smgr notify send``, and the runner's
failure notification carrying hostile command output.
"""

from __future__ import annotations

import email
import email.policy
import io
import sys
from email.message import EmailMessage

from ansible_collections.smgr.server_manager.plugins.module_utils._notify import cli as _notify_cli
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.mail import one_line
from ansible_collections.smgr.server_manager.plugins.modules import smgr_notify
from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix
from ansible_collections.smgr.server_manager.tests.support.module_harness import run_module
from ansible_collections.smgr.server_manager.tests.unit.hardening.helpers import (
    hostile,
    record_figures,
)

HEADERS = {"Subject", "From", "To", "Date", "Message-ID", "Auto-Submitted", "X-Mailer", "MIME-Version", "Content-Type"}
RECIPIENTS = ["ops@example.com", "oncall@example.org"]
EXTRA = ("x\r\n.\r\nMAIL FROM:<evil@example.com>\r\n", "line\n.\nQUIT\n", "\r\n\r\nInjected-Header: yes")


def settings(path, server) -> dict:
    return dict(
        path=str(path),
        enabled=True,
        smtp_server="127.0.0.1",
        smtp_port=server.port,
        smtp_security="none",
        from_email="smgr@example.com",
        to_emails=RECIPIENTS,
        notify_on_success=True,
        smtp_timeout=10,
    )


def as_received(subject: str) -> str:
    """The Subject a reader sees for ``subject`` sent alone in a message: a literal RFC 2047 encoded word
    ("=?utf-8?q?...?=") is decoded by every reader (display only: the header set is already parsed)."""
    message = EmailMessage()
    message["Subject"] = subject
    return str(email.message_from_bytes(message.as_bytes(), policy=email.policy.default)["Subject"])


def check_message(received, problems: list[str], label: str) -> str:
    """Return the Subject after checking envelope and headers of one received message."""
    message = received.message()
    names = set(message.keys())
    if received.rcpt_tos != tuple(RECIPIENTS) or received.mail_from != "smgr@example.com":
        problems.append(f"{label}: envelope {received.mail_from} -> {received.rcpt_tos}")
    if names != HEADERS or any(len(message.get_all(name)) != 1 for name in names):
        problems.append(f"{label}: headers {sorted(names)}")
    subject = str(message["Subject"])
    if "\n" in subject or "\r" in subject:
        problems.append(f"{label}: multi-line subject {subject!r}")
    return subject


def test_notify_send_and_hostname(tmp_path, smtp_server):
    server = smtp_server("plain")
    base = settings(tmp_path / "notifications.yaml", server)
    problems: list[str] = []
    sent = refused = 0
    for text in [*hostile(str(tmp_path / "canary")), *EXTRA]:
        for field in ("subject", "body", "hostname"):
            count = len(server.messages)
            args = dict(base, hostname="web1.example.com", send=dict(subject="Disk check", body="body", level="info"))
            if field == "hostname":
                args["hostname"] = text
            else:
                args["send"][field] = text
            result = run_module(smgr_notify, args)
            arrived = server.wait_for(count + 1, timeout=0.5 if result["failed"] else 10)[count:]
            if result["failed"]:
                refused += 1
                if field not in result["msg"] or arrived:
                    problems.append(f"{field} {text!r}: {result['msg'][:200]} ({len(arrived)} arrived)")
                continue
            sent += 1
            if len(arrived) != 1:
                problems.append(f"{field} {text!r}: {len(arrived)} messages arrived")
                continue
            subject = check_message(arrived[0], problems, f"{field} {text!r}")
            # Control characters and line separators in the host name become spaces (one_line): one header line.
            expected = as_received(one_line(f"[INFO] {args['send']['subject']} - {args['hostname']}"))
            if subject != expected:
                problems.append(f"{field} {text!r}: subject {subject!r}, expected {expected!r}")
            if field == "body":
                plain = next(arrived[0].message().iter_parts()).get_content()
                if text.replace("\r\n", "\n").replace("\r", "\n").strip() not in plain.replace("\r\n", "\n"):
                    problems.append(f"body {text!r}: not in the text part {plain[:200]!r}")
    assert problems == []
    record_figures("injection mail module", strings=len(hostile("x")) + len(EXTRA), sent=sent, refused=refused)
    assert sent > 0 and refused > 0


def test_notify_cli_send(tmp_path, smtp_server):
    server = smtp_server("plain")
    assert not run_module(smgr_notify, settings(tmp_path / "notifications.yaml", server))["failed"]
    problems: list[str] = []
    for text in hostile(str(tmp_path / "canary")):
        count = len(server.messages)
        stdout, stderr = io.StringIO(), io.StringIO()
        code = _notify_cli.main(
            # --subject=TEXT: a value starting with '-' would otherwise be read as an option by argparse.
            [
                "send",
                "--config",
                str(tmp_path / "notifications.yaml"),
                f"--subject={text}",
                "--body=-",
                "--hostname=h1",
            ],
            stdin=io.StringIO(text),
            stdout=stdout,
            stderr=stderr,
        )
        arrived = server.wait_for(count + 1, timeout=0.5 if code else 10)[count:]
        if code != 0:
            if code != 2 or "subject" not in stderr.getvalue() or arrived:
                problems.append(f"{text!r}: exit {code}, {stderr.getvalue()[:200]}")
            continue
        if len(arrived) != 1:
            problems.append(f"{text!r}: {len(arrived)} messages")
            continue
        check_message(arrived[0], problems, repr(text))
    assert problems == []


def test_runner_failure_mail_with_hostile_output(tmp_path, smtp_server):
    """A failing pre_command prints header-like and SMTP-like lines: they arrive in the failure mail's body (error
    and log tail), the headers stay smgr's."""
    server = smtp_server("plain")
    prefix = Prefix(tmp_path / "host")
    assert not run_module(smgr_notify, settings(prefix.config / "notifications.yaml", server))["failed"]
    data = tmp_path / "data"
    data.mkdir()
    (data / "f").write_text("x\n")
    script = tmp_path / "say.py"
    lines = [*hostile(str(tmp_path / "canary"))[:40], *EXTRA]
    script.write_text(f"import sys\nsys.stdout.write({lines!r}[int(sys.argv[1])])\nsys.exit(1)\n")
    problems: list[str] = []
    for index, text in enumerate(lines):
        prefix.add_job(name="site", type="paths", paths=[str(data)], pre_command=f"{sys.executable} {script} {index}")
        count = len(server.messages)
        completed = prefix.run("backup", "site")
        if completed.returncode != 1:
            problems.append(f"{text!r}: exit {completed.returncode}")
        arrived = server.wait_for(count + 1, timeout=10)[count:]
        if len(arrived) != 1:
            problems.append(f"{text!r}: {len(arrived)} messages")
            continue
        subject = check_message(arrived[0], problems, repr(text))
        if subject != f"[FAILED] Backup: site on {prefix.host}":
            problems.append(f"{text!r}: subject {subject!r}")
    assert not (tmp_path / "canary").exists()
    assert problems == []
    record_figures("injection mail runner", strings=len(lines), messages=len(server.messages))
