"""Schemas of the market-data API (query validation and OpenAPI); prices are decimal strings."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from feed.candles import INTERVALS, MAX_LIMIT

DECIMAL = {"type": "string", "format": "decimal"}


def _decimal(description: str, example: str | None = None, **kwargs: object) -> fields.Field:
    metadata: dict[str, object] = {**DECIMAL, "description": description}
    if example is not None:
        metadata["example"] = example
    return fields.String(metadata=metadata, **kwargs)  # type: ignore[arg-type]


class QuoteSchema(Schema):
    bid = _decimal("Client bid (markup applied)", example="1.08121")
    ask = _decimal("Client ask (markup applied)", example="1.08131")
    ts = fields.Integer(metadata={"description": "Quote time, epoch milliseconds", "example": 1764410000123})


class SymbolSchema(Schema):
    symbol = fields.String(metadata={"example": "EURUSD"})
    description = fields.String(metadata={"example": "Euro vs US Dollar"})
    kind = fields.String(metadata={"example": "forex", "description": "forex | metal | energy | crypto | index"})
    base_currency = fields.String(metadata={"example": "EUR"})
    quote_currency = fields.String(metadata={"example": "USD"})
    digits = fields.Integer(metadata={"example": 5})
    contract_size = _decimal("Units per lot", example="100000")
    volume_min = _decimal("Smallest order volume in lots", example="0.01")
    volume_max = _decimal("Largest order volume in lots", example="100")
    volume_step = _decimal("Volume increment in lots", example="0.01")
    max_leverage = fields.Integer(metadata={"example": 500})
    margin_rate = _decimal("Margin rate override (null: 1/leverage)", allow_none=True)
    spread_markup = _decimal("Added to the provider's spread", example="0.00002")
    commission_per_lot = _decimal("Commission per lot per side, account currency", example="3.00")
    swap_long = _decimal("Swap of a long position per lot per night", example="-7.2")
    swap_short = _decimal("Swap of a short position per lot per night", example="2.1")
    swap_mode = fields.String(metadata={"example": "points"})
    triple_swap_day = fields.Integer(metadata={"example": 3, "description": "0 = Monday … 6 = Sunday"})
    stops_level = fields.Integer(metadata={"example": 10, "description": "Minimum stop distance in points"})
    freeze_level = fields.Integer(
        metadata={
            "example": 0,
            "description": "Points from the market inside which a pending order or a position's SL/TP is frozen "
            "(no modify, cancel or close: `frozen`); 0 = never",
        }
    )
    max_deviation = fields.Integer(metadata={"example": 50, "description": "Largest allowed slippage in points"})
    max_quote_age_s = fields.Integer(metadata={"example": 30, "description": "Older quotes make the symbol stale"})
    sessions = fields.Dict(
        metadata={"description": "Trading windows per weekday (UTC)", "example": {"mon": [["00:00", "24:00"]]}}
    )
    tradable = fields.Boolean(metadata={"description": "Session open and quote fresh right now"})
    quote = fields.Nested(QuoteSchema, allow_none=True)


class FeedStatusSchema(Schema):
    feed = fields.String(metadata={"example": "ws", "description": "ws | rest-fallback | down"})
    since = fields.Integer(metadata={"description": "Epoch ms of the last mode change"})
    source = fields.String(metadata={"example": "twelvedata", "description": "twelvedata | marketsim"})
    failed_symbols = fields.List(fields.String(), metadata={"description": "Symbols the upstream cannot serve"})
    stale_symbols = fields.List(fields.String(), metadata={"description": "Open symbols without a fresh quote"})


class CandlesQuerySchema(Schema):
    symbol = fields.String(required=True, validate=validate.Length(1, 32), metadata={"example": "EURUSD"})
    interval = fields.String(
        required=True, validate=validate.OneOf(list(INTERVALS)), metadata={"example": "1m", "enum": list(INTERVALS)}
    )
    limit = fields.Integer(
        load_default=500, validate=validate.Range(1, MAX_LIMIT), metadata={"example": 1000, "description": "1-5000"}
    )


class CandleSchema(Schema):
    t = fields.Integer(metadata={"description": "Bar start, epoch seconds (UTC)", "example": 1764410400})
    o = _decimal("Open", example="1.08120")
    h = _decimal("High", example="1.08155")
    low = _decimal("Low", example="1.08101", data_key="l")
    c = _decimal("Close", example="1.08140")
    v = _decimal("Volume (0 where the provider has none, e.g. spot forex)", example="0")
