"""Money reserved for pending withdrawals (written only by the engine)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money


class AccountHold(Base):
    """An amount held on an account (hold_funds) until it is released or settled (release_hold)."""

    __tablename__ = "account_holds"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), primary_key=True)
    hold_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    amount: Mapped[Money] = mapped_column(nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="active")
    ledger_entry_id: Mapped[int | None] = mapped_column(BigInteger)
    command_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status IN ('active', 'released', 'settled')", name="status"),
        Index("ix_account_holds_active", "account_id", postgresql_where=text("status = 'active'")),
    )
