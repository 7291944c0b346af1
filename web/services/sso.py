"""CRM → platform SSO impersonation: a one-time hand-off token, then a capped impersonation session.

The CRM asks server-to-server (API key with scope `sso`, or a service JWT: HS256 with
CRM_SSO_SECRET, `aud` = "platform-sso", at most 60 s, `jti` single use). It gets an opaque token
(120 s, single use, stored as SHA-256) inside a URL the admin's browser opens; consuming it starts
a session of the client with the admin as `act` (web.security.start_session caps it at 60 min).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from flask import Response, g, request
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert

from common.crypto import new_token, token_hash
from models import SsoToken, UsedServiceJti, User
from web.errors import ApiError
from web.extensions import db
from web.security import audit, client_ip, settings, start_session, user_agent
from web.services.api_keys import require_api_key

log = logging.getLogger(__name__)

TOKEN_SECONDS = 120
SERVICE_JWT_MAX_SECONDS = 60
SERVICE_JWT_AUDIENCE = "platform-sso"
SERVICE_JWT_LEEWAY_S = 5
MIN_REASON_LENGTH = 3


@dataclass(frozen=True)
class SsoCaller:
    """Who asked for the hand-off: an API key or a service JWT."""

    via: str
    api_key_id: int | None = None
    jti: str | None = None
    issuer: str | None = None


@dataclass(frozen=True)
class HandOff:
    token: str
    url: str
    expires_at: datetime


class ConsumeFailed(Exception):
    """A hand-off token that cannot start a session (unknown, used, expired or inactive target)."""

    STATUS = {"unknown": 400, "used": 410, "expired": 410, "inactive": 403}

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = self.STATUS[reason]


# --- authenticating the CRM -------------------------------------------------------------------


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def looks_like_jwt(value: str) -> bool:
    return value.startswith("eyJ") and value.count(".") == 2


def authenticate_caller() -> SsoCaller:
    """A service JWT when the bearer value is one, otherwise an API key with the `sso` scope."""
    value = _bearer()
    if looks_like_jwt(value):
        claims = verify_service_jwt(value)
        issuer = str(claims.get("iss") or "crm")[:64]
        g.actor_override = {"type": "crm", "id": f"jwt:{issuer}"}
        return SsoCaller(via="service_jwt", jti=str(claims["jti"]), issuer=issuer)
    _check_api_key()
    return SsoCaller(via="api_key", api_key_id=getattr(g.get("api_key"), "id", None))


@require_api_key("sso")
def _check_api_key() -> None:
    """Authenticate with a CRM API key holding the `sso` scope (sets g.api_key; per-key rate limit)."""


def _jwt_refused(message: str) -> ApiError:
    audit("sso.service_jwt_refused", outcome="denied", details={"why": message}, actor_type="crm", actor_id="jwt")
    db.commit()
    return ApiError(401, "invalid_service_token", message)


def verify_service_jwt(token: str, now: datetime | None = None) -> dict[str, Any]:
    """Check a CRM service JWT (HS256, aud, ≤ 60 s, unused jti) and burn its jti."""
    secret = settings().crm_sso_secret
    if not secret:
        raise _jwt_refused("Service tokens are not enabled (CRM_SSO_SECRET is unset).")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=SERVICE_JWT_AUDIENCE,
            leeway=SERVICE_JWT_LEEWAY_S,
            options={"require": ["exp", "iat", "jti"]},
        )
    except jwt.PyJWTError as exc:
        raise _jwt_refused(f"The service token is not valid: {type(exc).__name__}.") from exc
    moment = now or datetime.now(UTC)
    try:
        iat, exp, jti = int(claims["iat"]), int(claims["exp"]), str(claims["jti"])
    except (TypeError, ValueError) as exc:
        raise _jwt_refused("The service token has malformed claims.") from exc
    if exp - iat > SERVICE_JWT_MAX_SECONDS:
        raise _jwt_refused(f"Service tokens may live at most {SERVICE_JWT_MAX_SECONDS} seconds.")
    if iat > moment.timestamp() + SERVICE_JWT_LEEWAY_S or not 8 <= len(jti) <= 128:
        raise _jwt_refused("The service token has an unacceptable iat or jti.")
    _burn_jti(jti, datetime.fromtimestamp(exp, UTC) + timedelta(seconds=SERVICE_JWT_LEEWAY_S), moment)
    return claims


def _burn_jti(jti: str, expires_at: datetime, now: datetime) -> None:
    db.execute(delete(UsedServiceJti).where(UsedServiceJti.expires_at < now))
    inserted = db.execute(
        insert(UsedServiceJti)
        .values(jti=jti, expires_at=expires_at, created_at=now)
        .on_conflict_do_nothing(index_elements=["jti"])
        .returning(UsedServiceJti.jti)
    ).scalar()
    if inserted is None:
        db.rollback()
        raise _jwt_refused("This service token was already used.")
    db.commit()


# --- the hand-off token ----------------------------------------------------------------------


def issue_hand_off(admin_id: str, user_id: int, reason: str, caller: SsoCaller) -> HandOff:
    """Make the single-use token for one admin to act as one active client."""
    user = db.get(User, user_id)
    if user is None or user.role != "client":
        _refuse_request(admin_id, user_id, reason, caller, "unknown_client")
        raise ApiError(404, "user_not_found", "No such client.")
    if user.status != "active":
        _refuse_request(admin_id, user_id, reason, caller, "inactive_client")
        raise ApiError(422, "user_inactive", "Only active clients can be impersonated.")
    token = new_token(32)
    now = datetime.now(UTC)
    row = SsoToken(
        token_hash=token_hash(token),
        admin_id=admin_id,
        user_id=user.id,
        reason=reason,
        created_at=now,
        expires_at=now + timedelta(seconds=TOKEN_SECONDS),
        requested_ip=client_ip(),
        api_key_id=caller.api_key_id,
    )
    db.add(row)
    db.flush()
    details = {"admin_id": admin_id, "reason": reason, "handoff_id": row.id, **_caller_details(caller)}
    audit("sso.impersonation_requested", target_type="user", target_id=user.id, details=details)
    db.commit()
    url = f"{settings().app_base_url.rstrip('/')}/api/sso/consume?token={token}"
    return HandOff(token=token, url=url, expires_at=row.expires_at)


def _caller_details(caller: SsoCaller) -> dict[str, Any]:
    # (audit details drop values under names containing "key" or "token", hence "credential")
    data: dict[str, Any] = {"via": caller.via, "crm_ip": client_ip()}
    if caller.api_key_id is not None:
        data["credential"] = f"api_key:{caller.api_key_id}"
    if caller.jti is not None:
        data["credential"] = f"jwt:{caller.issuer}:{caller.jti}"
    return data


def _refuse_request(admin_id: str, user_id: int, reason: str, caller: SsoCaller, why: str) -> None:
    details = {"admin_id": admin_id, "reason": reason, "refused": why, **_caller_details(caller)}
    audit("sso.impersonation_requested", outcome="denied", target_type="user", target_id=user_id, details=details)
    db.commit()


# --- consuming it ----------------------------------------------------------------------------


def consume(token: str, response: Response) -> SsoToken:
    """Burn the token and start the impersonation session on `response`; raise ConsumeFailed."""
    now = datetime.now(UTC)
    burned = None
    if token and len(token) <= 128:
        burned = db.execute(
            update(SsoToken)
            .where(SsoToken.token_hash == token_hash(token), SsoToken.used_at.is_(None), SsoToken.expires_at > now)
            .values(used_at=now)
            .returning(SsoToken.id)
        ).scalar()
    if burned is None:
        raise _consume_failed(token, now)
    row = db.get(SsoToken, burned)
    assert row is not None
    user = db.get(User, row.user_id)
    if user is None or user.status != "active" or user.role != "client":
        db.commit()  # the token stays burned: it was presented once
        raise _fail("inactive", row)
    session = start_session(response, user, impersonator_id=row.admin_id, impersonation_reason=row.reason)
    row.session_id = session.id
    details = {
        "admin_id": row.admin_id,
        "reason": row.reason,
        "handoff_id": row.id,
        "session_id": str(session.id),
        "browser_ip": client_ip(),
        "user_agent": user_agent(),
    }
    audit(
        "sso.impersonation_started",
        actor_type="crm_admin",
        actor_id=row.admin_id,
        target_type="user",
        target_id=user.id,
        details=details,
    )
    db.commit()
    return row


def _consume_failed(token: str, now: datetime) -> ConsumeFailed:
    row = None
    if token and len(token) <= 128:
        row = db.execute(select(SsoToken).where(SsoToken.token_hash == token_hash(token))).scalar_one_or_none()
    if row is None:
        return _fail("unknown", None)
    return _fail("used" if row.used_at is not None else "expired", row)


def _fail(reason: str, row: SsoToken | None) -> ConsumeFailed:
    details: dict[str, Any] = {"why": reason, "browser_ip": client_ip()}
    if row is not None:
        details.update({"admin_id": row.admin_id, "handoff_id": row.id, "reason": row.reason})
    audit(
        "sso.consume_failed",
        outcome="denied",
        actor_type="crm_admin" if row is not None else "anonymous",
        actor_id=row.admin_id if row is not None else None,
        target_type="user" if row is not None else None,
        target_id=row.user_id if row is not None else None,
        details=details,
    )
    db.commit()
    return ConsumeFailed(reason)
