# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Notification channels: Apprise URLs (Slack, Discord, Matrix, Mattermost, Telegram, ntfy, Gotify, webhooks ...).

A channel's URL is a secret (it holds tokens and passwords): it is checked with Apprise's own URL parsing, never
written to a log, a result or an error message; a channel is named by its ``name`` everywhere. Channels are sent
in parallel, each in its own daemon thread with a time limit, so a channel that hangs delays the run by at most
that limit and a channel that fails never fails it. A failure repeated for the same job is sent again to a
channel only after ``repeat_after`` seconds (a small JSON state file remembers when it was sent).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.smgr.server_manager.plugins.module_utils._common.atomic import read_bytes, write_atomic
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError

EVENTS = ("success", "failure", "recovered", "partial", "skipped", "health", "drill", "cleanup", "test")
LEVELS = ("info", "warning", "error", "success")  # of a message sent on request (smgr notify send, smgr_notify send)
LEVEL_EVENTS = {"error": "failure", "success": "success"}  # the event such a message counts as; "test" otherwise
DEFAULT_CHANNEL_EVENTS = ("failure", "partial", "recovered", "health")
# Events that report a problem: the rate limit applies to them (a success or a recovery is always sent).
REPEATING_EVENTS = ("failure", "partial", "skipped", "health", "drill", "cleanup")
DEFAULT_REPEAT_AFTER = 6 * 3600
CHANNEL_TIMEOUT = 20
STATE_MODE = 0o600
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_APPRISE_LOGGER = "apprise"


@dataclass(frozen=True)
class Channel:
    name: str
    url: str = field(repr=False)
    events: tuple[str, ...] = DEFAULT_CHANNEL_EVENTS


@dataclass(frozen=True)
class ChannelResult:
    """How one channel's delivery ended: ``sent``, held back by the rate limit (``limited``), or ``error``."""

    name: str
    sent: bool
    error: str | None = None
    limited: bool = False


def require_apprise() -> Any:
    """The apprise module, imported when a channel is used (its import costs a tenth of a second, and every module
    and runner start would pay it)."""
    try:
        import apprise
    except ImportError:
        raise SmgrError(
            "notification channels need the Python library apprise (Debian: apt install apprise; pip: apprise)",
            field="channels",
        ) from None
    return apprise


