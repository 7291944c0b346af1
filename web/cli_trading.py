"""`flask --app wsgi reconcile`: prove the books agree; exit 1 on any difference.

For every account: balance = Σ ledger amounts and credit = Σ ledger credit amounts (and the last
ledger row's running figures equal them); held = Σ active holds. For every position: its trades
add up (in-volume = initial volume, out-volume = what was closed), realised P/L, commission and
swap equal the sums of its trades and of its ledger rows, and its status fits its volume. Every
filled order points at the position it opened. Every order, position, trade and ledger row belongs
to an account that exists (those tables have no foreign key: the engine is their only writer).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import click
from flask import Flask
from sqlalchemy import text

from web.extensions import db

ACCOUNT_CHECKS = {
    "balance differs from the sum of the ledger": """
        SELECT a.id, a.balance::text, COALESCE(SUM(l.amount), 0)::text
        FROM accounts a LEFT JOIN ledger_entries l ON l.account_id = a.id
        GROUP BY a.id HAVING a.balance <> COALESCE(SUM(l.amount), 0)""",
    "credit differs from the sum of the ledger": """
        SELECT a.id, a.credit::text, COALESCE(SUM(l.credit_amount), 0)::text
        FROM accounts a LEFT JOIN ledger_entries l ON l.account_id = a.id
        GROUP BY a.id HAVING a.credit <> COALESCE(SUM(l.credit_amount), 0)""",
    "the last ledger row's running balance/credit differ from the account": """
        SELECT a.id, a.balance::text || '/' || a.credit::text, l.balance_after::text || '/' || l.credit_after::text
        FROM accounts a JOIN LATERAL (
            SELECT balance_after, credit_after FROM ledger_entries WHERE account_id = a.id ORDER BY id DESC LIMIT 1
        ) l ON true
        WHERE l.balance_after <> a.balance OR l.credit_after <> a.credit""",
    "held differs from the active holds": """
        SELECT a.id, a.held::text, COALESCE(SUM(h.amount) FILTER (WHERE h.status = 'active'), 0)::text
        FROM accounts a LEFT JOIN account_holds h ON h.account_id = a.id
        GROUP BY a.id HAVING a.held <> COALESCE(SUM(h.amount) FILTER (WHERE h.status = 'active'), 0)""",
}

POSITION_CHECKS = {
    "entry trades differ from the initial volume": """
        SELECT p.id, p.initial_volume::text, COALESCE(SUM(t.volume) FILTER (WHERE t.entry = 'in'), 0)::text
        FROM positions p LEFT JOIN trades t ON t.position_id = p.id
        GROUP BY p.id HAVING p.initial_volume <> COALESCE(SUM(t.volume) FILTER (WHERE t.entry = 'in'), 0)""",
    "exit trades differ from the closed volume": """
        SELECT p.id, (p.initial_volume - p.volume)::text, COALESCE(SUM(t.volume) FILTER (WHERE t.entry = 'out'), 0)
        FROM positions p LEFT JOIN trades t ON t.position_id = p.id GROUP BY p.id
        HAVING p.initial_volume - p.volume <> COALESCE(SUM(t.volume) FILTER (WHERE t.entry = 'out'), 0)""",
    "realised P/L differs from its trades": """
        SELECT p.id, p.realized_pl::text, COALESCE(SUM(t.profit), 0)::text
        FROM positions p LEFT JOIN trades t ON t.position_id = p.id
        GROUP BY p.id HAVING p.realized_pl <> COALESCE(SUM(t.profit), 0)""",
    "commission differs from its trades": """
        SELECT p.id, p.commission::text, COALESCE(SUM(t.commission), 0)::text
        FROM positions p LEFT JOIN trades t ON t.position_id = p.id
        GROUP BY p.id HAVING p.commission <> COALESCE(SUM(t.commission), 0)""",
    "ledger P/L, commission or swap differ from its trades": """
        SELECT p.id, t.total::text, COALESCE(l.total, 0)::text
        FROM positions p
        JOIN (SELECT position_id, SUM(profit + commission + swap) AS total FROM trades GROUP BY position_id) t
          ON t.position_id = p.id
        LEFT JOIN (SELECT position_id, SUM(amount) AS total FROM ledger_entries
                   WHERE kind IN ('trade', 'commission', 'swap') GROUP BY position_id) l ON l.position_id = p.id
        WHERE t.total <> COALESCE(l.total, 0)""",
    "booked swap exceeds the accrued swap of a closed position": """
        SELECT p.id, p.swap::text, COALESCE(SUM(t.swap), 0)::text
        FROM positions p LEFT JOIN trades t ON t.position_id = p.id
        WHERE p.status = 'closed' GROUP BY p.id HAVING p.swap <> COALESCE(SUM(t.swap), 0)""",
    "status does not fit the volume": """
        SELECT id, status, volume::text FROM positions
        WHERE (status = 'open' AND (volume <= 0 OR closed_at IS NOT NULL))
           OR (status = 'closed' AND (volume <> 0 OR closed_at IS NULL))""",
    "a filled order does not point at its position": """
        SELECT o.id, COALESCE(o.position_id::text, 'none'), COALESCE(p.order_id::text, 'none')
        FROM orders o LEFT JOIN positions p ON p.id = o.position_id
        WHERE o.status = 'filled' AND (p.id IS NULL OR p.order_id <> o.id OR p.account_id <> o.account_id)""",
}

# The engine's tables have no foreign key to accounts (migration e2b8c4d6a1f7): checked here.
ORPHAN_CHECKS = {
    table: f"""
        SELECT t.id, t.account_id FROM {table} t
        WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = t.account_id)"""
    for table in ("orders", "positions", "trades", "ledger_entries")
}
_ROW_NAMES = {"orders": "order", "positions": "position", "trades": "trade", "ledger_entries": "ledger entry"}


COUNTS = "SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM positions), (SELECT count(*) FROM trades)"


def differences() -> Iterator[str]:
    """Every disagreement in the books, one line each."""
    for what, sql in ACCOUNT_CHECKS.items():
        for account_id, have, expected in db.execute(text(sql)):
            yield f"account {account_id}: {what} (has {have}, expected {expected})"
    for what, sql in POSITION_CHECKS.items():
        for object_id, have, expected in db.execute(text(sql)):
            kind = "order" if "order" in what else "position"
            yield f"{kind} {object_id}: {what} (has {have}, expected {expected})"
    for table, sql in ORPHAN_CHECKS.items():
        for object_id, account_id in db.execute(text(sql)):
            yield f"{_ROW_NAMES[table]} {object_id}: its account {account_id} does not exist"


def register(app: Flask) -> None:
    @app.cli.command("reconcile")
    def reconcile() -> None:
        """Check balance = Σ ledger, credit = Σ credit ledger, holds, positions against trades, orphans."""
        counts = db.execute(text(COUNTS)).one()
        problems = list(differences())
        for line in problems:
            click.echo(line)
        db.rollback()
        summary = f"{counts[0]} accounts, {counts[1]} positions, {counts[2]} trades"
        if problems:
            click.echo(f"reconcile: {len(problems)} difference(s) in {summary}")
            sys.exit(1)
        click.echo(f"reconcile: clean ({summary})")
