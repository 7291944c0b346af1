"""One-time e-mail tokens (verification, password reset, first password): 256-bit, stored as
SHA-256, single use, bound to their purpose and to the e-mail address they were sent to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from common.crypto import new_token, token_hash
from models import OneTimeToken, User
from web.extensions import db

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose name
SET_PASSWORD = "set_password"  # noqa: S105 - a CRM-created user's first password; spent through /reset-password

LIFETIMES = {
    VERIFY_EMAIL: timedelta(hours=24),
    RESET_PASSWORD: timedelta(minutes=30),
    SET_PASSWORD: timedelta(hours=72),
}
PASSWORD_PURPOSES = (RESET_PASSWORD, SET_PASSWORD)


class TokenRefused(Exception):
    """The token cannot be used; `reason` is for the audit log only (clients get one message)."""

    def __init__(self, reason: str, user_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.user_id = user_id


@dataclass(frozen=True)
class ValidToken:
    row: OneTimeToken
    user: User


def issue(user: User, purpose: str, now: datetime | None = None) -> str:
    """Make a token for the user's current e-mail, voiding older unused ones of the same purpose."""
    now = now or datetime.now(UTC)
    void(user.id, purpose, now)
    token = new_token()
    db.add(
        OneTimeToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=token_hash(token),
            email=user.email,
            created_at=now,
            expires_at=now + LIFETIMES[purpose],
        )
    )
    db.flush()
    return token


def void(user_id: int, purpose: str | tuple[str, ...], now: datetime | None = None) -> None:
    """Spend every unused token of the user for the purpose(s)."""
    purposes = (purpose,) if isinstance(purpose, str) else purpose
    db.execute(
        update(OneTimeToken)
        .where(
            OneTimeToken.user_id == user_id,
            OneTimeToken.purpose.in_(purposes),
            OneTimeToken.used_at.is_(None),
        )
        .values(used_at=now or datetime.now(UTC))
    )


def check(token: str, purposes: tuple[str, ...], now: datetime | None = None) -> ValidToken:
    """Find a usable token and lock its row (the caller spends it with spend() and commits)."""
    now = now or datetime.now(UTC)
    if not token or len(token) > 128:
        raise TokenRefused("malformed")
    row = db.execute(
        select(OneTimeToken).where(OneTimeToken.token_hash == token_hash(token)).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise TokenRefused("unknown")
    if row.purpose not in purposes:
        raise TokenRefused("wrong_purpose", row.user_id)
    if row.used_at is not None:
        raise TokenRefused("used", row.user_id)
    if row.expires_at <= now:
        raise TokenRefused("expired", row.user_id)
    user = db.get(User, row.user_id)
    if user is None or user.email.lower() != row.email.lower():
        raise TokenRefused("email_changed", row.user_id)
    return ValidToken(row, user)


def spend(valid: ValidToken, now: datetime | None = None) -> None:
    """Mark the token used (it is locked by check(), so this cannot race)."""
    valid.row.used_at = now or datetime.now(UTC)
