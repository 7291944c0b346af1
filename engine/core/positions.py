"""Positions: SL/TP triggers, SL/TP changes, full and partial close, close by, close-all."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.core import liquidation
from engine.core.commands import UNSET, CloseAll, CloseBy, ClosePosition, ModifyPosition, OptPrice, Rejection
from engine.core.context import Ctx
from engine.core.entities import BUY, CLOSED, Account, Position
from engine.core.fills import close
from engine.core.money import ZERO, on_grid
from engine.core.risk import position_pl
from engine.core.rules import check_position_frozen, check_prices, check_rights, check_stops
from engine.core.views import position_view, trade_view

if TYPE_CHECKING:
    from engine.core.engine import TradingCore

Outcome = dict[str, Any] | Rejection


def _merge(new: OptPrice, old: Decimal | None) -> Decimal | None:
    return old if new is UNSET else new


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


def modify_position(core: TradingCore, ctx: Ctx, account: Account, cmd: ModifyPosition) -> Outcome:
    position = account.positions.get(cmd.position_id)
    if position is None:
        return Rejection("position_not_found", f"no open position {cmd.position_id} on this account")
    inst = core.instruments[position.symbol]
    sl, tp = _merge(cmd.sl, position.sl), _merge(cmd.tp, position.tp)
    problem = (
        check_rights(account, opening=False) or check_prices(inst, sl, tp) or core.market_check(inst, account, ctx.now)
    )
    if problem:
        return problem
    quote = core.quotes.quotes[inst.symbol]
    problem = check_position_frozen(inst, position, quote.bid, quote.ask) or check_stops(
        inst, position.side, quote.bid if position.side == BUY else quote.ask, sl, tp
    )
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
    problem = check_rights(account, opening=False) or core.market_check(inst, account, ctx.now)
    if problem:
        return problem
    volume = inst.norm_volume(volume)
    quote = core.quotes.quotes[inst.symbol]
    problem = check_position_frozen(inst, position, quote.bid, quote.ask)
    if problem:
        return problem
    trade = close(core, ctx, account, position, volume, quote.bid if position.side == BUY else quote.ask, "client")
    core.audit(ctx, "position.close", "success", "position", position.id, {"trade": trade_view(trade)})
    liquidation.reset_negative(core, ctx, account)
    liquidation.evaluate(core, account, ctx)
    price, pl = position_pl(core, position, account.currency) if position.status != CLOSED else (None, None)
    return {"position": position_view(position, price, pl), "trade": trade_view(trade)}


def close_by(core: TradingCore, ctx: Ctx, account: Account, cmd: CloseBy) -> Outcome:
    """MT5's Close By: offset two opposite positions of one symbol against each other, saving a spread.

    Both are closed by the smaller volume at the open price of the `by` position (its closed part
    realises nothing; the other realises the difference of the two open prices); the remainder
    of the larger one stays open with its own direction, open price and stops. Two "out" trades
    (reason `close_by`), each with the closing commission of its volume.
    """
    position = account.positions.get(cmd.position_id)
    by = account.positions.get(cmd.by_position_id)
    if position is None or by is None or position is by:
        missing = cmd.position_id if position is None else cmd.by_position_id
        return Rejection("position_not_found", f"no other open position {missing} on this account")
    if position.symbol != by.symbol or position.side == by.side:
        return Rejection("invalid_close_by", "close by needs two opposite positions of the same symbol")
    inst = core.instruments[position.symbol]
    problem = check_rights(account, opening=False) or core.market_check(inst, account, ctx.now)
    if problem:
        return problem
    quote = core.quotes.quotes[inst.symbol]
    problem = check_position_frozen(inst, position, quote.bid, quote.ask) or check_position_frozen(
        inst, by, quote.bid, quote.ask
    )
    if problem:
        return problem
    volume = min(position.volume, by.volume)
    price = by.open_price
    trades = [close(core, ctx, account, p, volume, price, "close_by") for p in (position, by)]
    details = {"by_position_id": by.id, "volume": str(volume), "price": str(price), "trades": [t.id for t in trades]}
    core.audit(ctx, "position.close_by", "success", "position", position.id, details)
    liquidation.reset_negative(core, ctx, account)
    liquidation.evaluate(core, account, ctx)
    views = []
    for p in (position, by):
        mark, pl = position_pl(core, p, account.currency) if p.status != CLOSED else (None, None)
        views.append(position_view(p, mark, pl))
    return {"positions": views, "trades": [trade_view(t) for t in trades]}


def close_all(core: TradingCore, ctx: Ctx, account: Account, cmd: CloseAll) -> Outcome:
    if cmd.symbol is not None and cmd.symbol not in core.instruments:
        return Rejection("unknown_symbol", f"unknown symbol {cmd.symbol}")
    problem = check_rights(account, opening=False)
    if problem:
        return problem
    closed: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for position in sorted(account.positions.values(), key=lambda p: p.id):
        if cmd.symbol is not None and position.symbol != cmd.symbol:
            continue
        inst = core.instruments[position.symbol]
        check = core.market_check(inst, account, ctx.now)
        if check is None:
            quote = core.quotes.quotes[position.symbol]
            check = check_position_frozen(inst, position, quote.bid, quote.ask)
        if check is not None:
            failed.append({"position_id": position.id, "code": check.code, "message": check.message})
            continue
        close(
            core, ctx, account, position, position.volume, quote.bid if position.side == BUY else quote.ask, "close_all"
        )
        closed.append(position_view(position))
    details = {"symbol": cmd.symbol, "closed": [p["id"] for p in closed], "failed": failed}
    core.audit(ctx, "position.close_all", "success", "account", account.id, details)
    liquidation.reset_negative(core, ctx, account)
    liquidation.evaluate(core, account, ctx)
    return {"positions": closed, "failed": failed}
