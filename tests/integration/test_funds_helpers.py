"""Helpers shared by the funds and CRM tests: a real engine process, accounts, keys, readings.

No tests here; fixtures are imported by the modules that use them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.support import Proc, python_module, wait_for

SYSTEM = {"type": "system", "id": "tests"}


@pytest.fixture(scope="module")
def engine_proc(app, test_env: dict[str, str], proc_log_dir: Path) -> Iterator[Proc]:
    """`python -m engine` (shard 0) for one test module; ready once it answers a command."""
    proc = Proc("engine", python_module("engine"), test_env, proc_log_dir).start()
    try:
        yield proc
    finally:
        proc.stop()


def open_account(app, user_id: int, account_type: str = "live", deposit: str | None = None, currency: str = "USD"):
    """Open an account through the engine and wait for it; return its id."""
    from web import get_redis
    from web.extensions import db
    from web.services.commands import request_open_account, wait_reply

    with app.app_context():
        settings = app.config["SETTINGS"]
        command = request_open_account(
            get_redis(),
            db,
            settings.engine_shards,
            user_id=user_id,
            account_type=account_type,
            actor=SYSTEM,
            currency=currency,
            initial_deposit=deposit,
        )
        db.commit()
        reply = wait_reply(get_redis(), command.command_id, 60)
        db.remove()
    assert reply is not None and reply["ok"], reply
    return command.account_id


def make_key(app, *scopes: str) -> str:
    """A CRM API key with the scopes (made the way `crm create-key` makes it)."""
    from web.extensions import db
    from web.services.api_keys import create_key

    with app.app_context():
        _, key = create_key(db, "tests " + ",".join(scopes), list(scopes), SYSTEM)
        db.commit()
        db.remove()
    return key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def account_money(sql_engine, account_id: int) -> tuple[Decimal, Decimal]:
    """(balance, held) as committed by the engine."""
    with sql_engine.connect() as conn:
        row = conn.execute(text("SELECT balance, held FROM accounts WHERE id = :a"), {"a": account_id}).one()
    return row.balance, row.held


def ledger(sql_engine, account_id: int) -> list[Any]:
    with sql_engine.connect() as conn:
        return list(
            conn.execute(
                text("SELECT kind, amount, external_id FROM ledger_entries WHERE account_id = :a ORDER BY id"),
                {"a": account_id},
            )
        )


def events(sql_engine, event_type: str, **match: Any) -> list[dict[str, Any]]:
    """Outbox events of a type whose data has the given values."""
    with sql_engine.connect() as conn:
        payloads = conn.execute(
            text("SELECT payload FROM webhook_events WHERE type = :t ORDER BY id"), {"t": event_type}
        ).scalars()
        found = [json.loads(p) for p in payloads]
    return [e for e in found if all(e["data"].get(k) == v for k, v in match.items())]


def wait_money(sql_engine, account_id: int, balance: str, held: str = "0.00") -> None:
    """Wait until the engine has committed these figures."""
    wanted = (Decimal(balance), Decimal(held))
    wait_for(lambda: account_money(sql_engine, account_id) == wanted, timeout=15, what=f"account {account_id} {wanted}")
