"""JSON views of core state: decimal strings and ISO-8601 UTC times, as the API serves them."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

from engine.core.entities import Account, Hold, Order, Position
from engine.core.instruments import utc
from engine.core.journal import LedgerRow, TradeRow
from engine.core.money import fmt


def iso(ms: int | None) -> str | None:
    """ISO-8601 UTC with milliseconds and a Z, or None."""
    if ms is None:
        return None
    return _iso(ms)


@lru_cache(maxsize=8192)
def _iso(ms: int) -> str:
    # A batch stamps everything with the same few instants: format each once.
    return utc(ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def order_view(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "account_id": order.account_id,
        "symbol": order.symbol,
        "side": order.side,
        "type": order.type,
        "status": order.status,
        "volume": fmt(order.volume),
        "price": fmt(order.price),
        "limit_price": fmt(order.limit_price),
        "sl": fmt(order.sl),
        "tp": fmt(order.tp),
        "expiry_type": order.expiry_type,
        "expires_at": iso(order.expires_at),
        "deviation": order.deviation,
        "stop_triggered": order.stop_triggered,
        "fill_price": fmt(order.fill_price),
        "position_id": order.position_id,
        "reject_code": order.reject_code,
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
        "closed_at": iso(order.closed_at),
    }


def position_view(
    position: Position, current_price: Decimal | None = None, floating_pl: Decimal | None = None
) -> dict[str, Any]:
    view = {
        "id": position.id,
        "account_id": position.account_id,
        "order_id": position.order_id,
        "symbol": position.symbol,
        "side": position.side,
        "status": position.status,
        "volume": fmt(position.volume),
        "initial_volume": fmt(position.initial_volume),
        "open_price": fmt(position.open_price),
        "close_price": fmt(position.close_price),
        "sl": fmt(position.sl),
        "tp": fmt(position.tp),
        "swap": fmt(position.swap),
        "commission": fmt(position.commission),
        "realized_pl": fmt(position.realized_pl),
        "margin": fmt(position.margin),
        "opened_at": iso(position.opened_at),
        "updated_at": iso(position.updated_at),
        "closed_at": iso(position.closed_at),
    }
    if current_price is not None:
        view["current_price"] = fmt(current_price)
        view["floating_pl"] = fmt(floating_pl)
    return view


def trade_view(trade: TradeRow) -> dict[str, Any]:
    return {
        "id": trade.id,
        "account_id": trade.account_id,
        "position_id": trade.position_id,
        "order_id": trade.order_id,
        "symbol": trade.symbol,
        "side": trade.side,
        "entry": trade.entry,
        "volume": fmt(trade.volume),
        "price": fmt(trade.price),
        "profit": fmt(trade.profit),
        "commission": fmt(trade.commission),
        "swap": fmt(trade.swap),
        "reason": trade.reason,
        "executed_at": iso(trade.executed_at),
    }


def ledger_view(row: LedgerRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "account_id": row.account_id,
        "kind": row.kind,
        "amount": fmt(row.amount),
        "credit_amount": fmt(row.credit_amount),
        "balance_after": fmt(row.balance_after),
        "credit_after": fmt(row.credit_after),
        "external_id": row.external_id,
        "trade_id": row.trade_id,
        "position_id": row.position_id,
        "comment": row.comment,
        "created_at": iso(row.created_at),
    }


def hold_view(hold: Hold) -> dict[str, Any]:
    return {
        "account_id": hold.account_id,
        "hold_id": hold.hold_id,
        "amount": fmt(hold.amount),
        "status": hold.status,
        "ledger_id": hold.ledger_id,
        "created_at": iso(hold.created_at),
        "updated_at": iso(hold.updated_at),
    }


def account_view(account: Account, figures: dict[str, Any] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": account.id,
        "user_id": account.user_id,
        "number": account.number,
        "type": account.type,
        "currency": account.currency,
        "balance": fmt(account.balance),
        "credit": fmt(account.credit),
        "held": fmt(account.held),
        "leverage": account.leverage,
        "trading_rights": account.trading_rights,
        "margin_call_level": fmt(account.margin_call_level),
        "stop_out_level": fmt(account.stop_out_level),
        "created_at": iso(account.created_at),
    }
    if figures:
        view.update(figures)
    return view
