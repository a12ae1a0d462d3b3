# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""notifications.yaml: load, validate, normalise, render, and plan a change of it.

The file holds one top-level mapping ``notifications:`` (the seed's layout). A file
in the seed's format (``smtp_use_tls`` instead of ``smtp_security``) is read as
``starttls``/``none`` and written in the current format on the next write.

Two configurations are equal when their :class:`NotifyConfig` values are equal, so
a file that differs only in formatting, key order or defaults left implicit is not
rewritten. The password never appears in an error message, a ``repr`` or a diff.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ansible_collections.smgr.server_manager.plugins.module_utils._common.atomic import read_bytes
from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.channels import (
    DEFAULT_CHANNEL_EVENTS,
    DEFAULT_REPEAT_AFTER,
    EVENTS,
    Channel,
    check_name,
    check_url,
)
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.templates import check_template

try:
    import yaml
except ImportError:
    HAS_YAML = False
    YAML_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_YAML = True
    YAML_IMPORT_ERROR = None

DEFAULT_PATH = "/opt/server-manager/config/notifications.yaml"
FILE_MODE = 0o600
TOP_KEY = "notifications"
SEED_TLS_KEY = "smtp_use_tls"
SECURITY_CHOICES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
DEFAULT_SECURITY = "starttls"
DEFAULT_TIMEOUT = 30
MAX_TIMEOUT = 600
REDACTED = "********"
REDACTED_CHANGED = "******** (changed)"
HEADER = "# Managed by smgr.server_manager.smgr_notify; local changes are overwritten.\n"

_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]+")


# The SMTP settings of the default mail, which an SMTP profile sets again for the routes that use it.
SMTP_KEYS = (
    "smtp_server",
    "smtp_port",
    "smtp_security",
    "smtp_user",
    "smtp_password",
    "from_email",
    "smtp_timeout",
    "ca_file",
)


@dataclass(frozen=True)
class SmtpProfile:
    """Another SMTP server (or account) for the routes that name it; unset keys are the default mail's."""

    name: str
    settings: tuple[tuple[str, Any], ...] = field(repr=False)  # (key, value) of the keys it sets, in SMTP_KEYS order

    def value(self, key: str) -> Any:
        return dict(self.settings).get(key)


@dataclass(frozen=True)
class Route:
    """``events`` go to ``to_emails`` (default: the default recipients) through ``smtp_profile`` (default: the
    default SMTP settings) instead of the default mail."""

    events: tuple[str, ...]
    to_emails: tuple[str, ...] = ()
    smtp_profile: str | None = None


@dataclass(frozen=True)
class Template:
    """The subject and/or body of one event's messages (``None``: the default)."""

    event: str
    subject: str | None = None
    body: str | None = None


