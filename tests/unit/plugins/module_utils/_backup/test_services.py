# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Service health: the compose projects of Mailcow and NPM (through the Docker CLI stand-in), certificates
made with openssl with chosen expiry dates, and ``smgr health`` with its notification."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timezone

import pytest

from ansible_collections.smgr.server_manager.plugins.module_utils._backup.jobs import validate_job
from ansible_collections.smgr.server_manager.plugins.module_utils._backup.services import (
    certificate_findings,
    compose_findings,
    compose_projects,
    nginx_findings,
    parse_compose_ps,
)
from ansible_collections.smgr.server_manager.tests.support.backup_env import Prefix
from ansible_collections.smgr.server_manager.tests.support.docker_world import MailcowHost, NpmHost
from ansible_collections.smgr.server_manager.tests.support.smtp_server import SmtpServer

NOW = datetime.now(timezone.utc)


def make_certificate(path, days):
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(path.parent / "privkey.pem"),
            "-out",
            str(path),
            "-days",
            str(days),
            "-subj",
            "/CN=test",
        ],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def mailcow(tmp_path, monkeypatch):
    host = MailcowHost(tmp_path / "mailcow-host")
    monkeypatch.setenv("PATH", host.docker.env["PATH"])
    return host


def mailcow_job(host):
    return validate_job({"name": "mail", "type": "mailcow", "mailcow_dir": str(host.dir)})


def test_a_running_healthy_project_has_no_findings(mailcow):
    [project] = compose_projects([mailcow_job(mailcow)])
    assert project.label == "Mailcow"
    assert compose_findings(project) == []


def test_stopped_unhealthy_and_missing_containers_are_named(mailcow):
    mailcow.stop("postfix-mailcow")
    mailcow.docker.set_container("rspamd-mailcow", health="unhealthy")
    data = mailcow.docker.load()
    del data["containers"]["mailcowdockerized-watchdog-mailcow-1"]
    mailcow.docker.save(data)
    [project] = compose_projects([mailcow_job(mailcow)])
    messages = sorted(finding.message for finding in compose_findings(project))
    assert messages == [
        "postfix-mailcow (mailcowdockerized-postfix-mailcow-1) is exited",
        "rspamd-mailcow (mailcowdockerized-rspamd-mailcow-1) is unhealthy",
        "watchdog-mailcow has no container",
    ]
    assert {finding.level for finding in compose_findings(project)} == {"problem"}


def test_the_override_file_counts_and_services_behind_a_profile_or_done_do_not(mailcow):
    override = mailcow.dir / "docker-compose.override.yml"
    override.write_text(
        "---\nservices:\n  ofelia-mailcow:\n    image: mcuadros/ofelia\n"
        "  migrate-once:\n    image: busybox\n  debug-tools:\n    image: busybox\n    profiles: [debug]\n"
    )
    [project] = compose_projects([mailcow_job(mailcow)])
    assert [f.message for f in compose_findings(project)] == [
        "migrate-once has no container",
        "ofelia-mailcow has no container",
    ]
    mailcow.docker.add_container("mailcowdockerized-migrate-once-1", "busybox", "mailcowdockerized", "migrate-once", {})
    mailcow.docker.set_container("migrate-once", state="exited")
    assert [f.message for f in compose_findings(project)] == ["ofelia-mailcow has no container"]


def test_npm_project_by_its_directory_name(tmp_path, monkeypatch):
    host = NpmHost(tmp_path / "npm-host")
    monkeypatch.setenv("PATH", host.docker.env["PATH"])
    [project] = compose_projects([validate_job({"name": "npm", "type": "npm", "npm_dir": str(host.dir)})])
    assert compose_findings(project) == []
    host.stop("app")
    assert [f.message for f in compose_findings(project)] == ["app (nginx-app-1) is exited"]


def test_compose_ps_before_and_after_2_21():
    line = {"Name": "a-1", "Service": "a", "State": "running", "Health": ""}
    assert parse_compose_ps(json.dumps(line) + "\n" + json.dumps(line)) == [line, line]
    assert parse_compose_ps(json.dumps([line])) == [line]
    assert parse_compose_ps("") == []


@pytest.mark.parametrize(("days", "level"), [(60, None), (10, "warning"), (2, "problem")])
def test_certificate_expiry(tmp_path, days, level):
    letsencrypt = tmp_path / "letsencrypt"
    make_certificate(letsencrypt / "live" / "example.org" / "cert.pem", days)
    job = validate_job({"name": "web", "type": "nginx", "paths": [str(tmp_path / "nginx"), str(letsencrypt)]})
    findings, count = certificate_findings([job], NOW)
    assert count == 1
    assert [finding.level for finding in findings] == ([level] if level else [])
    if level:
        assert "expires in" in findings[0].message


