"""account holds: money reserved for pending withdrawals

Revision ID: 5e1f0a7c2b91
Revises: 68ef5443ec66
Create Date: 2026-11-29 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5e1f0a7c2b91"
down_revision = "68ef5443ec66"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_holds",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("hold_id", sa.String(length=128), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("ledger_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("command_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_account_holds_amount_positive")),
        sa.CheckConstraint("status IN ('active', 'released', 'settled')", name=op.f("ck_account_holds_status")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_holds_account_id_accounts"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("account_id", "hold_id", name=op.f("pk_account_holds")),
    )
    op.create_index(
        "ix_account_holds_active",
        "account_holds",
        ["account_id"],
        unique=False,
        postgresql_where=sa.text("status = 'active'"),
    )


def downgrade() -> None:
    op.drop_index("ix_account_holds_active", table_name="account_holds", postgresql_where=sa.text("status = 'active'"))
    op.drop_table("account_holds")
