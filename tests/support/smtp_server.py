# Copyright (c) 2026, smgr.server_manager contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real SMTP servers on 127.0.0.1 for tests and the demo (aiosmtpd), from Python or a shell script.

Modes
    plain          no TLS, no AUTH
    starttls       STARTTLS offered and required before MAIL; no AUTH
    starttls-auth  STARTTLS required, then AUTH (PLAIN, LOGIN) required with --user/--password
    tls            implicit TLS (SMTPS); no AUTH
    tls-auth       implicit TLS, AUTH required
    silent         accepts TCP connections and never says a word (to test timeouts)

The TLS modes use a certificate for ``localhost`` and ``127.0.0.1`` (``cert_names``) signed by a
private CA, both generated on first use in ``cert_dir`` (``ca.pem``, ``server.pem``, ``server.key``):
a client trusts it only when given ``ca.pem`` (smgr's ``ca_file``). Recipients listed in
``refuse`` are answered ``550 5.1.1``. Every accepted message is kept in ``messages`` and,
with a maildir, written as ``<n>.eml`` (the raw message) plus ``<n>.json`` (the envelope).

Python::

    with SmtpServer("starttls-auth", cert_dir=tmp_path, user="smgr", password="s3cret") as server:
        ...  # send to 127.0.0.1:server.port, trusting server.ca_file
        received = server.wait_for(1)[0]      # Received(mail_from, rcpt_tos, data, auth_user)
        received.message()                    # email.message.EmailMessage

Shell (runs until SIGTERM/SIGINT; the port file appears once it listens)::

    python tests/support/smtp_server.py --mode starttls-auth --port 0 --port-file port.txt \\
        --pidfile smtp.pid --maildir mail/ --cert-dir certs/ --user smgr --password s3cret &
    while [ ! -s port.txt ]; do sleep 0.1; done
    ...
    kill "$(cat smtp.pid)"
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import email
import email.policy
import ipaddress
import json
import logging
import os
import signal
import socket
import ssl
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# aiosmtpd logs deprecations of its own internals at WARNING on every AUTH; keep test output about the test.
logging.getLogger("mail.log").setLevel(logging.ERROR)

MODES = ("plain", "starttls", "starttls-auth", "tls", "tls-auth", "silent")
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    auth_user: str | None

    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass(frozen=True)
class CertFiles:
    ca: Path
    cert: Path
    key: Path


def ensure_certificates(cert_dir: str | os.PathLike, names: Iterable[str] = ("localhost", HOST)) -> CertFiles:
    """A private CA and a server certificate for ``names`` (DNS names or IP addresses) it signed.

    Made once per directory: an existing set is reused as it is, whatever ``names`` says.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory = Path(cert_dir)
    files = CertFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    if files.ca.exists() and files.cert.exists() and files.key.exists():
        return files
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=2)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smgr test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # key_cert_sign, crl_sign
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, next(iter(names)))]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([_general_name(name) for name in names]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    files.key.chmod(0o600)
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return files


def _general_name(name: str):
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def server_tls_context(files: CertFiles) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(files.cert), str(files.key))
    return context


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, smtpd, session, envelope, address, rcpt_options):
        if address.lower() in self.server.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, smtpd, session, envelope):
        login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
        self.server.record(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=tuple(envelope.rcpt_tos),
                data=envelope.original_content or envelope.content,
                auth_user=login.decode() if isinstance(login, bytes) else login,
            )
        )
        return "250 2.0.0 OK: queued"


class _Controller(Controller):
    """aiosmtpd's Controller, listening on a port the kernel picks when port is 0."""

    def factory(self):
        # tls-auth requires AUTH with auth_require_tls off: the connection is TLS from the first byte,
        # which aiosmtpd does not count; its warning about that is moot here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return super().factory()

    def _trigger_server(self) -> None:
        if self.port == 0 and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class _SilentServer:
    """Accepts connections and keeps them open without a byte of answer."""

    def __init__(self, port: int) -> None:
        self.listener = socket.create_server((HOST, port))
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection = self.listener.accept()[0]
            except OSError:
                return
            self.connections.append(connection)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(timeout=5)
        for connection in self.connections:
            connection.close()


class SmtpServer:
    """One server on 127.0.0.1 (see the module docstring); a context manager, or ``start()``/``stop()``."""

    def __init__(
        self,
        mode: str = "plain",
        *,
        port: int = 0,
        cert_dir: str | os.PathLike | None = None,
        user: str = "smgr",
        password: str = "s3cret",
        refuse: Iterable[str] = (),
        maildir: str | os.PathLike | None = None,
        auth_mechanisms: Iterable[str] = ("PLAIN", "LOGIN"),
        cert_names: Iterable[str] = ("localhost", HOST),
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if mode in ("starttls", "starttls-auth", "tls", "tls-auth") and cert_dir is None:
            raise ValueError(f"mode {mode} needs cert_dir")
        self.mode = mode
        self.port = port
        self.user = user
        self.password = password
        self.refuse = {address.lower() for address in refuse}
        self.maildir = Path(maildir) if maildir is not None else None
        self.auth_mechanisms = {mechanism.upper() for mechanism in auth_mechanisms}
        self.certs = ensure_certificates(cert_dir, tuple(cert_names)) if cert_dir is not None else None
        self.messages: list[Received] = []
        self._lock = threading.Condition()
        self._controller: _Controller | None = None
        self._silent: _SilentServer | None = None

    @property
    def ca_file(self) -> str:
        if self.certs is None:
            raise ValueError("this server has no certificates")
        return str(self.certs.ca)

    def _authenticate(self, smtpd, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user.encode()
            and auth_data.password == self.password.encode()
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def _smtp_parameters(self) -> dict:
        parameters: dict = {"server_hostname": "localhost", "ready_timeout": 10.0}
        context = server_tls_context(self.certs) if self.certs is not None else None
        if self.mode.startswith("starttls"):
            parameters.update(tls_context=context, require_starttls=True)
        if self.mode.startswith("tls"):
            parameters.update(ssl_context=context, auth_require_tls=False)
        if self.mode.endswith("-auth"):
            excluded = [m for m in ("PLAIN", "LOGIN") if m not in self.auth_mechanisms]
            parameters.update(auth_required=True, authenticator=self._authenticate, auth_exclude_mechanism=excluded)
        return parameters

    def start(self) -> SmtpServer:
        if self.maildir is not None:
            self.maildir.mkdir(parents=True, exist_ok=True)
        if self.mode == "silent":
            self._silent = _SilentServer(self.port)
            self.port = self._silent.port
            return self
        self._controller = _Controller(_Handler(self), hostname=HOST, port=self.port, **self._smtp_parameters())
        self._controller.start()
        self.port = self._controller.port
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        if self._silent is not None:
            self._silent.stop()
            self._silent = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def record(self, received: Received) -> None:
        with self._lock:
            self.messages.append(received)
            number = len(self.messages)
            self._lock.notify_all()
        if self.maildir is not None:
            envelope = {
                "mail_from": received.mail_from,
                "rcpt_tos": list(received.rcpt_tos),
                "auth_user": received.auth_user,
            }
            _write_new(self.maildir / f"{number}.eml", received.data)
            _write_new(self.maildir / f"{number}.json", json.dumps(envelope, indent=2).encode())

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The messages received so far, once there are at least ``count`` (a delivery is already done when
        the client's DATA got its reply, so this normally returns at once)."""
        with self._lock:
            self._lock.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
            return list(self.messages)


def unused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (a connection to it is refused)."""
    with socket.create_server((HOST, 0)) as probe:
        return probe.getsockname()[1]


def _write_new(path: Path, data: bytes) -> None:
    """Write via a hidden temp name and rename, so a reader polling the directory never sees half a file."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_bytes(data)
    temp.rename(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--mode", choices=MODES, default="plain")
    parser.add_argument("--port", type=int, default=0, help="0 (default): a free port, written to --port-file")
    parser.add_argument("--port-file", help="write the port here once the server listens")
    parser.add_argument("--pidfile", help="write this process's PID here once the server listens")
    parser.add_argument("--maildir", help="write received messages here as N.eml + N.json")
    parser.add_argument("--cert-dir", help="certificates (generated when missing); needed by the TLS modes")
    parser.add_argument("--user", default="smgr")
    parser.add_argument("--password", default="s3cret")
    parser.add_argument("--refuse", action="append", default=[], metavar="ADDRESS", help="answer 550 to RCPT TO this")
    parser.add_argument("--auth-mechanism", action="append", metavar="PLAIN|LOGIN", help="offer only these")
    args = parser.parse_args(argv)

    server = SmtpServer(
        args.mode,
        port=args.port,
        cert_dir=args.cert_dir,
        user=args.user,
        password=args.password,
        refuse=args.refuse,
        maildir=args.maildir,
        auth_mechanisms=args.auth_mechanism or ("PLAIN", "LOGIN"),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    if args.pidfile:
        _write_new(Path(args.pidfile), f"{os.getpid()}\n".encode())
    if args.port_file:
        _write_new(Path(args.port_file), f"{server.port}\n".encode())
    print(f"smtp_server: {args.mode} on {HOST}:{server.port}", flush=True)
    while not stop.wait(1):
        pass
    server.stop()
    if args.pidfile:
        Path(args.pidfile).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
