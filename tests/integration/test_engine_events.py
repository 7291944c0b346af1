"""What the engine tells the rest of the platform: account:{id} events (the WS relay forwards
them), acct:{id} live figures, webhook outbox rows, audit rows, engine:status, and the
`flask reconcile` proof — all through the real engine process."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from engine.contracts import (
    ACCOUNT_FIGURES,
    BALANCE_OP,
    HOLD_FUNDS,
    PLACE_ORDER,
    RELEASE_HOLD,
    Command,
    account_channel,
    balance_op_payload,
    commands_stream,
    engine_status_key,
    hold_funds_payload,
    release_hold_payload,
)
from tests.factories import make_user
from tests.integration.test_engine_support import engine, figures, open_account, reconcile, run, scalar, tick
from tests.support import wait_for

__all__ = ["engine"]


class Listener:
    """A subscriber to account:{id}, as the WebSocket relay subscribes."""

    def __init__(self, redis_client: Any, account_id: int) -> None:
        self.pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(account_channel(account_id))
        self.events: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        while (message := self.pubsub.get_message(timeout=0.05)) is not None:
            self.events.append(json.loads(message["data"]))
        return self.events

    def wait(self, predicate: Any, what: str) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((e for e in self.drain() if predicate(e)), None)

        event = wait_for(found, timeout=15, what=what)
        assert event is not None
        return event

    def close(self) -> None:
        self.pubsub.close()


@pytest.fixture()
def listen(redis_client) -> Iterator[Any]:
    opened: list[Listener] = []

    def make(account_id: int) -> Listener:
        listener = Listener(redis_client, account_id)
        opened.append(listener)
        return listener

    yield make
    for listener in opened:
        listener.close()


@pytest.fixture()
def account(app, engine, sql_engine, redis_client) -> int:
    tick(redis_client, "BTCUSD", "50000.00", "50020.00")
    tick(redis_client, "ETHUSD", "3000.00", "3001.50")
    return open_account(sql_engine, redis_client, make_user(app).id, deposit="10000")


def _webhooks(sql_engine: Any, event_type: str, account_id: int) -> list[dict[str, Any]]:
    with sql_engine.connect() as conn:
        rows = conn.execute(text("SELECT payload FROM webhook_events WHERE type = :t ORDER BY id"), {"t": event_type})
        payloads = [json.loads(r[0]) for r in rows]
    return [p for p in payloads if p["data"].get("account_id") == account_id]


def test_an_order_publishes_order_position_trade_and_account_events(account, listen, redis_client):
    listener = listen(account)
    result = run(
        redis_client, PLACE_ORDER, account, {"symbol": "BTCUSD", "side": "buy", "type": "market", "volume": "0.10"}
    )
    position_id = result["position"]["id"]
    order = listener.wait(lambda e: e["type"] == "order", "the order event")
    assert order["event"] == "filled" and order["account_id"] == account and order["order"]["fill_price"] == "50020.00"
    position = listener.wait(lambda e: e["type"] == "position", "the position event")
    assert position["event"] == "opened" and position["position"]["id"] == position_id
    trade = listener.wait(lambda e: e["type"] == "trade", "the trade event")
    assert trade["trade"]["entry"] == "in" and trade["trade"]["price"] == "50020.00"
    figures_event = listener.wait(
        lambda e: e["type"] == "account" and str(position_id) in e.get("positions", {}), "live figures"
    )
    for name in ("balance", "equity", "margin", "free_margin", "margin_level", "floating_pl"):
        assert isinstance(figures_event[name], str)
    tick(redis_client, "BTCUSD", "50500.00", "50520.00")
    moved = listener.wait(
        lambda e: e["type"] == "account" and e["positions"].get(str(position_id), {}).get("pl") == "48.00",
        "figures at the new price",
    )
    assert moved["floating_pl"] == "48.00" and moved["positions"][str(position_id)]["price"] == "50500.00"


def test_live_figures_hash_has_every_field_as_decimal_strings(account, redis_client):
    stored = wait_for(
        lambda: figures(redis_client, account).get("balance") == "10000.00" and figures(redis_client, account)
    )
    assert set(ACCOUNT_FIGURES) <= set(stored)
    assert stored["margin_level"] == ""  # no margin used: undefined, not zero
    assert stored["equity"] == "10000.00" and json.loads(stored["positions"]) == {}


def test_webhooks_and_audit_rows_are_written_with_the_change(account, redis_client, sql_engine):
    placed = run(
        redis_client, PLACE_ORDER, account, {"symbol": "ETHUSD", "side": "sell", "type": "market", "volume": "1.00"}
    )
    order_id, position_id = placed["order"]["id"], placed["position"]["id"]
    closed = run(redis_client, "close_position", account, {"position_id": position_id})
    assert closed["ok"]
    order_hooks = _webhooks(sql_engine, "order.placed", account)
    assert [h["data"]["order"]["id"] for h in order_hooks][-1] == order_id
    closes = _webhooks(sql_engine, "position.closed", account)
    assert closes[-1]["data"]["position"]["id"] == position_id and closes[-1]["data"]["reason"] == "client"
    deposits = _webhooks(sql_engine, "balance.updated", account)
    assert deposits and deposits[0]["data"]["op"] == "deposit" and deposits[0]["data"]["balance"] == "10000.00"
    with sql_engine.connect() as conn:
        actions = conn.execute(
            text("SELECT action, actor_type, actor_id FROM audit_logs WHERE target_id IN (:o, :p) ORDER BY id"),
            {"o": str(order_id), "p": str(position_id)},
        ).all()
    assert ("order.place", "system", "tests") in actions and ("position.close", "system", "tests") in actions


def test_margin_call_and_stop_out_reach_events_and_webhooks(app, engine, sql_engine, redis_client, listen):
    tick(redis_client, "BTCUSD", "50000.00", "50020.00")
    account_id = open_account(sql_engine, redis_client, make_user(app).id, deposit="1000")
    listener = listen(account_id)
    # 0.15 BTC at 1:10: margin 750.30; equity falls with the price.
    placed = run(
        redis_client, PLACE_ORDER, account_id, {"symbol": "BTCUSD", "side": "buy", "type": "market", "volume": "0.15"}
    )
    assert placed["ok"], placed
    tick(redis_client, "BTCUSD", "48300.00", "48320.00")  # equity 742.00: 98.89 %
    call = listener.wait(lambda e: e["type"] == "margin_call", "the margin call")
    assert call["margin_level"] == "98.89"
    tick(redis_client, "BTCUSD", "46000.00", "46020.00")  # equity 397.00: 52.91 %, still above 50 %
    tick(redis_client, "BTCUSD", "45500.00", "45520.00")  # equity 322.00: 42.92 % — stop-out
    stop = listener.wait(lambda e: e["type"] == "stop_out", "the stop-out")
    assert stop["closed_positions"] == [placed["position"]["id"]]
    reason = scalar(
        sql_engine, "SELECT reason FROM trades WHERE position_id = :p AND entry = 'out'", p=placed["position"]["id"]
    )
    assert reason == "stop_out"
    wait_for(lambda: _webhooks(sql_engine, "stop_out", account_id), what="the stop_out webhook")
    assert _webhooks(sql_engine, "margin_call", account_id)[0]["data"]["margin_level"] == "98.89"


def test_hold_and_settle_through_the_engine_persist_once(account, redis_client, sql_engine):
    hold_id = f"wd-{uuid.uuid4().hex[:8]}"
    assert run(redis_client, HOLD_FUNDS, account, hold_funds_payload(hold_id, "2500"))["ok"]
    refused = run(redis_client, HOLD_FUNDS, account, hold_funds_payload(f"{hold_id}-2", "8000"))
    assert refused["code"] == "insufficient_funds"
    assert run(redis_client, RELEASE_HOLD, account, release_hold_payload(hold_id, True))["ok"]
    assert run(redis_client, RELEASE_HOLD, account, release_hold_payload(hold_id, True))["duplicate"] is True
    row = scalar(
        sql_engine, "SELECT status FROM account_holds WHERE account_id = :a AND hold_id = :h", a=account, h=hold_id
    )
    assert row == "settled"
    assert str(scalar(sql_engine, "SELECT balance FROM accounts WHERE id = :a", a=account)) == "7500.00"
    settled = scalar(
        sql_engine,
        "SELECT count(*) FROM ledger_entries WHERE account_id = :a AND external_id = :h",
        a=account,
        h=hold_id,
    )
    assert settled == 1


def test_engine_status_is_published_for_the_admin_dashboard(engine, redis_client):
    status = wait_for(lambda: redis_client.hgetall(engine_status_key(0)), what="engine status")
    for name in ("owner", "fence", "last_batch_at", "last_batch_size", "pending_commands", "lag_ms", "accounts"):
        assert name in status
    before = int(status["updated_at"])
    wait_for(lambda: int(redis_client.hget(engine_status_key(0), "updated_at")) > before, what="a fresh status")


def _assert_reconcile_reports(test_env, line):
    broken = reconcile(test_env)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert line in broken.stdout


def test_reconcile_is_clean_and_finds_a_tampered_balance(account, redis_client, sql_engine, test_env):
    run(redis_client, BALANCE_OP, account, balance_op_payload("deposit", "1.23", f"rc-{time.time_ns()}"))
    clean = reconcile(test_env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    with sql_engine.begin() as conn:  # someone edits a balance behind the engine's back
        conn.execute(text("UPDATE accounts SET balance = balance + 5 WHERE id = :a"), {"a": account})
    try:
        _assert_reconcile_reports(test_env, f"account {account}: balance differs from the sum of the ledger")
    finally:
        with sql_engine.begin() as conn:
            conn.execute(text("UPDATE accounts SET balance = balance - 5 WHERE id = :a"), {"a": account})


def test_reconcile_finds_a_row_whose_account_does_not_exist(account, sql_engine, test_env):
    """The engine's tables have no foreign key to accounts (migration e2b8c4d6a1f7): reconcile is
    what notices a row written for an account that is not there."""
    with sql_engine.begin() as conn:
        missing = conn.execute(text("SELECT COALESCE(max(id), 0) + 1000 FROM accounts")).scalar_one()
        ledger_id = conn.execute(
            text(
                "INSERT INTO ledger_entries (account_id, kind, amount, balance_after, created_at) "
                "VALUES (:a, 'correction', 0, 0, now()) RETURNING id"
            ),
            {"a": missing},
        ).scalar_one()
    try:
        _assert_reconcile_reports(test_env, f"ledger entry {ledger_id}: its account {missing} does not exist")
    finally:
        with sql_engine.begin() as conn:
            conn.execute(text("DELETE FROM ledger_entries WHERE id = :i"), {"i": ledger_id})
    assert reconcile(test_env).returncode == 0


def test_text_with_tabs_newlines_and_backslashes_is_stored_exactly(account, redis_client, sql_engine):
    comment = "wire\tref\\42\nline two — ünïcode"
    for n in (1, 150):  # one row (INSERT in one round trip) and a batch big enough for COPY
        ids = [f"esc-{n}-{i}-{uuid.uuid4().hex[:6]}" for i in range(n)]
        pipe = redis_client.pipeline(transaction=False)
        for external_id in ids:
            command = Command(
                external_id, BALANCE_OP, account, balance_op_payload("deposit", "1", external_id, comment)
            )
            pipe.xadd(commands_stream(0), command.to_fields())
        pipe.execute()
        wait_for(
            lambda ids=ids: (
                scalar(sql_engine, "SELECT count(*) FROM ledger_entries WHERE external_id = ANY(:i)", i=ids) == len(ids)
            ),
            what="the deposits",
        )
        stored = scalar(sql_engine, "SELECT DISTINCT comment FROM ledger_entries WHERE external_id = ANY(:i)", i=ids)
        assert stored == comment


def test_a_batch_that_changes_many_accounts_persists_every_one(engine, app, redis_client, sql_engine, test_env):
    """Batches over many accounts take the bulk paths (COPY; account updates through a temporary
    table): every account, ledger row and reply must come out as with one account."""
    from engine.contracts import OPEN_ACCOUNT, open_account_payload
    from tests.integration.test_engine_support import SYSTEM, new_account_id, now_ms, reply

    user = make_user(app)
    accounts = [new_account_id(sql_engine) for _ in range(130)]

    def one_batch(commands: list[Command]) -> None:
        # MULTI/EXEC: the engine's blocked read is served after EXEC, so it reads all of them at once.
        pipe = redis_client.pipeline(transaction=True)
        for command in commands:
            pipe.xadd(commands_stream(0), command.to_fields())
        pipe.execute()
        for command in commands:
            assert reply(redis_client, command.command_id)["ok"]

    one_batch(
        [
            Command(uuid.uuid4().hex, OPEN_ACCOUNT, a, open_account_payload(user.id, "live"), SYSTEM, now_ms())
            for a in accounts
        ]
    )
    one_batch(
        [
            Command(uuid.uuid4().hex, BALANCE_OP, a, balance_op_payload("deposit", f"{i + 1}.25", f"d-{a}"), SYSTEM, 0)
            for i, a in enumerate(accounts)
        ]
    )
    with sql_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, balance, updated_at FROM accounts WHERE id = ANY(:ids)"), {"ids": accounts}
        ).all()
    assert {r.id: r.balance for r in rows} == {a: Decimal(f"{i + 1}.25") for i, a in enumerate(accounts)}
    # One batch stamps every account it changes with the batch's time: they were written together.
    assert len({r.updated_at for r in rows}) == 1
    check = reconcile(test_env)
    assert check.returncode == 0, check.stdout + check.stderr
