"""Exactly-once and recovery with the real engine process: SIGKILL in a burst, redelivery, restart
from PostgreSQL, the lease that keeps a second engine off the shard, and fencing."""

from __future__ import annotations

import signal
import uuid
from typing import Any

import pytest
from sqlalchemy import text

from engine.contracts import (
    CLOSE_POSITION,
    HOLD_FUNDS,
    PLACE_ORDER,
    Command,
    commands_stream,
    engine_status_key,
    hold_funds_payload,
)
from tests.factories import login, make_user
from tests.integration.test_engine_support import (
    SYSTEM,
    now_ms,
    open_account,
    reconcile,
    reply,
    run,
    scalar,
    seed_instruments,
    send,
    settle_outbox,
    start_engine,
    tick,
)
from tests.support import Proc, python_module, wait_for


@pytest.fixture(scope="module")
def prepared(app):
    seed_instruments(app)


@pytest.fixture()
def engines(test_env, proc_log_dir, redis_client, prepared, sql_engine):
    """Engine processes started by one test (all stopped at its end)."""
    started: list[Any] = []

    def start(*extra: str) -> Any:
        proc = start_engine(test_env, proc_log_dir, redis_client, *extra, name=f"engine-{len(started)}")
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
    settle_outbox(sql_engine)


def _market(symbol: str = "BTCUSD", volume: str = "0.01", side: str = "buy") -> dict[str, Any]:
    return {"symbol": symbol, "side": side, "type": "market", "volume": volume}


def _fresh_quotes(redis_client: Any) -> None:
    tick(redis_client, "BTCUSD", "50000.00", "50020.00")
    tick(redis_client, "ETHUSD", "3000.00", "3001.50")


