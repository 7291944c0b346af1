"""A real local SMTP server for tests (aiosmtpd), optionally with AUTH and STARTTLS.

with smtp_sink() as sink:            # SMTP_URL = sink.url
    ...
    message = sink.wait_for("jane@example.test", "Confirm")
    url = links_of(message)[0]
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support import free_port, wait_for

LINK = re.compile(r"https?://[^\s\"'<>]+")


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append(message)  # type: ignore[arg-type]
            self.sink.envelopes.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos)})
            self.sink.tls_used.append(bool(session.ssl))
            self.sink.logins.append(getattr(session, "auth_data", None))
        return "250 Message accepted"


class _Authenticator:
    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username.encode(), password.encode()

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            self.username,
            self.password,
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class SmtpSink:
    """Received messages, in arrival order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[dict[str, Any]] = []
        self.tls_used: list[bool] = []
        self.logins: list[Any] = []
        self.url = ""

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def wait_for(self, address: str, subject: str = "", timeout: float = 30.0, count: int = 1) -> EmailMessage:
        """The `count`-th message to the address whose subject contains `subject`."""

        def found() -> EmailMessage | None:
            matches = [m for m in self.to(address) if subject.lower() in str(m["Subject"]).lower()]
            return matches[count - 1] if len(matches) >= count else None

        message = wait_for(found, timeout=timeout, what=f"mail to {address} ({subject!r})")
        assert message is not None
        return message


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "no text/plain part"
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "no text/html part"
    return str(part.get_content())


def links_of(message: EmailMessage) -> list[str]:
    return LINK.findall(text_of(message))


def token_from(message: EmailMessage, path: str) -> str:
    """The token of the first link to `path` in the mail's plain text."""
    for url in links_of(message):
        if f"{path}?token=" in url:
            return url.split("?token=", 1)[1]
    raise AssertionError(f"no {path} link in: {text_of(message)}")


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (the certificate is its own CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@contextmanager
def smtp_sink(
    *, username: str | None = None, password: str | None = None, tls_files: tuple[Path, Path] | None = None
) -> Iterator[SmtpSink]:
    """Run an SMTP server on a free port; with tls_files it offers STARTTLS and requires it for AUTH."""
    sink = SmtpSink()
    port = free_port()
    kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": port}
    if username is not None:
        kwargs["authenticator"] = _Authenticator(username, password or "")
        kwargs["auth_require_tls"] = tls_files is not None
    if tls_files is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(tls_files[0]), str(tls_files[1]))
        kwargs["tls_context"] = context
        kwargs["require_starttls"] = True
    controller = Controller(_Handler(sink), **kwargs)
    controller.start()
    credentials = f"{quote(username, safe='')}:{quote(password or '', safe='')}@" if username is not None else ""
    sink.url = f"smtp://{credentials}127.0.0.1:{port}" + ("?starttls=1" if tls_files else "")
    try:
        yield sink
    finally:
        controller.stop()
