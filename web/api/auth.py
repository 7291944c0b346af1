"""Authentication API under /api/auth: registration, e-mail verification, login with optional
TOTP, session refresh and logout, passwords, 2FA, the session list and the profile (/me).

Every unsafe request needs the X-CSRFToken header (token from GET /csrf); a missing or wrong
token is refused with 403 csrf_failed. Limits answer 429 rate_limited with Retry-After.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Response, jsonify
from flask_wtf.csrf import CSRFError, generate_csrf

from web.errors import error_response
from web.openapi import Blueprint
from web.schemas.auth import (
    AuthMessageSchema,
    AuthSessionListSchema,
    BackupCodesSchema,
    ChangePasswordSchema,
    CsrfSchema,
    DisableTwoFactorSchema,
    EmailAddressSchema,
    EmailTokenSchema,
    LoginResponseSchema,
    LoginSchema,
    LoginSecondStepSchema,
    MeSchema,
    ProfileUpdateSchema,
    RefreshResponseSchema,
    RegisterSchema,
    ResetPasswordSchema,
    TotpCodeSchema,
    TotpSetupSchema,
)
from web.security import current_session, current_user, forbid_impersonation, login_required
from web.services import auth as service
from web.services import sessions, two_factor
from web.services.auth_limits import (
    LOGIN_PER_IP,
    MAIL_PER_EMAIL,
    MAIL_PER_IP,
    REFRESH_PER_IP,
    REGISTER_PER_IP,
    TOKEN_SUBMIT_PER_IP,
    login_failures_per_email,
    mails_per_email,
    password_failures,
    per_ip,
    two_factor_failures,
)

log = logging.getLogger(__name__)

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Registration, login, sessions and 2FA")
SIGNED_IN: list[dict[str, list[str]]] = [{"cookieAuth": []}]


@blp.app_errorhandler(CSRFError)
def _csrf_failed(error: CSRFError) -> Response:
    log.warning("CSRF check failed: %s", error.description)
    return error_response(
        403, "csrf_failed", "The CSRF token is missing or invalid; fetch GET /api/auth/csrf and send it as X-CSRFToken."
    )


def _json(schema: Any, data: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(schema.dump(data))
    response.status_code = status
    return response


@blp.route("/csrf", methods=["GET"])
@blp.response(200, CsrfSchema)
def csrf_token() -> dict[str, Any]:
    """Return a CSRF token; send it as X-CSRFToken on every unsafe cookie-authenticated request."""
    return {"csrf_token": generate_csrf()}


# --- registration and e-mail ---------------------------------------------------------------


@blp.route("/register", methods=["POST"])
@per_ip(REGISTER_PER_IP)
@mails_per_email(MAIL_PER_EMAIL)
@blp.arguments(RegisterSchema)
@blp.response(201, AuthMessageSchema)
def register(data: dict[str, Any]) -> dict[str, Any]:
    """Create a client account; the same answer whether or not the address is taken."""
    service.register(data)
    return {"message": service.REGISTERED}


@blp.route("/verify-email", methods=["POST"])
@per_ip(TOKEN_SUBMIT_PER_IP)
@blp.arguments(EmailTokenSchema)
@blp.response(200, AuthMessageSchema)
def verify_email(data: dict[str, Any]) -> dict[str, Any]:
    """Confirm the e-mail address with the token of the link."""
    service.verify_email(data["token"])
    return {"message": "Your e-mail address is confirmed; you can sign in."}


@blp.route("/resend-verification", methods=["POST"])
@per_ip(MAIL_PER_IP)
@mails_per_email(MAIL_PER_EMAIL)
@blp.arguments(EmailAddressSchema)
@blp.response(202, AuthMessageSchema)
def resend_verification(data: dict[str, Any]) -> dict[str, Any]:
    """Send the verification link again (always 202)."""
    service.resend_verification(data["email"])
    return {"message": service.MAIL_SENT}


# --- login, refresh, logout --------------------------------------------------------------------


@blp.route("/login", methods=["POST"])
@per_ip(LOGIN_PER_IP)
@login_failures_per_email()
@blp.arguments(LoginSchema)
@blp.response(200, LoginResponseSchema)
def login(data: dict[str, Any]) -> Any:
    """Sign in with e-mail and password; with 2FA on, answer with an mfa_token for /login/2fa."""
    result = service.login(data["email"], data["password"])
    if result.mfa_token is not None:
        return {"mfa_required": True, "mfa_token": result.mfa_token}
    assert result.user is not None
    return _signed_in(result.user, "password")


def _signed_in(user: Any, method: str) -> Response:
    response = _json(LoginResponseSchema(), {"user": service.profile(user, None)})
    service.complete_login(user, response, method)
    return response


@blp.route("/login/2fa", methods=["POST"])
@two_factor_failures
@blp.arguments(LoginSecondStepSchema)
@blp.response(200, LoginResponseSchema)
def login_second_step(data: dict[str, Any]) -> Response:
    """Finish a 2FA login with an authenticator code or a backup code."""
    user, method = two_factor.login_second_step(data["mfa_token"], data["code"])
    return _signed_in(user, f"password+{method}")


@blp.route("/refresh", methods=["POST"])
@per_ip(REFRESH_PER_IP)
@blp.response(200, RefreshResponseSchema)
def refresh() -> Response:
    """Rotate the refresh token and the access cookie; a replayed token ends its whole session."""
    response = _json(RefreshResponseSchema(), {"rotated": True})
    outcome = sessions.refresh(response)
    if not outcome.rotated:
        return _json(RefreshResponseSchema(), {"rotated": False})
    return response


@blp.route("/logout", methods=["POST"])
@blp.response(204)
def logout() -> Response:
    """End this session and clear its cookies (204 even without one)."""
    response = Response(status=204)
    sessions.logout(response)
    return response


@blp.route("/logout-all", methods=["POST"])
@login_required
@blp.response(204)
@blp.doc(security=SIGNED_IN)
def logout_all() -> Response:
    """End every session of the user, this one included."""
    response = Response(status=204)
    sessions.logout_all(current_user(), response)
    return response


# --- the profile ---------------------------------------------------------------------------


@blp.route("/me", methods=["GET"])
@login_required
@blp.response(200, MeSchema)
@blp.doc(security=SIGNED_IN)
def me() -> dict[str, Any]:
    """The signed-in user (impersonated_by is set while a CRM admin acts as the client)."""
    return service.profile(current_user(), current_session())


@blp.route("/me", methods=["PATCH"])
@login_required
@blp.arguments(ProfileUpdateSchema)
@blp.response(200, MeSchema)
@blp.doc(security=SIGNED_IN)
def update_me(data: dict[str, Any]) -> dict[str, Any]:
    """Change profile fields and preferences (watchlist, language, theme)."""
    user = current_user()
    service.update_profile(user, data)
    return service.profile(user, current_session())


# --- passwords -----------------------------------------------------------------------------


@blp.route("/forgot-password", methods=["POST"])
@per_ip(MAIL_PER_IP)
@mails_per_email(MAIL_PER_EMAIL)
@blp.arguments(EmailAddressSchema)
@blp.response(202, AuthMessageSchema)
def forgot_password(data: dict[str, Any]) -> dict[str, Any]:
    """Mail a password-reset link (always 202)."""
    service.forgot_password(data["email"])
    return {"message": service.MAIL_SENT}


@blp.route("/reset-password", methods=["POST"])
@per_ip(TOKEN_SUBMIT_PER_IP)
@blp.arguments(ResetPasswordSchema)
@blp.response(200, AuthMessageSchema)
def reset_password(data: dict[str, Any]) -> dict[str, Any]:
    """Set a new password with the token of the link; every session of the user ends."""
    service.reset_password(data["token"], data["password"])
    return {"message": "Your password is changed; sign in with it."}


@blp.route("/change-password", methods=["POST"])
@forbid_impersonation
@password_failures
@blp.arguments(ChangePasswordSchema)
@blp.response(200, AuthMessageSchema)
@blp.doc(security=SIGNED_IN)
def change_password(data: dict[str, Any]) -> dict[str, Any]:
    """Change the password; the user's other sessions end."""
    service.change_password(current_user(), current_session(), data["current_password"], data["new_password"])
    return {"message": "Your password is changed; your other sessions were ended."}


