# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Notification templates: a fixed field list, nothing evaluated, hostile values inert."""

from __future__ import annotations

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.config import config_from_mapping
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.dispatch import templated
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.mail import (
    BackupReport,
    backup_notification,
    build_message,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.templates import check_template, render


def test_fields_are_replaced_and_braces_escaped():
    assert render("{host}: {job} {{literal}}", {"host": "web1", "job": "app"}) == "web1: app {literal}"
    assert render("{error}", {}) == ""


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{hostname}", "unknown field {hostname}"),
        ("{host.__class__}", "unknown field {host.__class__}"),
        ("{job[0]}", "unknown field {job[0]}"),
        ("{host!r}", "unknown field {host!r}"),
        ("{size:>10}", "unknown field {size:>10}"),
        ("{{host}", "lone '}'"),
        ("100 {", "lone '{'"),
        ("{}", "unknown field {}"),
    ],
)
def test_anything_but_a_known_field_is_refused_naming_the_template(template, problem):
    with pytest.raises(SmgrError) as caught:
        check_template(template, "templates.failure.body")
    assert caught.value.field == "templates.failure.body" and problem in caught.value.reason


def test_values_are_inserted_once_never_expanded_again():
    assert render("{job}", {"job": "{error}", "error": "boom"}) == "{error}"


def test_config_checks_templates_at_converge_time():
    with pytest.raises(SmgrError, match=r"templates\.failure\.subject: unknown field \{jobname\}"):
        config_from_mapping({"templates": {"failure": {"subject": "{jobname} failed"}}})
    with pytest.raises(SmgrError, match=r"templates\.nope: is no event"):
        config_from_mapping({"templates": {"nope": {"subject": "x"}}})
    with pytest.raises(SmgrError, match=r"templates\.failure\.subject: must be one line"):
        config_from_mapping({"templates": {"failure": {"subject": "a\nb"}}})


def test_hostile_values_stay_inert_in_the_header_and_the_html():
    config = config_from_mapping(
        {
            "enabled": True,
            "smtp_server": "127.0.0.1",
            "from_email": "smgr@example.com",
            "to_emails": ["ops@example.com"],
            "templates": {"failure": {"subject": "{job} failed: {error}", "body": "Job {job}\n{error}\n"}},
        }
    )
    report = BackupReport(
        job="<script>alert(1)</script>",
        success=False,
        error="disk full\r\nBcc: victim@example.com\nX-Injected: yes",
    )
    notification = templated(config, "failure", backup_notification(report, "web1"))
    assert "\n" not in notification.subject and "\r" not in notification.subject
    message = build_message(config, notification)
    assert message["Bcc"] is None and message["X-Injected"] is None
    html_part = message.get_body(("html",)).get_content()
    assert "<script>" not in html_part and "&lt;script&gt;alert(1)&lt;/script&gt;" in html_part
    text_part = message.get_body(("plain",)).get_content()
    assert text_part.startswith("Job <script>alert(1)</script>\ndisk full")
