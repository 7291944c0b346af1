"""Schemas of the trading API: accounts, orders, positions, trades, ledger (validation and OpenAPI).

Prices, volumes and money are decimal strings in and out (an integer is accepted on input; a
float never is). Business rules (side of the market, margin, sessions...) are the engine's and
answer 422; malformed input answers 400 here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

SIDES = ("buy", "sell")
ORDER_TYPES = ("market", "limit", "stop", "stop_limit")
ORDER_STATUSES = ("pending", "filled", "cancelled", "expired", "rejected")
POSITION_STATUSES = ("open", "closed")
SYMBOL = validate.Regexp(r"^[A-Z0-9]{2,16}$", error="A symbol such as EURUSD.")


class DecimalString(fields.Field):
    """A positive decimal sent as a string (or an integer), never a float."""

    default_error_messages = {
        "invalid": 'Send a decimal string, e.g. "1.08500".',
        "places": "Too many decimal places.",
        "range": "Must be greater than zero.",
    }

    def __init__(self, *, places: int = 10, **kwargs: Any) -> None:
        metadata = {"type": "string", "format": "decimal", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)
        self.places = places

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.make_error("invalid")
        text = str(value).strip()
        if not text or len(text) > 32 or "e" in text.lower():
            raise self.make_error("invalid")
        try:
            number = Decimal(text)
        except InvalidOperation as exc:
            raise self.make_error("invalid") from exc
        if not number.is_finite():
            raise self.make_error("invalid")
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -self.places:
            raise self.make_error("places")
        if number <= 0:
            raise self.make_error("range")
        return format(number, "f")

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)


def parse_expiry(value: str) -> tuple[str, int | None]:
    """ "gtc" | "day" | an ISO-8601 time → (expiry_type, expires_at epoch ms)."""
    if value in ("gtc", "day"):
        return value, None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError('Use "gtc", "day" or an ISO-8601 time such as 2026-12-31T21:00:00Z.') from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return "specified", (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


class ExpiryField(fields.Field):
    """gtc, day, or an ISO-8601 time (converted to epoch ms)."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"type": "string", "example": "gtc", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[str, int | None]:
        if not isinstance(value, str) or not value or len(value) > 40:
            raise ValidationError('Use "gtc", "day" or an ISO-8601 time.')
        return parse_expiry(value)


# --- input ---------------------------------------------------------------------------------------


class PlaceOrderSchema(Schema):
    account_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    symbol = fields.String(required=True, validate=SYMBOL, metadata={"example": "EURUSD"})
    side = fields.String(required=True, validate=validate.OneOf(SIDES))
    type = fields.String(required=True, validate=validate.OneOf(ORDER_TYPES))
    volume = DecimalString(required=True, places=4, metadata={"example": "0.10", "description": "Lots."})
    price = DecimalString(
        load_default=None,
        metadata={
            "example": "1.08500",
            "description": "Limit or stop price; for stop_limit the stop price; for a market order the price you "
            "saw (then `deviation` applies).",
        },
    )
    limit_price = DecimalString(load_default=None, metadata={"description": "stop_limit: the limit placed on trigger."})
    sl = DecimalString(load_default=None, metadata={"description": "Stop loss price."})
    tp = DecimalString(load_default=None, metadata={"description": "Take profit price."})
    expiry = ExpiryField(
        load_default=None, metadata={"description": 'Pending orders: "gtc" (default), "day", or an ISO-8601 time.'}
    )
    deviation = fields.Integer(
        load_default=None,
        strict=True,
        validate=validate.Range(min=0, max=100_000),
        metadata={"description": "Market orders: largest adverse move (points) from `price` still accepted."},
    )

    @validates_schema
    def _by_type(self, data: dict[str, Any], **kwargs: Any) -> None:
        kind = data.get("type")
        if kind in ("limit", "stop", "stop_limit") and data.get("price") is None:
            raise ValidationError("A pending order needs a price.", "price")
        if kind == "stop_limit" and data.get("limit_price") is None:
            raise ValidationError("A stop_limit order needs limit_price.", "limit_price")
        if kind != "stop_limit" and data.get("limit_price") is not None:
            raise ValidationError("Only stop_limit orders take limit_price.", "limit_price")
        if kind == "market" and data.get("expiry") is not None:
            raise ValidationError("Market orders do not expire.", "expiry")


