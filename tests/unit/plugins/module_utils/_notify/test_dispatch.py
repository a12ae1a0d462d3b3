# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Routing a notification: channels (real Apprise against local HTTP receivers for json://, ntfy://, gotify://,
mmost://), mail routes through two real SMTP servers, the rate limit, and channels that refuse, hang or are down."""

from __future__ import annotations

import time

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.channels import EVENTS
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.config import config_from_mapping
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.dispatch import dispatch
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.mail import BackupReport, backup_notification
from ansible_collections.smgr.server_manager.tests.support.http_receiver import HttpReceiver
from ansible_collections.smgr.server_manager.tests.support.smtp_server import unused_port

SECRET = "tok3n-s3cret-Abc123"
SYSTEM = (("Host", "web1"),)


@pytest.fixture
def receiver():
    started = []

    def start(mode: str = "ok") -> HttpReceiver:
        started.append(HttpReceiver(mode))
        return started[-1]

    yield start
    for item in started:
        item.stop()


def failure(job: str = "app", error: str = "disk full") -> object:
    return backup_notification(BackupReport(job=job, success=False, error=error), "web1")


def settings(**extra) -> dict:
    return {"enabled": True, **extra}


def test_each_event_reaches_exactly_the_channels_routed_to_it(receiver):
    hooks = receiver()
    routing = {
        "json": ("json", f"json://127.0.0.1:{hooks.port}/json/{SECRET}", ["failure", "partial"]),
        "ntfy": ("ntfy", f"ntfy://127.0.0.1:{hooks.port}/{SECRET}", ["health", "drill"]),
        "gotify": ("gotify", f"gotify://127.0.0.1:{hooks.port}/{SECRET}", ["success", "recovered", "cleanup"]),
        "mmost": ("mmost", f"mmost://127.0.0.1:{hooks.port}/{SECRET}", ["skipped", "test", "failure"]),
    }
    config = config_from_mapping(
        settings(channels=[{"name": name, "url": url, "events": events} for name, url, events in routing.values()])
    )
    for event in EVENTS:
        delivery = dispatch(config, failure(), event, system=SYSTEM)
        expected = sorted(name for name, (_n, _u, events) in routing.items() if event in events)
        assert sorted(result.name for result in delivery.channels if result.sent) == expected, event
        assert delivery.problems == []
    # one request per channel and event routed to it: 2 + 2 + 3 + 3
    assert len(hooks.requests) == 10


def test_mail_routes_go_through_their_smtp_profile_instead_of_the_default(smtp_server):
    default, other = smtp_server("plain"), smtp_server("plain")
    config = config_from_mapping(
        settings(
            smtp_server="127.0.0.1",
            smtp_port=default.port,
            smtp_security="none",
            from_email="smgr@example.com",
            to_emails=["ops@example.com"],
            smtp_profiles=[{"name": "pager", "smtp_port": other.port, "from_email": "pager@example.com"}],
            routes=[
                {"events": ["health"], "to_emails": ["oncall@example.com"], "smtp_profile": "pager"},
                {"events": ["health", "drill"], "to_emails": ["lead@example.com"]},
            ],
        )
    )
    health = dispatch(config, failure(), "health", system=SYSTEM)
    assert [mail.recipients for mail in health.mails] == [("oncall@example.com",), ("lead@example.com",)]
    (paged,) = other.wait_for(1)
    assert list(paged.rcpt_tos) == ["oncall@example.com"] and paged.mail_from == "pager@example.com"
    dispatch(config, failure(), "failure", system=SYSTEM)  # no route: the default mail, as before
    received = default.wait_for(2)
    assert sorted(message.rcpt_tos[0] for message in received) == ["lead@example.com", "ops@example.com"]


def test_the_seed_switches_keep_their_meaning_for_the_default_mail(smtp_server):
    server = smtp_server("plain")
    base = dict(smtp_server="127.0.0.1", smtp_port=server.port, smtp_security="none")
    base.update(from_email="smgr@example.com", to_emails=["ops@example.com"])
    quiet = config_from_mapping(settings(**base, notify_on_failure=False))
    delivery = dispatch(quiet, failure(), "failure", system=SYSTEM)
    assert delivery.mails[0].skipped == "notify_on_failure is false" and not delivery.sent


def test_a_refusing_hanging_or_down_channel_is_reported_by_name_and_the_others_still_get_it(receiver):
    ok, refusing, hanging = receiver(), receiver("refuse"), receiver("hang")
    channels = [
        {"name": "good", "url": f"json://127.0.0.1:{ok.port}/{SECRET}", "events": ["failure"]},
        {"name": "refusing", "url": f"json://127.0.0.1:{refusing.port}/{SECRET}", "events": ["failure"]},
        {"name": "hanging", "url": f"json://127.0.0.1:{hanging.port}/{SECRET}?rto=30", "events": ["failure"]},
        {"name": "down", "url": f"json://127.0.0.1:{unused_port()}/{SECRET}", "events": ["failure"]},
    ]
    config = config_from_mapping(settings(channels=channels))
    started = time.monotonic()
    delivery = dispatch(config, failure(), "failure", system=SYSTEM, channel_timeout=5)
    elapsed = time.monotonic() - started
    results = {result.name: result for result in delivery.channels}
    assert results["good"].sent and len(ok.requests) == 1
    assert "error=500" in results["refusing"].error
    assert results["hanging"].error == "no answer within 5 s" and elapsed < 9  # in parallel, not one after another
    assert not results["down"].sent
    assert all(SECRET not in problem and str(ok.port) not in problem for problem in delivery.problems)
    # in the order of the settings, which sorts channels by name
    assert [problem.split(":")[0] for problem in delivery.problems] == [
        "channel down",
        "channel hanging",
        "channel refusing",
    ]