@dataclass(frozen=True)
class NotifyConfig:
    """The normalised settings: every default filled in, so equality is equality of meaning."""

    enabled: bool = False
    smtp_server: str | None = None
    smtp_port: int = DEFAULT_PORTS[DEFAULT_SECURITY]
    smtp_security: str = DEFAULT_SECURITY
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    from_email: str | None = None
    to_emails: tuple[str, ...] = ()
    notify_on_success: bool = False
    notify_on_failure: bool = True
    smtp_timeout: int = DEFAULT_TIMEOUT
    ca_file: str | None = None
    channels: tuple[Channel, ...] = ()
    routes: tuple[Route, ...] = ()
    smtp_profiles: tuple[SmtpProfile, ...] = ()
    templates: tuple[Template, ...] = ()
    repeat_after: int = DEFAULT_REPEAT_AFTER

    def template(self, event: str) -> Template | None:
        return next((template for template in self.templates if template.event == event), None)

    def profile(self, name: str) -> SmtpProfile:
        return next(profile for profile in self.smtp_profiles if profile.name == name)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret of the settings: passwords and channel URLs."""
        values = [self.smtp_password, *(profile.value("smtp_password") for profile in self.smtp_profiles)]
        values += [channel.url for channel in self.channels]
        return tuple(value for value in values if value)


KEYS = tuple(f.name for f in fields(NotifyConfig))

# The settings as options in Ansible's argument-spec form: smgr_notify's options and, on the controller, the
# role's check of smgr_notifications (the same type conversion before config_from_mapping).
SETTINGS_SPEC: dict[str, dict[str, Any]] = dict(
    enabled=dict(type="bool", default=False),
    smtp_server=dict(type="str"),
    smtp_port=dict(type="int"),
    smtp_security=dict(type="str", choices=list(SECURITY_CHOICES), default=DEFAULT_SECURITY),
    smtp_user=dict(type="str"),
    smtp_password=dict(type="str", no_log=True),
    from_email=dict(type="str"),
    to_emails=dict(type="list", elements="str", default=[]),
    notify_on_success=dict(type="bool", default=False),
    notify_on_failure=dict(type="bool", default=True),
    smtp_timeout=dict(type="int", default=DEFAULT_TIMEOUT),
    ca_file=dict(type="path"),
    channels=dict(
        type="list",
        elements="dict",
        default=[],
        options=dict(
            name=dict(type="str", required=True),
            url=dict(type="str", required=True, no_log=True),
            events=dict(type="list", elements="str", default=list(DEFAULT_CHANNEL_EVENTS)),
        ),
    ),
    routes=dict(
        type="list",
        elements="dict",
        default=[],
        options=dict(
            events=dict(type="list", elements="str", required=True),
            to_emails=dict(type="list", elements="str"),
            smtp_profile=dict(type="str"),
        ),
    ),
    templates=dict(type="dict", default={}),
    repeat_after=dict(type="str", default=f"{DEFAULT_REPEAT_AFTER // 3600}h"),
)
# An SMTP profile takes the SMTP options of the default mail, without their defaults (a key it leaves out is the
# default mail's).
SETTINGS_SPEC["smtp_profiles"] = dict(
    type="list",
    elements="dict",
    default=[],
    options=dict(
        name=dict(type="str", required=True),
        **{key: {k: v for k, v in SETTINGS_SPEC[key].items() if k != "default"} for key in SMTP_KEYS},
    ),
)


# --- field validation ------------------------------------------------------------------------------------------


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _bool(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise SmgrError(f"must be true or false, got {_shown(value)}", field=key)
    return value


def _int_in_range(data: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SmgrError(f"must be an integer from {low} to {high}, got {_shown(value)}", field=key)
    return value


def _text(data: Mapping[str, Any], key: str, secret: bool = False) -> str | None:
    """An optional single-line string; an empty string counts as not set."""
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        shown = f"a {type(value).__name__}" if secret else _shown(value)
        raise SmgrError(f"must be a string, got {shown}", field=key)
    if _CONTROL.search(value):
        raise SmgrError("must not contain control characters (newline, tab, NUL ...)", field=key)
    return value


def is_dns_name(value: str) -> bool:
    """Letters, digits and hyphens in dot-separated labels (one trailing dot allowed), not all-numeric at the end."""
    name = value[:-1] if value.endswith(".") else value
    labels = name.split(".")
    valid = 0 < len(name) <= 253 and all(_LABEL.fullmatch(label) for label in labels)
    return valid and not labels[-1].isdigit()  # 1.2.3.4 is an IP address, not a name


def is_hostname(value: str) -> bool:
    """Whether ``value`` is a DNS name or an IP address."""
    if is_dns_name(value):
        return True
    if _CONTROL.search(value) or " " in value or "%" in value:
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_email_address(value: str) -> bool:
    """A plain ASCII ``local@domain`` address (no display name, nothing that could inject a header)."""
    local, at, domain = value.rpartition("@")
    return (
        bool(at)
        and len(value) <= 254
        and 0 < len(local) <= 64
        and bool(_LOCAL_PART.fullmatch(local))
        and is_dns_name(domain)
        and not domain.endswith(".")
    )


def _hostname(data: Mapping[str, Any], key: str) -> str | None:
    value = _text(data, key)
    if value is not None and not is_hostname(value):
        raise SmgrError(f"must be a host name or an IP address, got {_shown(value)}", field=key)
    return value


def _address(value: Any, key: str) -> str:
    if not isinstance(value, str) or not is_email_address(value):
        raise SmgrError(f"must be an e-mail address like ops@example.com, got {_shown(value)}", field=key)
    return value


def _addresses(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise SmgrError(f"must be a list of e-mail addresses, got {_shown(value)}", field=key)
    # "a@x, b@y" written as one string reaches here split by Ansible as ["a@x", " b@y"]: the spaces around an
    # item are the separator's, never part of an address.
    addresses = tuple(_address(item.strip() if isinstance(item, str) else item, key) for item in value)
    seen: set[str] = set()
    for address in addresses:
        if address.lower() in seen:
            raise SmgrError(f"lists {address} twice", field=key)
        seen.add(address.lower())
    return addresses


def _security(data: Mapping[str, Any]) -> str:
    """``smtp_security``, or the seed's ``smtp_use_tls`` translated: true is starttls, false is none."""
    security = data.get("smtp_security")
    if security is not None and security not in SECURITY_CHOICES:
        raise SmgrError(f"must be one of {', '.join(SECURITY_CHOICES)}, got {_shown(security)}", field="smtp_security")
    use_tls = data.get(SEED_TLS_KEY)
    if use_tls is None:
        return security or DEFAULT_SECURITY
    if not isinstance(use_tls, bool):
        raise SmgrError(f"must be true or false, got {_shown(use_tls)}", field=SEED_TLS_KEY)
    if security is None:
        return "starttls" if use_tls else "none"
    if use_tls != (security != "none"):
        raise SmgrError(
            f"{SEED_TLS_KEY} (the seed's setting) is {str(use_tls).lower()} but smtp_security is {security}; "
            f"remove {SEED_TLS_KEY}",
            field=SEED_TLS_KEY,
        )
    return security