def check_name(name: object, where: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise SmgrError(
            "must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit", field=f"{where}.name"
        )
    return name


def check_url(url: object, where: str) -> str:
    """``url`` if Apprise knows its service and can parse it; the error never shows the URL (it is a secret)."""
    if not isinstance(url, str) or not url.strip():
        raise SmgrError("must be an Apprise URL (service://...)", field=f"{where}.url")
    if any(ord(character) < 32 or ord(character) == 127 for character in url):
        raise SmgrError("must not contain control characters", field=f"{where}.url")
    apprise = require_apprise()
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    with quiet_apprise():
        instance = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if instance is None:
        known = scheme and scheme in _known_schemes(apprise)
        reason = (
            "is not a valid URL for that service"
            if known
            else f"names no service Apprise knows ({scheme or 'no scheme'}://)"
        )
        raise SmgrError(f"{reason} (checked with Apprise {apprise.__version__})", field=f"{where}.url")
    return url


def _known_schemes(apprise: Any) -> set[str]:
    """Every scheme Apprise has a service for (to tell an unknown service from a malformed URL)."""
    schemes: set[str] = set()
    try:
        for details in apprise.Apprise().details().get("schemas", []):
            for key in ("protocols", "secure_protocols"):
                schemes.update(str(item).lower() for item in details.get(key) or ())
    except Exception:  # only used to phrase an error better
        return set()
    return schemes


def url_secrets(url: str) -> tuple[str, ...]:
    """The parts of ``url`` that could be secrets (user, password, host, path segments, query values), longest
    first, to be removed from any text that might quote them."""
    from urllib.parse import unquote, urlsplit  # here: only hosts with channels need it (0.5 MiB of the runner)

    parts = {url}
    try:
        split = urlsplit(url)
    except ValueError:
        return (url,)
    for value in (split.username, split.password, split.hostname, split.netloc, split.path, split.query):
        if value:
            parts.add(value)
            parts.add(unquote(value))
    for segment in split.path.split("/") + re.split(r"[&=]", split.query):
        if len(segment) >= 4:
            parts.add(segment)
            parts.add(unquote(segment))
    return tuple(sorted((part for part in parts if part), key=len, reverse=True))


def scrub(text: str, channels: Iterable[Channel]) -> str:
    """``text`` without any part of any channel's URL."""
    for channel in channels:
        for secret in url_secrets(channel.url):
            text = text.replace(secret, "***")
    return text


# logging is imported here and below only when Apprise is (Apprise imports it anyway): the runner loads this
# module on every run, and most runs use no channel (logging is 0.6 MiB of its memory).
def _capture_handler() -> Any:
    """A handler that keeps Apprise's warnings by thread: the reason a delivery failed (scrubbed before use)."""
    import logging

    class Capture(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.WARNING)
            self.lines: dict[str, list[str]] = {}

        def emit(self, record: logging.LogRecord) -> None:
            try:
                message = record.getMessage()
            except Exception:  # a broken log record must not break a delivery
                return
            self.lines.setdefault(record.threadName or "", []).append(message)

    return Capture()


@contextlib.contextmanager
def quiet_apprise() -> Iterator[Any]:
    """Apprise logs through ``logging``; its records must never reach stderr or a log (they quote URLs)."""
    import logging

    logger = logging.getLogger(_APPRISE_LOGGER)
    saved = (logger.propagate, logger.level, list(logger.handlers))
    logger.propagate = False
    logger.handlers = [logging.NullHandler()]
    try:
        yield logger
    finally:
        logger.propagate, level, logger.handlers = saved
        logger.setLevel(level)


def _send_one(channel: Channel, title: str, body: str, notify_type: Any, results: dict[str, ChannelResult]) -> None:
    apprise = require_apprise()
    try:
        instance = apprise.Apprise.instantiate(channel.url, suppress_exceptions=True)
        if instance is None:
            results[channel.name] = ChannelResult(channel.name, False, "its URL is not valid for Apprise")
            return
        sent = instance.notify(body=body, title=title, notify_type=notify_type)
    except Exception as exc:  # a plugin's crash is this channel's failure, never the run's
        results[channel.name] = ChannelResult(channel.name, False, f"{type(exc).__name__}: {exc}")
        return
    results[channel.name] = ChannelResult(channel.name, bool(sent), None if sent else "not delivered")


def _thread_name(channel: Channel) -> str:
    return f"smgr-channel-{channel.name}"


def deliver(
    channels: Iterable[Channel], title: str, body: str, level: str = "info", timeout: float = CHANNEL_TIMEOUT
) -> list[ChannelResult]:
    """Send to every channel at once; each result says sent, or why not (with no part of any URL)."""
    channels = list(channels)
    if not channels:
        return []
    apprise = require_apprise()
    kinds = {"success": apprise.NotifyType.SUCCESS, "failure": apprise.NotifyType.FAILURE}
    notify_type = kinds.get(level, apprise.NotifyType.WARNING if level == "warning" else apprise.NotifyType.INFO)
    results: dict[str, ChannelResult] = {}
    capture = _capture_handler()
    with quiet_apprise() as logger:
        logger.addHandler(capture)
        logger.setLevel(capture.level)
        threads = {}
        for channel in channels:
            thread = threading.Thread(
                target=_send_one, args=(channel, title, body, notify_type, results), name=_thread_name(channel)
            )
            thread.daemon = True  # a hung service must not keep the runner alive
            thread.start()
            threads[channel.name] = thread
        deadline = time.monotonic() + timeout
        for thread in threads.values():
            thread.join(max(0.0, deadline - time.monotonic()))
    ordered = []
    for channel in channels:
        result = results.get(channel.name)
        if result is None:
            result = ChannelResult(channel.name, False, f"no answer within {timeout:g} s")
        elif result.error and not result.sent:
            said = capture.lines.get(_thread_name(channel), [])
            if said:
                result = ChannelResult(channel.name, False, f"{result.error}: {said[-1]}")
        ordered.append(ChannelResult(result.name, result.sent, scrub(result.error, channels) if result.error else None))
    return ordered


# --- the rate limit ------------------------------------------------------------------------------------------------


def failure_key(event: str, job: str, error: str) -> str:
    """What makes two failures "the same": the event, the job and the error text (digits aside: sizes, times).
    The key starts with the job, so that a recovery forgets the job's failures."""
    normalised = re.sub(r"\d+", "#", error or "")
    return f"{job}|" + hashlib.sha256(f"{event}\0{normalised}".encode()).hexdigest()[:32]


def load_sent(path: str) -> dict[str, dict[str, float]]:
    data = read_bytes(path)
    if not data:
        return {}
    try:
        state = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}  # a damaged state file costs at most one repeated message
    return state if isinstance(state, dict) else {}


def limited(state: Mapping[str, Mapping[str, float]], channel: str, key: str, repeat_after: int, now: float) -> bool:
    sent = (state.get(channel) or {}).get(key)
    return isinstance(sent, (int, float)) and now - sent < repeat_after


def _save(path: str, state: Mapping[str, Mapping[str, float]]) -> None:
    try:
        os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
        write_atomic(path, json.dumps(state, sort_keys=True).encode("utf-8"), STATE_MODE)
    except (OSError, SmgrError):
        pass  # without the state file a failure may be sent again: never a reason to fail the run


def record_sent(path: str, channels: Iterable[str], key: str, now: float, repeat_after: int) -> None:
    """Remember ``key`` as sent to ``channels``; entries older than ``repeat_after`` are dropped."""
    state = load_sent(path)
    for channel in channels:
        entries = state.get(channel) if isinstance(state.get(channel), dict) else {}
        kept = {k: v for k, v in entries.items() if isinstance(v, (int, float)) and now - v < repeat_after}
        kept[key] = now
        state[channel] = kept
    _save(path, state)


def forget_job(path: str, job: str) -> None:
    """A recovery: the job's next failure is news again on every channel."""
    state = load_sent(path)
    prefix = f"{job}|"
    changed = False
    for entries in state.values():
        if isinstance(entries, dict):
            for key in [key for key in entries if key.startswith(prefix)]:
                del entries[key]
                changed = True
    if changed:
        _save(path, state)
