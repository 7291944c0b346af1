"""Schemas of client deposits and withdrawals (input validation and OpenAPI), and the money field."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

MAX_AMOUNT = Decimal("100000000")
STATUSES = ("pending", "approved", "declined", "cancelled")


class MoneyString(fields.Field):
    """A decimal amount sent as a string (or an integer), never a float; at most 2 decimal places."""

    default_error_messages = {
        "invalid": 'Send the amount as a decimal string, e.g. "100.50".',
        "places": "At most 2 decimal places.",
        "range": "Out of range.",
    }

    def __init__(
        self, *, positive: bool = True, allow_zero: bool = False, max_abs: Decimal = MAX_AMOUNT, **kwargs: Any
    ) -> None:
        metadata = {"type": "string", "format": "decimal", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)
        self.positive = positive
        self.allow_zero = allow_zero
        self.max_abs = max_abs

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.make_error("invalid")
        text = str(value).strip()
        if not text or len(text) > 32 or "e" in text.lower():
            raise self.make_error("invalid")
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:
            raise self.make_error("invalid") from exc
        if not amount.is_finite():
            raise self.make_error("invalid")
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -2:
            raise self.make_error("places")
        if (self.positive and amount < 0) or (amount == 0 and not self.allow_zero) or abs(amount) > self.max_abs:
            raise self.make_error("range")
        return amount.quantize(Decimal("0.01"))

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)


def _currency(value: str) -> None:
    if not (len(value) == 3 and value.isalpha() and value.isupper()):
        raise ValidationError("A 3-letter ISO 4217 code in capitals, e.g. USD.")


class DepositRequestSchema(Schema):
    account_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1), metadata={"example": 1001})
    amount = MoneyString(required=True, metadata={"example": "500.00"})
    currency = fields.String(required=True, validate=_currency, metadata={"example": "USD"})
    method = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=32), validate.Regexp(r"^[a-z0-9_]+$")],
        metadata={"example": "bank_transfer", "description": "Payment method, e.g. bank_transfer, card, crypto."},
    )


class WithdrawalRequestSchema(DepositRequestSchema):
    details = fields.String(
        load_default=None,
        validate=validate.Length(max=500),
        metadata={"example": "IBAN DE89 3704 0044 0532 0130 00", "description": "Where the money should go."},
    )


class MoneyRequestSchema(Schema):
    """A deposit or withdrawal request as the client and the CRM see it."""

    id = fields.Integer(metadata={"example": 17})
    user_id = fields.Integer(metadata={"example": 42})
    account_id = fields.Integer(metadata={"example": 1001})
    amount = MoneyString(metadata={"example": "500.00"})
    currency = fields.String(metadata={"example": "USD"})
    method = fields.String(metadata={"example": "bank_transfer"})
    status = fields.String(metadata={"example": "pending", "enum": list(STATUSES)})
    reason = fields.String(allow_none=True, metadata={"example": None})
    external_id = fields.String(allow_none=True, metadata={"example": None})
    details = fields.String(allow_none=True, metadata={"example": None})
    created_at = fields.DateTime(metadata={"example": "2026-01-05T10:00:00+00:00"})
    decided_at = fields.DateTime(allow_none=True, metadata={"example": None})
    decided_by = fields.String(allow_none=True, metadata={"example": None})


class MoneyRequestListSchema(Schema):
    items = fields.List(fields.Nested(MoneyRequestSchema))
    total = fields.Integer(metadata={"example": 1})
    page = fields.Integer(metadata={"example": 1})
    per_page = fields.Integer(metadata={"example": 50})


class ListQuerySchema(Schema):
    """Filters and pagination of a list (oldest-first ids are stable; newest first is returned)."""

    status = fields.String(validate=validate.OneOf(STATUSES))
    account_id = fields.Integer(validate=validate.Range(min=1))
    created_from = fields.DateTime(data_key="from", metadata={"description": "Created at or after (ISO 8601)."})
    created_to = fields.DateTime(data_key="to", metadata={"description": "Created before (ISO 8601)."})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
