"""Helpers of the engine and trading tests: instruments, a real engine process, quotes, accounts.

No tests here; modules import the fixtures they use. Quotes are written exactly as the feed
writes them (XADD md:ticks + HSET md:last); BTCUSD/ETHUSD trade every day, so these tests do not
depend on the weekday.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from engine.contracts import (
    BALANCE_OP,
    ENGINE_WEBHOOK_TYPES,
    MD_LAST,
    OPEN_ACCOUNT,
    TICKS_MAXLEN,
    TICKS_STREAM,
    Command,
    balance_op_payload,
    commands_stream,
    engine_status_key,
    open_account_payload,
    reply_key,
)
from tests.support import ROOT, Proc, python_module, wait_for

SYSTEM = {"type": "system", "id": "tests"}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def seed_instruments(app: Any) -> None:
    """The seed's instruments (idempotent, the same rows `flask seed` creates)."""
    from models import Instrument
    from web.extensions import db
    from web.seed_data import INSTRUMENTS

    with app.app_context():
        have = set(db.execute(select(Instrument.symbol)).scalars())
        for spec in INSTRUMENTS:
            if spec["symbol"] not in have:
                db.add(Instrument(**spec))
        db.commit()
        db.remove()


def start_engine(test_env: dict[str, str], log_dir: Path, redis_client: Any, *extra: str, name: str = "engine") -> Proc:
    """Start `python -m engine` and wait until it has recovered and runs its loop."""
    started = now_ms()
    proc = Proc(name, python_module("engine", "--lease-ms", "3000", *extra), test_env, log_dir).start()
    try:
        wait_for(
            lambda: (
                int(redis_client.hget(engine_status_key(0), "updated_at") or 0) >= started
                and redis_client.hget(engine_status_key(0), "owner") is not None
                and proc.alive()
            ),
            timeout=30,
            what="the engine to start",
        )
    except AssertionError:
        proc.stop()
        raise AssertionError(proc.log_tail()) from None
    return proc


def settle_outbox(sql_engine: Any) -> None:
    """Mark the engine's webhook events of these tests as dispatched.

    No endpoint exists while they run, so nothing would be sent; left undispatched, thousands of
    them would be delivered to the first endpoint a later test module configures (the outbox is
    shared by the test session).
    """
    with sql_engine.begin() as conn:
        conn.execute(
            text("UPDATE webhook_events SET dispatched_at = now() WHERE dispatched_at IS NULL AND type = ANY(:t)"),
            {"t": sorted(ENGINE_WEBHOOK_TYPES)},
        )


@pytest.fixture(scope="module")
def engine(app, test_env, proc_log_dir, redis_client, sql_engine) -> Iterator[Proc]:
    """One engine process for the module, after the instruments exist."""
    seed_instruments(app)
    proc = start_engine(test_env, proc_log_dir, redis_client)
    yield proc
    proc.stop()
    settle_outbox(sql_engine)


def tick(redis_client: Any, symbol: str, bid: str, ask: str, ts: int | None = None) -> str:
    """Publish a quote the way the feed does; return the md:ticks entry id."""
    stamp = now_ms() if ts is None else ts
    quote = {"symbol": symbol, "bid": bid, "ask": ask, "ts": stamp}
    pipe = redis_client.pipeline(transaction=False)
    pipe.xadd(TICKS_STREAM, {k: str(v) for k, v in quote.items()}, maxlen=TICKS_MAXLEN, approximate=True)
    pipe.hset(MD_LAST, symbol, json.dumps(quote))
    return str(pipe.execute()[0])


def send(redis_client: Any, command_type: str, account_id: int, payload: dict[str, Any], **kw: Any) -> str:
    """XADD a command as the web tier does; return its command id."""
    command_id = kw.get("command_id") or uuid.uuid4().hex
    command = Command(command_id, command_type, account_id, payload, kw.get("actor", SYSTEM), now_ms())
    redis_client.xadd(commands_stream(0), command.to_fields())
    return command_id


def reply(redis_client: Any, command_id: str, timeout: float = 20) -> dict[str, Any]:
    item = redis_client.blpop([reply_key(command_id)], timeout=timeout)
    assert item is not None, f"no reply to {command_id}"
    return json.loads(item[1])


def run(redis_client: Any, command_type: str, account_id: int, payload: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return reply(redis_client, send(redis_client, command_type, account_id, payload, **kw))


def new_account_id(sql_engine: Any) -> int:
    with sql_engine.connect() as conn:
        return int(conn.execute(text("SELECT nextval('accounts_id_seq')")).scalar_one())


def open_account(sql_engine: Any, redis_client: Any, user_id: int, deposit: str = "10000", **kw: Any) -> int:
    """Open a live account through the engine and fund it with a deposit (a ledger row)."""
    account_id = new_account_id(sql_engine)
    result = run(
        redis_client, OPEN_ACCOUNT, account_id, open_account_payload(user_id, kw.get("type", "live"), **_opts(kw))
    )
    assert result["ok"], result
    if Decimal(deposit):
        funded = run(
            redis_client, BALANCE_OP, account_id, balance_op_payload("deposit", deposit, f"test-{uuid.uuid4()}")
        )
        assert funded["ok"], funded
    return account_id


def _opts(kw: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if k in ("currency", "leverage")}


def figures(redis_client: Any, account_id: int) -> dict[str, str]:
    return redis_client.hgetall(f"acct:{account_id}")


def reconcile(test_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "reconcile"],
        cwd=ROOT,
        env=test_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def scalar(sql_engine: Any, sql: str, **params: Any) -> Any:
    with sql_engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()
