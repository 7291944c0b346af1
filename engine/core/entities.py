"""Mutable state the core owns: accounts, pending orders, positions, holds and per-symbol exposure."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.core.money import ZERO

BUY, SELL = "buy", "sell"
PENDING, FILLED, CANCELLED, EXPIRED, REJECTED = "pending", "filled", "cancelled", "expired", "rejected"
OPEN, CLOSED = "open", "closed"


@dataclass(slots=True)
class Exposure:
    """Aggregates of one account's open positions on one symbol, so figures are O(symbols)."""

    long_volume: Decimal = ZERO
    long_cost: Decimal = ZERO  # Σ volume × open price of longs
    short_volume: Decimal = ZERO
    short_cost: Decimal = ZERO
    margin_quote: Decimal = ZERO  # Σ margin in the quote currency (at open price)
    margin_account: Decimal = ZERO  # Σ margin in the account currency at open (when no rate is known)
    swap: Decimal = ZERO  # accrued swap not yet booked (account currency)
    # The last pl_quote() and the price objects it was computed at: an account's figures are
    # computed two or three times per order, at quotes that rarely changed in between, and only
    # the traded symbol's exposure changed. Decimals are immutable: the same objects, the same P/L.
    _at: tuple[Decimal, Decimal, Decimal] | None = field(default=None, init=False, repr=False, compare=False)
    _pl: Decimal = field(default=ZERO, init=False, repr=False, compare=False)
    # The open positions themselves; their live views (TradingCore.figures_payload) with the
    # prices and rate they were computed at; and the positions changed since (added, removed,
    # resized, charged swap), the only ones recomputed while the prices stand still.
    positions: dict[int, Position] = field(default_factory=dict, repr=False, compare=False)
    views: tuple[Any, ...] | None = field(default=None, repr=False, compare=False)
    dirty: set[int] = field(default_factory=set, repr=False, compare=False)

    def pl_quote(self, bid: Decimal, ask: Decimal, contract_size: Decimal) -> Decimal:
        """The net floating P/L of these positions at these prices, in the quote currency."""
        at = self._at
        if at is not None and at[0] is bid and at[1] is ask and at[2] is contract_size:
            return self._pl
        pl = contract_size * (self.long_volume * bid - self.long_cost + self.short_cost - self.short_volume * ask)
        self._at, self._pl = (bid, ask, contract_size), pl
        return pl

    def add(self, position: Position, margin_quote: Decimal, sign: int) -> None:
        """Add (sign=1) or remove (sign=-1) a position's contribution."""
        self._at = None
        self.dirty.add(position.id)
        if sign > 0:
            self.positions[position.id] = position
        else:
            self.positions.pop(position.id, None)
        volume = position.volume * sign
        if position.side == BUY:
            self.long_volume += volume
            self.long_cost += volume * position.open_price
        else:
            self.short_volume += volume
            self.short_cost += volume * position.open_price
        self.margin_quote += margin_quote * sign
        self.margin_account += position.margin * sign
        self.swap += (position.swap - position.swap_booked) * sign

    def accrue_swap(self, position: Position, amount: Decimal) -> None:
        """One of the positions accrued swap (the caller added it to the position)."""
        self.swap += amount
        self.dirty.add(position.id)


@dataclass(slots=True)
class Account:
    id: int
    user_id: int
    number: str
    type: str
    currency: str = "USD"
    balance: Decimal = ZERO
    credit: Decimal = ZERO
    held: Decimal = ZERO
    leverage: int = 100
    trading_rights: str = "full"
    margin_call_level: Decimal = Decimal(100)
    stop_out_level: Decimal = Decimal(50)
    margin_call_active: bool = False
    version: int = 0
    created_at: int = 0
    updated_at: int = 0
    positions: dict[int, Position] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    exposures: dict[str, Exposure] = field(default_factory=dict)
    watches: list[tuple[str, bool, float]] = field(default_factory=list)  # (symbol, down?, threshold)


@dataclass(slots=True)
class Order:
    id: int
    account_id: int
    symbol: str
    side: str
    type: str
    status: str
    volume: Decimal
    price: Decimal | None = None
    limit_price: Decimal | None = None
    sl: Decimal | None = None
    tp: Decimal | None = None
    expiry_type: str = "gtc"
    expires_at: int | None = None
    deviation: int | None = None
    stop_triggered: bool = False
    fill_price: Decimal | None = None
    position_id: int | None = None
    reject_code: str | None = None
    command_id: str | None = None
    created_at: int = 0
    updated_at: int = 0
    closed_at: int | None = None

    @property
    def acts_as_limit(self) -> bool:
        """A limit order, or a stop-limit whose stop has been touched."""
        return self.type == "limit" or (self.type == "stop_limit" and self.stop_triggered)

    @property
    def trigger_price(self) -> Decimal:
        """The price the order is indexed at now."""
        if self.type == "stop_limit" and self.stop_triggered:
            assert self.limit_price is not None
            return self.limit_price
        assert self.price is not None
        return self.price


@dataclass(slots=True)
class Position:
    id: int
    account_id: int
    order_id: int | None
    symbol: str
    side: str
    volume: Decimal
    initial_volume: Decimal
    open_price: Decimal
    status: str = OPEN
    close_price: Decimal | None = None
    sl: Decimal | None = None
    tp: Decimal | None = None
    swap: Decimal = ZERO  # total accrued over the life of the position
    swap_booked: Decimal = ZERO  # the part already realised to the balance (partial closes)
    commission: Decimal = ZERO  # total charged (negative)
    realized_pl: Decimal = ZERO
    margin: Decimal = ZERO  # account currency, at the open price
    opened_at: int = 0
    updated_at: int = 0
    closed_at: int | None = None


@dataclass(slots=True)
class Hold:
    account_id: int
    hold_id: str
    amount: Decimal
    status: str = "active"  # active | released | settled
    command_id: str | None = None
    ledger_id: int | None = None
    created_at: int = 0
    updated_at: int = 0
