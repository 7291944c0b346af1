"""Orders and positions: placement, triggers, fills, modification, partial and full close."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.core import liquidation
from engine.core.commands import (
    UNSET,
    CancelOrder,
    CloseAll,
    ClosePosition,
    ModifyOrder,
    ModifyPosition,
    OptPrice,
    PlaceOrder,
    Rejection,
)
from engine.core.context import Ctx
from engine.core.entities import BUY, CLOSED, FILLED, PENDING, REJECTED, SELL, Account, Order, Position
from engine.core.instruments import Instrument
from engine.core.journal import TradeRow
from engine.core.money import ZERO, fmt, on_grid, round_money
from engine.core.risk import position_pl
from engine.core.rollover import next_rollover
from engine.core.views import order_view, position_view, trade_view

if TYPE_CHECKING:
    from engine.core.engine import TradingCore

Outcome = dict[str, Any] | Rejection


# --- validation (nothing changes until all of it passes) --------------------------------------


def _rights(account: Account, opening: bool) -> Rejection | None:
    if account.trading_rights == "disabled":
        return Rejection("trading_disabled", "trading is disabled on this account")
    if opening and account.trading_rights == "close_only":
        return Rejection("close_only", "this account may only close positions")
    return None


def _volume(inst: Instrument, volume: Decimal) -> Rejection | None:
    if not (inst.volume_min <= volume <= inst.volume_max) or not on_grid(volume, inst.volume_step):
        return Rejection(
            "invalid_volume",
            f"volume must be {inst.volume_min}..{inst.volume_max} in steps of {inst.volume_step}",
        )
    return None


def _prices(inst: Instrument, *values: Decimal | None) -> Rejection | None:
    for value in values:
        if value is not None and (value <= ZERO or not on_grid(value, inst.point)):
            return Rejection("invalid_price", f"prices must be positive with at most {inst.digits} decimals")
    return None


def _stops(inst: Instrument, side: str, ref: Decimal, sl: Decimal | None, tp: Decimal | None) -> Rejection | None:
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


def _pending_price(
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


def _expiry(core: TradingCore, expiry_type: str, expires_at: int | None, now: int) -> int | Rejection | None:
    if expiry_type == "day":
        return next_rollover(now, core.rollover_minute)
    if expiry_type == "specified":
        if expires_at is None or expires_at <= now:
            return Rejection("invalid_expiry", "the expiry time must be in the future")
        return expires_at
    return None


# --- fills --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fill:
    """A filled order: the new position and the views already published for both."""

    position: Position
    order_view: dict[str, Any]
    position_view: dict[str, Any]


def open_position(
    core: TradingCore, ctx: Ctx, account: Account, order: Order, price: Decimal, reason: str
) -> Fill | Rejection:
    """Fill an order into a new position (hedging), if the free margin allows it."""
    inst = core.instruments[order.symbol]
    margin = core.quotes.convert_cost(
        core.margin_quote(account, inst, order.volume, price), inst.quote_currency, account.currency
    )
    commission = core.commission(account, inst, order.volume)
    if margin is None or commission is None:
        return Rejection("no_quote", "no conversion rate into the account currency")
    margin = round_money(margin, account.currency)
    fig = core.figures(account)
    if fig.equity + commission - fig.margin - margin - fig.held < ZERO:
        return Rejection("insufficient_margin", f"free margin {fig.free_margin} does not cover margin {margin}")
    now = ctx.now
    position = Position(
        id=core.ids.next_id("position"),
        account_id=account.id,
        order_id=order.id,
        symbol=order.symbol,
        side=order.side,
        volume=order.volume,
        initial_volume=order.volume,
        open_price=price,
        sl=order.sl,
        tp=order.tp,
        swap=round_money(ZERO, account.currency),
        swap_booked=round_money(ZERO, account.currency),
        commission=commission,
        realized_pl=round_money(ZERO, account.currency),
        margin=margin,
        opened_at=now,
        updated_at=now,
    )
    core.attach(position)
    core.changes.new_positions.add(position.id)
    trade = TradeRow(
        core.ids.next_id("trade"),
        account.id,
        position.id,
        order.id,
        order.symbol,
        order.side,
        "in",
        order.volume,
        price,
        ZERO,
        commission,
        ZERO,
        reason,
        ctx.command_id,
        now,
    )
    core.changes.trades.append(trade)
    core.changes.positions[position.id] = position
    if commission:
        core.post_ledger(ctx, account, "commission", commission, trade_id=trade.id, position_id=position.id)
    else:
        core.touch(account, now)
    order.status, order.fill_price, order.position_id = FILLED, price, position.id
    order.closed_at = order.updated_at = now
    core.changes.orders[order.id] = order
    fill = Fill(position, order_view(order), position_view(position))
    core.emit(account.id, "trade", trade=trade_view(trade))
    core.emit(account.id, "position", event="opened", position=fill.position_view)
    core.emit(account.id, "order", event="filled", order=fill.order_view)
    return fill


def close(
    core: TradingCore, ctx: Ctx, account: Account, position: Position, volume: Decimal, price: Decimal, reason: str
) -> TradeRow:
    """Close volume of a position at price: realise P/L, the closing commission and its swap share."""
    inst = core.instruments[position.symbol]
    ccy = account.currency
    diff = price - position.open_price if position.side == BUY else position.open_price - price
    converted = core.quotes.convert(diff * volume * inst.contract_size, inst.quote_currency, ccy)
    profit = round_money(converted if converted is not None else ZERO, ccy)
    commission = core.commission(account, inst, volume) or ZERO
    unbooked = position.swap - position.swap_booked
    full = volume == position.volume
    swap = unbooked if full else round_money(unbooked * volume / position.volume, ccy)
    now = ctx.now
    core.detach(position)
    position.volume -= volume
    position.swap_booked += swap
    position.commission += commission
    position.realized_pl += profit
    position.close_price = price
    position.updated_at = now
    if full:
        position.status, position.closed_at = CLOSED, now
    else:
        margin = core.quotes.convert_cost(
            core.margin_quote(account, inst, position.volume, position.open_price), inst.quote_currency, ccy
        )
        position.margin = round_money(margin if margin is not None else ZERO, ccy)
        core.attach(position)
    closing_side = SELL if position.side == BUY else BUY
    trade = TradeRow(
        core.ids.next_id("trade"),
        account.id,
        position.id,
        None,
        position.symbol,
        closing_side,
        "out",
        volume,
        price,
        profit,
        commission,
        swap,
        reason,
        ctx.command_id,
        now,
    )
    core.changes.trades.append(trade)
    core.changes.positions[position.id] = position
    posted = False
    for kind, amount in (("trade", profit), ("commission", commission), ("swap", swap)):
        if amount:
            core.post_ledger(ctx, account, kind, amount, trade_id=trade.id, position_id=position.id)
            posted = True
    if not posted:
        core.touch(account, now)
    core.emit(account.id, "trade", trade=trade_view(trade))
    core.emit(account.id, "position", event="closed" if full else "partially_closed", position=position_view(position))
    if full:
        core.webhook(
            ctx,
            "position.closed",
            {
                "account_id": account.id,
                "user_id": account.user_id,
                "reason": reason,
                "position": position_view(position),
            },
        )
    return trade


def end_order(core: TradingCore, ctx: Ctx, order: Order, status: str) -> dict[str, Any]:
    """Cancel or expire a pending order."""
    core.unindex_order(order)
    order.status = status
    order.closed_at = order.updated_at = ctx.now
    core.changes.orders[order.id] = order
    view = order_view(order)
    core.emit(order.account_id, "order", event=status, order=view)
    if status == "expired":
        core.audit(ctx, "order.expired", "success", "order", order.id, {"account_id": order.account_id})
    return view


# --- triggers -----------------------------------------------------------------------------------


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
    outcome: Fill | Rejection = _rights(account, opening=True) or open_position(
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


def trigger_stops(core: TradingCore, position: Position, bid: Decimal, ask: Decimal, now: int) -> bool:
    """SL fills at the market price (a gap fills at the gap); TP at its price or better."""
    account = core.accounts[position.account_id]
    inst = core.instruments[position.symbol]
    if core.quotes.rate(inst.quote_currency, account.currency, for_loss=True) is None:
        return False
    if position.side == BUY:
        if position.sl is not None and bid <= position.sl:
            reason, price = "sl", bid
        elif position.tp is not None and bid >= position.tp:
            reason, price = "tp", max(position.tp, bid)
        else:
            return False
    elif position.sl is not None and ask >= position.sl:
        reason, price = "sl", ask
    elif position.tp is not None and ask <= position.tp:
        reason, price = "tp", min(position.tp, ask)
    else:
        return False
    ctx = Ctx(None, {"type": "system", "id": "engine"}, now)
    trade = close(core, ctx, account, position, position.volume, price, reason)
    core.audit(
        ctx, f"position.{reason}", "success", "position", position.id, {"trade_id": trade.id, "price": str(price)}
    )
    liquidation.reset_negative(core, ctx, account)
    return True


# --- commands -------------------------------------------------------------------------------------


def place_order(core: TradingCore, ctx: Ctx, account: Account, cmd: PlaceOrder) -> Outcome:
    inst = core.instruments.get(cmd.symbol)
    if inst is None:
        return Rejection("unknown_symbol", f"unknown symbol {cmd.symbol}")
    problem = (
        _rights(account, opening=True)
        or _volume(inst, cmd.volume)
        or _prices(inst, cmd.price, cmd.limit_price, cmd.sl, cmd.tp)
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
    expires_at = _expiry(core, cmd.expiry_type, cmd.expires_at, ctx.now)
    entry = cmd.limit_price if cmd.type == "stop_limit" and cmd.limit_price is not None else cmd.price
    problem = (
        _pending_price(inst, cmd.side, cmd.type, cmd.price, cmd.limit_price, quote.bid, quote.ask)
        or _stops(inst, cmd.side, entry, cmd.sl, cmd.tp)
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
    problem = _stops(inst, cmd.side, bid if buy else ask, cmd.sl, cmd.tp)
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
    problem = _rights(account, opening=False) or _prices(inst, price, limit_price, sl, tp)
    problem = problem or core.market_check(inst, account, ctx.now)
    if problem:
        return problem
    if price is None:
        return Rejection("invalid_price", "a pending order needs a price")
    quote = core.quotes.quotes[inst.symbol]
    if order.type == "stop_limit" and order.stop_triggered:
        assert limit_price is not None
        problem = _pending_price(inst, order.side, "limit", limit_price, None, quote.bid, quote.ask)
    else:
        problem = _pending_price(inst, order.side, order.type, price, limit_price, quote.bid, quote.ask)
    entry = limit_price if order.type == "stop_limit" and limit_price is not None else price
    problem = problem or _stops(inst, order.side, entry, sl, tp)
    expiry_type, expires_at = order.expiry_type, order.expires_at
    if cmd.expiry_type is not None:
        new_expiry = _expiry(core, cmd.expiry_type, cmd.expires_at, ctx.now)
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
    view = end_order(core, ctx, order, "cancelled")
    core.audit(ctx, "order.cancel", "success", "order", order.id, {"account_id": account.id})
    return {"order": view}


def modify_position(core: TradingCore, ctx: Ctx, account: Account, cmd: ModifyPosition) -> Outcome:
    position = account.positions.get(cmd.position_id)
    if position is None:
        return Rejection("position_not_found", f"no open position {cmd.position_id} on this account")
    inst = core.instruments[position.symbol]
    sl, tp = _merge(cmd.sl, position.sl), _merge(cmd.tp, position.tp)
    problem = _rights(account, opening=False) or _prices(inst, sl, tp) or core.market_check(inst, account, ctx.now)
    if problem:
        return problem
    quote = core.quotes.quotes[inst.symbol]
    problem = _stops(inst, position.side, quote.bid if position.side == BUY else quote.ask, sl, tp)
    if problem:
        return problem
    book = core.books[position.symbol]
    book.remove_stops(position)
    position.sl, position.tp, position.updated_at = inst.norm_price(sl), inst.norm_price(tp), ctx.now
    book.add_stops(position)
    core.changes.positions[position.id] = position
    price, pl = position_pl(core, position, account.currency)
    view = position_view(position, price, pl)
    core.emit(account.id, "position", event="modified", position=view)
    core.audit(ctx, "position.modify", "success", "position", position.id, {"sl": str(sl), "tp": str(tp)})
    return {"position": view}


def close_position_command(core: TradingCore, ctx: Ctx, account: Account, cmd: ClosePosition) -> Outcome:
    position = account.positions.get(cmd.position_id)
    if position is None:
        return Rejection("position_not_found", f"no open position {cmd.position_id} on this account")
    inst = core.instruments[position.symbol]
    volume = cmd.volume if cmd.volume is not None else position.volume
    remainder = position.volume - volume
    if (
        volume <= ZERO
        or remainder < ZERO
        or not on_grid(volume, inst.volume_step)
        or (ZERO < remainder < inst.volume_min)
        or (remainder > ZERO and volume < inst.volume_min)
    ):
        return Rejection("invalid_volume", f"close volume must be on the {inst.volume_step} grid, leaving 0 or ≥ min")
    problem = _rights(account, opening=False) or core.market_check(inst, account, ctx.now)
    if problem:
        return problem
    volume = inst.norm_volume(volume)
    quote = core.quotes.quotes[inst.symbol]
    trade = close(core, ctx, account, position, volume, quote.bid if position.side == BUY else quote.ask, "client")
    core.audit(ctx, "position.close", "success", "position", position.id, {"trade": trade_view(trade)})
    liquidation.reset_negative(core, ctx, account)
    liquidation.evaluate(core, account, ctx)
    price, pl = position_pl(core, position, account.currency) if position.status != CLOSED else (None, None)
    return {"position": position_view(position, price, pl), "trade": trade_view(trade)}


def close_all(core: TradingCore, ctx: Ctx, account: Account, cmd: CloseAll) -> Outcome:
    if cmd.symbol is not None and cmd.symbol not in core.instruments:
        return Rejection("unknown_symbol", f"unknown symbol {cmd.symbol}")
    problem = _rights(account, opening=False)
    if problem:
        return problem
    closed: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for position in sorted(account.positions.values(), key=lambda p: p.id):
        if cmd.symbol is not None and position.symbol != cmd.symbol:
            continue
        check = core.market_check(core.instruments[position.symbol], account, ctx.now)
        if check is not None:
            failed.append({"position_id": position.id, "code": check.code, "message": check.message})
            continue
        quote = core.quotes.quotes[position.symbol]
        close(
            core, ctx, account, position, position.volume, quote.bid if position.side == BUY else quote.ask, "close_all"
        )
        closed.append(position_view(position))
    details = {"symbol": cmd.symbol, "closed": [p["id"] for p in closed], "failed": failed}
    core.audit(ctx, "position.close_all", "success", "account", account.id, details)
    liquidation.reset_negative(core, ctx, account)
    liquidation.evaluate(core, account, ctx)
    return {"positions": closed, "failed": failed}
