"""Orders: placement (market and pending), modification, cancellation and pending triggers."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.core import liquidation
from engine.core.commands import UNSET, CancelOrder, ModifyOrder, OptPrice, PlaceOrder, Rejection
from engine.core.context import Ctx
from engine.core.entities import BUY, PENDING, REJECTED, Account, Order
from engine.core.fills import Fill, end_order, open_position
from engine.core.instruments import Instrument
from engine.core.money import fmt
from engine.core.risk import position_pl
from engine.core.rules import (
    check_order_frozen,
    check_pending_price,
    check_prices,
    check_rights,
    check_stops,
    check_volume,
    expiry_time,
)
from engine.core.views import order_view

if TYPE_CHECKING:
    from engine.core.engine import TradingCore

Outcome = dict[str, Any] | Rejection


def trigger_order(core: TradingCore, order: Order, bid: Decimal, ask: Decimal, ts: int, now: int) -> bool:
    """A tick reached a pending order: arm a stop-limit's limit, or fill (or reject) the order."""
    if order.expires_at is not None and order.expires_at <= ts:
        return False
    ctx = Ctx(None, {"type": "system", "id": "engine"}, now)
    buy = order.side == BUY
    if order.type == "stop_limit" and not order.stop_triggered:
        core.books[order.symbol].remove_order(order)
        order.stop_triggered = True
        order.updated_at = now
        core.books[order.symbol].add_order(order)
        core.changes.orders[order.id] = order
        core.emit(order.account_id, "order", event="triggered", order=order_view(order))
        limit = order.trigger_price
        if not (ask <= limit if buy else bid >= limit):
            return False
        fill = min(limit, ask) if buy else max(limit, bid)
    elif order.acts_as_limit:
        fill = min(order.trigger_price, ask) if buy else max(order.trigger_price, bid)
    else:
        fill = ask if buy else bid
    account = core.accounts[order.account_id]
    core.unindex_order(order)
    outcome: Fill | Rejection = check_rights(account, opening=True) or open_position(
        core, ctx, account, order, fill, order.type
    )
    if isinstance(outcome, Rejection):
        order.status, order.reject_code = REJECTED, outcome.code
        order.closed_at = order.updated_at = now
        core.changes.orders[order.id] = order
        core.emit(account.id, "order", event="rejected", order=order_view(order))
        core.audit(ctx, "order.rejected", "rejected", "order", order.id, {"code": outcome.code, "price": str(fill)})
    else:
        details = {"position_id": outcome.position.id, "price": str(fill)}
        core.audit(ctx, "order.filled", "success", "order", order.id, details)
    return True


def place_order(core: TradingCore, ctx: Ctx, account: Account, cmd: PlaceOrder) -> Outcome:
    inst = core.instruments.get(cmd.symbol)
    if inst is None:
        return Rejection("unknown_symbol", f"unknown symbol {cmd.symbol}")
    problem = (
        check_rights(account, opening=True)
        or check_volume(inst, cmd.volume)
        or check_prices(inst, cmd.price, cmd.limit_price, cmd.sl, cmd.tp)
        or core.market_check(inst, account, ctx.now)
    )
    if problem:
        return problem
    quote = core.quotes.quotes[inst.symbol]
    buy = cmd.side == BUY
    if cmd.type == "market":
        return _place_market(core, ctx, account, inst, cmd, quote.ask if buy else quote.bid, quote.bid, quote.ask)
    if cmd.price is None:
        return Rejection("invalid_price", f"a {cmd.type} order needs a price")
    expires_at = expiry_time(core, cmd.expiry_type, cmd.expires_at, ctx.now)
    entry = cmd.limit_price if cmd.type == "stop_limit" and cmd.limit_price is not None else cmd.price
    problem = (
        check_pending_price(inst, cmd.side, cmd.type, cmd.price, cmd.limit_price, quote.bid, quote.ask)
        or check_stops(inst, cmd.side, entry, cmd.sl, cmd.tp)
        or (expires_at if isinstance(expires_at, Rejection) else None)
    )
    if problem:
        return problem
    assert not isinstance(expires_at, Rejection)
    order = _new_order(core, ctx, account, cmd, PENDING)
    order.expires_at = expires_at
    core.index_order(order)
    core.changes.orders[order.id] = order
    core.changes.new_orders.add(order.id)
    view = order_view(order)
    _placed(core, ctx, account, order, view)
    return {"order": view}


def _new_order(core: TradingCore, ctx: Ctx, account: Account, cmd: PlaceOrder, status: str) -> Order:
    inst = core.instruments[cmd.symbol]
    return Order(
        id=core.ids.next_id("order"),
        account_id=account.id,
        symbol=cmd.symbol,
        side=cmd.side,
        type=cmd.type,
        status=status,
        volume=inst.norm_volume(cmd.volume),
        price=inst.norm_price(cmd.price),
        limit_price=inst.norm_price(cmd.limit_price),
        sl=inst.norm_price(cmd.sl),
        tp=inst.norm_price(cmd.tp),
        expiry_type=cmd.expiry_type if cmd.type != "market" else "gtc",
        deviation=cmd.deviation,
        command_id=ctx.command_id,
        created_at=ctx.now,
        updated_at=ctx.now,
    )


