"""The mail job: deliver one rendered message over SMTP, or write it to VAR_DIR/mail/ when
SMTP_URL is unset (development), logging its links so a developer can follow them."""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from config import Settings, get_settings

log = logging.getLogger("workers.mail")

SMTP_TIMEOUT_S = 30
REQUIRED_FIELDS = ("to", "subject", "text", "html")


class MailConfigError(ValueError):
    """SMTP_URL cannot be understood."""


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    starttls: bool


def parse_smtp_url(url: str) -> SmtpTarget:
    """Read smtp://user:pass@host:port[?starttls=1] or smtps://user:pass@host:port."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MailConfigError("SMTP_URL must look like smtp://user:pass@host:587?starttls=1 or smtps://host:465")
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes", "on")
    implicit = parts.scheme == "smtps"
    try:
        port = parts.port or (465 if implicit else (587 if starttls else 25))
    except ValueError as exc:
        raise MailConfigError("SMTP_URL has an invalid port") from exc
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        implicit_tls=implicit,
        starttls=starttls and not implicit,
    )


def build_message(message: dict[str, Any], mail_from: str, now: datetime | None = None) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML as the richer part."""
    missing = [name for name in REQUIRED_FIELDS if not message.get(name)]
    if missing:
        raise ValueError(f"mail message lacks {', '.join(missing)}")
    email = EmailMessage()
    email["From"] = mail_from
    email["To"] = message["to"]
    email["Subject"] = message["subject"]
    email["Date"] = format_datetime(now or datetime.now(UTC))
    email["Message-ID"] = make_msgid(domain=_domain_of(mail_from))
    email.set_content(message["text"])
    email.add_alternative(message["html"], subtype="html")
    return email


def _domain_of(address: str) -> str:
    match = re.search(r"@([A-Za-z0-9.\-]+)", address)
    return match.group(1) if match else "localhost"


def send_smtp(email: EmailMessage, target: SmtpTarget) -> None:
    """Hand the message to the SMTP server (TLS verified against the system's CAs)."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if target.implicit_tls:
        smtp = smtplib.SMTP_SSL(target.host, target.port, timeout=SMTP_TIMEOUT_S, context=context)
    else:
        smtp = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT_S)
    with smtp:
        smtp.ehlo()
        if target.starttls:
            smtp.starttls(context=context)
            smtp.ehlo()
        if target.username:
            smtp.login(target.username, target.password or "")
        smtp.send_message(email)


def write_to_dir(email: EmailMessage, directory: Path, now: datetime | None = None) -> Path:
    """Store the message as an .eml file (development mail drop)."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%f")
    path = directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
    path.write_bytes(email.as_bytes())
    return path


def deliver(message: dict[str, Any], settings: Settings | None = None) -> str:
    """The RQ job: send one message; return where it went (a failure raises, so RQ retries)."""
    settings = settings or get_settings()
    email = build_message(message, settings.mail_from)
    template = message.get("template", "mail")
    if settings.smtp_url:
        send_smtp(email, parse_smtp_url(settings.smtp_url))
        log.info("sent the %s mail over SMTP", template)
        return "smtp"
    path = write_to_dir(email, settings.var_dir / "mail")
    if settings.is_production:
        log.warning("SMTP_URL is not set: the %s mail was written to %s", template, path)
    else:
        # Development only: the links carry one-time tokens, so production never logs them.
        log.info("the %s mail was written to %s; links: %s", template, path, " ".join(message.get("links", [])))
    return str(path)