class NullableDecimal(DecimalString):
    """A decimal string, or null to clear the value."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_none=True, **kwargs)


class ModifyOrderSchema(Schema):
    price = DecimalString()
    limit_price = DecimalString()
    sl = NullableDecimal(metadata={"description": "null clears it"})
    tp = NullableDecimal(metadata={"description": "null clears it"})
    expiry = ExpiryField()

    @validates_schema
    def _something(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ValidationError("Send at least one of price, limit_price, sl, tp, expiry.", "_schema")


class ModifyPositionSchema(Schema):
    sl = NullableDecimal(metadata={"description": "Stop loss; null clears it."})
    tp = NullableDecimal(metadata={"description": "Take profit; null clears it."})

    @validates_schema
    def _something(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ValidationError("Send sl and/or tp.", "_schema")


class ClosePositionSchema(Schema):
    volume = DecimalString(load_default=None, places=4, metadata={"description": "Lots to close (default: all)."})


class CloseBySchema(Schema):
    by_position_id = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1),
        metadata={"description": "An opposite position of the same symbol on the same account."},
    )


class CloseAllSchema(Schema):
    account_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    symbol = fields.String(load_default=None, validate=SYMBOL)


class PageQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class OrdersQuerySchema(PageQuerySchema):
    account_id = fields.Integer(load_default=None, validate=validate.Range(min=1))
    status = fields.String(load_default=None, validate=validate.OneOf(ORDER_STATUSES))
    symbol = fields.String(load_default=None, validate=SYMBOL)


class PositionsQuerySchema(PageQuerySchema):
    account_id = fields.Integer(load_default=None, validate=validate.Range(min=1))
    status = fields.String(load_default="open", validate=validate.OneOf(POSITION_STATUSES))
    symbol = fields.String(load_default=None, validate=SYMBOL)


class TradesQuerySchema(PageQuerySchema):
    account_id = fields.Integer(load_default=None, validate=validate.Range(min=1))
    symbol = fields.String(load_default=None, validate=SYMBOL)
    from_ = fields.DateTime(load_default=None, data_key="from", metadata={"description": "ISO-8601, inclusive"})
    to = fields.DateTime(load_default=None, metadata={"description": "ISO-8601, exclusive"})
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))


class LedgerQuerySchema(PageQuerySchema):
    pass


# --- output --------------------------------------------------------------------------------------

_STR: dict[str, Any] = {"allow_none": True}


class AccountSchema(Schema):
    """An account with the engine's live figures (null until the engine has published them)."""

    id = fields.Integer()
    number = fields.String()
    type = fields.String(metadata={"enum": ["live", "demo"]})
    currency = fields.String()
    balance = fields.String()
    credit = fields.String()
    equity = fields.String(**_STR)
    margin = fields.String(**_STR)
    free_margin = fields.String(**_STR)
    margin_level = fields.String(**_STR, metadata={"description": "null when no margin is used"})
    floating_pl = fields.String(**_STR)
    held = fields.String()
    leverage = fields.Integer()
    trading_rights = fields.String(metadata={"enum": ["full", "close_only", "disabled"]})
    margin_call_level = fields.String()
    stop_out_level = fields.String()
    figures_at = fields.String(**_STR, metadata={"description": "when the engine computed the figures"})
    created_at = fields.String(**_STR)


class AccountResultSchema(Schema):
    command_id = fields.String()
    account = fields.Nested(AccountSchema)


class AccountListSchema(Schema):
    items = fields.List(fields.Nested(AccountSchema))


