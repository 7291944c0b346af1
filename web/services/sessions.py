"""Session life cycle on top of web.security: refresh rotation with reuse detection, logout,
the user's session list and revocation.

A session is one refresh-token family. Every refresh spends the presented token and issues its
successor. A spent token presented again means it was copied: the whole family is revoked
(ASVS 5 10.4.5), unless it is the immediate predecessor presented within a few seconds — two
tabs refreshing at once — which answers 200 without new cookies (the browser already holds
the successor).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, after_this_request, g, request
from sqlalchemy import exists, select

from common.crypto import token_hash
from models import RefreshToken, User, UserSession
from web.errors import ApiError
from web.extensions import db
from web.security import (
    audit,
    clear_session_cookies,
    client_ip,
    load_current_user,
    new_refresh_token,
    refresh_cookie_name,
    revoke_sessions,
    set_session_cookies,
    settings,
    user_agent,
)

REUSE_GRACE = timedelta(seconds=10)
SESSION_ENDED = "Your session has ended; sign in again."


@dataclass(frozen=True)
class Refreshed:
    user: User
    session: UserSession
    rotated: bool


def _clear_cookies_on_response() -> None:
    @after_this_request
    def _clear(response: Response) -> Response:
        clear_session_cookies(response)
        return response


def _ended(code: str = "session_ended", message: str = SESSION_ENDED, status: int = 401) -> ApiError:
    _clear_cookies_on_response()
    return ApiError(status, code, message)


def _successor_used(token: RefreshToken) -> bool:
    return bool(
        db.execute(
            select(
                exists().where(
                    RefreshToken.session_id == token.session_id,
                    RefreshToken.id > token.id,
                    RefreshToken.used_at.is_not(None),
                )
            )
        ).scalar()
    )


def _revoke_family(session: UserSession, reason: str, now: datetime) -> None:
    session.revoked_at = now
    session.revoked_reason = reason


def refresh(response: Response, now: datetime | None = None) -> Refreshed:
    """Rotate the refresh token of the request's cookie and set new session cookies."""
    now = now or datetime.now(UTC)
    raw = request.cookies.get(refresh_cookie_name(), "")
    if not raw or len(raw) > 256:
        raise _ended("unauthorized", "Sign in to continue.")
    token = db.execute(
        select(RefreshToken).where(RefreshToken.token_hash == token_hash(raw)).with_for_update()
    ).scalar_one_or_none()
    if token is None:
        raise _ended("unauthorized", "Sign in to continue.")
    session = db.get(UserSession, token.session_id, with_for_update=True)
    if session is None or session.revoked_at is not None or session.expires_at <= now:
        raise _ended()
    user = db.get(User, session.user_id)
    if user is None:
        raise _ended()
    if token.used_at is not None:
        if token.used_at > now - REUSE_GRACE and not _successor_used(token):
            return Refreshed(user, session, rotated=False)
        _revoke_family(session, "refresh_reuse", now)
        audit(
            "auth.refresh_reuse",
            outcome="denied",
            actor_type="user",
            actor_id=str(user.id),
            target_type="session",
            target_id=str(session.id),
        )
        from web.services.auth import security_notice

        security_notice(user, "A sign-in token of your account was used twice, so that session was ended.")
        db.commit()
        raise _ended()
    if session.last_seen_at < now - timedelta(minutes=settings().session_idle_minutes):
        _revoke_family(session, "idle", now)
        db.commit()
        raise _ended()
    if user.status != "active":
        raise _ended("account_disabled", "This account is disabled.", 403)
    token.used_at = now
    session.last_seen_at = now
    session.ip = client_ip()
    session.user_agent = user_agent()
    set_session_cookies(response, user, session, new_refresh_token(session))
    db.commit()
    return Refreshed(user, session, rotated=True)


def _session_from_refresh_cookie() -> UserSession | None:
    raw = request.cookies.get(refresh_cookie_name(), "")
    if not raw or len(raw) > 256:
        return None
    token = db.execute(select(RefreshToken).where(RefreshToken.token_hash == token_hash(raw))).scalar_one_or_none()
    return db.get(UserSession, token.session_id) if token is not None else None


def logout(response: Response) -> None:
    """End the caller's session (found by the access cookie, else the refresh cookie)."""
    user = load_current_user(optional=True)
    session = g.get("current_session") if user is not None else _session_from_refresh_cookie()
    if session is not None and session.revoked_at is None:
        session.revoked_at = datetime.now(UTC)
        session.revoked_reason = "logout"
        audit(
            "auth.logout",
            actor_type="user",
            actor_id=str(session.user_id),
            target_type="session",
            target_id=str(session.id),
        )
        db.commit()
    clear_session_cookies(response)


def logout_all(user: User, response: Response) -> int:
    """End every session of the user, this one included."""
    count = revoke_sessions(user.id, "logout_all")
    audit("auth.logout_all", target_type="user", target_id=user.id, details={"sessions": count})
    db.commit()
    clear_session_cookies(response)
    return count


def device_name(ua: str | None) -> str:
    """A short human name for a User-Agent ("Firefox on Windows")."""
    if not ua:
        return "Unknown device"
    browser = next(
        (
            name
            for pattern, name in (
                (r"Edg/", "Edge"),
                (r"OPR/|Opera", "Opera"),
                (r"Firefox/", "Firefox"),
                (r"Chrome/|Chromium/|CriOS/", "Chrome"),
                (r"Safari/", "Safari"),
                (r"python|curl|httpie|Werkzeug", "API client"),
            )
            if re.search(pattern, ua, re.I)
        ),
        "Browser",
    )
    system = next(
        (
            name
            for pattern, name in (
                (r"iPhone|iPad|iOS", "iOS"),
                (r"Android", "Android"),
                (r"Windows", "Windows"),
                (r"Mac OS X|Macintosh", "macOS"),
                (r"CrOS", "ChromeOS"),
                (r"Linux", "Linux"),
            )
            if re.search(pattern, ua)
        ),
        None,
    )
    return f"{browser} on {system}" if system else browser


def list_sessions(user: User, current: UserSession | None, now: datetime | None = None) -> list[dict[str, Any]]:
    """The user's live sessions, newest activity first."""
    now = now or datetime.now(UTC)
    rows = db.execute(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None), UserSession.expires_at > now)
        .order_by(UserSession.last_seen_at.desc())
    ).scalars()
    return [
        {
            "id": str(row.id),
            "device": device_name(row.user_agent),
            "user_agent": row.user_agent,
            "ip": row.ip,
            "created_at": row.created_at,
            "last_seen_at": row.last_seen_at,
            "expires_at": row.expires_at,
            "current": current is not None and row.id == current.id,
            "impersonated": bool(row.impersonator_id),
        }
        for row in rows
    ]


def revoke_one(user: User, session_id: uuid.UUID, current: UserSession | None, response: Response) -> None:
    """End one of the user's own sessions (404 for anyone else's)."""
    session = db.get(UserSession, session_id)
    if session is None or session.user_id != user.id or session.revoked_at is not None:
        raise ApiError(404, "not_found", "No such session.")
    session.revoked_at = datetime.now(UTC)
    session.revoked_reason = "revoked_by_user"
    audit("auth.session_revoked", target_type="session", target_id=str(session.id))
    db.commit()
    if current is not None and current.id == session.id:
        clear_session_cookies(response)
