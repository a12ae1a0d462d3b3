# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""notifications.yaml: what is accepted, what it means, what is written, what a diff shows."""

from __future__ import annotations

import os
import stat
from dataclasses import replace

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.smgr.server_manager.plugins.module_utils._common.errors import SmgrError
from ansible_collections.smgr.server_manager.plugins.module_utils._notify import config as nc
from ansible_collections.smgr.server_manager.plugins.module_utils._notify.config import NotifyConfig

PASSWORD = "Tr0ub4dor&3-zebra"
SEED_FILE = """\
# /opt/server-manager/config/notifications.yaml
notifications:
  enabled: true
  smtp_server: smtp.example.com
  smtp_port: 587
  smtp_use_tls: true
  smtp_user: admin@example.com
  smtp_password: encrypted_password
  from_email: server-manager@example.com
  to_emails:
    - admin@example.com
    - alerts@example.com
  notify_on_success: false
  notify_on_failure: true
"""


def enabled(**overrides) -> dict:
    data = dict(
        enabled=True,
        smtp_server="smtp.example.com",
        smtp_user="admin@example.com",
        smtp_password=PASSWORD,
        from_email="server-manager@example.com",
        to_emails=["admin@example.com"],
    )
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# --- defaults and normalisation ------------------------------------------------------------------------------


def test_an_empty_mapping_is_disabled_with_the_documented_defaults():
    config = nc.config_from_mapping({})
    assert config == NotifyConfig()
    assert (config.enabled, config.smtp_security, config.smtp_port, config.smtp_timeout) == (False, "starttls", 587, 30)
    assert (config.notify_on_success, config.notify_on_failure) == (False, True)


@pytest.mark.parametrize(("security", "port"), [("starttls", 587), ("tls", 465), ("none", 25)])
def test_the_port_defaults_by_security(security, port):
    data = enabled(smtp_security=security)
    if security == "none":
        data = enabled(smtp_security=security, smtp_user=None, smtp_password=None)
    assert nc.config_from_mapping(data).smtp_port == port


def test_an_explicit_port_wins():
    assert nc.config_from_mapping(enabled(smtp_security="tls", smtp_port=2465)).smtp_port == 2465


def test_none_and_empty_strings_mean_not_set():
    config = nc.config_from_mapping(
        {"enabled": None, "smtp_user": "", "smtp_password": "", "ca_file": None, "smtp_port": None}
    )
    assert config == NotifyConfig()


def test_the_password_is_not_in_the_repr():
    assert PASSWORD not in repr(nc.config_from_mapping(enabled()))


# --- the seed's format -----------------------------------------------------------------------------------------


def test_the_seed_example_is_read_as_starttls():
    config = nc.parse_config_text(SEED_FILE, "seed.yaml")
    assert config.smtp_security == "starttls"
    assert config.smtp_port == 587
    assert config.to_emails == ("admin@example.com", "alerts@example.com")
    assert config.smtp_password == "encrypted_password"


def test_seed_use_tls_false_is_none():
    text = SEED_FILE.replace("smtp_use_tls: true", "smtp_use_tls: false")
    text = text.replace("  smtp_user: admin@example.com\n  smtp_password: encrypted_password\n", "")
    assert nc.parse_config_text(text, "seed.yaml").smtp_security == "none"


def test_a_seed_file_rendered_again_is_in_the_current_format_and_means_the_same():
    config = nc.parse_config_text(SEED_FILE, "seed.yaml")
    rendered = nc.render_config(config)
    assert "smtp_use_tls" not in rendered
    assert "smtp_security: starttls" in rendered
    assert nc.parse_config_text(rendered, "new.yaml") == config


@pytest.mark.parametrize(("use_tls", "security"), [(True, "starttls"), (True, "tls"), (False, "none")])
def test_seed_key_next_to_a_consistent_security_is_accepted(use_tls, security):
    data = enabled(smtp_security=security, smtp_use_tls=use_tls)
    if security == "none":
        data = enabled(smtp_security=security, smtp_use_tls=use_tls, smtp_user=None, smtp_password=None)
    assert nc.config_from_mapping(data).smtp_security == security


def test_seed_key_contradicting_security_is_an_error():
    with pytest.raises(SmgrError, match=r"smtp_use_tls .* is true but smtp_security is none"):
        nc.config_from_mapping({"smtp_use_tls": True, "smtp_security": "none"})


# --- rejected input --------------------------------------------------------------------------------------------

