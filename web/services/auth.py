"""Accounts: registration, e-mail verification, login, passwords and the profile.

Answers never tell whether an address has an account (registration, resend and forgot all
answer the same; the mailbox owner learns the rest by mail), and a login with an unknown
address costs the same password-hash time as one with a wrong password.

Functions for other parts of the platform (each commits its own change):
- send_password_reset(user, *, initiated_by): reset mail + every session ended (CRM, admin).
- send_set_password_mail(user): a CRM-created user without a password gets a link to set one.
- security_notice(user, event): a short "this happened on your account" mail (after commit).
- ensure_live_account(user, actor): ask the engine for the live USD account (idempotent).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from flask import Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from common.outbox import add_events
from models import Account, Instrument, User, UserSession
from web.errors import ApiError
from web.extensions import db
from web.security import (
    actor,
    audit,
    client_ip,
    find_user_by_email,
    revoke_sessions,
    settings,
    start_session,
)
from web.services import tokens
from web.services.mailer import link, queue_mail
from web.services.password_policy import password_problems
from web.services.passwords import hash_password, needs_rehash, verify_password

log = logging.getLogger(__name__)

REGISTERED = "Check your inbox: we sent a link to confirm your e-mail address."
MAIL_SENT = "If an account exists for this address, we have sent it an e-mail."
BAD_CREDENTIALS = "The e-mail address or password is not correct."
BAD_TOKEN = "This link is invalid or has expired; ask for a new one."  # noqa: S105 - a message, not a secret
DEFAULT_WATCHLIST_SIZE = 12
DEFAULT_PREFERENCES: dict[str, Any] = {"language": "en", "theme": "system"}


@dataclass(frozen=True)
class LoginResult:
    """Either a signed-in user or the token of the pending second step."""

    user: User | None = None
    mfa_token: str | None = None


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _user_event(user: User, changed: list[str] | None = None) -> dict[str, Any]:
    from web.services.crm import user_event_data  # one shape of user.* webhooks for every writer

    return user_event_data(user, changed)


def enforce_password_policy(password: str, *, email: str, names: tuple[str | None, ...], field: str) -> None:
    """Refuse a short, long, common or guessable password with 400 weak_password."""
    problems = password_problems(password, email=email, names=names, extra_words=(settings().app_name,))
    if problems:
        raise ApiError(400, "weak_password", problems[0], fields={field: problems})


def security_notice(user: User, event: str) -> None:
    """Mail the user that something happened to their account (sent after commit)."""
    queue_mail(
        "security_notice",
        user.email,
        first_name=user.first_name,
        event=event,
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        ip=client_ip(),
    )


def _send_verification(user: User, template: str = "verify_email") -> None:
    url = link("/verify-email", tokens.issue(user, tokens.VERIFY_EMAIL))
    if template == "verify_email":
        queue_mail("verify_email", user.email, links=[url], first_name=user.first_name, url=url)
    else:
        queue_mail(template, user.email, links=[url], first_name=user.first_name, verify_url=url)


# --- registration and verification -----------------------------------------------------------


def register(data: dict[str, Any]) -> None:
    """Create the client (or mail the owner of a taken address); the answer is the same either way."""
    email = data["email"]
    names = (data.get("first_name"), data.get("last_name"))
    enforce_password_policy(data["password"], email=email, names=names, field="password")
    # Hash before looking the address up, so a taken address costs the same time.
    password_hash = hash_password(data["password"])
    existing = find_user_by_email(email)
    if existing is not None:
        _registration_for_existing(existing)
        return
    now = datetime.now(UTC)
    user = User(
        email=email,
        password_hash=password_hash,
        first_name=data["first_name"],
        last_name=data["last_name"],
        country=data.get("country"),
        phone=data.get("phone"),
        role="client",
        status="active",
        password_changed_at=now,
        flags={},
        limits={},
        preferences=dict(DEFAULT_PREFERENCES),
    )
    db.add(user)
    try:
        db.flush()
    except IntegrityError:  # registered by a concurrent request a moment ago
        db.rollback()
        existing = find_user_by_email(email)
        if existing is None:
            raise
        _registration_for_existing(existing)
        return
    add_events(db.connection(), [("user.created", _user_event(user))])
    audit("auth.register", actor_type="user", actor_id=str(user.id), target_type="user", target_id=user.id)
    _send_verification(user)
    db.commit()
    ensure_live_account(user, {**actor(), "type": "user", "id": str(user.id)})


def _registration_for_existing(user: User) -> None:
    if not user.email_verified and user.status == "active":
        _send_verification(user, template="account_exists")
    else:
        queue_mail("account_exists", user.email, first_name=user.first_name, verify_url=None)
    audit("auth.register_duplicate", outcome="denied", target_type="user", target_id=user.id)
    db.commit()


def live_account_command_id(user_id: int) -> str:
    """The one command id for a user's live account: the engine opens it at most once."""
    return f"open-live-{user_id}"


