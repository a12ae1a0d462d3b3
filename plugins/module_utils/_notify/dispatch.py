# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One notification to everything routed to its event: e-mail (the default recipients, or the routes that list
the event) and the channels that subscribe to it.

- E-mail: when routes list the event, each of them sends it (to its recipients, through its SMTP profile) and the
  default mail does not; otherwise the default mail sends it as it always did (``notify_on_success`` and
  ``notify_on_failure`` decide). Routes are explicit and ignore those two switches.
- Channels: each channel whose ``events`` contain the event, in parallel, each with a time limit. A failure event
  already sent to a channel for the same job and error within ``repeat_after`` is held back there; a recovery
  forgets the job's failures.
- A template of the event replaces the subject and/or the body (the HTML part shows the same text).

Nothing here raises for a failed delivery: the result lists what was sent and what failed, by recipient or by
channel name (never a URL), and the caller decides (the runner logs it; ``smgr notify`` sets its exit code).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._common.sysinfo import system_rows
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.channels import (
    CHANNEL_TIMEOUT,
    REPEATING_EVENTS,
    ChannelResult,
    deliver,
    failure_key,
    forget_job,
    limited,
    load_sent,
    record_sent,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.config import NotifyConfig, smtp_settings
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.mail import (
    FAILURE,
    SUCCESS,
    Notification,
    SendResult,
    one_line,
    plain_html,
    send_mail,
    skip_reason,
    with_system_block,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.templates import render

SENT_STATE_FILE = "notify-sent.json"


@dataclass(frozen=True)
class Delivery:
    """What happened to one notification: the mails (sent or skipped), their errors, each channel's result."""

    subject: str
    mails: tuple[SendResult, ...] = ()
    mail_errors: tuple[str, ...] = ()
    channels: tuple[ChannelResult, ...] = ()
    skipped: str | None = None

    @property
    def problems(self) -> list[str]:
        return [*self.mail_errors, *(f"channel {c.name}: {c.error}" for c in self.channels if c.error)]

    @property
    def sent(self) -> bool:
        return any(mail.sent for mail in self.mails) or any(channel.sent for channel in self.channels)

    def summary(self) -> str | None:
        """One line for a log when something failed (None when all went out)."""
        return "; ".join(self.problems) or None


def templated(config: NotifyConfig, event: str, notification: Notification) -> Notification:
    """``notification`` with the event's template applied to its subject and/or body."""
    template = config.template(event)
    if template is None:
        return notification
    values = dict(notification.fields)
    values.update(event=event, subject=notification.subject, text=notification.text)
    subject = one_line(render(template.subject, values)) if template.subject else notification.subject
    text = notification.text
    html_part = notification.html
    if template.body:
        text = render(template.body, values).rstrip("\n") + "\n"
        html_part = plain_html(text, notification.colour)
    return replace(notification, subject=subject or notification.subject, text=text, html=html_part)


def _mail_level(notification: Notification) -> str:
    return {SUCCESS: "success", FAILURE: "failure"}.get(notification.outcome, "warning")


def _send_mails(
    config: NotifyConfig, event: str, notification: Notification, dry_run: bool
) -> tuple[list[SendResult], list[str]]:
    results: list[SendResult] = []
    errors: list[str] = []
    routes = [route for route in config.routes if event in route.events]
    targets = [
        (replace(smtp_settings(config, route.smtp_profile), to_emails=route.to_emails or config.to_emails), None)
        for route in routes
    ]
    if not routes and config.to_emails:
        targets = [(config, skip_reason(config, notification.outcome, event))]
    for settings, skip in targets:
        if skip is not None:
            results.append(SendResult(False, notification.subject, settings.to_emails, skipped=skip))
            continue
        try:
            results.append(send_mail(settings, notification, dry_run))
        except SmgrError as exc:
            errors.append(str(exc))
    return results, errors


def dispatch(
    config: NotifyConfig,
    notification: Notification,
    event: str,
    *,
    job: str = "",
    error: str = "",
    system: Sequence[tuple[str, str]] | None = None,
    state_dir: str | None = None,
    only_channel: str | None = None,
    all_channels: bool = False,
    dry_run: bool = False,
    now: float | None = None,
    channel_timeout: float = CHANNEL_TIMEOUT,
) -> Delivery:
    """Send ``notification`` of ``event`` to its mail routes and channels (``all_channels``: every channel, whatever
    its events; ``only_channel``: that channel alone and no mail). ``state_dir`` holds the rate limit's record
    (None: no rate limit)."""
    if not config.enabled:
        return Delivery(notification.subject, skipped="notifications are disabled")
    notification = with_system_block(notification, system if system is not None else system_rows(notification.host))
    notification = templated(config, event, notification)
    mails, mail_errors = ([], []) if only_channel is not None else _send_mails(config, event, notification, dry_run)
    if only_channel is not None:
        channels = [channel for channel in config.channels if channel.name == only_channel]
        if not channels:
            known = ", ".join(channel.name for channel in config.channels) or "none"
            raise SmgrError(f"no channel named {only_channel!r} (channels: {known})", field="channel")
    else:
        channels = [channel for channel in config.channels if all_channels or event in channel.events]
    results: list[ChannelResult] = []
    state_path = f"{state_dir}/{SENT_STATE_FILE}" if state_dir else None
    moment = time.time() if now is None else now
    key = failure_key(event, job, error)
    if state_path and event in REPEATING_EVENTS and config.repeat_after > 0:
        state = load_sent(state_path)
        held = [channel for channel in channels if limited(state, channel.name, key, config.repeat_after, moment)]
        results += [ChannelResult(channel.name, False, limited=True) for channel in held]
        channels = [channel for channel in channels if channel not in held]
    if channels and not dry_run:
        level = _mail_level(notification)
        title = notification.subject
        results += deliver(channels, title, notification.text, level, channel_timeout)
    if state_path and not dry_run:
        sent = [result.name for result in results if result.sent]
        if event in REPEATING_EVENTS and sent and config.repeat_after > 0:
            record_sent(state_path, sent, key, moment, config.repeat_after)
        elif event == "recovered":
            forget_job(state_path, job)
    order = {channel.name: index for index, channel in enumerate(config.channels)}
    results.sort(key=lambda result: order.get(result.name, 0))
    return Delivery(notification.subject, tuple(mails), tuple(mail_errors), tuple(results))