BAD = [
    pytest.param({"enabled": "yes"}, "enabled: must be true or false, got 'yes'", id="enabled-string"),
    pytest.param({"smtp_port": 0}, "smtp_port: must be an integer from 1 to 65535, got 0", id="port-0"),
    pytest.param({"smtp_port": 70000}, "smtp_port: must be an integer from 1 to 65535", id="port-high"),
    pytest.param({"smtp_port": "587"}, "smtp_port: must be an integer", id="port-string"),
    pytest.param({"smtp_port": True}, "smtp_port: must be an integer", id="port-bool"),
    pytest.param({"smtp_security": "ssl"}, "smtp_security: must be one of starttls, tls, none", id="security"),
    pytest.param({"smtp_server": "smtp example.com"}, "smtp_server: must be a host name", id="server-space"),
    pytest.param({"smtp_server": "-bad-.example"}, "smtp_server: must be a host name", id="server-label"),
    pytest.param({"smtp_server": "a\nb"}, "smtp_server: must not contain control characters", id="server-newline"),
    pytest.param({"from_email": "nobody"}, "from_email: must be an e-mail address", id="from-no-at"),
    pytest.param({"from_email": "a@b.com\nBcc: x@y.z"}, "from_email: must be an e-mail address", id="from-inject"),
    pytest.param({"from_email": "Ops <ops@example.com>"}, "from_email: must be an e-mail address", id="from-name"),
    pytest.param({"to_emails": "ops@example.com"}, "to_emails: must be a list", id="to-string"),
    pytest.param({"to_emails": ["ops@example.com", "x@"]}, "to_emails: must be an e-mail address", id="to-bad"),
    pytest.param({"to_emails": ["a@example.com", "A@example.com"]}, "to_emails: lists A@example.com twice", id="dup"),
    pytest.param({"to_emails": [1]}, "to_emails: must be an e-mail address", id="to-int"),
    pytest.param({"smtp_timeout": 0}, "smtp_timeout: must be an integer from 1 to 600", id="timeout-0"),
    pytest.param({"smtp_timeout": 601}, "smtp_timeout: must be an integer from 1 to 600", id="timeout-high"),
    pytest.param({"smtp_timeout": 1.5}, "smtp_timeout: must be an integer", id="timeout-float"),
    pytest.param({"ca_file": "certs/ca.pem"}, "ca_file: must be an absolute path", id="ca-relative"),
    pytest.param({"smtp_user": "u"}, "smtp_password: smtp_user and smtp_password go together", id="user-alone"),
    pytest.param({"smtp_password": "p"}, "smtp_user: smtp_user and smtp_password go together", id="password-alone"),
    pytest.param({"smtp_smtp": 1}, "unknown key\\(s\\) smtp_smtp", id="unknown-key"),
    pytest.param({"notify_on_success": 1}, "notify_on_success: must be true or false", id="notify-int"),
    pytest.param({"smtp_use_tls": "true"}, "smtp_use_tls: must be true or false", id="seed-key-string"),
    pytest.param(
        {"smtp_security": "none", "smtp_user": "u", "smtp_password": "p"},
        "smtp_user: refusing to send the password over an unencrypted connection",
        id="auth-plaintext",
    ),
    pytest.param({"smtp_security": "none", "ca_file": "/ca.pem"}, "ca_file: is only used with", id="ca-none"),
    pytest.param(
        {"enabled": True, "from_email": "a@b.example", "to_emails": ["c@d.example"]},
        "smtp_server: is required",
        id="no-server",
    ),
    pytest.param(
        {"enabled": True, "smtp_server": "h", "to_emails": ["c@d.example"]}, "from_email: is required", id="no-from"
    ),
    pytest.param(
        {"enabled": True, "smtp_server": "h", "from_email": "a@b.example"}, "to_emails: needs at least one", id="no-to"
    ),
]


@pytest.mark.parametrize(("data", "message"), BAD)
def test_bad_input_fails_naming_the_key(data, message):
    with pytest.raises(SmgrError, match=message):
        nc.config_from_mapping(data)


@pytest.mark.parametrize(
    "password", ["pass\nword", "tab\there", "ünïcödé", 12345], ids=["newline", "tab", "non-ascii", "number"]
)
def test_a_bad_password_is_rejected_without_showing_it(password):
    with pytest.raises(SmgrError, match="smtp_password: must") as caught:
        nc.config_from_mapping({"smtp_user": "u", "smtp_password": password})
    assert str(password) not in str(caught.value)


