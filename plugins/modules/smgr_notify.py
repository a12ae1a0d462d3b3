#!/usr/bin/python
# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: smgr_notify
short_description: Manage Server Manager's e-mail notification settings and send notifications
version_added: 0.1.0
description:
  - Manages the notification settings file C(notifications.yaml) that the host runner
    (C(smgr backup), C(smgr cleanup), C(smgr health), C(smgr notify)) reads to send e-mail.
  - The options describe the whole file. An option left out takes its default; nothing of an
    existing file is merged in.
  - The file is written atomically, mode V(0600), owned by root (by the current user when the
    module does not run as root), and never readable by others, not even while it is written.
    A file that means the same (other formatting, key order, defaults written out or not) is
    not rewritten.
  - A file in the format of the old Server Manager TUI (C(smtp_use_tls) instead of
    O(smtp_security)) is read as V(starttls) (true) or V(none) (false) and written in the
    current format the next time the file changes.
  - O(smtp_password) never appears in the result, the diff (it shows a marker), warnings or
    error messages.
  - O(send_test) and O(send) send a message after the file is written, with the settings as
    configured, and fail with the real cause when the message cannot be sent.
author:
  - Server Manager maintainers (@smgr)
extends_documentation_fragment:
  - smgr.server_manager.attributes
attributes:
  check_mode:
    support: full
    details:
      - With O(send_test) or O(send), check mode reports the message it would send (RV(notification))
        and sends nothing.
  diff_mode:
    support: full
    details:
      - The password is shown as a marker; a changed password as a marker saying so.
requirements:
  - PyYAML on the managed host.
