"""Rate limits of the auth endpoints (flask-limiter, moving window, counters in Redis).

Keys name what is limited: `ip:<addr>`, `email:<sha256 of the normalised address>` (whether or
not an account exists, so answers stay the same), `user:<id>`. Failure-only limits count a
request only when it failed, so a user who gets it right is never locked out by their own
successes. Numbers follow research/security.md §5.1 and are documented in docs/SECURITY.md.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from flask import Response, request
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address

from web.extensions import db, limiter

log = logging.getLogger(__name__)

LOGIN_PER_IP = "30 per minute;300 per hour"
LOGIN_FAILURES_PER_EMAIL = "5 per minute;20 per hour"
REGISTER_PER_IP = "10 per hour"
MAIL_PER_EMAIL = "3 per hour"
MAIL_PER_IP = "20 per hour"
TOKEN_SUBMIT_PER_IP = "30 per hour"  # noqa: S105 - a rate, not a secret
TWO_FACTOR_FAILURES_PER_USER = "5 per 5 minutes;20 per hour"
PASSWORD_FAILURES_PER_USER = "5 per 5 minutes;20 per hour"  # noqa: S105
REFRESH_PER_IP = "120 per minute"
BREACH_NOTICE_S = 3600
TOO_MANY = "Too many attempts; wait a moment and try again."


def _json_field(name: str) -> str:
    body = request.get_json(silent=True)
    value = body.get(name) if isinstance(body, dict) else None
    return value.strip().lower() if isinstance(value, str) else ""


def _json_field_raw(name: str) -> str:
    body = request.get_json(silent=True)
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, str) else ""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def ip_key() -> str:
    return f"ip:{get_remote_address()}"


def email_key() -> str:
    """The submitted e-mail address (hashed), or the IP when there is none."""
    email = _json_field("email")
    return f"email:{_digest(email)}" if email else ip_key()


def user_key() -> str:
    """The signed-in user, or the pending 2FA login's user, or the IP."""
    from web.security import load_current_user
    from web.services.two_factor import challenge_user_id

    user = load_current_user(optional=True)
    if user is not None:
        return f"user:{user.id}"
    user_id = challenge_user_id(_json_field_raw("mfa_token"))
    return f"user:{user_id}" if user_id is not None else ip_key()


def failed(response: Response) -> bool:
    """Count only refusals (wrong password or code), not successes."""
    return response.status_code in (400, 401)


def _on_breach(action: str) -> Callable[[RequestLimit], None]:
    def callback(limit: RequestLimit) -> None:
        from web import get_redis
        from web.security import audit

        key = limit.request_args[-2] if len(limit.request_args) >= 2 else ""
        # One audit row (and at most one notice) per key and hour, however hard the attacker pushes.
        if not get_redis().set(f"auth:breach:{action}:{key}", "1", nx=True, ex=BREACH_NOTICE_S):
            return
        details: dict[str, Any] = {"endpoint": request.endpoint, "limit": str(limit.limit), "kind": key.split(":")[0]}
        target: int | str | None = key.split(":", 1)[1] if key.startswith("user:") else None
        if action == "auth.lockout":
            from web.services.auth import notify_lockout

            target = notify_lockout(_json_field("email"))
        audit(action, outcome="denied", target_type="user" if target else None, target_id=target, details=details)
        db.commit()

    return callback


def per_ip(limit_value: str) -> Any:
    return limiter.limit(
        limit_value, key_func=ip_key, error_message=TOO_MANY, on_breach=_on_breach("auth.rate_limited")
    )


def accepted(response: Response) -> bool:
    """Count only requests that were accepted (and so may have sent a mail)."""
    return response.status_code in (201, 202)


def mails_per_email(limit_value: str) -> Any:
    """Limit the mails one address can be sent (a mistyped weak password costs nothing)."""
    return limiter.limit(
        limit_value,
        key_func=email_key,
        deduct_when=accepted,
        error_message=TOO_MANY,
        on_breach=_on_breach("auth.rate_limited"),
    )


def login_failures_per_email() -> Any:
    return limiter.limit(
        LOGIN_FAILURES_PER_EMAIL,
        key_func=email_key,
        deduct_when=failed,
        error_message=TOO_MANY,
        on_breach=_on_breach("auth.lockout"),
    )


# One budget for every place a second factor is typed (login step, enable, disable, new codes).
two_factor_failures = limiter.shared_limit(
    TWO_FACTOR_FAILURES_PER_USER,
    scope="two-factor",
    key_func=user_key,
    deduct_when=failed,
    error_message=TOO_MANY,
    on_breach=_on_breach("auth.2fa_locked"),
)

password_failures = limiter.limit(
    PASSWORD_FAILURES_PER_USER,
    key_func=user_key,
    deduct_when=failed,
    error_message=TOO_MANY,
    on_breach=_on_breach("auth.rate_limited"),
)