@pytest.mark.parametrize(
    "address", ["ops@example.com", "first.last+tag@mail.example.co.uk", "root@localhost", "o'brien@example.org"]
)
def test_plain_addresses_are_accepted(address):
    assert nc.is_email_address(address)


@pytest.mark.parametrize(
    "address", ["", "@example.com", "ops@", "ops@@example.com", "ops@example..com", "ops@1.2.3.4", "a b@example.com"]
)
def test_malformed_addresses_are_rejected(address):
    assert not nc.is_email_address(address)


@pytest.mark.parametrize("name", ["smtp.example.com", "localhost", "127.0.0.1", "::1", "mail-1.example.", "a" * 63])
def test_hostnames_and_addresses_are_accepted(name):
    assert nc.is_hostname(name)


@pytest.mark.parametrize("name", ["", "a" * 64, "a..b", "x_y.example", "fe80::1%eth0", "1.2.3.4 ", "host\n"])
def test_malformed_hostnames_are_rejected(name):
    assert not nc.is_hostname(name)


# --- the file's text ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("notifications: [a, b]\n", "'notifications:' must be a mapping"),
        ("enabled: true\n", "expected a top-level 'notifications:' mapping"),
        ("notifications: {}\nextra: 1\n", "unexpected top-level key\\(s\\) extra"),
        ("notifications:\n  enabled: [\n", "not valid YAML \\(line 3, column 1"),
        ("", "expected a top-level 'notifications:' mapping"),
    ],
)
def test_malformed_files_name_the_file_and_the_problem(text, message):
    with pytest.raises(SmgrError, match=f"conf.yaml: {message}"):
        nc.parse_config_text(text, "conf.yaml")


def test_a_yaml_error_does_not_quote_the_offending_line():
    text = f"notifications:\n  smtp_password: {PASSWORD}\n  bad: [\n"
    with pytest.raises(SmgrError) as caught:
        nc.parse_config_text(text, "conf.yaml")
    assert PASSWORD not in str(caught.value)


def test_an_empty_section_is_disabled():
    assert nc.parse_config_text("notifications:\n", "c.yaml") == NotifyConfig()


def test_field_errors_in_a_file_name_the_file_and_the_key():
    with pytest.raises(SmgrError, match=r"^c\.yaml: smtp_port: must be an integer"):
        nc.parse_config_text("notifications:\n  smtp_port: 99999\n", "c.yaml")


def test_rendering_is_the_documented_layout():
    config = nc.config_from_mapping(enabled(to_emails=["a@example.com", "b@example.com"], ca_file="/etc/ca.pem"))
    assert nc.render_config(config) == (
        "# Managed by smgr.server_manager.smgr_notify; local changes are overwritten.\n"
        "notifications:\n"
        "  enabled: true\n"
        "  smtp_server: smtp.example.com\n"
        "  smtp_port: 587\n"
        "  smtp_security: starttls\n"
        "  smtp_user: admin@example.com\n"
        f"  smtp_password: {PASSWORD}\n"
        "  from_email: server-manager@example.com\n"
        "  to_emails:\n"
        "  - a@example.com\n"
        "  - b@example.com\n"
        "  notify_on_success: false\n"
        "  notify_on_failure: true\n"
        "  smtp_timeout: 30\n"
        "  ca_file: /etc/ca.pem\n"
    )


def test_a_differently_formatted_equal_file_means_the_same():
    config = nc.config_from_mapping(enabled())
    other = (
        "notifications: {to_emails: [admin@example.com], from_email: server-manager@example.com,\n"
        f"  smtp_password: '{PASSWORD}', smtp_user: admin@example.com, smtp_server: smtp.example.com,\n"
        "  enabled: yes}\n"
    )
    assert nc.parse_config_text(other, "other.yaml") == config


passwords = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40)
hosts = st.from_regex(r"\A[a-z][a-z0-9-]{0,10}[a-z0-9](\.[a-z][a-z0-9]{0,8}){0,3}\Z")
locals_ = st.from_regex(r"\A[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,12}(\.[A-Za-z0-9_+-]{1,8})?\Z")
addresses = st.builds(lambda local, host: f"{local}@{host}", locals_, hosts)


