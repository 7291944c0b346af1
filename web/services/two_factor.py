"""Two-factor authentication: enrolment, the second login step, backup codes, disabling.

A login with 2FA on answers with an opaque `mfa_token` (5 minutes, at most 5 wrong codes,
single use) kept hashed in Redis; it is not a session and grants nothing else.
Every change to the second factor ends the user's other sessions and is mailed to them.
"""

from __future__ import annotations

import json
from typing import Any

from common.crypto import new_token, token_hash
from models import User
from web.errors import ApiError
from web.extensions import db
from web.security import audit, revoke_sessions, settings
from web.services import totp
from web.services.passwords import verify_password

CHALLENGE_TTL_S = 300
CHALLENGE_MAX_FAILURES = 5
INVALID_CODE = "The code is not valid."


def _redis() -> Any:
    from web import get_redis

    return get_redis()


def _challenge_key(token: str) -> str:
    return f"auth:mfa:{token_hash(token)}"


# --- the pending login ------------------------------------------------------------------------


def _password_mark(user: User) -> str:
    # A password change or reset voids pending logins started with the old password.
    return token_hash(user.password_hash or "")[:16]


def create_challenge(user: User) -> str:
    """Start the second login step for a user whose password was right."""
    token = new_token()
    data = {"user_id": user.id, "failures": 0, "pw": _password_mark(user)}
    _redis().set(_challenge_key(token), json.dumps(data), ex=CHALLENGE_TTL_S)
    return token


def _challenge(token: str) -> dict[str, Any] | None:
    if not token or len(token) > 128:
        return None
    raw = _redis().get(_challenge_key(token))
    return json.loads(raw) if raw else None


def challenge_user_id(token: str) -> int | None:
    """The user a pending login belongs to (None when unknown or expired)."""
    data = _challenge(token)
    return int(data["user_id"]) if data else None


def _challenge_failed(token: str) -> None:
    key = _challenge_key(token)
    raw = _redis().get(key)
    if not raw:
        return
    data = json.loads(raw)
    data["failures"] += 1
    if data["failures"] >= CHALLENGE_MAX_FAILURES:
        _redis().delete(key)
    else:
        _redis().set(key, json.dumps(data), keepttl=True)


def _expired() -> ApiError:
    return ApiError(401, "mfa_expired", "The sign-in attempt has expired; enter your password again.")


def login_second_step(token: str, code: str) -> tuple[User, str]:
    """Check the code of a pending login; return the user and the method ("totp" or "backup_code")."""
    data = _challenge(token)
    user = db.get(User, int(data["user_id"])) if data else None
    if user is None or data is None or not user.totp_enabled or user.status != "active":
        raise _expired()
    if data.get("pw") != _password_mark(user):
        raise _expired()
    try:
        method = check_code(user, code)
    except ApiError:
        _challenge_failed(token)
        db.commit()
        raise
    # Deleting the challenge is the single-use check: of two racing requests only one deletes it.
    if not _redis().delete(_challenge_key(token)):
        db.rollback()
        raise _expired()
    return user, method


# --- checking a code ------------------------------------------------------------------------


def check_code(user: User, code: str, *, allow_backup: bool = True) -> str:
    """Accept a fresh TOTP code or an unused backup code; audit and refuse anything else."""
    code = (code or "").strip().replace(" ", "")
    if user.totp_secret_enc and totp.is_totp_format(code):
        step = totp.match_step(totp.unseal(user.totp_secret_enc, settings()), code)
        if step is not None:
            if totp.claim_step(user.id, step):
                return "totp"
            audit("auth.2fa_replay", outcome="denied", target_type="user", target_id=user.id)
            raise ApiError(400, "invalid_code", "This code was used already; wait for the next one.")
    elif allow_backup and totp.use_backup_code(user.id, code):
        left = totp.backup_codes_left(user.id)
        audit("auth.backup_code_used", target_type="user", target_id=user.id, details={"remaining": left})
        _notice(user, f"A backup code was used to confirm a sign-in or a change. {left} backup codes are left.")
        return "backup_code"
    audit("auth.2fa_failed", outcome="failure", target_type="user", target_id=user.id)
    raise ApiError(400, "invalid_code", INVALID_CODE, fields={"code": [INVALID_CODE]})


