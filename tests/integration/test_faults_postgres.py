"""Fault: PostgreSQL crashes (immediate stop: no checkpoint, WAL replay at start) and comes back.

During the outage the web answers 503 (never 500) and readyz says unavailable; the engine's commit
fails, it drops its memory state and restarts from PostgreSQL once it is back; the worker's
dispatcher and deliveries retry. Afterwards every order exists once, reconcile is clean, and every
webhook event reached the CRM.
"""

from __future__ import annotations

import time

import pytest

from engine.contracts import PLACE_ORDER
from tests.integration.test_engine_support import reply, send
from tests.integration.test_faults_support import (
    OrderLoad,
    Platform,
    PrivatePostgres,
    PrivateRedis,
    Probe,
    assert_each_order_once,
    fresh_quotes,
    new_database,
    open_funded_account,
    reconcile,
    report_recovery,
    scalar,
    seed_instruments,
    verified_ids,
    wait_logged,
)
from tests.support import wait_for
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def platform(test_env, proc_log_dir):
    import threading

    postgres = PrivatePostgres(proc_log_dir).start()
    redis_server = PrivateRedis(proc_log_dir, aof=False).start()
    db_url = new_database(postgres.url())
    receiver = WebhookReceiver().start()
    plat = Platform(test_env, proc_log_dir, db_url, redis_server.url)
    plat.crm(receiver.url)
    seed_instruments(plat.sql)
    stop_quotes = threading.Event()
    fresh_quotes(plat.r, stop_quotes)
    plat.engine()
    plat.worker()
    plat.web()
    yield plat, receiver, postgres
    stop_quotes.set()
    plat.stop()
    receiver.close()
    redis_server.close()
    postgres.close()


def test_a_postgresql_crash_and_restart_is_ridden_out_by_every_process(platform):
    plat, receiver, postgres = platform
    user_id, client = plat.client()
    account = open_funded_account(plat.sql, plat.r, user_id)
    load = OrderLoad(client, account)
    ready = Probe(lambda: plat.readyz()[0] == 200).start()
    thread = load.thread(80)
    wait_for(lambda: len(load.results) >= 20, timeout=60, what="orders under way")
    procs = [*plat.procs.values(), postgres]

    postgres.stop("immediate")
    down_at = time.monotonic()
    assert not postgres.alive()
    # PostgreSQL stays down until every process has met the outage.
    wait_logged(lambda: plat.readyz()[0] == 503, 30, "readyz to report the outage", procs)
    wait_logged(lambda: 503 in load.errors, 60, "a client to get 503", procs)
    # A command already in the engine's stream (accepted just before the crash) must wait, not vanish.
    queued = send(plat.r, PLACE_ORDER, account, {"symbol": "BTCUSD", "side": "buy", "type": "market", "volume": "0.01"})
    engine_log = plat.procs["engine"].log_path
    wait_logged(lambda: engine_log.read_text().count("restarting from PostgreSQL") >= 2, 60, "engine retries", procs)
    up_at = time.monotonic()  # from here on, recovery is measured (pg_ctl start returns once it accepts)
    postgres.start()
    thread.join(timeout=240)
    assert not thread.is_alive()
    answered = [t for t in load.answered_at.values() if t > up_at]
    wait_logged(lambda: ready.first(True, up_at), 60, "readyz 200 again", procs)
    ready.stop.set()
    for name, proc in plat.procs.items():
        assert proc.alive(), f"{name} died:\n{proc.log_tail()}"

    assert len(load.results) == 80
    assert 500 not in load.errors, f"an outage must answer 503, never 500: {load.errors}"
    assert_each_order_once(plat.sql, user_id, load, other_fills=1)
    assert reply(plat.r, queued)["ok"]
    assert scalar(plat.sql, "SELECT count(*) FROM processed_commands WHERE command_id = :c", c=queued) == 1
    result = reconcile(plat.env)
    assert result.returncode == 0, result.stdout + result.stderr
    events = set(plat.events_of(account, "order.placed"))
    assert len(events) == sum(1 for s in load.results.values() if s == 201) + 1
    wait_logged(lambda: events <= {r.webhook_id for r in receiver.requests}, 120, "every webhook", procs)
    assert set(verified_ids([r for r in receiver.requests if r.webhook_id in events], plat.secret)) == events

    report_recovery(
        "postgres_restart",
        postgres_down_s=round(up_at - down_at, 2),
        readyz_ok_after_postgres_up_s=round(ready.first(True, up_at) - up_at, 2),
        first_order_after_postgres_up_s=round(min(answered) - up_at, 2) if answered else None,
        client_errors_during_outage=dict(load.errors),
        orders=len(load.results),
    )
