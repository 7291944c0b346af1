"""Standard Webhooks signing: secrets, the signature header, and inbound verification.

Signed content is `{webhook-id}.{webhook-timestamp}.{body}` with HMAC-SHA256 under the
base64-decoded `whsec_` secret; the header is `v1,<base64>` entries separated by ONE space (the
standardwebhooks verifier raises ValueError on a double or trailing space). The timestamp is
integer seconds of this attempt, so a signature is made at send time, never at enqueue time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from common.crypto import decrypt, encrypt

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format prefix, not a secret
SECRET_BYTES = 32
TOLERANCE = timedelta(minutes=5)
USER_AGENT = "TradingPlatform-Webhooks/1.0"


def new_secret() -> str:
    """A fresh endpoint secret: whsec_ + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_bytes(secret: str) -> bytes:
    """The HMAC key of a whsec_ secret (unpadded base64 tolerated); ValueError if it is not one."""
    raw = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a webhook secret is whsec_ followed by base64") from exc
    if len(key) < 24:
        raise ValueError("a webhook secret needs at least 24 random bytes")
    return key


def check_secret(secret: str) -> str:
    """Validate a configured secret (e.g. CRM_WEBHOOK_SECRET) and return it trimmed."""
    secret_bytes(secret)
    return secret.strip()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64 HMAC-SHA256>` entry."""
    content = msg_id.encode() + b"." + str(int(timestamp)).encode() + b"." + body
    digest = hmac.new(secret_bytes(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """Entries for every active secret (new first), joined by exactly one space."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)


def delivery_headers(secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one delivery attempt."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": signature_header(secrets_, msg_id, timestamp, body),
    }


# --- secrets at rest ----------------------------------------------------------------------------


def key_material(data_encryption_key: str, secret_key: str) -> str:
    """What encrypts secrets at rest: DATA_ENCRYPTION_KEY, else SECRET_KEY."""
    return data_encryption_key or secret_key


def seal(secret: str, material: str) -> str:
    return encrypt(secret, material)


def unseal(sealed: str, material: str) -> str:
    return decrypt(sealed, material)


def active_secrets(
    secret_enc: str,
    previous_enc: str | None,
    previous_expires_at: datetime | None,
    material: str,
    now: datetime | None = None,
) -> list[str]:
    """The secrets an endpoint signs with now: the current one, and the previous during its overlap."""
    found = [unseal(secret_enc, material)]
    moment = now or datetime.now(UTC)
    if previous_enc and previous_expires_at is not None and previous_expires_at > moment:
        found.append(unseal(previous_enc, material))
    return found


# --- inbound verification -------------------------------------------------------------------


class InboundRefused(Exception):
    """A signed request we refuse; `reason` is one of missing_headers, stale, bad_signature, no_secret."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class VerifiedRequest:
    webhook_id: str
    timestamp: int
    body: str


def _timestamp(headers: dict[str, str], now: datetime) -> int:
    raw = headers.get("webhook-timestamp", "")
    try:
        stamp = int(raw)
    except ValueError as exc:
        raise InboundRefused("bad_timestamp", "webhook-timestamp must be integer Unix seconds.") from exc
    moment = datetime.fromtimestamp(stamp, UTC)
    if moment < now - TOLERANCE or moment > now + TOLERANCE:
        raise InboundRefused("stale", "webhook-timestamp is outside the 5-minute tolerance.")
    return stamp


def verify_inbound(
    body: bytes, headers: dict[str, str], secrets_: list[str], now: datetime | None = None
) -> VerifiedRequest:
    """Verify with the standardwebhooks library against any configured secret; raise InboundRefused.

    The JSON is parsed only after a signature matched (a bad body with a good signature is a 400).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    if not secrets_:
        raise InboundRefused("no_secret", "Inbound webhooks are not configured (CRM_INBOUND_WEBHOOK_SECRET).")
    if not all(lowered.get(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature")):
        raise InboundRefused("missing_headers", "webhook-id, webhook-timestamp and webhook-signature are required.")
    # Our own tolerance check first: it tells "stale" from "bad signature" for the audit trail.
    stamp = _timestamp(lowered, now or datetime.now(UTC))
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InboundRefused("bad_signature", "The body is not UTF-8, so no signature can match.") from exc
    for secret in secrets_:
        try:
            Webhook(secret).verify(text, lowered, json_parse=False)
        except WebhookVerificationError as exc:
            if "timestamp" in str(exc).lower():
                raise InboundRefused("stale", "webhook-timestamp is outside the 5-minute tolerance.") from exc
            continue
        except ValueError as exc:
            # The library lets ValueError escape on a malformed signature list (double space, `v1=`).
            raise InboundRefused("bad_signature", "The webhook-signature header is malformed.") from exc
        return VerifiedRequest(lowered["webhook-id"], stamp, text)
    raise InboundRefused("bad_signature", "No signature matches.")
