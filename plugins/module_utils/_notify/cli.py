# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``smgr notify test|send``: the command line of the notification sender (the runner dispatches to :func:`main`).

    smgr notify test [--config PATH] [--hostname NAME]
    smgr notify send --subject TEXT --body TEXT|- [--level info|warning|error|success] [--config PATH] [--hostname NAME]

``--body -`` reads the body from standard input (``df -h | smgr notify send --subject 'Disk' --body -``).

Exit codes: 0 sent; 1 sending failed (the cause on stderr); 2 usage error or invalid configuration;
3 nothing sent because notifications are disabled.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._common.sysinfo import system_rows
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.config import DEFAULT_PATH, load_config
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.mail import (
    LEVELS,
    SendError,
    default_hostname,
    send_custom,
    send_test,
)

EXIT_SENT = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_DISABLED = 3


def build_parser(prog: str, default_config: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Send a notification e-mail with notifications.yaml.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{test,send}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=default_config, help=f"notification settings (default: {default_config})")
    common.add_argument("--hostname", help="host name in subjects and bodies (default: this host's FQDN)")
    commands.add_parser("test", parents=[common], help="send a test message to every recipient")
    send = commands.add_parser("send", parents=[common], help="send a custom message")
    send.add_argument("--subject", required=True)
    send.add_argument("--body", required=True, help="the message text, or - to read it from standard input")
    send.add_argument("--level", choices=LEVELS, default="info")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    prog: str = "smgr notify",
    default_config: str = DEFAULT_PATH,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    backup_root: str | None = None,
) -> int:
    """Run ``smgr notify``; returns the exit code (see the module docstring). ``backup_root``: whose free space
    the message's system block shows."""
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    parser = build_parser(prog, default_config)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        config = load_config(args.config)
        host = args.hostname or default_hostname()
        system = system_rows(host, backup_root)
        if args.command == "test":
            result = send_test(config, host, system=system)
        else:
            body = stdin.read() if args.body == "-" else args.body
            result = send_custom(config, args.subject, body, args.level, host, system=system)
    except SmgrError as exc:
        stderr.write(f"{prog}: {exc}\n")
        return EXIT_FAILED if isinstance(exc, SendError) else EXIT_USAGE
    if not result.sent:
        stderr.write(f"{prog}: nothing sent: {result.skipped}\n")
        return EXIT_DISABLED
    stdout.write(f"sent {result.message_id} to {', '.join(result.recipients)}: {result.subject}\n")
    return EXIT_SENT