def _place_market(
    core: TradingCore,
    ctx: Ctx,
    account: Account,
    inst: Instrument,
    cmd: PlaceOrder,
    fill: Decimal,
    bid: Decimal,
    ask: Decimal,
) -> Outcome:
    buy = cmd.side == BUY
    if cmd.price is not None:
        deviation = cmd.deviation if cmd.deviation is not None else inst.max_deviation
        slippage = fill - cmd.price if buy else cmd.price - fill
        if slippage > deviation * inst.point:
            return Rejection("price_moved", f"the price moved to {fill}, beyond the allowed deviation")
    problem = check_stops(inst, cmd.side, bid if buy else ask, cmd.sl, cmd.tp)
    if problem:
        return problem
    order = _new_order(core, ctx, account, cmd, PENDING)
    filled = open_position(core, ctx, account, order, fill, "market")
    if isinstance(filled, Rejection):
        return filled
    core.changes.new_orders.add(order.id)
    _placed(core, ctx, account, order, filled.order_view)
    liquidation.evaluate(core, account, ctx)
    price, pl = position_pl(core, filled.position, account.currency)
    return {
        "order": filled.order_view,
        "position": {**filled.position_view, "current_price": fmt(price), "floating_pl": fmt(pl)},
    }


AUDITED_ORDER_FIELDS = ("symbol", "side", "type", "volume", "price", "limit_price", "sl", "tp", "status", "fill_price")


def _placed(core: TradingCore, ctx: Ctx, account: Account, order: Order, view: dict[str, Any]) -> None:
    if order.status == PENDING:
        core.emit(account.id, "order", event="placed", order=view)
    core.webhook(ctx, "order.placed", {"account_id": account.id, "user_id": account.user_id, "order": view})
    details = {name: view[name] for name in AUDITED_ORDER_FIELDS if view[name] is not None}
    details.update(account_id=account.id, position_id=order.position_id)
    core.audit(ctx, "order.place", "success", "order", order.id, details)


def _merge(new: OptPrice, old: Decimal | None) -> Decimal | None:
    return old if new is UNSET else new


def modify_order(core: TradingCore, ctx: Ctx, account: Account, cmd: ModifyOrder) -> Outcome:
    order = account.orders.get(cmd.order_id)
    if order is None:
        return Rejection("order_not_found", f"no pending order {cmd.order_id} on this account")
    inst = core.instruments[order.symbol]
    price, limit_price = _merge(cmd.price, order.price), _merge(cmd.limit_price, order.limit_price)
    sl, tp = _merge(cmd.sl, order.sl), _merge(cmd.tp, order.tp)
    problem = check_rights(account, opening=False) or check_prices(inst, price, limit_price, sl, tp)
    problem = problem or core.market_check(inst, account, ctx.now)
    if problem:
        return problem
    if price is None:
        return Rejection("invalid_price", "a pending order needs a price")
    quote = core.quotes.quotes[inst.symbol]
    problem = check_order_frozen(inst, order, quote.bid, quote.ask)
    if problem:
        return problem
    if order.type == "stop_limit" and order.stop_triggered:
        assert limit_price is not None
        problem = check_pending_price(inst, order.side, "limit", limit_price, None, quote.bid, quote.ask)
    else:
        problem = check_pending_price(inst, order.side, order.type, price, limit_price, quote.bid, quote.ask)
    entry = limit_price if order.type == "stop_limit" and limit_price is not None else price
    problem = problem or check_stops(inst, order.side, entry, sl, tp)
    expiry_type, expires_at = order.expiry_type, order.expires_at
    if cmd.expiry_type is not None:
        new_expiry = expiry_time(core, cmd.expiry_type, cmd.expires_at, ctx.now)
        if isinstance(new_expiry, Rejection):
            problem = problem or new_expiry
        else:
            expiry_type, expires_at = cmd.expiry_type, new_expiry
    if problem:
        return problem
    core.unindex_order(order)
    order.price, order.limit_price = inst.norm_price(price), inst.norm_price(limit_price)
    order.sl, order.tp = inst.norm_price(sl), inst.norm_price(tp)
    order.expiry_type, order.expires_at, order.updated_at = expiry_type, expires_at, ctx.now
    core.index_order(order)
    core.changes.orders[order.id] = order
    view = order_view(order)
    core.emit(account.id, "order", event="modified", order=view)
    core.audit(ctx, "order.modify", "success", "order", order.id, {"account_id": account.id, "order": view})
    return {"order": view}


def cancel_order(core: TradingCore, ctx: Ctx, account: Account, cmd: CancelOrder) -> Outcome:
    order = account.orders.get(cmd.order_id)
    if order is None:
        return Rejection("order_not_found", f"no pending order {cmd.order_id} on this account")
    inst = core.instruments[order.symbol]
    if core.market_check(inst, account, ctx.now) is None:  # a closed market or an old quote freezes nothing
        quote = core.quotes.quotes[inst.symbol]
        problem = check_order_frozen(inst, order, quote.bid, quote.ask)
        if problem:
            return problem
    view = end_order(core, ctx, order, "cancelled")
    core.audit(ctx, "order.cancel", "success", "order", order.id, {"account_id": account.id})
    return {"order": view}