options:
  path:
    description:
      - The settings file. Its directory must exist (the role creates it).
    type: path
    default: /opt/server-manager/config/notifications.yaml
  state:
    description:
      - V(present) writes the file, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  enabled:
    description:
      - Whether notifications are sent at all. When V(false) nothing is sent, not even a test.
      - When V(true), O(smtp_server), O(from_email) and at least one O(to_emails) are required.
    type: bool
    default: false
  smtp_server:
    description:
      - Host name or IP address of the SMTP server.
    type: str
  smtp_port:
    description:
      - Port of the SMTP server.
      - Default by O(smtp_security) - V(587) for V(starttls), V(465) for V(tls), V(25) for V(none).
    type: int
  smtp_security:
    description:
      - V(starttls) connects unencrypted and upgrades with STARTTLS; it refuses to continue if the
        server does not offer STARTTLS.
      - V(tls) is TLS from the first byte (SMTPS, implicit TLS).
      - V(none) sends unencrypted and then refuses to authenticate (O(smtp_user) is an error).
      - Certificates are always verified, against the system's CAs or O(ca_file).
    type: str
    choices: [starttls, tls, none]
    default: starttls
  smtp_user:
    description:
      - User name for SMTP AUTH (PLAIN or LOGIN). Set together with O(smtp_password), or neither.
    type: str
  smtp_password:
    description:
      - Password for SMTP AUTH; printable ASCII.
    type: str
  from_email:
    description:
      - Sender address (C(From:) and envelope sender), like V(server-manager@example.com).
    type: str
  to_emails:
    description:
      - Recipients; every message goes to all of them.
    type: list
    elements: str
    default: []
  notify_on_success:
    description:
      - Send a message when a backup or maintenance task succeeds.
    type: bool
    default: false
  notify_on_failure:
    description:
      - Send a message, with the error and the end of the log, when a backup or maintenance task fails.
      - Health check, custom and test messages are always sent when O(enabled=true).
    type: bool
    default: true
  smtp_timeout:
    description:
      - Seconds to wait for the server at each step (connect, TLS handshake, each reply); 1 to 600.
    type: int
    default: 30
  ca_file:
    description:
      - PEM file of the CA certificate(s) to trust instead of the system's, for a server with a
        private or self-signed certificate. Only with O(smtp_security=starttls) or O(smtp_security=tls).
    type: path
  channels:
    description:
      - Notification channels besides e-mail, each an Apprise URL - Slack, Discord, Matrix, Mattermost, Telegram,
        ntfy, Gotify, Pushover, webhooks (C(json://)) and 100 more services (docs/notifications.md).
      - Each channel gets the events in its O(channels[].events), sent in parallel with a time limit each; a channel
        that fails never fails a backup, and is logged by its name.
      - A failure event sent to a channel is not sent there again for the same job and error within
        O(repeat_after).
      - URLs hold tokens - they are never shown in results, diffs or logs, and are checked with Apprise's own
        parsing on the host (an unknown service or a malformed URL fails naming the channel). The host needs
        Apprise (Debian package C(apprise)) when a channel is configured.
    type: list
    elements: dict
    default: []
    version_added: 0.2.0
    suboptions:
      name:
        description: The channel's name in logs and results (letters, digits, V(_), V(.), V(-)).
        type: str
        required: true
      url:
        description: The Apprise URL.
        type: str
        required: true
      events:
        description:
          - The events sent to this channel - V(success), V(failure), V(recovered), V(partial), V(skipped),
            V(health), V(drill), V(cleanup), V(test).
        type: list
        elements: str
        default: [failure, partial, recovered, health]
  routes:
    description:
      - E-mail routes. An event listed by a route goes to that route's O(routes[].to_emails) (default O(to_emails))
        through its O(routes[].smtp_profile) (default the SMTP settings above), instead of the default mail; several
        routes may list the same event. Routes send regardless of O(notify_on_success) and O(notify_on_failure).
      - Events no route lists go to O(to_emails) as before, as O(notify_on_success) and O(notify_on_failure) say.
    type: list
    elements: dict
    default: []
    version_added: 0.2.0
    suboptions:
      events:
        description: The events of this route (as in O(channels[].events)).
        type: list
        elements: str
        required: true
      to_emails:
        description: Recipients of this route; default O(to_emails).
        type: list
        elements: str
      smtp_profile:
        description: The name of an O(smtp_profiles) entry to send through; default the SMTP settings above.
        type: str
  smtp_profiles:
    description:
      - Other SMTP servers or accounts for O(routes). Each key not set is taken from the settings above; a profile
        that sets O(smtp_profiles[].smtp_security) without a port uses that security's standard port.
    type: list
    elements: dict
    default: []
    version_added: 0.2.0
    suboptions:
      name:
        description: The profile's name, as O(routes[].smtp_profile) names it.
        type: str
        required: true
      smtp_server:
        description: As O(smtp_server).
        type: str
      smtp_port:
        description: As O(smtp_port).
        type: int
      smtp_security:
        description: As O(smtp_security).
        type: str
        choices: [starttls, tls, none]
      smtp_user:
        description: As O(smtp_user).
        type: str
      smtp_password:
        description: As O(smtp_password).
        type: str
      from_email:
        description: As O(from_email).
        type: str
      smtp_timeout:
        description: As O(smtp_timeout).
        type: int
      ca_file:
        description: As O(ca_file).
        type: path
  templates:
    description:
      - Subject and/or body per event, for e-mail and channels - a mapping of event to C({subject, body}).
      - Plain text with C({field}) placeholders from a fixed list - C(host), C(event), C(job), C(type), C(status),
        C(time), C(duration), C(archive), C(size), C(error), C(log_tail), C(details), C(subject), C(text) (the default
        subject and body); C({{) and C(}}) are literal braces. Nothing else is evaluated - an unknown field fails
        naming the template. The subject is made one line; the HTML part shows the same text, escaped.
    type: dict
    default: {}
    version_added: 0.2.0
  repeat_after:
    description:
      - How long the same failure of the same job is held back per channel after it was sent - seconds, or a
        duration like V(30m), V(6h), V(1d) (at most 30 days); V(0) sends every time.
    type: str
    default: 6h
    version_added: 0.2.0
  send_test:
    description:
      - Send a test message (C([TEST] Server Manager Notification Test - <host>)) after writing the file.
      - Requires O(enabled=true) and O(state=present). Sending is not a change of the host - it does not
        make the task changed; see RV(sent).
      - The test goes by e-mail to O(to_emails) and to every channel; RV(channels) has each channel's outcome.
    type: bool
    default: false
  send:
    description:
      - Send a custom message (C([LEVEL] <subject> - <host>)) after writing the file.
      - Requires O(enabled=true) and O(state=present); not together with O(send_test).
    type: dict
    suboptions:
      subject:
        description:
          - One line of text.
        type: str
        required: true
      body:
        description:
          - The message text.
        type: str
        default: ''
      level:
        description:
          - Shown in the subject in capitals.
        type: str
        choices: [info, warning, error, success]
        default: info
  hostname:
    description:
      - Host name shown in subjects and bodies. Default is the managed host's fully qualified name.
    type: str
seealso:
  - module: smgr.server_manager.smgr_schedule
  - name: Python smtplib
    description: The SMTP client the sender uses.
    link: https://docs.python.org/3/library/smtplib.html
"""

EXAMPLES = r"""
- name: Send failure notifications through the company relay
  smgr.server_manager.smgr_notify:
    enabled: true
    smtp_server: smtp.example.com
    smtp_user: server-manager@example.com
    smtp_password: "{{ vault_smtp_password }}"
    from_email: server-manager@example.com
    to_emails:
      - admin@example.com
      - alerts@example.com

- name: Use implicit TLS with a private CA and check the settings with a test message
  smgr.server_manager.smgr_notify:
    enabled: true
    smtp_server: mail.internal.example
    smtp_security: tls
    ca_file: /etc/ssl/certs/internal-ca.pem
    from_email: backups@internal.example
    to_emails: [ops@internal.example]
    notify_on_success: true
    send_test: true
  register: notify

- name: Tell the team a maintenance window starts
  smgr.server_manager.smgr_notify:
    enabled: true
    smtp_server: smtp.example.com
    smtp_user: server-manager@example.com
    smtp_password: "{{ vault_smtp_password }}"
    from_email: server-manager@example.com
    to_emails: [admin@example.com]
    send:
      subject: Maintenance starts at 22:00
      body: The host reboots for kernel updates.
      level: warning

- name: Remove the notification settings
  smgr.server_manager.smgr_notify:
    state: absent
"""

RETURN = r"""
path:
  description: The settings file.
  returned: always
  type: str
  sample: /opt/server-manager/config/notifications.yaml
config:
  description:
    - The settings as written, every default filled in; passwords and channel URLs as V(********) when set.
  returned: when O(state=present)
  type: dict
  sample:
    enabled: true
    smtp_server: smtp.example.com
    smtp_port: 587
    smtp_security: starttls
    smtp_user: server-manager@example.com
    smtp_password: "********"
    from_email: server-manager@example.com
    to_emails: [admin@example.com]
    notify_on_success: false
    notify_on_failure: true
    smtp_timeout: 30
    ca_file: null
    channels: [{name: ops-chat, url: "********", events: [failure, recovered]}]
    routes: []
    smtp_profiles: []
    templates: {}
    repeat_after: 21600
migrated:
  description: Whether the file was in the old TUI's format (C(smtp_use_tls)) and is now written in the current one.
  returned: when O(state=present)
  type: bool
  sample: false
sent:
  description: Whether a message was sent (never in check mode).
  returned: always
  type: bool
  sample: true
message_id:
  description: The C(Message-ID) of the message sent.
  returned: when RV(sent) is true
  type: str
  sample: <170417280012.4242.1234567890.smgr@example.com>
notification:
  description: The message sent, or in check mode the message that would be sent.
  returned: when O(send_test) or O(send) is set
  type: dict
  contains:
    subject:
      description: The subject.
      type: str
      sample: "[TEST] Server Manager Notification Test - web1.example.com"
    from_email:
      description: The sender.
      type: str
      sample: server-manager@example.com
    to_emails:
      description: The recipients.
      type: list
      elements: str
      sample: [admin@example.com]
    smtp_server:
      description: The server it goes through, as C(host:port (security)).
      type: str
      sample: smtp.example.com:587 (starttls)
channels:
  description: Each channel's outcome of O(send_test) or O(send) (in check mode none is sent).
  returned: when O(send_test) or O(send) is set
  type: list
  elements: dict
  version_added: 0.2.0
  contains:
    name:
      description: The channel.
      type: str
      sample: ops-chat
    sent:
      description: Whether it was delivered.
      type: bool
    error:
      description: Why not (never the URL).
      type: str
"""

import os
from typing import TYPE_CHECKING

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.smgr.server_manager.plugins.module_utils._common.argspec import fail_on_validation_crash
from ansible_collections.smgr.server_manager.plugins.module_utils._common.atomic import remove_file, write_atomic
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.channels import LEVEL_EVENTS, LEVELS
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.config import (
    DEFAULT_PATH,
    FILE_MODE,
    HAS_YAML,
    KEYS,
    SETTINGS_SPEC,
    YAML_IMPORT_ERROR,
    NotifyConfig,
    config_from_mapping,
    desired_owner,
    mapping_secrets,
    plan_absent,
    plan_present,
    read_file_state,
    redact_text,
    redacted_config_dict,
)

if TYPE_CHECKING:
    from ansible_collections.smgr.server_manager.plugins.module_utils._notify.mail import Notification

ARGUMENT_SPEC = dict(
    path=dict(type="path", default=DEFAULT_PATH),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    **SETTINGS_SPEC,
    send_test=dict(type="bool", default=False),
    send=dict(
        type="dict",
        options=dict(
            subject=dict(type="str", required=True),
            body=dict(type="str", default=""),
            level=dict(type="str", choices=list(LEVELS), default="info"),
        ),
    ),
    hostname=dict(type="str"),
)


def check_send_request(params: dict, enabled: bool) -> None:
    """A message can only be sent from enabled, present settings, one kind at a time."""
    wanted = [key for key in ("send_test", "send") if params[key]]
    if not wanted:
        return
    if len(wanted) > 1:
        raise SmgrError("set send_test or send, not both")
    if params["state"] == "absent":
        raise SmgrError(f"{wanted[0]} needs state=present")
    if not enabled:
        raise SmgrError(f"{wanted[0]} needs enabled=true: nothing is sent while notifications are disabled")


def requested_notification(params: dict, config: NotifyConfig) -> Notification | None:
    if not (params["send_test"] or params["send"]):
        return None
    # Imported here: the messages and their delivery are a third of the module's code, and a converge that only
    # writes the file (every host, every run) does not need them.
    from ansible_collections.smgr.server_manager.plugins.module_utils._notify.mail import (
        custom_notification,
        default_hostname,
        test_notification,
    )

    host = params["hostname"] or default_hostname()
    if params["send_test"]:
        return test_notification(config, host)
    request = params["send"]
    return custom_notification(request["subject"], request["body"], request["level"], host)


def send_into(result: dict, config: NotifyConfig, notification: Notification, check_mode: bool, event: str) -> None:
    """Send (or in check mode only build) the message by e-mail and to the channels, into ``result``; what did
    go out stays there when something failed (then SmgrError)."""
    from ansible_collections.smgr.server_manager.plugins.module_utils._notify.dispatch import dispatch

    delivery = dispatch(config, notification, event, all_channels=event == "test", dry_run=check_mode)
    recipients = [address for mail in delivery.mails for address in mail.recipients]
    result.update(
        sent=delivery.sent,
        notification=dict(
            subject=delivery.subject,
            from_email=config.from_email,
            to_emails=recipients,
            smtp_server=f"{config.smtp_server}:{config.smtp_port} ({config.smtp_security})",
        ),
        channels=[dict(name=c.name, sent=c.sent, error=c.error) for c in delivery.channels],
    )
    message_ids = [mail.message_id for mail in delivery.mails if mail.message_id]
    if message_ids:
        result["message_id"] = message_ids[0]
    if delivery.problems:
        raise SmgrError("; ".join(delivery.problems))


def apply(module: AnsibleModule, result: dict) -> None:
    """Converge the file, then send what was asked; fills ``result`` as it goes (a failure keeps what happened)."""
    params = module.params
    path = params["path"]
    state = read_file_state(path)
    owner = desired_owner()
    if params["state"] == "absent":
        check_send_request(params, enabled=False)
        plan = plan_absent(path, state)
        desired = notification = None
    else:
        desired = config_from_mapping({key: params[key] for key in KEYS})
        check_send_request(params, desired.enabled)
        notification = requested_notification(params, desired)
        plan = plan_present(path, desired, state, owner)
        result.update(config=redacted_config_dict(desired), migrated=plan.migrated)
        if desired.ca_file and not os.path.isfile(desired.ca_file):
            module.warn(f"ca_file {desired.ca_file} does not exist on this host: sending will fail until it does")
    for warning in plan.warnings:
        module.warn(warning)
    if module._diff:
        result["diff"] = plan.diff
    if plan.changed and not module.check_mode:
        if plan.content is None:
            remove_file(path)
        else:
            write_atomic(path, plan.content.encode("utf-8"), FILE_MODE, *owner)
    result["changed"] = plan.changed
    if desired is not None and notification is not None:
        event = "test" if params["send_test"] else LEVEL_EVENTS.get(params["send"]["level"], "test")
        send_into(result, desired, notification, module.check_mode, event)


def main() -> None:
    try:
        module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    except (TypeError, ValueError, OverflowError) as exc:  # ansible-core's validation crashed
        fail_on_validation_crash(AnsibleModule, ARGUMENT_SPEC, exc)
        raise
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=YAML_IMPORT_ERROR)
    result = dict(changed=False, path=module.params["path"], sent=False)
    try:
        apply(module, result)
    except SmgrError as exc:
        module.fail_json(msg=redact_text(str(exc), mapping_secrets(module.params)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
