"""What a batch changed: the rows to persist, audit records, webhooks and events to publish.

Entities (accounts, orders, positions, holds) are collected by reference and written in their
final state at the end of the batch; trades and ledger rows are immutable facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from engine.core.entities import Account, Hold, Order, Position


class TradeRow(NamedTuple):
    """One fill (deal): into (entry "in") or out of (entry "out") a position."""

    id: int
    account_id: int
    position_id: int
    order_id: int | None
    symbol: str
    side: str
    entry: str
    volume: Decimal
    price: Decimal
    profit: Decimal
    commission: Decimal
    swap: Decimal
    reason: str
    command_id: str | None
    executed_at: int


class LedgerRow(NamedTuple):
    """One change of balance or credit with the running figures after it."""

    id: int
    account_id: int
    kind: str
    amount: Decimal
    credit_amount: Decimal
    balance_after: Decimal
    credit_after: Decimal
    external_id: str | None
    trade_id: int | None
    position_id: int | None
    comment: str | None
    command_id: str | None
    created_at: int


class AuditRecord(NamedTuple):
    """An audit row in engine terms (the adapter turns it into common.audit.AuditEntry)."""

    action: str
    outcome: str
    actor: dict[str, Any]
    target_type: str
    target_id: str
    details: dict[str, Any]
    at: int


class WebhookNote(NamedTuple):
    """A webhook outbox event (type and data) and the id of the HTTP request behind it, if any."""

    type: str
    data: dict[str, Any]
    at: int
    request_id: str | None = None


@dataclass(slots=True)
class Changes:
    """Everything one batch changed."""

    new_accounts: dict[int, Account] = field(default_factory=dict)
    accounts: dict[int, Account] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    new_orders: set[int] = field(default_factory=set)  # created in this batch (inserted, not upserted)
    positions: dict[int, Position] = field(default_factory=dict)
    new_positions: set[int] = field(default_factory=set)
    holds: dict[tuple[int, str], Hold] = field(default_factory=dict)
    trades: list[TradeRow] = field(default_factory=list)
    ledger: list[LedgerRow] = field(default_factory=list)
    audit: list[AuditRecord] = field(default_factory=list)
    webhooks: list[WebhookNote] = field(default_factory=list)
    events: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    last_rollover: int | None = None

    def empty(self) -> bool:
        return not (
            self.new_accounts
            or self.accounts
            or self.orders
            or self.positions
            or self.holds
            or self.trades
            or self.ledger
            or self.audit
            or self.webhooks
            or self.events
            or self.last_rollover is not None
        )
