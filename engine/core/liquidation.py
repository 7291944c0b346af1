"""Margin call, stop-out (largest loss first, re-check, repeat) and the negative-balance reset."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from engine.core import risk
from engine.core.context import Ctx
from engine.core.entities import Account, Position
from engine.core.money import ZERO, fmt
from engine.core.risk import Figures
from engine.core.views import ledger_view

if TYPE_CHECKING:
    from engine.core.engine import TradingCore


def evaluate(core: TradingCore, account: Account, ctx: Ctx, rearm: bool = True) -> Figures:
    """Compute the figures at current quotes and act on the margin levels; re-arm the watches."""
    core.stats["evaluations"] += 1
    fig = core.figures(account)
    changed = False
    if fig.at_or_below(account.stop_out_level):
        stop_out(core, ctx.system(), account, fig)
        fig = core.figures(account)
        changed = True
    if fig.at_or_below(account.margin_call_level):
        if not account.margin_call_active:
            account.margin_call_active = True
            core.touch(account, ctx.now)
            if not changed:
                _margin_call(core, ctx.system(), account, fig)
            changed = True
    elif account.margin_call_active:
        account.margin_call_active = False
        core.touch(account, ctx.now)
        changed = True
    if rearm or changed:
        risk.arm(core, account, fig)
    return fig


def _margin_call(core: TradingCore, ctx: Ctx, account: Account, fig: Figures) -> None:
    data = {"margin_level": fmt(fig.margin_level), "equity": fmt(fig.equity), "margin": fmt(fig.margin)}
    core.emit(account.id, "margin_call", **data)
    core.webhook(ctx, "margin_call", {"account_id": account.id, "user_id": account.user_id, **data})
    core.audit(ctx, "account.margin_call", "success", "account", account.id, data)


def _closable(core: TradingCore, account: Account, now: int) -> list[tuple[Decimal, int, Position, Decimal]]:
    """Positions that can be closed now (fresh quote, open market), with their loss incl. swap."""
    out = []
    for position in account.positions.values():
        if core.market_check(core.instruments[position.symbol], account, now) is not None:
            continue
        price, pl = risk.position_pl(core, position, account.currency)
        assert price is not None
        out.append((pl + position.swap - position.swap_booked, position.id, position, price))
    return out


def stop_out(core: TradingCore, ctx: Ctx, account: Account, fig: Figures) -> None:
    """Delete pending orders, then close the largest loss until the level is above stop-out."""
    from engine.core.fills import close, end_order

    level_before = fig.margin_level
    cancelled = [order.id for order in sorted(account.orders.values(), key=lambda o: o.id)]
    for order_id in cancelled:
        end_order(core, ctx, account.orders[order_id], "cancelled")
    closed: list[int] = []
    while fig.at_or_below(account.stop_out_level):
        candidates = _closable(core, account, ctx.now)
        if not candidates:
            break
        _, _, position, price = min(candidates, key=lambda c: (c[0], c[1]))
        close(core, ctx, account, position, position.volume, price, "stop_out")
        closed.append(position.id)
        fig = core.figures(account)
    reset_negative(core, ctx, account)
    data = {
        "margin_level": fmt(level_before),
        "margin_level_after": fmt(core.figures(account).margin_level),
        "closed_positions": closed,
        "cancelled_orders": cancelled,
    }
    core.emit(account.id, "stop_out", **data)
    core.webhook(ctx, "stop_out", {"account_id": account.id, "user_id": account.user_id, **data})
    core.audit(ctx, "account.stop_out", "success", "account", account.id, data)


def reset_negative(core: TradingCore, ctx: Ctx, account: Account) -> None:
    """Negative balance protection: with no open positions left, a negative balance becomes zero."""
    if account.positions or account.balance >= ZERO:
        return
    row = core.post_ledger(ctx, account, "negative_balance_reset", -account.balance, comment="negative balance reset")
    view = ledger_view(row)
    core.emit(
        account.id,
        "balance",
        ledger=view,
        balance=fmt(account.balance),
        credit=fmt(account.credit),
        held=fmt(account.held),
    )
    core.webhook(
        ctx,
        "balance.updated",
        {
            "account_id": account.id,
            "user_id": account.user_id,
            "op": row.kind,
            "ledger": view,
            "balance": fmt(account.balance),
            "credit": fmt(account.credit),
        },
    )
    core.audit(ctx.system(), "balance.negative_reset", "success", "account", account.id, {"amount": fmt(row.amount)})
