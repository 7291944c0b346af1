"""Fills: an order becomes a position; a position (or part of it) is closed; an order ends."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from engine.core.commands import Rejection
from engine.core.context import Ctx
from engine.core.entities import BUY, CLOSED, FILLED, SELL, Account, Order, Position
from engine.core.journal import TradeRow
from engine.core.money import ZERO, round_money
from engine.core.views import order_view, position_view, trade_view

if TYPE_CHECKING:
    from engine.core.engine import TradingCore


class Fill(NamedTuple):
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
    zero = round_money(ZERO, account.currency)  # Decimals are immutable: one object serves all three
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
        swap=zero,
        swap_booked=zero,
        commission=commission,
        realized_pl=zero,
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