def ensure_live_account(user: User, requested_by: dict[str, Any]) -> None:
    """Ask the engine for the user's live USD account unless it exists (logged, never raised)."""
    from web import get_redis
    from web.services.commands import request_open_account

    if db.execute(select(Account.id).where(Account.user_id == user.id, Account.type == "live")).first():
        return
    try:
        request_open_account(
            get_redis(),
            db,
            settings().engine_shards,
            user_id=user.id,
            account_type="live",
            actor=requested_by,
            command_id=live_account_command_id(user.id),
        )
        db.commit()
    except Exception:  # the user exists; ops re-request the account (same command id, so no duplicate)
        db.rollback()
        log.exception("could not ask the engine for the live account of user %s", user.id)


def verify_email(token: str) -> None:
    """Spend a verification token and mark the address verified."""
    try:
        valid = tokens.check(token, (tokens.VERIFY_EMAIL,))
    except tokens.TokenRefused as refused:
        _token_refused("auth.email_verify_failed", refused)
    tokens.spend(valid)
    user = valid.user
    if not user.email_verified:
        user.email_verified_at = datetime.now(UTC)
        add_events(db.connection(), [("email.verified", _user_event(user))])
        audit("auth.email_verified", actor_type="user", actor_id=str(user.id), target_type="user", target_id=user.id)
    db.commit()


def _token_refused(action: str, refused: tokens.TokenRefused) -> NoReturn:
    db.rollback()
    audit(
        action,
        outcome="denied",
        target_type="user" if refused.user_id else None,
        target_id=refused.user_id,
        details={"reason": refused.reason},
    )
    db.commit()
    raise ApiError(400, "invalid_token", BAD_TOKEN, fields={"token": [BAD_TOKEN]})


def resend_verification(email: str) -> None:
    """Send a fresh verification link if the address has an unverified account."""
    user = find_user_by_email(email)
    if user is None or user.email_verified or user.status != "active":
        return
    _send_verification(user)
    audit("auth.verification_resent", target_type="user", target_id=user.id)
    db.commit()


# --- login -----------------------------------------------------------------------------------


def login(email: str, password: str) -> LoginResult:
    """Check the password; answer with the user, or with a 2FA challenge when 2FA is on."""
    from web.services.two_factor import create_challenge

    user = find_user_by_email(email)
    if not verify_password(user.password_hash if user else None, password):
        details = {"reason": "wrong_password"} if user else {"reason": "unknown_email", "email": email}
        _login_refused(user, details)
        raise ApiError(401, "invalid_credentials", BAD_CREDENTIALS)
    assert user is not None and user.password_hash is not None
    if user.status != "active":
        _login_refused(user, {"reason": "disabled"})
        raise ApiError(403, "account_disabled", "This account is disabled.")
    if not user.email_verified:
        _login_refused(user, {"reason": "email_not_verified"})
        raise ApiError(403, "email_not_verified", "Confirm your e-mail address first; we can send the link again.")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if user.totp_enabled:
        audit(
            "auth.login_mfa_required", target_type="user", target_id=user.id, actor_type="user", actor_id=str(user.id)
        )
        db.commit()
        return LoginResult(mfa_token=create_challenge(user))
    db.commit()
    return LoginResult(user=user)


def _login_refused(user: User | None, details: dict[str, Any]) -> None:
    audit(
        "auth.login_failed",
        outcome="failure",
        target_type="user" if user else None,
        target_id=user.id if user else None,
        details=details,
    )
    db.commit()


def complete_login(user: User, response: Response, method: str) -> UserSession:
    """Start the session (cookies on the response) and record the login."""
    session = start_session(response, user)
    audit(
        "auth.login",
        actor_type="user",
        actor_id=str(user.id),
        target_type="session",
        target_id=str(session.id),
        details={"method": method},
    )
    db.commit()
    return session


def notify_lockout(email: str) -> int | None:
    """Tell the owner of the address that sign-in is paused after many failures (caller commits)."""
    user = find_user_by_email(email) if email else None
    if user is None:
        return None
    security_notice(user, "Several wrong passwords were entered for your account, so signing in is paused for a while.")
    return user.id


# --- passwords -------------------------------------------------------------------------------


def _send_reset(user: User, initiated_by: str) -> None:
    url = link("/reset-password", tokens.issue(user, tokens.RESET_PASSWORD))
    queue_mail(
        "reset_password", user.email, links=[url], first_name=user.first_name, url=url, initiated_by=initiated_by
    )


def forgot_password(email: str) -> None:
    """Mail a reset link if the address has an active account (the answer never says)."""
    user = find_user_by_email(email)
    if user is None or user.status != "active":
        audit(
            "auth.password_reset_requested",
            outcome="ignored",
            details={"email": email, "reason": "unknown_email" if user is None else "disabled"},
        )
        db.commit()
        return
    _send_reset(user, "self")
    audit("auth.password_reset_requested", target_type="user", target_id=user.id, details={"initiated_by": "self"})
    db.commit()