def _password(data: Mapping[str, Any]) -> str | None:
    value = _text(data, "smtp_password", secret=True)
    if value is not None and not _PRINTABLE_ASCII.fullmatch(value):
        raise SmgrError("must contain only printable ASCII characters (SMTP AUTH sends ASCII)", field="smtp_password")
    return value


def _ca_file(data: Mapping[str, Any]) -> str | None:
    value = _text(data, "ca_file")
    if value is not None and not os.path.isabs(value):
        raise SmgrError(f"must be an absolute path, got {_shown(value)}", field="ca_file")
    return value


def _prefixed(where: str, check: Any, *args: Any) -> Any:
    """``check(*args)`` with the field of its error put under ``where`` (``smtp_profiles.backup.smtp_port``)."""
    try:
        return check(*args)
    except SmgrError as exc:
        raise SmgrError(exc.reason, field=f"{where}.{exc.field}" if exc.field else where) from None


def _unknown_keys(item: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    unknown = sorted(str(key) for key in item if key not in known)
    if unknown:
        raise SmgrError(f"unknown key(s) {', '.join(unknown)}; known keys: {', '.join(known)}", field=where)


def _mappings(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, dict) for item in value):
        raise SmgrError(f"must be a list of mappings, got {_shown(value)}", field=key)
    return list(value)


