"""Validation of orders and stops: every check runs before anything changes."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from engine.core.commands import Rejection
from engine.core.entities import BUY, SELL, Account, Order, Position
from engine.core.instruments import Instrument
from engine.core.money import ZERO, on_grid
from engine.core.rollover import next_rollover

if TYPE_CHECKING:
    from engine.core.engine import TradingCore


def check_rights(account: Account, opening: bool) -> Rejection | None:
    if account.trading_rights == "disabled":
        return Rejection("trading_disabled", "trading is disabled on this account")
    if opening and account.trading_rights == "close_only":
        return Rejection("close_only", "this account may only close positions")
    return None


def check_volume(inst: Instrument, volume: Decimal) -> Rejection | None:
    if not (inst.volume_min <= volume <= inst.volume_max) or not on_grid(volume, inst.volume_step):
        return Rejection(
            "invalid_volume",
            f"volume must be {inst.volume_min}..{inst.volume_max} in steps of {inst.volume_step}",
        )
    return None


def check_prices(inst: Instrument, *values: Decimal | None) -> Rejection | None:
    for value in values:
        if value is not None and (value <= ZERO or not on_grid(value, inst.point)):
            return Rejection("invalid_price", f"prices must be positive with at most {inst.digits} decimals")
    return None


def check_stops(inst: Instrument, side: str, ref: Decimal, sl: Decimal | None, tp: Decimal | None) -> Rejection | None:
    """SL below and TP above a buy's reference price (mirrored for a sell), at least stops_level away."""
    dist = inst.stops_level * inst.point
    if side == BUY:
        bad = (sl is not None and not (sl < ref and sl <= ref - dist)) or (
            tp is not None and not (tp > ref and tp >= ref + dist)
        )
    else:
        bad = (sl is not None and not (sl > ref and sl >= ref + dist)) or (
            tp is not None and not (tp < ref and tp <= ref - dist)
        )
    if bad:
        return Rejection("invalid_stops", f"SL/TP must be on the right side of {ref}, at least {dist} away")
    return None


def _within(dist: Decimal, ref: Decimal, *prices: Decimal | None) -> bool:
    return any(price is not None and abs(ref - price) <= dist for price in prices)


def check_order_frozen(inst: Instrument, order: Order, bid: Decimal, ask: Decimal) -> Rejection | None:
    """MT5's freeze level: a pending order whose activation price is within freeze_level points of
    the market (Ask for a buy, Bid for a sell) is about to trigger and can be neither modified nor
    cancelled by the client (expiry and stop-out still end it)."""
    if not inst.freeze_level:
        return None
    price = order.limit_price if order.type == "stop_limit" and order.stop_triggered else order.price
    if _within(inst.freeze_level * inst.point, ask if order.side == BUY else bid, price):
        return Rejection("frozen", f"the order is within the freeze level ({inst.freeze_level} points) of the market")
    return None


def check_position_frozen(inst: Instrument, position: Position, bid: Decimal, ask: Decimal) -> Rejection | None:
    """MT5's freeze level: a position whose SL or TP is within freeze_level points of its closing
    price (Bid for a buy, Ask for a sell) can be neither modified nor closed by the client."""
    if not inst.freeze_level:
        return None
    if _within(inst.freeze_level * inst.point, bid if position.side == BUY else ask, position.sl, position.tp):
        return Rejection(
            "frozen", f"the SL or TP is within the freeze level ({inst.freeze_level} points) of the market"
        )
    return None


def check_pending_price(
    inst: Instrument, side: str, kind: str, price: Decimal, limit_price: Decimal | None, bid: Decimal, ask: Decimal
) -> Rejection | None:
    """Limits below the ask (buy) / above the bid (sell); stops beyond them; stops_level away."""
    dist = inst.stops_level * inst.point
    if kind == "limit":
        ok = (price < ask and price <= ask - dist) if side == BUY else (price > bid and price >= bid + dist)
    else:
        ok = (price > ask and price >= ask + dist) if side == BUY else (price < bid and price <= bid - dist)
    if not ok:
        return Rejection("invalid_price", f"a {side} {kind} price is on the wrong side of the market or too close")
    if kind == "stop_limit":
        if limit_price is None:
            return Rejection("invalid_price", "a stop_limit order needs limit_price")
        if (side == BUY and limit_price > price) or (side == SELL and limit_price < price):
            return Rejection("invalid_price", "the limit price must be on the better side of the stop price")
    elif limit_price is not None:
        return Rejection("invalid_price", "limit_price is only for stop_limit orders")
    return None


def expiry_time(core: TradingCore, expiry_type: str, expires_at: int | None, now: int) -> int | Rejection | None:
    if expiry_type == "day":
        return next_rollover(now, core.rollover_minute)
    if expiry_type == "specified":
        if expires_at is None or expires_at <= now:
            return Rejection("invalid_expiry", "the expiry time must be in the future")
        return expires_at
    return None