@st.composite
def configs(draw) -> NotifyConfig:
    security = draw(st.sampled_from(nc.SECURITY_CHOICES))
    with_auth = security != "none" and draw(st.booleans())
    data = {
        "enabled": draw(st.booleans()),
        "smtp_server": draw(hosts),
        "smtp_port": draw(st.one_of(st.none(), st.integers(1, 65535))),
        "smtp_security": security,
        "smtp_user": draw(addresses) if with_auth else None,
        "smtp_password": draw(passwords) if with_auth else None,
        "from_email": draw(addresses),
        "to_emails": draw(st.lists(addresses, min_size=1, max_size=4, unique_by=str.lower)),
        "notify_on_success": draw(st.booleans()),
        "notify_on_failure": draw(st.booleans()),
        "smtp_timeout": draw(st.integers(1, nc.MAX_TIMEOUT)),
        "ca_file": draw(st.sampled_from([None, "/etc/ssl/ca.pem"])) if security != "none" else None,
    }
    return nc.config_from_mapping(data)


@given(configs())
def test_rendered_files_read_back_equal(config):
    text = nc.render_config(config)
    assert nc.parse_config_text(text, "c.yaml") == config
    assert nc.render_config(nc.parse_config_text(text, "c.yaml")) == text


@given(configs())
def test_the_redacted_view_never_holds_the_password(config):
    shown = yaml.safe_load(nc.redacted_config_view(config))["notifications"]
    assert shown.keys() == nc.config_to_mapping(config).keys()
    if config.smtp_password is not None:
        assert shown["smtp_password"] == nc.REDACTED


@given(passwords)
def test_any_printable_password_survives_the_file(password):
    config = nc.config_from_mapping(enabled(smtp_password=password))
    assert nc.parse_config_text(nc.render_config(config), "c.yaml").smtp_password == password


# --- load_config ----------------------------------------------------------------------------------------------


def test_load_config_reads_a_file(tmp_path):
    path = tmp_path / "notifications.yaml"
    path.write_text(SEED_FILE)
    assert nc.load_config(str(path)).smtp_security == "starttls"


def test_a_missing_file_is_an_error_or_disabled(tmp_path):
    path = str(tmp_path / "missing.yaml")
    with pytest.raises(SmgrError, match=r"missing\.yaml does not exist: configure notifications with"):
        nc.load_config(path)
    assert nc.load_config(path, missing_ok=True) == NotifyConfig()


def test_a_binary_file_is_an_error(tmp_path):
    path = tmp_path / "notifications.yaml"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SmgrError, match="not UTF-8 text"):
        nc.load_config(str(path))


# --- planning ----------------------------------------------------------------------------------------------------

OWNER = (0, 0)


def written(config: NotifyConfig, mode: int = 0o600, owner: tuple[int, int] = OWNER) -> nc.FileState:
    return nc.FileState(nc.render_config(config), mode, *owner)


def test_a_new_file_is_a_change_with_the_redacted_content_as_diff():
    desired = nc.config_from_mapping(enabled())
    plan = nc.plan_present("/c/n.yaml", desired, nc.FileState(None), OWNER)
    assert plan.changed
    assert plan.content == nc.render_config(desired)
    assert plan.diff[0]["before"] == ""
    assert "smtp_password: '********'" in plan.diff[0]["after"]
    assert PASSWORD not in repr(plan.diff)
    assert len(plan.diff) == 1


def test_the_same_settings_are_no_change():
    desired = nc.config_from_mapping(enabled())
    plan = nc.plan_present("/c/n.yaml", desired, written(desired), OWNER)
    assert (plan.changed, plan.diff, plan.warnings) == (False, [], ())


def test_an_equal_seed_format_file_is_left_alone():
    text = SEED_FILE
    desired = nc.parse_config_text(text, "seed")
    plan = nc.plan_present("/c/n.yaml", desired, nc.FileState(text, 0o600, 0, 0), OWNER)
    assert not plan.changed


def test_a_seed_format_file_is_migrated_when_something_changes():
    current = nc.parse_config_text(SEED_FILE, "seed")
    desired = replace(current, notify_on_success=True)
    plan = nc.plan_present("/c/n.yaml", desired, nc.FileState(SEED_FILE, 0o600, 0, 0), OWNER)
    assert plan.changed and plan.migrated
    assert "smtp_use_tls: true" in plan.diff[0]["before"]
    assert "smtp_use_tls" not in plan.diff[0]["after"]
    assert "encrypted_password" not in repr(plan.diff)


@pytest.mark.parametrize(("mode", "owner"), [(0o644, OWNER), (0o640, OWNER), (0o600, (1000, 0)), (0o600, (0, 1000))])
def test_wrong_mode_or_owner_is_a_change_shown_as_attributes(mode, owner):
    desired = nc.config_from_mapping(enabled())
    plan = nc.plan_present("/c/n.yaml", desired, written(desired, mode, owner), OWNER)
    assert plan.changed
    assert plan.diff[1]["before"] == {"path": "/c/n.yaml", "mode": f"{mode:04o}", "owner": owner[0], "group": owner[1]}
    assert plan.diff[1]["after"] == {"path": "/c/n.yaml", "mode": "0600", "owner": 0, "group": 0}