def _notice(user: User, event: str) -> None:
    from web.services.auth import security_notice

    security_notice(user, event)


# --- enrolment and changes ------------------------------------------------------------------


def setup(user: User) -> dict[str, str]:
    """Make a pending secret (used only once a code proves the app has it)."""
    if user.totp_enabled:
        raise ApiError(409, "totp_already_enabled", "Two-factor authentication is on already.")
    secret = totp.new_secret()
    user.totp_pending_secret_enc = totp.seal(secret, settings())
    uri = totp.provisioning_uri(secret, user.email, settings().app_name)
    audit("auth.2fa_setup_started", target_type="user", target_id=user.id)
    db.commit()
    return {"secret": secret, "otpauth_uri": uri, "qr_svg": totp.qr_svg(uri)}


def enable(user: User, code: str, current_session_id: Any) -> list[str]:
    """Turn 2FA on with the first valid code of the pending secret; return fresh backup codes."""
    if user.totp_enabled:
        raise ApiError(409, "totp_already_enabled", "Two-factor authentication is on already.")
    if not user.totp_pending_secret_enc:
        raise ApiError(409, "totp_setup_required", "Start the setup first.")
    secret = totp.unseal(user.totp_pending_secret_enc, settings())
    step = totp.match_step(secret, (code or "").strip().replace(" ", ""))
    if step is None or not totp.claim_step(user.id, step):
        audit("auth.2fa_failed", outcome="failure", target_type="user", target_id=user.id, details={"stage": "enable"})
        db.commit()
        raise ApiError(400, "invalid_code", INVALID_CODE, fields={"code": [INVALID_CODE]})
    user.totp_secret_enc = user.totp_pending_secret_enc
    user.totp_pending_secret_enc = None
    user.totp_enabled = True
    codes = totp.replace_backup_codes(user.id)
    revoke_sessions(user.id, "2fa_enabled", except_session=current_session_id)
    audit("auth.2fa_enabled", target_type="user", target_id=user.id)
    _notice(user, "Two-factor authentication was turned on for your account.")
    db.commit()
    return codes


def _require_enabled(user: User) -> None:
    if not user.totp_enabled:
        raise ApiError(409, "totp_not_enabled", "Two-factor authentication is off.")


def disable(user: User, password: str, code: str, current_session_id: Any) -> None:
    """Turn 2FA off; needs the password and a current code (or a backup code)."""
    _require_enabled(user)
    if not verify_password(user.password_hash, password or ""):
        audit("auth.2fa_failed", outcome="failure", target_type="user", target_id=user.id, details={"stage": "disable"})
        db.commit()
        raise ApiError(400, "invalid_credentials", "The password is not correct.", fields={"password": ["Wrong."]})
    try:
        check_code(user, code)
    except ApiError:
        db.commit()
        raise
    user.totp_enabled = False
    user.totp_secret_enc = None
    user.totp_pending_secret_enc = None
    totp.delete_backup_codes(user.id)
    revoke_sessions(user.id, "2fa_disabled", except_session=current_session_id)
    audit("auth.2fa_disabled", target_type="user", target_id=user.id)
    _notice(user, "Two-factor authentication was turned off for your account.")
    db.commit()


def regenerate_backup_codes(user: User, code: str, current_session_id: Any) -> list[str]:
    """Replace the backup codes (the old set stops working); needs a current code."""
    _require_enabled(user)
    try:
        check_code(user, code)
    except ApiError:
        db.commit()
        raise
    codes = totp.replace_backup_codes(user.id)
    revoke_sessions(user.id, "backup_codes_regenerated", except_session=current_session_id)
    audit("auth.backup_codes_regenerated", target_type="user", target_id=user.id)
    _notice(user, "New backup codes were made for your account; the old ones no longer work.")
    db.commit()
    return codes
