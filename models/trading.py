"""Instruments, accounts, orders, positions, trades and the ledger (written only by the engine)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSON, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, Created, Money, Price, Volume


class Instrument(Base):
    """A tradable symbol and its contract specification."""

    __tablename__ = "instruments"

    id: Mapped[BigId]
    symbol: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    provider_symbol: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    description: Mapped[str] = mapped_column(String(128), nullable=False, server_default="")
    base_currency: Mapped[str] = mapped_column(String(8), nullable=False)
    quote_currency: Mapped[str] = mapped_column(String(8), nullable=False)
    digits: Mapped[int] = mapped_column(Integer, nullable=False)
    contract_size: Mapped[Decimal] = mapped_column(Numeric(18, 4), nullable=False)
    volume_min: Mapped[Volume] = mapped_column(nullable=False)
    volume_max: Mapped[Volume] = mapped_column(nullable=False)
    volume_step: Mapped[Volume] = mapped_column(nullable=False)
    max_leverage: Mapped[int] = mapped_column(Integer, nullable=False)
    margin_rate: Mapped[Decimal | None] = mapped_column(Numeric(10, 6))
    default_spread: Mapped[Price] = mapped_column(nullable=False)
    spread_markup: Mapped[Price] = mapped_column(nullable=False, server_default="0")
    commission_per_lot: Mapped[Money] = mapped_column(nullable=False, server_default="0")
    swap_long: Mapped[Decimal] = mapped_column(Numeric(18, 6), nullable=False, server_default="0")
    swap_short: Mapped[Decimal] = mapped_column(Numeric(18, 6), nullable=False, server_default="0")
    swap_mode: Mapped[str] = mapped_column(String(16), nullable=False, server_default="points")
    triple_swap_day: Mapped[int] = mapped_column(Integer, nullable=False, server_default="3")
    sessions: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, server_default="{}")
    max_quote_age_s: Mapped[int] = mapped_column(Integer, nullable=False, server_default="30")
    stops_level: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    freeze_level: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    max_deviation: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    created_at: Mapped[Created]

    __table_args__ = (
        CheckConstraint("volume_min > 0 AND volume_step > 0 AND volume_max >= volume_min", name="volume_range"),
        CheckConstraint("max_leverage >= 1", name="max_leverage_positive"),
    )


class Account(Base):
    """A trading account. Balance, credit, margin and rights are changed only by the engine."""

    __tablename__ = "accounts"

    id: Mapped[BigId]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), nullable=False, index=True)
    number: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    type: Mapped[str] = mapped_column(String(8), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, server_default="USD")
    balance: Mapped[Money] = mapped_column(nullable=False, server_default="0")
    credit: Mapped[Money] = mapped_column(nullable=False, server_default="0")
    held: Mapped[Money] = mapped_column(nullable=False, server_default="0")
    leverage: Mapped[int] = mapped_column(Integer, nullable=False, server_default="100")
    trading_rights: Mapped[str] = mapped_column(String(16), nullable=False, server_default="full")
    margin_call_level: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False, server_default="100")
    stop_out_level: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False, server_default="50")
    margin_call_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    created_at: Mapped[Created]
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (
        CheckConstraint("type IN ('live', 'demo')", name="type"),
        CheckConstraint("trading_rights IN ('full', 'close_only', 'disabled')", name="trading_rights"),
        CheckConstraint("leverage >= 1", name="leverage_positive"),
        CheckConstraint("held >= 0", name="held_not_negative"),
        # Room in each page for the engine's updates to stay HOT (migration d7a3e5c1f9b2).
        {"postgresql_with": {"fillfactor": 50}},
    )


class Order(Base):
    """A client order (market or pending) and what became of it."""

    __tablename__ = "orders"

    id: Mapped[BigId]
    # No foreign key: the engine, the only writer, creates an account before anything of it, and
    # `flask reconcile` checks that every row's account exists (migration e2b8c4d6a1f7).
    account_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    symbol: Mapped[str] = mapped_column(String(32), nullable=False)
    side: Mapped[str] = mapped_column(String(4), nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    volume: Mapped[Volume] = mapped_column(nullable=False)
    price: Mapped[Price | None]
    limit_price: Mapped[Price | None]
    sl: Mapped[Price | None]
    tp: Mapped[Price | None]
    expiry_type: Mapped[str] = mapped_column(String(16), nullable=False, server_default="gtc")
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deviation: Mapped[int | None] = mapped_column(Integer)
    stop_triggered: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false")
    fill_price: Mapped[Price | None]
    position_id: Mapped[int | None] = mapped_column(BigInteger)
    reject_code: Mapped[str | None] = mapped_column(String(64))
    command_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_orders_account_status", "account_id", "status", "id"),
        Index("ix_orders_pending", "status", postgresql_where=text("status = 'pending'")),
    )


class Position(Base):
    """An open or closed position (hedging: one per filled order)."""

    __tablename__ = "positions"

    id: Mapped[BigId]
    # No foreign key: the engine, the only writer, creates an account before anything of it, and
    # `flask reconcile` checks that every row's account exists (migration e2b8c4d6a1f7).
    account_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    symbol: Mapped[str] = mapped_column(String(32), nullable=False)
    side: Mapped[str] = mapped_column(String(4), nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False)
    volume: Mapped[Volume] = mapped_column(nullable=False)
    initial_volume: Mapped[Volume] = mapped_column(nullable=False)
    open_price: Mapped[Price] = mapped_column(nullable=False)
    close_price: Mapped[Price | None]
    sl: Mapped[Price | None]
    tp: Mapped[Price | None]
    swap: Mapped[Money] = mapped_column(nullable=False, server_default="0")
    commission: Mapped[Money] = mapped_column(nullable=False, server_default="0")
    realized_pl: Mapped[Money] = mapped_column(nullable=False, server_default="0")
    margin: Mapped[Money] = mapped_column(nullable=False, server_default="0")
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_positions_account_status", "account_id", "status", "id"),
        Index("ix_positions_open", "status", postgresql_where=text("status = 'open'")),
    )


class Trade(Base):
    """An immutable fill (deal): an entry into or an exit out of a position."""

    __tablename__ = "trades"

    id: Mapped[BigId]
    # No foreign key: the engine, the only writer, creates an account before anything of it, and
    # `flask reconcile` checks that every row's account exists (migration e2b8c4d6a1f7).
    account_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    position_id: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    symbol: Mapped[str] = mapped_column(String(32), nullable=False)
    side: Mapped[str] = mapped_column(String(4), nullable=False)
    entry: Mapped[str] = mapped_column(String(4), nullable=False)
    volume: Mapped[Volume] = mapped_column(nullable=False)
    price: Mapped[Price] = mapped_column(nullable=False)
    profit: Mapped[Money] = mapped_column(nullable=False, server_default="0")
    commission: Mapped[Money] = mapped_column(nullable=False, server_default="0")
    swap: Mapped[Money] = mapped_column(nullable=False, server_default="0")
    reason: Mapped[str] = mapped_column(String(16), nullable=False)
    command_id: Mapped[str | None] = mapped_column(String(64))
    executed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        CheckConstraint("entry IN ('in', 'out')", name="entry"),
        Index("ix_trades_account_time", "account_id", "executed_at", "id"),
    )


class LedgerEntry(Base):
    """One change of balance or credit, with the running figures after it."""

    __tablename__ = "ledger_entries"

    id: Mapped[BigId]
    # No foreign key: the engine, the only writer, creates an account before anything of it, and
    # `flask reconcile` checks that every row's account exists (migration e2b8c4d6a1f7).
    account_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    amount: Mapped[Money] = mapped_column(nullable=False, server_default="0")
    credit_amount: Mapped[Money] = mapped_column(nullable=False, server_default="0")
    balance_after: Mapped[Money] = mapped_column(nullable=False)
    credit_after: Mapped[Money] = mapped_column(nullable=False, server_default="0")
    external_id: Mapped[str | None] = mapped_column(String(128))
    trade_id: Mapped[int | None] = mapped_column(BigInteger)
    position_id: Mapped[int | None] = mapped_column(BigInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    command_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        Index("ix_ledger_entries_account_id", "account_id", "id"),
        Index(
            "uq_ledger_entries_external",
            "account_id",
            "kind",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
    )


class ProcessedCommand(Base):
    """An engine command that has been applied, with its result (exactly-once)."""

    __tablename__ = "processed_commands"

    command_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    account_id: Mapped[int | None] = mapped_column(BigInteger)
    shard: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    stream_id: Mapped[str | None] = mapped_column(String(32))
    # json, not jsonb: written once per command and read back whole, never queried inside (jsonb
    # input costs PostgreSQL twice the CPU; migration c5d2a7e9b1f0).
    result: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[Created]


class EngineShard(Base):
    """The fencing token and progress of each engine shard."""

    __tablename__ = "engine_shards"

    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    fence: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    owner: Mapped[str | None] = mapped_column(String(128))
    last_stream_id: Mapped[str | None] = mapped_column(String(32))
    last_tick_id: Mapped[str | None] = mapped_column(String(32))
    last_rollover: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Candle(Base):
    """An OHLCV bar of a symbol for an interval (mid prices from the provider)."""

    __tablename__ = "candles"

    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    interval: Mapped[str] = mapped_column(String(8), primary_key=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    open: Mapped[Price] = mapped_column(nullable=False)
    high: Mapped[Price] = mapped_column(nullable=False)
    low: Mapped[Price] = mapped_column(nullable=False)
    close: Mapped[Price] = mapped_column(nullable=False)
    volume: Mapped[Decimal] = mapped_column(Numeric(28, 4), nullable=False, server_default="0")


__all__ = [
    "Account",
    "Candle",
    "EngineShard",
    "Instrument",
    "LedgerEntry",
    "Order",
    "Position",
    "ProcessedCommand",
    "Trade",
]