def reset_password(token: str, password: str) -> None:
    """Set a new password from a reset (or first-password) link; every session ends, no auto-login."""
    try:
        valid = tokens.check(token, tokens.PASSWORD_PURPOSES)
    except tokens.TokenRefused as refused:
        _token_refused("auth.password_reset_failed", refused)
    user = valid.user
    if user.status != "active":
        _token_refused("auth.password_reset_failed", tokens.TokenRefused("disabled", user.id))
    # Checked before the token is spent: a refused password leaves the link usable.
    enforce_password_policy(password, email=user.email, names=(user.first_name, user.last_name), field="password")
    now = datetime.now(UTC)
    tokens.spend(valid, now)
    tokens.void(user.id, tokens.PASSWORD_PURPOSES, now)
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    if not user.email_verified:  # the link reached the mailbox: that proves the address
        user.email_verified_at = now
        add_events(db.connection(), [("email.verified", _user_event(user))])
    revoke_sessions(user.id, "password_reset")
    audit(
        "auth.password_reset",
        actor_type="user",
        actor_id=str(user.id),
        target_type="user",
        target_id=user.id,
        details={"purpose": valid.row.purpose},
    )
    security_notice(user, "The password of your account was changed.")
    db.commit()


def change_password(user: User, session: UserSession, current: str, new: str) -> None:
    """Change the password (the current one is required); the other sessions end."""
    if not verify_password(user.password_hash, current):
        audit("auth.password_change_failed", outcome="failure", target_type="user", target_id=user.id)
        db.commit()
        raise ApiError(
            400,
            "invalid_credentials",
            "The current password is not correct.",
            fields={"current_password": ["The current password is not correct."]},
        )
    enforce_password_policy(new, email=user.email, names=(user.first_name, user.last_name), field="new_password")
    user.password_hash = hash_password(new)
    user.password_changed_at = datetime.now(UTC)
    ended = revoke_sessions(user.id, "password_changed", except_session=session.id)
    audit("auth.password_changed", target_type="user", target_id=user.id, details={"sessions_ended": ended})
    security_notice(user, "The password of your account was changed.")
    db.commit()


def send_password_reset(user: User, *, initiated_by: str) -> None:
    """Mail the user a reset link and end every session now (CRM or admin initiated); commits."""
    _send_reset(user, initiated_by)
    ended = revoke_sessions(user.id, "password_reset_requested")
    audit(
        "auth.password_reset_requested",
        target_type="user",
        target_id=user.id,
        details={"initiated_by": initiated_by, "sessions_ended": ended},
    )
    db.commit()


def send_set_password_mail(user: User) -> None:
    """Mail a user created without a password (CRM) a 72-hour link to choose one; commits."""
    url = link("/reset-password", tokens.issue(user, tokens.SET_PASSWORD))
    queue_mail("set_password", user.email, links=[url], first_name=user.first_name, url=url)
    audit("auth.set_password_mail_sent", target_type="user", target_id=user.id)
    db.commit()


# --- the profile -----------------------------------------------------------------------------


def default_watchlist() -> list[str]:
    return list(
        db.execute(
            select(Instrument.symbol)
            .where(Instrument.enabled.is_(True))
            .order_by(Instrument.id)
            .limit(DEFAULT_WATCHLIST_SIZE)
        ).scalars()
    )


def preferences(user: User) -> dict[str, Any]:
    prefs = {**DEFAULT_PREFERENCES, **(user.preferences or {})}
    if "watchlist" not in prefs:
        prefs["watchlist"] = default_watchlist()
    return prefs


def profile(user: User, session: UserSession | None) -> dict[str, Any]:
    """What GET /api/auth/me answers."""
    return {
        "id": user.id,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "phone": user.phone,
        "country": user.country,
        "role": user.role,
        "email_verified": user.email_verified,
        "totp_enabled": user.totp_enabled,
        "impersonated_by": session.impersonator_id if session is not None else None,
        "preferences": preferences(user),
        "created_at": user.created_at,
    }


PROFILE_FIELDS = ("first_name", "last_name", "phone", "country")


def update_profile(user: User, data: dict[str, Any]) -> None:
    """Change profile fields and preferences; profile changes go to the CRM as user.updated."""
    changed = [name for name in PROFILE_FIELDS if name in data and data[name] != getattr(user, name)]
    for name in changed:
        setattr(user, name, data[name])
    prefs = data.get("preferences")
    if prefs:
        _check_watchlist(prefs.get("watchlist"))
        user.preferences = {**(user.preferences or {}), **prefs}  # a new dict, so the JSONB change is seen
    if changed:
        user.updated_at = datetime.now(UTC)
        add_events(db.connection(), [("user.updated", _user_event(user, changed))])
        audit("user.profile_updated", target_type="user", target_id=user.id, details={"fields": changed})
    db.commit()


def _check_watchlist(watchlist: list[str] | None) -> None:
    if not watchlist:
        return
    known = set(db.execute(select(Instrument.symbol).where(Instrument.symbol.in_(watchlist))).scalars())
    unknown = [symbol for symbol in watchlist if symbol not in known]
    if unknown:
        raise ApiError(
            400,
            "validation_error",
            "The watchlist names unknown symbols.",
            fields={"preferences": {"watchlist": [f"Unknown symbol: {s}" for s in unknown]}},
        )