def _events(value: Any, where: str) -> tuple[str, ...]:
    """A non-empty list of events (a comma-separated string too), in the fixed order of EVENTS."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)) or not value:
        raise SmgrError(f"must be a non-empty list of events ({', '.join(EVENTS)})", field=where)
    events = {item.strip() if isinstance(item, str) else item for item in value}
    unknown = sorted(str(event) for event in events if event not in EVENTS)
    if unknown:
        raise SmgrError(f"unknown event(s) {', '.join(unknown)}; the events are: {', '.join(EVENTS)}", field=where)
    return tuple(event for event in EVENTS if event in events)


def _channels(data: Mapping[str, Any]) -> tuple[Channel, ...]:
    channels: dict[str, Channel] = {}
    for index, item in enumerate(_mappings(data, "channels")):
        name = check_name(item.get("name"), f"channels[{index}]")
        where = f"channels.{name}"
        if name in channels:
            raise SmgrError("is the name of two channels", field=where)
        _unknown_keys(item, ("name", "url", "events"), where)
        events = item.get("events")
        events = DEFAULT_CHANNEL_EVENTS if events is None else _events(events, f"{where}.events")
        channels[name] = Channel(name, check_url(item.get("url"), where), events)
    return tuple(channels[name] for name in sorted(channels))


def _profile_settings(item: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    values: dict[str, Any] = {}
    security = item.get("smtp_security")
    if security is not None:
        values["smtp_security"] = _security({"smtp_security": security})
    port = _int_in_range(item, "smtp_port", 0, 1, 65535)
    if item.get("smtp_port") is not None:
        values["smtp_port"] = port
    elif security is not None:
        values["smtp_port"] = DEFAULT_PORTS[values["smtp_security"]]  # a profile's security brings its port
    values["smtp_server"] = _hostname(item, "smtp_server")
    values["smtp_user"] = _text(item, "smtp_user")
    values["smtp_password"] = _password(item)
    from_email = item.get("from_email")
    values["from_email"] = None if from_email in (None, "") else _address(from_email, "from_email")
    if item.get("smtp_timeout") is not None:
        values["smtp_timeout"] = _int_in_range(item, "smtp_timeout", DEFAULT_TIMEOUT, 1, MAX_TIMEOUT)
    values["ca_file"] = _ca_file(item)
    return tuple((key, values[key]) for key in SMTP_KEYS if values.get(key) is not None)


def _smtp_profiles(data: Mapping[str, Any]) -> tuple[SmtpProfile, ...]:
    profiles: dict[str, SmtpProfile] = {}
    for index, item in enumerate(_mappings(data, "smtp_profiles")):
        name = check_name(item.get("name"), f"smtp_profiles[{index}]")
        where = f"smtp_profiles.{name}"
        if name in profiles:
            raise SmgrError("is the name of two SMTP profiles", field=where)
        _unknown_keys(item, ("name", *SMTP_KEYS), where)
        profiles[name] = SmtpProfile(name, _prefixed(where, _profile_settings, item))
    return tuple(profiles[name] for name in sorted(profiles))


def _routes(data: Mapping[str, Any], profiles: tuple[SmtpProfile, ...]) -> tuple[Route, ...]:
    routes = []
    names = {profile.name for profile in profiles}
    for index, item in enumerate(_mappings(data, "routes")):
        where = f"routes[{index}]"
        _unknown_keys(item, ("events", "to_emails", "smtp_profile"), where)
        events = _events(item.get("events"), f"{where}.events")
        to_emails = _prefixed(where, _addresses, item, "to_emails")
        profile = item.get("smtp_profile")
        if profile is not None and profile not in names:
            raise SmgrError(
                f"names no SMTP profile (defined: {', '.join(sorted(names)) or 'none'})", field=f"{where}.smtp_profile"
            )
        routes.append(Route(events, to_emails, profile))
    return tuple(routes)


def _templates(data: Mapping[str, Any]) -> tuple[Template, ...]:
    value = data.get("templates")
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise SmgrError(f"must be a mapping of events to {{subject, body}}, got {_shown(value)}", field="templates")
    templates = {}
    for event, item in value.items():
        where = f"templates.{event}"
        if event not in EVENTS:
            raise SmgrError(f"is no event; the events are: {', '.join(EVENTS)}", field=where)
        if not isinstance(item, dict):
            raise SmgrError("must be a mapping with subject and/or body", field=where)
        _unknown_keys(item, ("subject", "body"), where)
        subject, body = item.get("subject"), item.get("body")
        if subject is not None:
            check_template(subject, f"{where}.subject")
            if _CONTROL.search(subject):
                raise SmgrError("must be one line (a header)", field=f"{where}.subject")
        if body is not None:
            check_template(body, f"{where}.body")
        templates[event] = Template(event, subject or None, body or None)
    return tuple(templates[event] for event in EVENTS if event in templates)


_DURATION_RE = re.compile(r"(\d+)\s*([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_REPEAT_AFTER = 30 * 86400


def _repeat_after(data: Mapping[str, Any]) -> int:
    """Seconds, from a number of seconds or a duration (``90s``, ``30m``, ``6h``, ``1d``); 0 repeats every time."""
    value = data.get("repeat_after")
    if value is None:
        return DEFAULT_REPEAT_AFTER
    match = _DURATION_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif match:
        seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    else:
        raise SmgrError(f"must be a duration like 6h, 30m or 1d, got {_shown(value)}", field="repeat_after")
    if not 0 <= seconds <= MAX_REPEAT_AFTER:
        raise SmgrError(f"must be from 0 to 30 days, got {_shown(value)}", field="repeat_after")
    return seconds


def smtp_settings(config: NotifyConfig, profile: str | None) -> NotifyConfig:
    """The default mail's settings with an SMTP profile's keys set over them. A profile with its own server takes
    no account and no CA from the default settings: those belong to the default server."""
    if profile is None:
        return config
    settings = dict(config.profile(profile).settings)
    if "smtp_server" in settings:
        config = replace(config, smtp_user=None, smtp_password=None, ca_file=None)
    return replace(config, **settings)


def _check_mail(config: NotifyConfig, where: str, recipients: tuple[str, ...]) -> None:
    for key in ("smtp_server", "from_email"):
        if getattr(config, key) is None:
            raise SmgrError("is required to send e-mail", field=f"{where}.{key}" if where else key)
    if not recipients:
        raise SmgrError("needs at least one recipient", field=f"{where}.to_emails" if where else "to_emails")


def _check_consistency(config: NotifyConfig) -> None:
    if config.enabled:
        if not (config.to_emails or config.channels or config.routes):
            raise SmgrError(
                "needs at least one recipient (or a channel) when notifications are enabled", field="to_emails"
            )
        if config.to_emails:
            for key in ("smtp_server", "from_email"):
                if getattr(config, key) is None:
                    raise SmgrError("is required when notifications are enabled", field=key)
        for index, route in enumerate(config.routes):
            _check_mail(
                smtp_settings(config, route.smtp_profile), f"routes[{index}]", route.to_emails or config.to_emails
            )
    for profile in config.smtp_profiles:
        _prefixed(f"smtp_profiles.{profile.name}", _check_smtp, smtp_settings(config, profile.name))
    _check_smtp(config)


def _check_smtp(config: NotifyConfig) -> None:
    if (config.smtp_user is None) != (config.smtp_password is None):
        missing = "smtp_password" if config.smtp_password is None else "smtp_user"
        raise SmgrError("smtp_user and smtp_password go together: set both or neither", field=missing)
    if config.smtp_user is not None and config.smtp_security == "none":
        raise SmgrError(
            "refusing to send the password over an unencrypted connection (smtp_security: none); use starttls or tls",
            field="smtp_user",
        )
    if config.ca_file is not None and config.smtp_security == "none":
        raise SmgrError("is only used with smtp_security starttls or tls", field="ca_file")


def config_from_mapping(data: Mapping[str, Any]) -> NotifyConfig:
    """Validate and normalise one ``notifications:`` mapping (or module options) into a :class:`NotifyConfig`."""
    unknown = sorted(str(key) for key in data if key not in KEYS and key != SEED_TLS_KEY)
    if unknown:
        raise SmgrError(f"unknown key(s) {', '.join(unknown)}; known keys: {', '.join(KEYS)}")
    security = _security(data)
    user = _text(data, "smtp_user")
    profiles = _smtp_profiles(data)
    from_email = data.get("from_email")
    config = NotifyConfig(
        enabled=_bool(data, "enabled", False),
        smtp_server=_hostname(data, "smtp_server"),
        smtp_port=_int_in_range(data, "smtp_port", DEFAULT_PORTS[security], 1, 65535),
        smtp_security=security,
        smtp_user=user,
        smtp_password=_password(data),
        from_email=None if from_email in (None, "") else _address(from_email, "from_email"),
        to_emails=_addresses(data, "to_emails"),
        notify_on_success=_bool(data, "notify_on_success", False),
        notify_on_failure=_bool(data, "notify_on_failure", True),
        smtp_timeout=_int_in_range(data, "smtp_timeout", DEFAULT_TIMEOUT, 1, MAX_TIMEOUT),
        ca_file=_ca_file(data),
        channels=_channels(data),
        smtp_profiles=profiles,
        routes=_routes(data, profiles),
        templates=_templates(data),
        repeat_after=_repeat_after(data),
    )
    _check_consistency(config)
    return config


# --- the file --------------------------------------------------------------------------------------------------


def _require_yaml() -> None:
    if not HAS_YAML:
        raise SmgrError("the PyYAML Python library is required to read and write notifications.yaml")


def describe_yaml_error(exc: Exception) -> str:
    """Where and what, without the offending line's text (it could hold the password)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "cannot be parsed"
    if mark is None:
        return str(problem)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def load_yaml(text: str, source: str) -> Any:
    _require_yaml()
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SmgrError(f"{source}: not valid YAML ({describe_yaml_error(exc)})") from None


