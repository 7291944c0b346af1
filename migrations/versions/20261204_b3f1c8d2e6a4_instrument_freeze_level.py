"""instruments carry a freeze level (MT5's SYMBOL_TRADE_FREEZE_LEVEL)

Revision ID: b3f1c8d2e6a4
Revises: 7c4d2e9a1f03
Create Date: 2026-12-04 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b3f1c8d2e6a4"
down_revision = "7c4d2e9a1f03"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A constant default: a metadata-only change on PostgreSQL 11+; 0 = no freeze (as before).
    op.add_column("instruments", sa.Column("freeze_level", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("instruments", "freeze_level")
