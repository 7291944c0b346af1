"""Schemas of the CRM service API (/api/crm) and SSO (/api/sso): validation and OpenAPI examples."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from engine.contracts import BALANCE_OP_TYPES, MAX_LEVERAGE, TRADING_RIGHTS
from web.schemas.funds import STATUSES, ListQuerySchema, MoneyRequestSchema, MoneyString
from web.schemas.kyc import KycDocumentSchema

LIMIT_KEYS = ("deposit_max", "withdrawal_max")
MAX_FLAGS = 50


def _country(value: str) -> None:
    if not (len(value) == 2 and value.isalpha() and value.isupper()):
        raise ValidationError("An ISO 3166-1 alpha-2 code in capitals, e.g. DE.")


def _flags(value: dict[str, Any]) -> None:
    if len(value) > MAX_FLAGS:
        raise ValidationError(f"At most {MAX_FLAGS} flags.")
    for key, item in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 64:
            raise ValidationError("Flag names are 1 to 64 characters.")
        if item is not None and not isinstance(item, bool | int | str):
            raise ValidationError(f"Flag {key!r} must be a boolean, number, string or null.")
        if isinstance(item, str) and len(item) > 256:
            raise ValidationError(f"Flag {key!r} is too long.")


class LimitsSchema(Schema):
    """Per-request caps on what the client may ask for (decimal strings; null removes a cap)."""

    deposit_max = MoneyString(allow_none=True, metadata={"example": "50000.00"})
    withdrawal_max = MoneyString(allow_none=True, metadata={"example": "10000.00"})


_PHONE = validate.Regexp(r"^\+?[0-9 ()-]{4,31}$", error="A phone number such as +49 30 1234567.")
_NAME = validate.Length(max=100)
_LEVEL = validate.Range(min=Decimal("0"), max=Decimal("1000"))


class UserProfileFields(Schema):
    external_id = fields.String(validate=validate.Length(min=1, max=128), metadata={"example": "crm-10042"})
    first_name = fields.String(validate=_NAME, metadata={"example": "Ada"})
    last_name = fields.String(validate=_NAME, metadata={"example": "Lovelace"})
    country = fields.String(allow_none=True, validate=_country, metadata={"example": "GB"})
    phone = fields.String(allow_none=True, validate=_PHONE, metadata={"example": "+44 20 7946 0958"})
    leverage = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_LEVERAGE), metadata={"example": 100})
    flags = fields.Dict(
        keys=fields.String(),
        validate=_flags,
        metadata={"example": {"vip": True}, "description": "Merged into the user's flags; null removes a flag."},
    )
    limits = fields.Nested(LimitsSchema, metadata={"description": "Merged into the user's limits; null removes one."})
    email_verified = fields.Boolean(metadata={"example": True})


class CrmUserUpsertSchema(UserProfileFields):
    """Create a client, or update the one with this external_id (else this e-mail)."""

    email = fields.Email(required=True, validate=validate.Length(max=254), metadata={"example": "ada@example.com"})
    currency = fields.String(
        load_default="USD",
        validate=validate.OneOf(["USD", "EUR", "GBP"]),
        metadata={"example": "USD", "description": "Currency of the live account opened for a new client."},
    )


class CrmUserPatchSchema(UserProfileFields):
    """Change a client: status, trading settings of every account, limits, flags, profile."""

    email = fields.Email(validate=validate.Length(max=254), metadata={"example": "ada@example.com"})
    status = fields.String(validate=validate.OneOf(["active", "disabled"]), metadata={"example": "active"})
    trading_rights = fields.String(validate=validate.OneOf(sorted(TRADING_RIGHTS)), metadata={"example": "close_only"})
    margin_call_level = MoneyString(validate=_LEVEL, metadata={"example": "100"})
    stop_out_level = MoneyString(allow_zero=True, validate=_LEVEL, metadata={"example": "50"})

    @validates_schema
    def _levels(self, data: dict[str, Any], **kwargs: Any) -> None:
        mc, so = data.get("margin_call_level"), data.get("stop_out_level")
        if mc is not None and so is not None and so >= mc:
            raise ValidationError("The stop-out level must be below the margin-call level.", "stop_out_level")


class CrmAccountSchema(Schema):
    id = fields.Integer(metadata={"example": 1001})
    number = fields.String(metadata={"example": "50001001"})
    type = fields.String(metadata={"example": "live"})
    currency = fields.String(metadata={"example": "USD"})
    balance = fields.String(metadata={"example": "1500.00"})
    credit = fields.String(metadata={"example": "0.00"})
    held = fields.String(metadata={"example": "0.00"})
    equity = fields.String(allow_none=True, metadata={"example": "1512.40"})
    margin = fields.String(allow_none=True, metadata={"example": "108.20"})
    free_margin = fields.String(allow_none=True, metadata={"example": "1404.20"})
    margin_level = fields.String(allow_none=True, metadata={"example": "1397.78"})
    floating_pl = fields.String(allow_none=True, metadata={"example": "12.40"})
    leverage = fields.Integer(metadata={"example": 100})
    trading_rights = fields.String(metadata={"example": "full"})
    margin_call_level = fields.String(metadata={"example": "100.00"})
    stop_out_level = fields.String(metadata={"example": "50.00"})
    figures_at = fields.String(
        allow_none=True,
        metadata={"example": "2026-01-05T10:00:01+00:00", "description": "When the engine computed the live figures."},
    )
    created_at = fields.String(metadata={"example": "2026-01-05T10:00:00+00:00"})


class EngineCommandSchema(Schema):
    """An engine command this request sent, and what became of it."""

    type = fields.String(metadata={"example": "set_account"})
    account_id = fields.Integer(metadata={"example": 1001})
    command_id = fields.String(metadata={"example": "5b0c0e3c7f7e4a4e9a0f4a0c4d1b2a33"})
    status = fields.String(metadata={"example": "applied", "enum": ["applied", "rejected", "pending"]})
    code = fields.String(metadata={"example": "invalid_request"})
    message = fields.String()


class CrmUserSchema(Schema):
    id = fields.Integer(metadata={"example": 42})
    external_id = fields.String(allow_none=True, metadata={"example": "crm-10042"})
    email = fields.String(metadata={"example": "ada@example.com"})
    first_name = fields.String(metadata={"example": "Ada"})
    last_name = fields.String(metadata={"example": "Lovelace"})
    country = fields.String(allow_none=True, metadata={"example": "GB"})
    phone = fields.String(allow_none=True, metadata={"example": "+44 20 7946 0958"})
    status = fields.String(metadata={"example": "active"})
    email_verified = fields.Boolean(metadata={"example": True})
    has_password = fields.Boolean(metadata={"example": False})
    totp_enabled = fields.Boolean(metadata={"example": False})
    flags = fields.Dict(metadata={"example": {"vip": True}})
    limits = fields.Dict(metadata={"example": {"withdrawal_max": "10000.00"}})
    created_at = fields.DateTime(metadata={"example": "2026-01-05T10:00:00+00:00"})
    updated_at = fields.DateTime(metadata={"example": "2026-01-05T10:00:00+00:00"})
    accounts = fields.List(fields.Nested(CrmAccountSchema))
    engine_commands = fields.List(fields.Nested(EngineCommandSchema))


class CrmUserListSchema(Schema):
    items = fields.List(fields.Nested(CrmUserSchema))


class CrmUserLookupSchema(Schema):
    email = fields.Email(metadata={"example": "ada@example.com"})
    external_id = fields.String(validate=validate.Length(min=1, max=128), metadata={"example": "crm-10042"})


class UserRefSchema(Schema):
    user_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1), metadata={"example": 42})


class ForceLogoutResultSchema(Schema):
    user_id = fields.Integer(metadata={"example": 42})
    sessions_ended = fields.Integer(metadata={"example": 2})


class PasswordResetResultSchema(Schema):
    user_id = fields.Integer(metadata={"example": 42})
    mail_sent = fields.Boolean(metadata={"example": True})
    sessions_ended = fields.Boolean(metadata={"example": True})


class BalanceOperationSchema(Schema):
    type = fields.String(
        required=True, validate=validate.OneOf(sorted(BALANCE_OP_TYPES)), metadata={"example": "deposit"}
    )
    amount = MoneyString(
        required=True,
        positive=False,
        metadata={"example": "250.00", "description": "Positive; credit and correction may be negative."},
    )
    external_id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"example": "psp-7781-2291", "description": "Your reference: the same one again changes nothing."},
    )
    comment = fields.String(load_default=None, validate=validate.Length(max=500), metadata={"example": "Wire received"})

    @validates_schema
    def _sign(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("type") in ("deposit", "withdrawal") and data.get("amount") is not None and data["amount"] <= 0:
            raise ValidationError("Deposits and withdrawals are positive amounts.", "amount")


class BalanceResultSchema(Schema):
    account_id = fields.Integer(metadata={"example": 1001})
    type = fields.String(metadata={"example": "deposit"})
    amount = fields.String(metadata={"example": "250.00"})
    external_id = fields.String(metadata={"example": "psp-7781-2291"})
    command_id = fields.String(metadata={"example": "idem-0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f"})
    duplicate = fields.Boolean(metadata={"example": False, "description": "True when the external_id was seen."})
    ledger = fields.Dict(metadata={"example": {"id": 77, "kind": "deposit", "amount": "250.00"}})
    account = fields.Nested(CrmAccountSchema)


class MoneyDecisionSchema(Schema):
    status = fields.String(
        required=True, validate=validate.OneOf(["approved", "declined"]), metadata={"example": "approved"}
    )
    reason = fields.String(load_default=None, validate=validate.Length(max=500), metadata={"example": None})
    external_id = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=128),
        metadata={"example": "psp-7781-2291", "description": "Your payment reference, stored with the request."},
    )


class KycDecisionSchema(Schema):
    status = fields.String(
        required=True, validate=validate.OneOf(["approved", "rejected"]), metadata={"example": "rejected"}
    )
    reason = fields.String(
        load_default=None, validate=validate.Length(max=500), metadata={"example": "The document has expired."}
    )


class CrmMoneyListQuerySchema(ListQuerySchema):
    user_id = fields.Integer(validate=validate.Range(min=1), metadata={"example": 42})


class CrmKycListQuerySchema(ListQuerySchema):
    user_id = fields.Integer(validate=validate.Range(min=1), metadata={"example": 42})
    status = fields.String(validate=validate.OneOf(["pending", "approved", "rejected"]))
    type = fields.String(validate=validate.OneOf(["passport", "id_card", "proof_of_address", "selfie", "other"]))


class CrmMoneyRequestSchema(MoneyRequestSchema):
    pass


# --- SSO -------------------------------------------------------------------------------------


class ImpersonateSchema(Schema):
    admin_id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=128),
        metadata={"example": "crm-admin-7", "description": "The CRM's id of the admin who will act as the client."},
    )
    user_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1), metadata={"example": 42})
    reason = fields.String(
        required=True,
        validate=validate.Length(min=3, max=500),
        metadata={"example": "Ticket #5521: client cannot find the close-all button"},
    )


class ImpersonateResultSchema(Schema):
    token = fields.String(metadata={"example": "x3Jq0hV1m9v3w2Yp5QyqT3lqK1o4b0hQm6w7d8Zr0aU"})
    url = fields.String(
        metadata={
            "example": "https://trade.example.com/api/sso/consume?token=x3Jq0hV1m9v3w2Yp5QyqT3lqK1o4b0hQm6w7d8Zr0aU"
        }
    )
    expires_at = fields.DateTime(metadata={"example": "2026-01-05T10:02:00+00:00"})


class ConsumeQuerySchema(Schema):
    token = fields.String(load_default="", validate=validate.Length(max=256))


__all__ = ["STATUSES"]


class CrmKycDocumentSchema(KycDocumentSchema):
    """A KYC document as the CRM sees it (downloaded through the CRM route)."""

    download_url = fields.Method("_crm_download_url", metadata={"example": "/api/crm/kyc/9/download"})

    def _crm_download_url(self, doc: object) -> str:
        return f"/api/crm/kyc/{getattr(doc, 'id')}/download"  # noqa: B009


class CrmKycDocumentPageSchema(Schema):
    items = fields.List(fields.Nested(CrmKycDocumentSchema))
    total = fields.Integer(metadata={"example": 1})
    page = fields.Integer(metadata={"example": 1})
    per_page = fields.Integer(metadata={"example": 50})