def section_of(document: Any, source: str) -> Mapping[str, Any]:
    """The ``notifications:`` mapping of a loaded document."""
    if not isinstance(document, dict) or TOP_KEY not in document:
        raise SmgrError(f"{source}: expected a top-level '{TOP_KEY}:' mapping")
    extra = sorted(str(key) for key in document if key != TOP_KEY)
    if extra:
        raise SmgrError(f"{source}: unexpected top-level key(s) {', '.join(extra)}; only '{TOP_KEY}:' is allowed")
    section = document[TOP_KEY]
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise SmgrError(f"{source}: '{TOP_KEY}:' must be a mapping")
    return section


def parse_config_text(text: str, source: str) -> NotifyConfig:
    """The configuration in ``text``; errors name ``source`` and the key."""
    section = section_of(load_yaml(text, source), source)
    try:
        return config_from_mapping(section)
    except SmgrError as exc:
        raise SmgrError(f"{source}: {exc}") from None


def decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SmgrError(f"{source}: not UTF-8 text") from None


def load_config(path: str = DEFAULT_PATH, missing_ok: bool = False) -> NotifyConfig:
    """Read ``path``. A missing file is an error, or disabled notifications when ``missing_ok``."""
    data = read_bytes(path)
    if data is None:
        if missing_ok:
            return NotifyConfig()
        raise SmgrError(f"{path} does not exist: configure notifications with smgr.server_manager.smgr_notify")
    return parse_config_text(decode(data, path), path)


