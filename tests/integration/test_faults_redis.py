"""Fault: Redis restarts (AOF everysec, as in production) while clients trade and the feed streams.

Every process rides the outage out on its own: the web answers 503 and readyz says unavailable,
the engine restarts its loop from PostgreSQL, the feed keeps its upstream and resumes publishing,
the worker reconnects. Afterwards every order exists once, reconcile is clean, and every webhook
event reached the CRM.
"""

from __future__ import annotations

import time

import pytest
import redis

from engine.contracts import engine_status_key
from tests.integration.test_faults_support import (
    OrderLoad,
    Platform,
    PrivateRedis,
    Probe,
    assert_each_order_once,
    drop_database,
    new_database,
    open_funded_account,
    reconcile,
    report_recovery,
    seed_instruments,
    verified_ids,
    wait_logged,
)
from tests.integration.test_market_support import start_feed, start_sim
from tests.support import wait_for
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def platform(test_env, proc_log_dir, database_url):
    server = PrivateRedis(proc_log_dir, aof=True).start()
    db_url = new_database(database_url)
    receiver = WebhookReceiver().start()
    plat = Platform(test_env, proc_log_dir, db_url, server.url)
    plat.crm(receiver.url)
    seed_instruments(plat.sql)
    sim = start_sim(plat.env, proc_log_dir)
    plat.procs["feed"] = start_feed(plat.env, proc_log_dir, sim)
    wait_for(lambda: plat.r.hget("md:status", "mode") == "ws", timeout=30, what="the feed")
    plat.engine()
    plat.worker()
    plat.web()
    yield plat, receiver, server
    plat.stop()
    sim.stop()
    receiver.close()
    server.close()
    drop_database(db_url)


def _feed_fresh(plat: Platform) -> bool:
    """md:status refreshed within the last 2 s and the feed on its WebSocket."""
    status = plat.r.hgetall("md:status")
    return status.get("mode") == "ws" and int(time.time() * 1000) - int(status.get("updated_at") or 0) < 2000


def _engine_fresh(plat: Platform) -> bool:
    updated = int(plat.r.hget(engine_status_key(0), "updated_at") or 0)
    return int(time.time() * 1000) - updated < 2000


def test_a_redis_restart_is_ridden_out_by_every_process(platform):
    plat, receiver, server = platform
    user_id, client = plat.client()
    account = open_funded_account(plat.sql, plat.r, user_id)
    load = OrderLoad(client, account)
    ready = Probe(lambda: plat.readyz()[0] == 200).start()
    feed = Probe(lambda: _feed_fresh(plat)).start()
    engine = Probe(lambda: _engine_fresh(plat)).start()
    worker = plat.procs["worker"]
    thread = load.thread(80)
    wait_for(lambda: len(load.results) >= 20, timeout=60, what="orders under way")

    server.stop()  # SIGTERM: Redis writes its AOF and exits
    down_at = time.monotonic()
    # Redis stays down until every process has met the outage.
    wait_for(lambda: plat.readyz()[0] == 503, timeout=10, what="readyz to report the outage")
    wait_for(lambda: load.errors, timeout=30, what="a client to be refused")
    wait_for(lambda: "restarting" in plat.procs["engine"].log_path.read_text(), timeout=30, what="the engine")
    wait_for(lambda: "cannot write md:status" in plat.procs["feed"].log_path.read_text(), timeout=30, what="feed")
    up_at = time.monotonic()  # from here on, recovery is measured (start() returns once Redis answers)
    server.start()
    thread.join(timeout=180)
    assert not thread.is_alive()
    answered = [t for t in load.answered_at.values() if t > up_at]

    procs = list(plat.procs.values())
    wait_logged(lambda: ready.first(True, up_at), 30, "readyz 200 again", procs)
    wait_logged(lambda: feed.first(True, up_at), 30, "the feed publishing again", procs)
    wait_logged(lambda: engine.first(True, up_at), 30, "the engine running again", procs)
    for probe in (ready, feed, engine):
        probe.stop.set()
    for name, proc in plat.procs.items():
        assert proc.alive(), f"{name} died:\n{proc.log_tail()}"
    assert worker.pid in _worker_pids(server.url)  # the same worker process, registered again

    assert len(load.results) == 80
    assert 500 not in load.errors, "an outage must answer 503, never 500"
    assert_each_order_once(plat.sql, user_id, load)
    result = reconcile(plat.env)
    assert result.returncode == 0, result.stdout + result.stderr
    events = set(plat.events_of(account, "order.placed"))
    assert len(events) == sum(1 for s in load.results.values() if s == 201)
    # Deliveries made while Redis was down reach RQ through the dispatcher's sweep (docs/WEBHOOKS.md).
    delivered_at = wait_logged(
        lambda: events <= {r.webhook_id for r in receiver.requests} and time.monotonic(), 150, "every webhook", procs
    )
    assert set(verified_ids([r for r in receiver.requests if r.webhook_id in events], plat.secret)) == events

    report_recovery(
        "redis_restart",
        redis_down_s=round(up_at - down_at, 2),
        readyz_ok_after_redis_up_s=round(ready.first(True, up_at) - up_at, 2),
        engine_running_after_redis_up_s=round(engine.first(True, up_at) - up_at, 2),
        feed_publishing_after_redis_up_s=round(feed.first(True, up_at) - up_at, 2),
        first_order_after_redis_up_s=round(min(answered) - up_at, 2) if answered else None,
        webhooks_all_delivered_after_redis_up_s=round(delivered_at - up_at, 2),
        client_errors_during_outage=dict(load.errors),
        orders=len(load.results),
    )


def _worker_pids(url: str) -> set[int]:
    from rq import Worker

    client = redis.Redis.from_url(url)
    try:
        return {int(w.pid) for w in Worker.all(connection=client) if w.pid}
    finally:
        client.close()