# --- two-factor authentication ---------------------------------------------------------------


@blp.route("/2fa/setup", methods=["POST"])
@forbid_impersonation
@blp.response(200, TotpSetupSchema)
@blp.doc(security=SIGNED_IN)
def totp_setup() -> dict[str, Any]:
    """Make a new authenticator secret (pending until /2fa/enable gets a code from it)."""
    return two_factor.setup(current_user())


@blp.route("/2fa/enable", methods=["POST"])
@forbid_impersonation
@two_factor_failures
@blp.arguments(TotpCodeSchema)
@blp.response(200, BackupCodesSchema)
@blp.doc(security=SIGNED_IN)
def totp_enable(data: dict[str, Any]) -> dict[str, Any]:
    """Turn 2FA on with a code from the app; answer with 10 backup codes (shown once)."""
    codes = two_factor.enable(current_user(), data["code"], current_session().id)
    return {"backup_codes": codes}


@blp.route("/2fa/disable", methods=["POST"])
@forbid_impersonation
@two_factor_failures
@blp.arguments(DisableTwoFactorSchema)
@blp.response(200, AuthMessageSchema)
@blp.doc(security=SIGNED_IN)
def totp_disable(data: dict[str, Any]) -> dict[str, Any]:
    """Turn 2FA off with the password and a code (or a backup code)."""
    two_factor.disable(current_user(), data["password"], data["code"], current_session().id)
    return {"message": "Two-factor authentication is off."}


@blp.route("/2fa/backup-codes", methods=["POST"])
@forbid_impersonation
@two_factor_failures
@blp.arguments(TotpCodeSchema)
@blp.response(200, BackupCodesSchema)
@blp.doc(security=SIGNED_IN)
def totp_backup_codes(data: dict[str, Any]) -> dict[str, Any]:
    """Make a new set of backup codes; the old set stops working."""
    codes = two_factor.regenerate_backup_codes(current_user(), data["code"], current_session().id)
    return {"backup_codes": codes}


# --- sessions --------------------------------------------------------------------------------


@blp.route("/sessions", methods=["GET"])
@login_required
@blp.response(200, AuthSessionListSchema)
@blp.doc(security=SIGNED_IN)
def list_sessions() -> dict[str, Any]:
    """The user's live sessions (device, IP, last seen, which one is this)."""
    return {"sessions": sessions.list_sessions(current_user(), current_session())}


@blp.route("/sessions/<uuid:session_id>", methods=["DELETE"])
@forbid_impersonation
@blp.response(204)
@blp.doc(security=SIGNED_IN)
def revoke_session(session_id: uuid.UUID) -> Response:
    """End one of the user's sessions."""
    response = Response(status=204)
    sessions.revoke_one(current_user(), session_id, current_session(), response)
    return response