def test_mailcow_and_npm_certificates_are_found(tmp_path, mailcow):
    make_certificate(mailcow.dir / "data" / "assets" / "ssl" / "cert.pem", 1)
    npm = NpmHost(tmp_path / "npm-host")
    make_certificate(npm.dir / "letsencrypt" / "live" / "npm-1" / "cert.pem", 90)
    jobs = [mailcow_job(mailcow), validate_job({"name": "npm", "type": "npm", "npm_dir": str(npm.dir)})]
    findings, count = certificate_findings(jobs, NOW, warn_days=30, fail_days=5)
    assert count == 2
    assert [(f.level, os.path.basename(os.path.dirname(f.message.split()[0]))) for f in findings] == [
        ("problem", "ssl")
    ]


def test_an_unreadable_certificate_is_a_problem(tmp_path):
    cert = tmp_path / "letsencrypt" / "live" / "x" / "cert.pem"
    cert.parent.mkdir(parents=True)
    cert.write_text("not a certificate\n")
    job = validate_job({"name": "web", "type": "nginx", "paths": [str(tmp_path / "letsencrypt")]})
    findings, _count = certificate_findings([job], NOW)
    assert findings[0].level == "problem" and "cannot read the certificate" in findings[0].message


def test_nginx_t_output_is_read(tmp_path, monkeypatch):
    """nginx is not installed here; a stand-in answers ``nginx -t`` the way nginx does (on stderr)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    nginx = bin_dir / "nginx"
    nginx.write_text(
        "#!/bin/sh\n"
        'echo "nginx: [warn] conflicting server name \\"a\\" on 0.0.0.0:80, ignored" >&2\n'
        'echo "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok" >&2\n'
        'echo "nginx: configuration file /etc/nginx/nginx.conf test is successful" >&2\n'
    )
    nginx.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    proc = tmp_path / "proc"
    (proc / "42").mkdir(parents=True)
    (proc / "42" / "comm").write_text("nginx\n")
    monkeypatch.setattr(
        os.path, "isdir", lambda path, real=os.path.isdir: False if path == "/run/systemd/system" else real(path)
    )
    assert nginx_findings(str(proc)) == ([], ['nginx: [warn] conflicting server name "a" on 0.0.0.0:80, ignored'])
    (proc / "42" / "comm").write_text("bash\n")
    assert ("problem", "nginx is not running") in [(f.level, f.message) for f in nginx_findings(str(proc))[0]]


def test_smgr_health_reports_services_and_mails_a_certificate_warning(tmp_path, mailcow):
    prefix = Prefix(tmp_path / "host")
    prefix.add_job(name="mail", type="mailcow", mailcow_dir=str(mailcow.dir), mailcow_components=["crypt"])
    prefix.run("backup", "mail", env=mailcow.docker.env, check=0)
    make_certificate(mailcow.dir / "data" / "assets" / "ssl" / "cert.pem", 10)
    health = ("--json", "health", "--no-cron-check", "--min-free", "1")
    with SmtpServer("plain") as server:
        prefix.configure_mail(server.port)
        warned = json.loads(prefix.run(*health, env=mailcow.docker.env, check=0).stdout)
        assert warned["ok"] is True and [w["check"] for w in warned["warnings"]] == ["Certificates"]
        text = server.wait_for(1)[0].message().get_body(("plain",)).get_content()
        assert "Certificates:" in text and "expires in 10 days" in text
        assert "Mailcow containers:" in text and "every container running and healthy" in text
        mailcow.stop("dovecot-mailcow")
        failed = json.loads(prefix.run(*health, env=mailcow.docker.env, check=1).stdout)
    assert {p["check"] for p in failed["problems"]} == {"Mailcow containers"}
    assert "dovecot-mailcow" in failed["problems"][0]["message"]
    quiet = prefix.run("health", "--no-cron-check", "--min-free", "1", "--no-service-check", env=mailcow.docker.env)
    assert quiet.returncode == 0 and "Mailcow" not in quiet.stdout


def test_bad_certificate_limits_are_a_usage_error(tmp_path):
    prefix = Prefix(tmp_path / "host")
    done = prefix.run("health", "--cert-warn-days", "2", "--cert-fail-days", "5")
    assert done.returncode == 2 and "--cert-fail-days: 5 is more than cert_warn_days 2" in done.stderr
