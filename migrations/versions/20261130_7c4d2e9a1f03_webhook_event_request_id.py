"""webhook events carry the request id of the change behind them

Revision ID: 7c4d2e9a1f03
Revises: 5e1f0a7c2b91
Create Date: 2026-11-30 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "7c4d2e9a1f03"
down_revision = "5e1f0a7c2b91"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: a metadata-only change, safe on a live outbox during a rolling deploy.
    op.add_column("webhook_events", sa.Column("request_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("webhook_events", "request_id")