@pytest.mark.slow
def test_sigkill_in_a_burst_every_accepted_order_is_processed_exactly_once(
    engines, app, sql_engine, redis_client, test_env
):
    engine = engines()
    users = [make_user(app) for _ in range(5)]
    accounts = [open_account(sql_engine, redis_client, u.id, deposit="1000000") for u in users for _ in range(4)]
    _fresh_quotes(redis_client)
    burst = [(f"burst-{uuid.uuid4().hex}", accounts[i % len(accounts)]) for i in range(1600)]
    retried: list[str] = []

    def produce(part: list[tuple[str, int]]) -> None:
        """XADD as the web does, 40 at a time; a client retries two of each 40 (same command id)."""
        for chunk in range(0, len(part), 40):
            pipe = redis_client.pipeline(transaction=False)
            for command_id, account_id in part[chunk : chunk + 40] + part[chunk : chunk + 2]:
                command = Command(command_id, PLACE_ORDER, account_id, _market(), SYSTEM, now_ms())
                pipe.xadd(commands_stream(0), command.to_fields())
            pipe.execute()
            retried.extend(c for c, _ in part[chunk : chunk + 2])
        tick(redis_client, "BTCUSD", "50000.00", "50020.00")

    ids = [c for c, _ in burst]
    processed = "SELECT count(*) FROM processed_commands WHERE command_id = ANY(:ids)"
    produce(burst[:1000])
    # Killed as soon as its first batch is committed: the rest of the burst is read, pending or
    # not yet read; the last 600 orders arrive while no engine runs.
    wait_for(lambda: scalar(sql_engine, processed, ids=ids) > 0, timeout=30, what="the first committed batch")
    engine.kill(signal.SIGKILL)
    done_at_kill = scalar(sql_engine, processed, ids=ids)
    produce(burst[1000:])
    assert 0 < done_at_kill < len(burst)

    engines()
    wait_for(lambda: scalar(sql_engine, processed, ids=ids) == len(burst), timeout=90, what="every accepted order")
    with sql_engine.connect() as conn:
        per_command = conn.execute(
            text("SELECT command_id, count(*) FROM orders WHERE command_id = ANY(:ids) GROUP BY command_id"),
            {"ids": ids},
        ).all()
        results = conn.execute(
            text("SELECT count(*) FROM processed_commands WHERE command_id = ANY(:ids) AND result->>'ok' = 'true'"),
            {"ids": ids},
        ).scalar()
        positions = conn.execute(
            text(
                "SELECT count(*) FROM positions WHERE order_id IN (SELECT id FROM orders WHERE command_id = ANY(:ids))"
            ),
            {"ids": ids},
        ).scalar()
    assert len(per_command) == len(burst) and {n for _, n in per_command} == {1}
    assert results == len(burst) and positions == len(burst)
    # Every sender got an answer, the retried ones included (each delivery is answered).
    assert all(redis_client.llen(f"reply:{c}") >= 1 for c in ids[:50] + retried[:20])
    check = reconcile(test_env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "reconcile: clean" in check.stdout


def test_a_redelivered_command_changes_state_once_and_answers_the_same(engines, app, sql_engine, redis_client):
    engines()
    user = make_user(app)
    account_id = open_account(sql_engine, redis_client, user.id, deposit="5000")
    _fresh_quotes(redis_client)
    command_id = f"dup-{uuid.uuid4().hex}"
    send(redis_client, PLACE_ORDER, account_id, _market(), command_id=command_id)
    send(redis_client, PLACE_ORDER, account_id, _market(), command_id=command_id)
    first, second = reply(redis_client, command_id), reply(redis_client, command_id)
    assert first == second and first["ok"]
    assert scalar(sql_engine, "SELECT count(*) FROM orders WHERE command_id = :c", c=command_id) == 1
    # Sent again much later (an Idempotency-Key retry): the stored result, nothing new.
    again = run(redis_client, PLACE_ORDER, account_id, _market(), command_id=command_id)
    assert again == first
    assert scalar(sql_engine, "SELECT count(*) FROM positions WHERE account_id = :a", a=account_id) == 1


def test_a_backlog_of_ticks_never_lets_a_command_overtake_the_quote_before_it(
    app, test_env, proc_log_dir, redis_client, prepared, sql_engine
):
    """With more ticks waiting than one read takes, the quote published just before an order
    still reaches the engine before the order does (the engine reads ticks past the command)."""
    engine = start_engine({**test_env, "ENGINE_BATCH_SIZE": "5"}, proc_log_dir, redis_client, name="engine-small")
    try:
        account_id = open_account(sql_engine, redis_client, make_user(app).id, deposit="5000")
        engine.stop()  # ticks pile up meanwhile, as behind a busy or restarting engine
        for n in range(40):
            tick(redis_client, "ETHUSD", f"{3000 + n}.00", f"{3001 + n}.50")
        tick(redis_client, "BTCUSD", "50000.00", "50020.00")
        redis_client.hdel("md:last", "BTCUSD")  # the restarted engine learns the price from the stream only
        command_id = send(redis_client, PLACE_ORDER, account_id, _market())
        engine = start_engine({**test_env, "ENGINE_BATCH_SIZE": "5"}, proc_log_dir, redis_client, name="engine-small")
        result = reply(redis_client, command_id)
        assert result["ok"], (result, engine.log_tail())  # not `no_quote`: the BTCUSD tick came first
    finally:
        engine.stop()
        settle_outbox(sql_engine)


def test_restart_reloads_orders_positions_and_holds_from_postgresql(engines, app, sql_engine, redis_client):
    engine = engines()
    user = make_user(app)
    account_id = open_account(sql_engine, redis_client, user.id, deposit="20000")
    _fresh_quotes(redis_client)
    limit = run(redis_client, PLACE_ORDER, account_id, {**_market(), "type": "limit", "price": "49000.00"})
    position = run(redis_client, PLACE_ORDER, account_id, {**_market("ETHUSD", "1.00"), "sl": "2900.00"})
    assert limit["ok"] and position["ok"]
    assert run(redis_client, HOLD_FUNDS, account_id, hold_funds_payload("wd-restart", "500"))["ok"]
    engine.stop()

    engines()
    tick(redis_client, "BTCUSD", "48990.00", "49000.00")  # reaches the reloaded buy limit
    tick(redis_client, "ETHUSD", "2899.00", "2900.50")  # reaches the reloaded stop loss
    order_id, position_id = limit["order"]["id"], position["position"]["id"]
    wait_for(
        lambda: scalar(sql_engine, "SELECT status FROM orders WHERE id = :i", i=order_id) == "filled",
        what="the reloaded limit order to fill",
    )
    wait_for(
        lambda: scalar(sql_engine, "SELECT status FROM positions WHERE id = :i", i=position_id) == "closed",
        what="the reloaded stop loss to close the position",
    )
    reason = scalar(sql_engine, "SELECT reason FROM trades WHERE position_id = :i AND entry = 'out'", i=position_id)
    assert reason == "sl"
    # The reloaded hold still counts: releasing it twice gives the money back once.
    assert run(redis_client, "release_hold", account_id, {"hold_id": "wd-restart", "settle": False})["ok"]
    again = run(redis_client, "release_hold", account_id, {"hold_id": "wd-restart", "settle": False})
    assert again["duplicate"] is True
    assert str(scalar(sql_engine, "SELECT held FROM accounts WHERE id = :a", a=account_id)) == "0.00"


def test_a_second_engine_waits_for_the_lease_and_takes_over_when_the_first_stops(
    engines, app, sql_engine, redis_client
):
    first = engines()
    owner = redis_client.hget(engine_status_key(0), "owner")
    second = Proc("engine-standby", python_module("engine", "--lease-ms", "3000"), first.env, first.log_path.parent)
    second.start()
    try:
        wait_for(lambda: "waiting for its lease" in second.log_tail(), what="the standby to wait for the lease")
        user = make_user(app)
        account_id = open_account(sql_engine, redis_client, user.id, deposit="100")
        assert scalar(sql_engine, "SELECT id FROM accounts WHERE id = :a", a=account_id) == account_id
        assert redis_client.hget(engine_status_key(0), "owner") == owner  # the first engine did the work
        first.stop()  # SIGTERM: the lease is released at once
        wait_for(
            lambda: redis_client.hget(engine_status_key(0), "owner") not in (None, owner),
            timeout=20,
            what="the standby to take over",
        )
        assert run(redis_client, "balance_op", account_id, {"op": "deposit", "amount": "1", "external_id": "x"})["ok"]
        fences = scalar(sql_engine, "SELECT fence FROM engine_shards WHERE shard = 0")
        assert int(redis_client.get("engine:fence:0")) == fences
    finally:
        second.stop()


def test_a_fenced_out_engine_stops_writing_and_recovers_without_losing_commands(engines, app, sql_engine, redis_client):
    engine = engines()
    user = make_user(app)
    account_id = open_account(sql_engine, redis_client, user.id, deposit="1000")
    with sql_engine.begin() as conn:  # another owner took the shard: its fencing token is newer
        conn.execute(text("UPDATE engine_shards SET fence = fence + 1 WHERE shard = 0"))
    external = f"after-fence-{uuid.uuid4().hex}"
    result = run(redis_client, "balance_op", account_id, {"op": "deposit", "amount": "5", "external_id": external})
    assert result["ok"], result
    assert "no longer current" in engine.log_tail(200)
    rows = scalar(sql_engine, "SELECT count(*) FROM ledger_entries WHERE external_id = :e", e=external)
    assert rows == 1
    assert str(scalar(sql_engine, "SELECT balance FROM accounts WHERE id = :a", a=account_id)) == "1005.00"


def test_web_answers_202_while_the_engine_is_down_and_the_command_runs_later(engines, app, sql_engine, redis_client):
    engine = engines()
    user = make_user(app)
    account_id = open_account(sql_engine, redis_client, user.id, deposit="20000")
    engine.stop()
    client = login(app.test_client(), app, user)
    app.config["ENGINE_REPLY_WAIT_S"] = 0.3
    try:
        body = {"account_id": account_id, "symbol": "ETHUSD", "side": "buy", "type": "market", "volume": "0.10"}
        res = client.post("/api/orders", json=body)
    finally:
        app.config.pop("ENGINE_REPLY_WAIT_S")
    assert res.status_code == 202, res.json
    command_id = res.json["command_id"]
    assert res.headers["Location"] == f"/api/commands/{command_id}"
    assert client.get(f"/api/commands/{command_id}").json == {
        "command_id": command_id,
        "status": "pending",
        "result": None,
    }
    engines()
    _fresh_quotes(redis_client)

    def done() -> Any:
        status = client.get(f"/api/commands/{command_id}").json
        return status["status"] == "done" and status

    status = wait_for(done, timeout=20, what="the queued order to run")
    # It ran on the quote the engine had when it started (md:last), or was refused as stale: an answer either way.
    assert status["result"]["command_id"] == command_id


def test_close_of_an_unknown_position_is_answered_not_crashed(engines, app, sql_engine, redis_client):
    engines()
    user = make_user(app)
    account_id = open_account(sql_engine, redis_client, user.id, deposit="10")
    result = run(redis_client, CLOSE_POSITION, account_id, {"position_id": 999_999_999})
    assert result == {
        "ok": False,
        "command_id": result["command_id"],
        "code": "position_not_found",
        "message": result["message"],
    }
    malformed = run(
        redis_client, PLACE_ORDER, account_id, {"symbol": "BTCUSD", "side": "buy", "type": "market", "volume": 0.5}
    )
    assert malformed["code"] == "invalid_request"
    unknown = run(redis_client, PLACE_ORDER, 987_654_321, _market())
    assert unknown["code"] == "unknown_account"