def test_the_same_failure_is_held_back_per_channel_until_repeat_after(receiver, tmp_path):
    hooks = receiver()
    config = config_from_mapping(
        settings(
            channels=[{"name": "chat", "url": f"json://127.0.0.1:{hooks.port}/x", "events": ["failure", "recovered"]}],
            repeat_after="1h",
        )
    )
    now = 1_800_000_000.0
    first = dispatch(
        config, failure(), "failure", job="app", error="disk full at 10:01", state_dir=str(tmp_path), now=now
    )
    again = dispatch(
        config, failure(), "failure", job="app", error="disk full at 10:31", state_dir=str(tmp_path), now=now + 1800
    )
    other = dispatch(
        config, failure(), "failure", job="app", error="permission denied", state_dir=str(tmp_path), now=now + 1800
    )
    later = dispatch(
        config, failure(), "failure", job="app", error="disk full at 11:02", state_dir=str(tmp_path), now=now + 3700
    )
    assert [first.channels[0].sent, again.channels[0].limited, other.channels[0].sent, later.channels[0].sent] == [
        True,
        True,
        True,
        True,
    ]
    dispatch(config, failure(), "recovered", job="app", state_dir=str(tmp_path), now=now + 3800)
    after_recovery = dispatch(
        config, failure(), "failure", job="app", error="disk full", state_dir=str(tmp_path), now=now + 3900
    )
    assert after_recovery.channels[0].sent and len(hooks.requests) == 5


def test_test_goes_to_every_channel_or_the_one_named(receiver):
    hooks = receiver()
    config = config_from_mapping(
        settings(
            channels=[
                {"name": "a", "url": f"json://127.0.0.1:{hooks.port}/a", "events": ["failure"]},
                {"name": "b", "url": f"json://127.0.0.1:{hooks.port}/b", "events": ["health"]},
            ]
        )
    )
    assert [c.name for c in dispatch(config, failure(), "test", system=SYSTEM, all_channels=True).channels] == [
        "a",
        "b",
    ]
    assert [c.name for c in dispatch(config, failure(), "test", system=SYSTEM, only_channel="b").channels] == ["b"]
    with pytest.raises(SmgrError, match="no channel named 'c'"):
        dispatch(config, failure(), "test", system=SYSTEM, only_channel="c")


@pytest.mark.parametrize(
    ("channel", "problem"),
    [
        ({"name": "x", "url": "nosuch://host/path"}, "channels.x.url: names no service Apprise knows (nosuch://)"),
        ({"name": "x", "url": f"slack://{SECRET}"}, "channels.x.url: is not a valid URL for that service"),
        ({"name": "x", "url": "json://h/\nX"}, "channels.x.url: must not contain control characters"),
        ({"name": "x y", "url": "json://h/"}, "channels[0].name: must be 1-64 letters"),
        ({"name": "x", "url": "json://h/", "events": ["failed"]}, "channels.x.events: unknown event(s) failed"),
        ({"name": "x", "url": "json://h/", "event": ["failure"]}, "channels.x: unknown key(s) event"),
    ],
)
def test_bad_channels_are_refused_naming_the_channel_and_never_showing_the_url(channel, problem):
    with pytest.raises(SmgrError) as caught:
        config_from_mapping(settings(channels=[channel]))
    assert str(caught.value).startswith(problem) and SECRET not in str(caught.value)


def test_events_written_as_one_string_lose_their_spaces():
    config = config_from_mapping(settings(channels=[{"name": "x", "url": "json://h/", "events": "failure, health"}]))
    assert config.channels[0].events == ("failure", "health")


def test_bad_routes_and_profiles_name_the_field():
    with pytest.raises(SmgrError, match=r"routes\[0\]\.smtp_profile: names no SMTP profile"):
        config_from_mapping({"routes": [{"events": ["health"], "smtp_profile": "pager"}]})
    with pytest.raises(SmgrError, match=r"smtp_profiles\.p\.smtp_user: refusing to send the password"):
        config_from_mapping(
            {"smtp_security": "none", "smtp_profiles": [{"name": "p", "smtp_user": "u", "smtp_password": "pw"}]}
        )
    with pytest.raises(SmgrError, match=r"routes\[0\]\.smtp_server: is required to send e-mail"):
        config_from_mapping(settings(routes=[{"events": ["health"], "to_emails": ["a@example.com"]}]))


def test_a_profile_with_its_own_server_does_not_inherit_the_default_account():
    from ansible_collections.smgr.server_manager.plugins.module_utils._notify.config import smtp_settings

    config = config_from_mapping(
        {
            "smtp_server": "mail.internal.example",
            "smtp_user": "svc",
            "smtp_password": "S3cret",
            "smtp_profiles": [
                {"name": "external", "smtp_server": "smtp.other.example"},
                {"name": "port-only", "smtp_port": 2525},
            ],
        }
    )
    external = smtp_settings(config, "external")
    assert (external.smtp_server, external.smtp_user, external.smtp_password) == ("smtp.other.example", None, None)
    same_server = smtp_settings(config, "port-only")
    assert (same_server.smtp_user, same_server.smtp_password, same_server.smtp_port) == ("svc", "S3cret", 2525)