# Keys left out of the file while they hold their default (files written before channels existed stay the same).
_OMITTED_WHEN_DEFAULT = {
    "channels": (),
    "routes": (),
    "smtp_profiles": (),
    "templates": (),
    "repeat_after": DEFAULT_REPEAT_AFTER,
}


def _channel_mapping(channel: Channel) -> dict[str, Any]:
    return {"name": channel.name, "url": channel.url, "events": list(channel.events)}


def _route_mapping(route: Route) -> dict[str, Any]:
    mapping: dict[str, Any] = {"events": list(route.events)}
    if route.to_emails:
        mapping["to_emails"] = list(route.to_emails)
    if route.smtp_profile is not None:
        mapping["smtp_profile"] = route.smtp_profile
    return mapping


def _template_mapping(template: Template) -> dict[str, Any]:
    return {key: value for key, value in (("subject", template.subject), ("body", template.body)) if value is not None}


def _plain(key: str, value: Any) -> Any:
    """One setting as plain YAML/JSON data."""
    if key == "channels":
        return [_channel_mapping(channel) for channel in value]
    if key == "routes":
        return [_route_mapping(route) for route in value]
    if key == "smtp_profiles":
        return [{"name": profile.name, **dict(profile.settings)} for profile in value]
    if key == "templates":
        return {template.event: _template_mapping(template) for template in value}
    return list(value) if isinstance(value, tuple) else value


