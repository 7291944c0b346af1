"""Normalise provider prices into client quotes: Decimal, bid/ask from the spread when missing, markup.

Rules (DESIGN "Market data"):
- prices are parsed straight to Decimal (the WebSocket JSON with parse_float=Decimal);
- when bid/ask are missing, equal or crossed, they are synthesised from the mid and the instrument's
  default spread s: bid = mid - s/2 rounded down, ask = mid + s/2 rounded up (to the instrument's digits);
  a real bid/ask is rounded outwards to the digits the same way;
- then the instrument's spread_markup m widens the quote by exactly m: bid - floor(m/2), ask + (m - floor(m/2)),
  so rounding never narrows the client spread and never takes more than the markup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

STALE_SOURCE_MS = 5_000  # a provider timestamp older than this is kept as the quote's time
TWO = Decimal(2)


class BadTick(ValueError):
    """A provider message that cannot become a quote."""


@dataclass(frozen=True)
class InstrumentSpec:
    """What the feed needs of an instrument (from the instruments table)."""

    symbol: str
    provider_symbol: str
    digits: int
    default_spread: Decimal
    spread_markup: Decimal
    kind: str = "forex"
    max_quote_age_s: int = 30
    sessions: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def unit(self) -> Decimal:
        return Decimal(1).scaleb(-self.digits)


@dataclass(frozen=True)
class Quote:
    """A client quote: markup applied, decimal prices, ts in epoch milliseconds."""

    symbol: str
    bid: Decimal
    ask: Decimal
    ts: int

    def to_json(self) -> str:
        """The JSON of md:quote:{SYMBOL} and md:last."""
        return json.dumps(
            {"symbol": self.symbol, "bid": str(self.bid), "ask": str(self.ask), "ts": self.ts}, separators=(",", ":")
        )

    def to_fields(self) -> dict[str, str]:
        """The md:ticks stream fields."""
        return {"symbol": self.symbol, "bid": str(self.bid), "ask": str(self.ask), "ts": str(self.ts)}


def round_down(value: Decimal, digits: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_FLOOR)


def round_up(value: Decimal, digits: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_CEILING)


def to_decimal(value: Any) -> Decimal | None:
    """A positive finite Decimal from a JSON number/string, or None (never through float)."""
    if value is None or isinstance(value, (bool, float)):  # a float means the JSON was parsed wrongly
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number <= 0:
        return None
    return number


def client_prices(
    spec: InstrumentSpec, price: Decimal | None, bid: Decimal | None, ask: Decimal | None
) -> tuple[Decimal, Decimal]:
    """Client bid/ask for a provider price and optional bid/ask (see the module rules)."""
    digits = spec.digits
    if bid is not None and ask is not None and bid < ask:
        raw_bid, raw_ask = round_down(bid, digits), round_up(ask, digits)
    else:
        mid = price if price is not None else (bid if bid is not None else ask)
        if mid is None:
            raise BadTick("no price")
        half = spec.default_spread / TWO
        raw_bid, raw_ask = round_down(mid - half, digits), round_up(mid + half, digits)
        if raw_ask <= raw_bid:  # a zero spread still quotes one point apart
            raw_ask = raw_bid + spec.unit
    markup = spec.spread_markup
    low_half = round_down(markup / TWO, digits)
    client_bid = round_down(raw_bid - low_half, digits)
    client_ask = round_up(raw_ask + (markup - low_half), digits)
    if client_bid <= 0:
        raise BadTick("non-positive bid")
    return client_bid, client_ask


def quote_time(provider_ts_s: Any, received_ms: int) -> int:
    """The quote's time: when we received it, unless the provider says the price is genuinely old."""
    if isinstance(provider_ts_s, bool) or not isinstance(provider_ts_s, (int, Decimal)):
        return received_ms
    source_ms = int(provider_ts_s) * 1000
    if 0 < source_ms < received_ms - STALE_SOURCE_MS:
        return source_ms
    return received_ms


def from_price_event(spec: InstrumentSpec, event: dict[str, Any], received_ms: int) -> Quote:
    """A WebSocket `price` event to a client quote."""
    price = to_decimal(event.get("price"))
    bid, ask = to_decimal(event.get("bid")), to_decimal(event.get("ask"))
    if price is None and (bid is None or ask is None):
        raise BadTick(f"unusable price in event for {spec.provider_symbol}")
    client_bid, client_ask = client_prices(spec, price, bid, ask)
    return Quote(spec.symbol, client_bid, client_ask, quote_time(event.get("timestamp"), received_ms))


def from_rest_quote(spec: InstrumentSpec, body: dict[str, Any], received_ms: int) -> Quote:
    """A REST /quote (close, last_quote_at) or /price (price) answer to a client quote."""
    price = to_decimal(body.get("close", body.get("price")))
    if price is None:
        raise BadTick(f"unusable REST price for {spec.provider_symbol}")
    client_bid, client_ask = client_prices(spec, price, None, None)
    when = body.get("last_quote_at", body.get("timestamp"))
    if isinstance(when, str) and when.isdigit():
        when = int(when)
    return Quote(spec.symbol, client_bid, client_ask, quote_time(when, received_ms))