def test_a_changed_password_is_shown_as_changed_but_not_shown():
    current = nc.config_from_mapping(enabled(smtp_password="old-secret"))
    desired = nc.config_from_mapping(enabled())
    plan = nc.plan_present("/c/n.yaml", desired, written(current), OWNER)
    assert plan.changed
    assert "smtp_password: '********'" in plan.diff[0]["before"]
    assert "smtp_password: '******** (changed)'" in plan.diff[0]["after"]
    assert "old-secret" not in repr(plan.diff) and PASSWORD not in repr(plan.diff)


def test_an_invalid_file_is_replaced_with_a_warning_that_hides_its_password():
    text = "notifications:\n  smtp_password: hunter2-secret\n  smtp_port: hunter2-secret\n"
    desired = nc.config_from_mapping(enabled())
    plan = nc.plan_present("/c/n.yaml", desired, nc.FileState(text, 0o600, 0, 0), OWNER)
    assert plan.changed
    assert plan.warnings and "smtp_port: must be an integer" in plan.warnings[0]
    assert "hunter2-secret" not in repr(plan.warnings) + repr(plan.diff)


def test_an_unparseable_file_is_replaced_and_not_shown():
    text = f"notifications:\n  smtp_password: {PASSWORD}\n  x: [\n"
    desired = nc.config_from_mapping(enabled(smtp_password="other"))
    plan = nc.plan_present("/c/n.yaml", desired, nc.FileState(text, 0o600, 0, 0), OWNER)
    assert plan.changed
    assert plan.diff[0]["before"].startswith("# (content not shown: not valid YAML")
    assert PASSWORD not in repr(plan.diff) + repr(plan.warnings)


def test_absent_removes_an_existing_file_and_shows_it_redacted():
    current = nc.config_from_mapping(enabled())
    plan = nc.plan_absent("/c/n.yaml", written(current))
    assert plan.changed and plan.content is None
    assert plan.diff[0]["after"] == ""
    assert "smtp_password: '********'" in plan.diff[0]["before"]
    assert PASSWORD not in repr(plan.diff)


def test_absent_when_missing_is_no_change():
    assert not nc.plan_absent("/c/n.yaml", nc.FileState(None)).changed


def test_read_file_state_reports_mode_and_owner(tmp_path):
    path = tmp_path / "n.yaml"
    assert nc.read_file_state(str(path)) == nc.FileState(None)
    path.write_text("notifications: {}\n")
    os.chmod(path, 0o640)
    state = nc.read_file_state(str(path))
    info = os.stat(path)
    assert (state.text, state.mode, state.uid, state.gid) == ("notifications: {}\n", 0o640, info.st_uid, info.st_gid)
    assert stat.S_IMODE(info.st_mode) == 0o640


def test_the_result_dict_shows_a_marker_for_the_password():
    shown = nc.redacted_config_dict(nc.config_from_mapping(enabled()))
    assert shown["smtp_password"] == "********"
    assert shown["to_emails"] == ["admin@example.com"]
    assert set(shown) == set(nc.KEYS)


def test_a_binary_file_is_replaced_and_not_shown():
    desired = nc.config_from_mapping(enabled())
    state = nc.FileState("", 0o600, 0, 0, undecodable=True)
    plan = nc.plan_present("/c/n.yaml", desired, state, OWNER)
    assert plan.changed
    assert plan.diff[0]["before"] == "# (content not shown: not UTF-8 text)\n"
    assert plan.warnings == ("replacing an invalid file: /c/n.yaml: not UTF-8 text",)
    assert nc.plan_absent("/c/n.yaml", state).diff[0]["before"] == "# (content not shown: not UTF-8 text)\n"


def test_recipients_lose_the_spaces_ansible_leaves_after_commas():
    """``to_emails: "ops@example.com, dev@example.com"`` reaches the module as ["ops@…", " dev@…"]."""
    config = nc.config_from_mapping(
        {
            "enabled": True,
            "smtp_server": "smtp.example.com",
            "from_email": "smgr@example.com",
            "to_emails": ["ops@example.com", " dev@example.com "],
        }
    )
    assert config.to_emails == ("ops@example.com", "dev@example.com")