def config_to_mapping(config: NotifyConfig) -> dict[str, Any]:
    """The file's ``notifications:`` mapping, keys in a fixed order, unset optional keys left out."""
    mapping: dict[str, Any] = {}
    for key in KEYS:
        value = getattr(config, key)
        if value is None or (key in _OMITTED_WHEN_DEFAULT and value == _OMITTED_WHEN_DEFAULT[key]):
            continue
        mapping[key] = _plain(key, value)
    return mapping


def _dump(document: Any) -> str:
    _require_yaml()
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False, allow_unicode=False, width=4096)


def render_config(config: NotifyConfig) -> str:
    """The file content for ``config``: deterministic, so equal configurations render equal bytes."""
    return HEADER + _dump({TOP_KEY: config_to_mapping(config)})


# --- redaction -------------------------------------------------------------------------------------------------


def redact_text(text: str, secrets: tuple[str | None, ...]) -> str:
    """``text`` with every occurrence of every secret replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


SECRET_KEYS = ("smtp_password", "url")  # the password of the default mail and of a profile; a channel's URL


def _redact_document(value: Any, secrets: tuple[str | None, ...]) -> Any:
    if isinstance(value, dict):
        return {
            key: (REDACTED if key in SECRET_KEYS and item is not None else _redact_document(item, secrets))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact_document(item, secrets) for item in value]
    if isinstance(value, str):
        return redact_text(value, secrets)
    return value


def redacted_config(config: NotifyConfig, before: NotifyConfig | None = None) -> NotifyConfig:
    """``config`` with every secret replaced by a marker that says whether it differs from ``before``'s."""

    def marker(value: str | None, previous: str | None) -> str | None:
        if value is None:
            return None
        return REDACTED_CHANGED if before is not None and previous not in (None, value) else REDACTED

    old_channels = {channel.name: channel.url for channel in before.channels} if before else {}
    old_profiles = {profile.name: profile.value("smtp_password") for profile in before.smtp_profiles} if before else {}
    return replace(
        config,
        smtp_password=marker(config.smtp_password, before.smtp_password if before else None),
        channels=tuple(
            replace(channel, url=marker(channel.url, old_channels.get(channel.name))) for channel in config.channels
        ),
        smtp_profiles=tuple(
            SmtpProfile(
                profile.name,
                tuple(
                    (key, marker(value, old_profiles.get(profile.name)) if key == "smtp_password" else value)
                    for key, value in profile.settings
                ),
            )
            for profile in config.smtp_profiles
        ),
    )


def redacted_config_view(config: NotifyConfig, before: NotifyConfig | None = None) -> str:
    """What :func:`render_config` writes, with every secret replaced by a marker (``(changed)`` when it differs
    from ``before``'s)."""
    return render_config(redacted_config(config, before))


def redacted_text_view(text: str, secrets: tuple[str | None, ...]) -> str:
    """An existing file for a diff: its parsed content with the password replaced, or a placeholder."""
    try:
        document = yaml.safe_load(text) if HAS_YAML else None
    except yaml.YAMLError as exc:
        return f"# (content not shown: not valid YAML, {describe_yaml_error(exc)})\n"
    if document is None:
        return text if not text.strip() else "# (content not shown: no YAML document)\n"
    prefix = HEADER if text.startswith(HEADER) else ""
    return prefix + redact_text(_dump(_redact_document(document, secrets)), secrets)


# --- planning a change of the file -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FileState:
    """The file as found: ``text`` is None when it does not exist."""

    text: str | None
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    undecodable: bool = False


@dataclass(frozen=True)
class Plan:
    """What to do with the file, and how to show it."""

    changed: bool
    content: str | None
    diff: list[dict[str, Any]]
    warnings: tuple[str, ...] = ()
    migrated: bool = False


def validate_path(path: Any) -> str:
    """The settings file's path: absolute, naming a file (a relative or empty path would write into the module's
    working directory)."""
    if not isinstance(path, str) or not path.startswith("/") or path.endswith("/") or "\x00" in path:
        raise SmgrError(f"must be the absolute path of a file, got {_shown(path)}", field="path")
    return path


