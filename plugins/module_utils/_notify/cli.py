# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``smgr notify test|send``: the command line of the notification sender (the runner dispatches to :func:`main`).

    smgr notify test [--channel NAME] [--config PATH] [--hostname NAME]
    smgr notify send --subject TEXT --body TEXT|- [--level info|warning|error|success] [--event EVENT]
                     [--config PATH] [--hostname NAME]

``test`` sends the test message by e-mail and to every channel (``--channel NAME``: that channel only, no e-mail)
and prints each outcome. ``send`` sends a custom message as the event ``--event`` (default: ``failure`` for
level error, ``success`` for level success, else ``test``) to what is routed to that event. ``--body -`` reads
the body from standard input (``df -h | smgr notify send --subject 'Disk' --body -``).

Exit codes: 0 sent; 1 sending failed somewhere (each cause on stderr, channels by name); 2 usage error or invalid
configuration; 3 nothing sent because notifications are disabled (or nothing is routed to the event).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._common.sysinfo import system_rows
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.channels import EVENTS, LEVEL_EVENTS, LEVELS
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.config import DEFAULT_PATH, load_config
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.dispatch import (
    Delivery,
    dispatch,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.mail import (
    custom_notification,
    default_hostname,
    test_notification,
)

EXIT_SENT = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_DISABLED = 3


def build_parser(prog: str, default_config: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Send a notification with notifications.yaml.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{test,send}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=default_config, help=f"notification settings (default: {default_config})")
    common.add_argument("--hostname", help="host name in subjects and bodies (default: this host's FQDN)")
    test = commands.add_parser("test", parents=[common], help="send a test message by e-mail and to every channel")
    test.add_argument("--channel", help="test only this channel (by name), no e-mail")
    send = commands.add_parser("send", parents=[common], help="send a custom message")
    send.add_argument("--subject", required=True)
    send.add_argument("--body", required=True, help="the message text, or - to read it from standard input")
    send.add_argument("--level", choices=LEVELS, default="info")
    send.add_argument("--event", choices=EVENTS, help="the event it is sent as (default: from --level)")
    return parser


def report(delivery: Delivery, prog: str, stdout: TextIO, stderr: TextIO) -> int:
    """Print each mail and channel outcome; the exit code."""
    if delivery.skipped:
        stderr.write(f"{prog}: nothing sent: {delivery.skipped}\n")
        return EXIT_DISABLED
    for mail in delivery.mails:
        if mail.sent:
            stdout.write(f"sent {mail.message_id} to {', '.join(mail.recipients)}: {mail.subject}\n")
    for channel in delivery.channels:
        if channel.sent:
            stdout.write(f"channel {channel.name}: sent: {delivery.subject}\n")
        elif channel.limited:
            stdout.write(f"channel {channel.name}: held back (the same failure was sent within repeat_after)\n")
    for problem in delivery.problems:
        stderr.write(f"{prog}: {problem}\n")
    if delivery.problems:
        return EXIT_FAILED
    if not delivery.sent:
        reasons = [mail.skipped for mail in delivery.mails if mail.skipped] or ["nothing is routed to this event"]
        stderr.write(f"{prog}: nothing sent: {'; '.join(reasons)}\n")
        return EXIT_DISABLED
    return EXIT_SENT


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
            notification = test_notification(config, host)
            delivery = dispatch(
                config, notification, "test", system=system, only_channel=args.channel, all_channels=True
            )
        else:
            body = stdin.read() if args.body == "-" else args.body
            notification = custom_notification(args.subject, body, args.level, host)
            event = args.event or LEVEL_EVENTS.get(args.level, "test")
            delivery = dispatch(config, notification, event, system=system)
    except SmgrError as exc:
        stderr.write(f"{prog}: {exc}\n")
        return EXIT_USAGE
    return report(delivery, prog, stdout, stderr)
