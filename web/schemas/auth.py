"""Schemas of /api/auth: they validate input and document the OpenAPI contract."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load, validate

from web.services.password_policy import MAX_LENGTH, MIN_LENGTH

NAME = validate.Length(min=1, max=100)
PASSWORD_LENGTH = validate.Length(min=MIN_LENGTH, max=MAX_LENGTH, error=f"Use {MIN_LENGTH} to {MAX_LENGTH} characters.")
COUNTRY = validate.Regexp(r"^[A-Z]{2}$", error="Use a two-letter ISO 3166 country code, e.g. DE.")
PHONE = validate.Regexp(r"^\+?[0-9][0-9 ()\-]{5,30}$", error="Use digits, spaces and an optional leading +.")
SYMBOL = validate.Regexp(r"^[A-Z0-9._\-]{1,32}$", error="Not a symbol.")
LANGUAGE = validate.Regexp(r"^[a-z]{2}(-[A-Z]{2})?$", error="Use a language tag such as en or en-GB.")
THEMES = ("light", "dark", "system")
TOKEN = validate.Length(min=1, max=128)


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class Email(fields.Email):
    """An e-mail address, trimmed and lower-cased (addresses are matched case-insensitively)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=validate.Length(max=254), metadata={"example": "jane@example.com"}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return super()._deserialize(_strip(value), attr, data, **kwargs).lower()


class Password(fields.String):
    """A password: length only (12–128); the common-password check runs in the service."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=PASSWORD_LENGTH, load_only=True, metadata={"format": "password"}, **kwargs)


class TrimmedString(fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return super()._deserialize(_strip(value), attr, data, **kwargs)


# --- requests --------------------------------------------------------------------------------


class RegisterSchema(Schema):
    email = Email(required=True)
    password = Password(required=True)
    first_name = TrimmedString(required=True, validate=NAME)
    last_name = TrimmedString(required=True, validate=NAME)
    country = TrimmedString(load_default=None, allow_none=True, validate=COUNTRY)
    phone = TrimmedString(load_default=None, allow_none=True, validate=PHONE)


class EmailTokenSchema(Schema):
    token = fields.String(required=True, validate=TOKEN, metadata={"description": "The token of the e-mail link."})


class EmailAddressSchema(Schema):
    email = Email(required=True)


class LoginSchema(Schema):
    email = Email(required=True)
    # Any length is checked (old passwords may predate the policy), but nothing absurd is hashed.
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))


class CodeField(fields.String):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            validate=validate.Length(min=6, max=32),
            metadata={"description": "A 6-digit authenticator code or a backup code (xxxxx-xxxxx-xxxxx)."},
            **kwargs,
        )


class LoginSecondStepSchema(Schema):
    mfa_token = fields.String(required=True, validate=TOKEN)
    code = CodeField(required=True)


class ResetPasswordSchema(Schema):
    token = fields.String(required=True, validate=TOKEN)
    password = Password(required=True)


class ChangePasswordSchema(Schema):
    current_password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))
    new_password = Password(required=True)


class TotpCodeSchema(Schema):
    code = CodeField(required=True)


class DisableTwoFactorSchema(Schema):
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))
    code = CodeField(required=True)


class UserPreferencesSchema(Schema):
    watchlist = fields.List(fields.String(validate=SYMBOL), validate=validate.Length(max=100))
    language = fields.String(validate=LANGUAGE)
    theme = fields.String(validate=validate.OneOf(THEMES))

    @post_load
    def _dedupe(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if "watchlist" in data:
            data["watchlist"] = list(dict.fromkeys(data["watchlist"]))
        return data


class ProfileUpdateSchema(Schema):
    first_name = TrimmedString(validate=NAME)
    last_name = TrimmedString(validate=NAME)
    phone = TrimmedString(allow_none=True, validate=PHONE)
    country = TrimmedString(allow_none=True, validate=COUNTRY)
    preferences = fields.Nested(UserPreferencesSchema)


# --- responses -------------------------------------------------------------------------------


class AuthMessageSchema(Schema):
    message = fields.String()


class CsrfSchema(Schema):
    csrf_token = fields.String()


class MeSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    phone = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    role = fields.String(metadata={"enum": ["client", "admin"]})
    email_verified = fields.Boolean()
    totp_enabled = fields.Boolean()
    impersonated_by = fields.String(
        allow_none=True, metadata={"description": "The CRM admin acting as this client, when impersonating."}
    )
    preferences = fields.Nested(UserPreferencesSchema)
    created_at = fields.DateTime()


class LoginResponseSchema(Schema):
    user = fields.Nested(MeSchema, metadata={"description": "Present when signed in."})
    mfa_required = fields.Boolean(metadata={"description": "True when the second step is needed."})
    mfa_token = fields.String(metadata={"description": "Send it with the code to /login/2fa (valid 5 minutes)."})


class RefreshResponseSchema(Schema):
    rotated = fields.Boolean(
        metadata={"description": "False when another tab refreshed a moment ago: just retry the request."}
    )


class AuthSessionSchema(Schema):
    id = fields.UUID()
    device = fields.String()
    user_agent = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
    created_at = fields.DateTime()
    last_seen_at = fields.DateTime()
    expires_at = fields.DateTime()
    current = fields.Boolean()
    impersonated = fields.Boolean()


class AuthSessionListSchema(Schema):
    sessions = fields.List(fields.Nested(AuthSessionSchema))


class TotpSetupSchema(Schema):
    secret = fields.String(metadata={"description": "Base32 secret, for typing into the app by hand."})
    otpauth_uri = fields.String()
    qr_svg = fields.String(metadata={"description": "The otpauth URI as an SVG QR code."})


class BackupCodesSchema(Schema):
    backup_codes = fields.List(fields.String(), metadata={"description": "Shown once; each works once."})
