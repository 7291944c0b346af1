"""Fault: the engine is SIGKILLed while clients place orders over HTTP.

A supervisor (Docker's restart policy, here the test) starts a new engine at once; it waits for the
dead one's lease to expire, recovers from PostgreSQL and its pending stream entries, and carries
on. Clients retry with the same Idempotency-Key: every order exists once, reconcile is clean, and
every order.placed webhook reaches the CRM once.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest

from tests.integration.test_faults_support import (
    OrderLoad,
    Platform,
    PrivateRedis,
    assert_each_order_once,
    drop_database,
    fresh_quotes,
    new_database,
    open_funded_account,
    reconcile,
    report_recovery,
    seed_instruments,
    verified_ids,
)
from tests.support import wait_for
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow

ORDERS_PER_CLIENT = 60


@pytest.fixture(scope="module")
def platform(test_env, proc_log_dir, database_url):
    redis_server = PrivateRedis(proc_log_dir, aof=False).start()
    db_url = new_database(database_url)
    receiver = WebhookReceiver().start()
    plat = Platform(test_env, proc_log_dir, db_url, redis_server.url)
    plat.crm(receiver.url)
    seed_instruments(plat.sql)
    stop_quotes = threading.Event()
    fresh_quotes(plat.r, stop_quotes)
    plat.engine()
    plat.worker()
    plat.web()
    yield plat, receiver
    stop_quotes.set()
    plat.stop()
    receiver.close()
    redis_server.close()
    drop_database(db_url)


def test_sigkill_of_the_engine_under_load_loses_and_doubles_nothing(platform):
    plat, receiver = platform
    loads = []
    for _ in range(2):
        user_id, client = plat.client()
        account = open_funded_account(plat.sql, plat.r, user_id)
        loads.append((user_id, OrderLoad(client, account)))
    threads = [load.thread(ORDERS_PER_CLIENT) for _, load in loads]
    wait_for(lambda: sum(len(load.results) for _, load in loads) >= 30, timeout=60, what="orders under way")

    engine = plat.procs["engine"]
    killed_at = time.monotonic()
    engine.kill(signal.SIGKILL)
    plat.engine(name="engine-restarted")  # the supervisor's restart; it waits for the old lease
    restarted_at = time.monotonic()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads)

    answered_after = [t for _, load in loads for t in load.answered_at.values() if t > killed_at]
    recovered_at = min(answered_after)
    for user_id, load in loads:
        assert len(load.results) == ORDERS_PER_CLIENT
        assert_each_order_once(plat.sql, user_id, load)
    result = reconcile(plat.env)
    assert result.returncode == 0, result.stdout + result.stderr

    events = {msg for _, load in loads for msg in plat.events_of(load.account_id, "order.placed")}
    filled = sum(1 for _, load in loads for status in load.results.values() if status == 201)
    assert len(events) == filled  # one order.placed per order, none doubled by the replay
    wait_for(lambda: events <= {r.webhook_id for r in receiver.requests}, timeout=60, what="every webhook")
    delivered = list(verified_ids([r for r in receiver.requests if r.webhook_id in events], plat.secret))
    assert set(delivered) == events

    report_recovery(
        "engine_sigkill",
        orders=sum(len(load.results) for _, load in loads),
        retried_requests=sum(load.attempts for _, load in loads) - sum(len(load.results) for _, load in loads),
        new_engine_serving_s=round(restarted_at - killed_at, 2),
        first_order_answered_after_kill_s=round(recovered_at - killed_at, 2),
        lease_ms=3000,
        webhooks_delivered=len(set(delivered)),
    )