class OrderSchema(Schema):
    id = fields.Integer()
    account_id = fields.Integer()
    symbol = fields.String()
    side = fields.String()
    type = fields.String()
    status = fields.String()
    volume = fields.String()
    price = fields.String(**_STR)
    limit_price = fields.String(**_STR)
    sl = fields.String(**_STR)
    tp = fields.String(**_STR)
    expiry_type = fields.String()
    expires_at = fields.String(**_STR)
    deviation = fields.Integer(**_STR)
    stop_triggered = fields.Boolean()
    fill_price = fields.String(**_STR)
    position_id = fields.Integer(**_STR)
    reject_code = fields.String(**_STR)
    created_at = fields.String(**_STR)
    updated_at = fields.String(**_STR)
    closed_at = fields.String(**_STR)


class PositionSchema(Schema):
    id = fields.Integer()
    account_id = fields.Integer()
    order_id = fields.Integer(**_STR)
    symbol = fields.String()
    side = fields.String()
    status = fields.String()
    volume = fields.String()
    initial_volume = fields.String()
    open_price = fields.String()
    close_price = fields.String(**_STR)
    current_price = fields.String(**_STR, metadata={"description": "the closing-side price now (open positions)"})
    floating_pl = fields.String(**_STR, metadata={"description": "in the account currency, without swap"})
    sl = fields.String(**_STR)
    tp = fields.String(**_STR)
    swap = fields.String()
    commission = fields.String()
    realized_pl = fields.String()
    margin = fields.String()
    opened_at = fields.String(**_STR)
    updated_at = fields.String(**_STR)
    closed_at = fields.String(**_STR)


class TradeSchema(Schema):
    id = fields.Integer()
    account_id = fields.Integer()
    position_id = fields.Integer()
    order_id = fields.Integer(**_STR)
    symbol = fields.String()
    side = fields.String()
    entry = fields.String(metadata={"enum": ["in", "out"]})
    volume = fields.String()
    price = fields.String()
    profit = fields.String()
    commission = fields.String()
    swap = fields.String()
    reason = fields.String()
    executed_at = fields.String()


class LedgerEntrySchema(Schema):
    id = fields.Integer()
    account_id = fields.Integer()
    kind = fields.String()
    amount = fields.String()
    credit_amount = fields.String()
    balance_after = fields.String()
    credit_after = fields.String()
    external_id = fields.String(**_STR)
    trade_id = fields.Integer(**_STR)
    position_id = fields.Integer(**_STR)
    comment = fields.String(**_STR)
    created_at = fields.String()


def _page_of(item: type[Schema]) -> type[Schema]:
    return type(
        f"{item.__name__.removesuffix('Schema')}PageSchema",
        (Schema,),
        {
            "items": fields.List(fields.Nested(item)),
            "total": fields.Integer(),
            "page": fields.Integer(),
            "per_page": fields.Integer(),
        },
    )


OrderPageSchema = _page_of(OrderSchema)
PositionPageSchema = _page_of(PositionSchema)
TradePageSchema = _page_of(TradeSchema)
LedgerPageSchema = _page_of(LedgerEntrySchema)


class OrderResultSchema(Schema):
    command_id = fields.String()
    order = fields.Nested(OrderSchema)
    position = fields.Nested(PositionSchema, allow_none=True)


class PositionResultSchema(Schema):
    command_id = fields.String()
    position = fields.Nested(PositionSchema)
    trade = fields.Nested(TradeSchema, allow_none=True)


class FailedCloseSchema(Schema):
    position_id = fields.Integer()
    code = fields.String()
    message = fields.String()


class CloseByResultSchema(Schema):
    command_id = fields.String()
    positions = fields.List(fields.Nested(PositionSchema), metadata={"description": "The position, then the by one."})
    trades = fields.List(fields.Nested(TradeSchema), metadata={"description": "Their two closing trades."})


class CloseAllResultSchema(Schema):
    command_id = fields.String()
    positions = fields.List(fields.Nested(PositionSchema))
    failed = fields.List(fields.Nested(FailedCloseSchema))


class AcceptedSchema(Schema):
    """202: the engine has not answered yet; poll GET /api/commands/{command_id}."""

    command_id = fields.String()
    status = fields.String(metadata={"enum": ["pending"]})


class CommandStatusSchema(Schema):
    command_id = fields.String()
    status = fields.String(metadata={"enum": ["pending", "done"]})
    result = fields.Dict(allow_none=True, metadata={"description": "the engine's result once done"})