def read_file_state(path: str) -> FileState:
    data = read_bytes(validate_path(path))
    if data is None:
        return FileState(text=None)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise SmgrError(f"cannot stat {path}: {exc.strerror}") from exc
    try:
        text = data.decode("utf-8")
        undecodable = False
    except UnicodeDecodeError:
        text, undecodable = "", True
    return FileState(text, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, undecodable)


def desired_owner() -> tuple[int, int]:
    """root:root when running as root, else the current user (a tree under another prefix, the demo)."""
    uid = os.geteuid()
    return (0, 0) if uid == 0 else (uid, os.getegid())


def current_config(state: FileState, source: str) -> tuple[NotifyConfig | None, str | None]:
    """The existing file's configuration, or None and why it cannot be used."""
    if state.text is None:
        return None, None
    if state.undecodable:
        return None, f"{source}: not UTF-8 text"
    try:
        return parse_config_text(state.text, source), None
    except SmgrError as exc:
        return None, str(exc)


def _section_or_empty(text: str) -> Mapping[str, Any]:
    try:
        return section_of(load_yaml(text, ""), "")
    except SmgrError:
        return {}


def is_seed_format(text: str) -> bool:
    return SEED_TLS_KEY in _section_or_empty(text)


def mapping_secrets(section: Mapping[str, Any]) -> tuple[str, ...]:
    """Every secret in a settings mapping (the smtp_password, channel URLs, SMTP profiles' passwords): a file's
    section, however invalid, or the module's options."""
    found = [section.get("smtp_password")]
    for key, secret_key in (("channels", "url"), ("smtp_profiles", "smtp_password")):
        items = section.get(key)
        if isinstance(items, list):
            found += [item.get(secret_key) for item in items if isinstance(item, dict)]
    return tuple(value for value in found if isinstance(value, str) and value)


def file_secrets(state: FileState) -> tuple[str, ...]:
    """Every secret written in the existing file, even when it is otherwise invalid."""
    if state.text is None or state.undecodable:
        return ()
    return mapping_secrets(_section_or_empty(state.text))


def _attributes(path: str, mode: int | None, uid: int | None, gid: int | None) -> dict[str, Any]:
    return {"path": path, "mode": None if mode is None else f"{mode:04o}", "owner": uid, "group": gid}


def _before_view(state: FileState, secrets: tuple[str | None, ...]) -> str:
    if state.text is None:
        return ""
    if state.undecodable:
        return "# (content not shown: not UTF-8 text)\n"
    return redacted_text_view(state.text, secrets)


def plan_present(path: str, desired: NotifyConfig, state: FileState, owner: tuple[int, int]) -> Plan:
    """Write ``desired`` unless the file already means the same and has mode 0600 and the right owner."""
    current, problem = current_config(state, path)
    attributes_ok = (state.mode, state.uid, state.gid) == (FILE_MODE, *owner)
    changed = current != desired or not attributes_ok
    content = render_config(desired)
    if not changed:
        return Plan(False, content, [])
    secrets = (*desired.secrets, *file_secrets(state))
    diff = [
        {
            "before_header": path,
            "after_header": path,
            "before": _before_view(state, secrets),
            "after": redacted_config_view(desired, current),
        }
    ]
    if state.text is not None and not attributes_ok:
        before_attributes = _attributes(path, state.mode, state.uid, state.gid)
        diff.append({"before": before_attributes, "after": _attributes(path, FILE_MODE, *owner)})
    warnings = () if problem is None else (f"replacing an invalid file: {redact_text(problem, secrets)}",)
    migrated = state.text is not None and current is not None and is_seed_format(state.text)
    return Plan(True, content, diff, warnings, migrated)


def plan_absent(path: str, state: FileState) -> Plan:
    if state.text is None:
        return Plan(False, None, [])
    before = _before_view(state, file_secrets(state))
    return Plan(True, None, [{"before_header": path, "after_header": path, "before": before, "after": ""}])


def redacted_config_dict(config: NotifyConfig) -> dict[str, Any]:
    """The configuration for a module result: every key, every secret as a marker when set."""
    redacted = redacted_config(config)
    return {key: _plain(key, getattr(redacted, key)) for key in KEYS}
