# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``smgr notify test|send``: exit codes, output, and what arrives at a real SMTP server."""

from __future__ import annotations

import io

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._notify import cli
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.config import (
    config_from_mapping,
    render_config,
)
from ansible_collections.smgr.server_manager.tests.support.smtp_server import unused_port

PASSWORD = "cli-Secret-9"


def write_config(path, port: int, **overrides) -> str:
    data = dict(
        enabled=True,
        smtp_server="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        from_email="server-manager@example.com",
        to_emails=["admin@example.com"],
        smtp_timeout=5,
    )
    data.update(overrides)
    path.write_text(render_config(config_from_mapping(data)))
    return str(path)


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_test_sends_the_test_message(smtp_server, tmp_path):
    server = smtp_server("starttls-auth", password=PASSWORD)
    config = write_config(
        tmp_path / "n.yaml",
        server.port,
        smtp_security="starttls",
        smtp_user="smgr",
        smtp_password=PASSWORD,
        ca_file=server.ca_file,
    )
    code, out, err = run("test", "--config", config, "--hostname", "web1")
    assert (code, err) == (cli.EXIT_SENT, "")
    message = server.wait_for(1)[0].message()
    assert message["Subject"] == "[TEST] Server Manager Notification Test - web1"
    assert out == f"sent {message['Message-ID']} to admin@example.com: [TEST] Server Manager Notification Test - web1\n"
    assert PASSWORD not in out


def test_send_with_the_body_from_stdin(smtp_server, tmp_path):
    server = smtp_server("plain")
    config = write_config(tmp_path / "n.yaml", server.port)
    code, _out, _err = run(
        "send", "--config", config, "--subject", "Disk", "--body", "-", "--level", "error", "--hostname", "web1",
        stdin="/dev/sda1 95%\n",
    )  # fmt: skip
    assert code == cli.EXIT_SENT
    message = server.wait_for(1)[0].message()
    assert message["Subject"] == "[ERROR] Disk - web1"
    assert "/dev/sda1 95%" in next(message.iter_parts()).get_content()


def test_a_failure_exits_1_with_the_cause(tmp_path):
    port = unused_port()
    config = write_config(tmp_path / "n.yaml", port)
    code, out, err = run("send", "--config", config, "--subject", "x", "--body", "y")
    assert (code, out) == (cli.EXIT_FAILED, "")
    assert err == (
        f"smgr notify: cannot send e-mail via 127.0.0.1:{port}: connection refused "
        "(is an SMTP server listening on that port?)\n"
    )


def test_disabled_exits_3_and_sends_nothing(tmp_path):
    config = write_config(tmp_path / "n.yaml", unused_port(), enabled=False)
    assert run("test", "--config", config) == (
        cli.EXIT_DISABLED,
        "",
        "smgr notify: nothing sent: notifications are disabled\n",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "n.yaml does not exist"),
        ("notifications:\n  smtp_port: 0\n", "n.yaml: smtp_port: must be an integer from 1 to 65535"),
        ("notifications: [\n", "n.yaml: not valid YAML"),
    ],
)
def test_a_bad_configuration_exits_2(tmp_path, content, message):
    path = tmp_path / "n.yaml"
    if content is not None:
        path.write_text(content)
    code, out, err = run("test", "--config", str(path))
    assert (code, out) == (cli.EXIT_USAGE, "")
    assert message in err


def test_a_bad_custom_message_exits_2(tmp_path):
    config = write_config(tmp_path / "n.yaml", unused_port())
    code, _out, err = run("send", "--config", config, "--subject", "a\tb", "--body", "x")
    assert code == cli.EXIT_USAGE
    assert "subject: must be a single line" in err


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["send", "--subject", "x"], ["send", "--level", "loud"]])
def test_usage_errors_exit_2(argv, capsys):
    assert cli.main(argv) == cli.EXIT_USAGE
    assert "usage: smgr notify" in capsys.readouterr().err


def test_help_exits_0(capsys):
    assert cli.main(["--help"]) == 0
    assert "{test,send}" in capsys.readouterr().out


def test_the_default_config_path_is_the_runners(tmp_path, smtp_server):
    server = smtp_server("plain")
    config = write_config(tmp_path / "n.yaml", server.port)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["test"], default_config=config, stdout=out, stderr=err) == cli.EXIT_SENT
    assert len(server.wait_for(1)) == 1
