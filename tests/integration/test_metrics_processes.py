"""Prometheus metrics of every process, scraped from the real processes, and the request id's trail.

feed (FEED_METRICS_PORT), worker (WORKER_METRICS_PORT), engine (ENGINE_METRICS_PORT) and web
(gunicorn /metrics, aggregated over its workers) are started as subprocesses; each metric is
shown to move with what the process did.
"""

from __future__ import annotations

import json
import socket
import uuid

import pytest
import websocket
from sqlalchemy import text

from common.outbox import add_events
from tests.factories import login, make_user, session_cookies
from tests.integration.test_faults_support import metric, scrape, start_web, start_worker
from tests.integration.test_market_support import (
    clear_market_keys,
    ensure_instruments,
    start_feed,
    start_sim,
    with_logs,
)
from tests.integration.test_webhooks_support import (
    clear_stale_scheduler_locks,
    disable_endpoints,
    set_aside_earlier_work,
)
from tests.support import free_port, wait_for
from tests.webhook_receiver import WebhookReceiver

# --- feed -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def feed(test_env, proc_log_dir, sql_engine, redis_client):
    ensure_instruments(sql_engine)
    clear_market_keys(redis_client)
    sim = start_sim(test_env, proc_log_dir)
    port = free_port()
    proc = start_feed(test_env, proc_log_dir, sim, FEED_METRICS_PORT=str(port))
    with_logs(lambda: redis_client.hget("md:status", "mode") == "ws", 30, "feed mode ws", proc)
    yield f"http://127.0.0.1:{port}/metrics", proc, sim
    proc.stop()
    sim.stop()
    clear_market_keys(redis_client)


def test_feed_exports_tick_rate_quote_age_per_symbol_and_mode(feed):
    url, proc, _ = feed
    first = wait_for(
        lambda: (s := scrape(url)) and (metric(s, "feed_ticks_total", symbol="EURUSD") or 0) > 0 and s,
        timeout=30,
        what="EURUSD ticks counted",
    )
    assert metric(first, "feed_mode", mode="ws") == 1.0
    assert metric(first, "feed_mode", mode="down") == 0.0
    assert metric(first, "feed_ws_connected") == 1.0
    age = metric(first, "feed_quote_age_seconds", symbol="EURUSD")
    assert age is not None and 0 <= age < 30
    before = metric(first, "feed_ticks_total", symbol="EURUSD") or 0
    wait_for(
        lambda: (metric(scrape(url), "feed_ticks_total", symbol="EURUSD") or 0) > before,
        timeout=30,
        what="the tick counter to grow",
    )
    assert proc.alive()


def test_feed_mode_metric_follows_the_upstream(feed, redis_client):
    url, proc, sim = feed
    sim.faults(ws_refuse=True)  # the provider's WebSocket is down; its REST API still answers
    sim.action("drop")
    try:
        with_logs(lambda: metric(scrape(url), "feed_mode", mode="rest-fallback") == 1.0, 30, "the mode metric", proc)
        samples = scrape(url)
        assert metric(samples, "feed_mode", mode="ws") == 0.0
        assert (metric(samples, "feed_reconnects_total") or 0) >= 1
        assert (metric(samples, "feed_rest_polls_total") or 0) >= 1
    finally:
        sim.faults(ws_refuse=False)
    with_logs(lambda: metric(scrape(url), "feed_mode", mode="ws") == 1.0, 30, "back to ws", proc)


# --- worker -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def receiver():
    server = WebhookReceiver().start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def worker(test_env, proc_log_dir, sql_engine, redis_client, receiver):
    """A worker delivering to our receiver only (older outbox rows and endpoints are set aside)."""
    from common.webhook_signing import new_secret

    set_aside_earlier_work(sql_engine)
    clear_stale_scheduler_locks(redis_client)
    port = free_port()
    secret = new_secret()
    env = {
        **test_env,
        "WORKER_METRICS_PORT": str(port),
        "LOG_JSON": "true",
        "WEBHOOK_RETRY_SCHEDULE": "1s,1s,1s",
        "WEBHOOK_TIMEOUT_S": "2",
        "CRM_WEBHOOK_URL": receiver.url,
        "CRM_WEBHOOK_SECRET": secret,
    }
    proc = start_worker(env, proc_log_dir, name="worker-metrics")
    wait_for(
        lambda: _scalar(
            sql_engine, "SELECT count(*) FROM webhook_endpoints WHERE enabled AND url = :u", u=receiver.url
        ),
        timeout=30,
        what="the CRM endpoint",
    )
    yield f"http://127.0.0.1:{port}/metrics", proc
    proc.stop()
    disable_endpoints(sql_engine)


def _scalar(sql_engine, sql: str, **params):
    with sql_engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def _emit(sql_engine, request_id: str | None = None) -> str:
    """Write one outbox event as a service would; return its msg_id."""
    with sql_engine.begin() as conn:
        add_events(conn, [("user.updated", {"id": 0, "changed": ["first_name"], "probe": uuid.uuid4().hex})])
        if request_id:
            conn.execute(
                text("UPDATE webhook_events SET request_id = :r WHERE id = (SELECT max(id) FROM webhook_events)"),
                {"r": request_id},
            )
        return conn.execute(text("SELECT msg_id FROM webhook_events ORDER BY id DESC LIMIT 1")).scalar_one()


def test_worker_counts_deliveries_and_failures_and_reports_queue_depths(worker, receiver, sql_engine):
    url, proc = worker
    start = scrape(url)
    delivered0 = metric(start, "webhook_deliveries_total") or 0
    retried0 = metric(start, "webhook_delivery_failures_total", final="false") or 0
    assert metric(start, "rq_queue_depth", queue="webhooks") is not None
    assert metric(start, "webhook_outbox_undispatched") is not None

    msg_id = _emit(sql_engine)
    wait_for(lambda: receiver.for_id(msg_id), timeout=30, what="the first delivery")
    wait_for(lambda: metric(scrape(url), "webhook_deliveries_total") == delivered0 + 1, timeout=10, what="count")

    receiver.fail_next(1, 503)
    retried = _emit(sql_engine)
    wait_for(lambda: len(receiver.for_id(retried)) == 2, timeout=30, what="a failed attempt and its retry")
    after = wait_for(
        lambda: (s := scrape(url)) and metric(s, "webhook_deliveries_total") == delivered0 + 2 and s,
        timeout=10,
        what="the retried delivery counted",
    )
    assert metric(after, "webhook_delivery_failures_total", final="false") == retried0 + 1
    assert (metric(after, "rq_jobs_total", queue="webhooks", outcome="retrying") or 0) >= 1
    assert proc.alive()


def test_worker_counts_mail_sent(worker, test_env, var_dir):
    import redis
    from rq import Queue

    url, _ = worker
    sent0 = metric(scrape(url), "mail_sent_total") or 0
    queue = Queue("mail", connection=redis.Redis.from_url(test_env["REDIS_URL"]))
    message = {"to": "ops@example.test", "subject": "Metrics", "text": "hello", "html": "<p>hello</p>"}
    queue.enqueue("workers.mail.deliver", message)
    wait_for(lambda: metric(scrape(url), "mail_sent_total") == sent0 + 1, timeout=30, what="mail_sent_total")


def test_a_web_request_id_reaches_the_webhook_receiver(worker, receiver, app, client, sql_engine):
    user = make_user(app)
    login(client, app, user)
    request_id = f"trace-{uuid.uuid4().hex[:12]}"
    response = client.patch("/api/auth/me", json={"first_name": "Traced"}, headers={"X-Request-ID": request_id})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == request_id
    stored = _scalar(sql_engine, "SELECT msg_id FROM webhook_events WHERE request_id = :r", r=request_id)
    assert stored is not None  # the outbox row carries the request's id
    got = wait_for(lambda: receiver.for_id(stored), timeout=30, what="the traced webhook")
    assert got[0].headers["x-request-id"] == request_id
    # The worker's JSON log line about this delivery carries the id too.
    wait_for(
        lambda: any(
            json.loads(line).get("request_id") == request_id
            for line in worker[1].log_path.read_text().splitlines()
            if line.startswith("{")
        ),
        timeout=10,
        what="a worker log line with the request id",
    )


# --- engine -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(app, test_env, proc_log_dir, redis_client, sql_engine):
    from tests.integration.test_engine_support import seed_instruments, settle_outbox, start_engine

    seed_instruments(app)
    port = free_port()
    proc = start_engine({**test_env, "ENGINE_METRICS_PORT": str(port), "LOG_JSON": "true"}, proc_log_dir, redis_client)
    yield f"http://127.0.0.1:{port}/metrics", proc
    proc.stop()
    settle_outbox(sql_engine)


def test_engine_exports_commands_batches_latency_ticks_and_lag(engine, redis_client, sql_engine, app):
    from engine.contracts import PLACE_ORDER
    from tests.integration.test_engine_support import open_account, run, send, tick

    url, _ = engine
    before = scrape(url)
    ok0 = metric(before, "engine_commands_total", shard="0", type="place_order", result="ok") or 0
    dup0 = metric(before, "engine_commands_total", shard="0", type="place_order", result="duplicate") or 0
    ticks0 = metric(before, "engine_ticks_total", shard="0") or 0
    latency0 = metric(before, "engine_command_latency_seconds_count", shard="0") or 0
    account = open_account(sql_engine, redis_client, make_user(app).id)
    tick(redis_client, "BTCUSD", "50000.00", "50020.00")
    order = {"symbol": "BTCUSD", "side": "buy", "type": "market", "volume": "0.01"}
    command_id = send(redis_client, PLACE_ORDER, account, order)
    assert run(redis_client, PLACE_ORDER, account, order, command_id=command_id)["ok"]  # the same id again
    # Commands are counted when applied, their latency once the batch's replies are published (by
    # the commit thread, a moment later): wait for both.
    after = wait_for(
        lambda: (
            (s := scrape(url))
            and metric(s, "engine_commands_total", shard="0", type="place_order", result="duplicate") == dup0 + 1
            and metric(s, "engine_command_latency_seconds_count", shard="0") >= latency0 + 4
            and s
        ),
        timeout=10,
        what="the duplicate counted and four command latencies observed",
    )
    assert metric(after, "engine_commands_total", shard="0", type="place_order", result="ok") == ok0 + 1
    assert metric(after, "engine_ticks_total", shard="0") >= ticks0 + 1
    # open_account, the deposit, the order and its repeat: four commands answered
    assert metric(after, "engine_command_latency_seconds_count", shard="0") >= latency0 + 4
    assert (metric(after, "engine_batch_size_count", shard="0") or 0) >= 1
    assert (metric(after, "engine_batch_seconds_count", shard="0", stage="commit") or 0) >= 1
    assert metric(after, "engine_lag_seconds", shard="0") is not None
    assert (metric(after, "engine_fence", shard="0") or 0) >= 1
    wait_for(lambda: metric(scrape(url), "engine_pending_commands", shard="0") == 0, timeout=10, what="pending 0")


def test_a_request_id_travels_from_web_through_the_engine_to_the_webhook(
    engine, worker, receiver, app, client, sql_engine, redis_client
):
    from tests.integration.test_engine_support import open_account, tick

    user = make_user(app)
    account = open_account(sql_engine, redis_client, user.id)
    login(client, app, user)
    tick(redis_client, "BTCUSD", "50000.00", "50020.00")
    request_id = f"order-{uuid.uuid4().hex[:12]}"
    body = {"account_id": account, "symbol": "BTCUSD", "side": "buy", "type": "market", "volume": "0.01"}
    response = client.post("/api/orders", json=body, headers={"X-Request-ID": request_id})
    assert response.status_code == 201, response.json
    audited = _scalar(sql_engine, "SELECT count(*) FROM audit_logs WHERE request_id = :r", r=request_id)
    assert audited >= 1  # the engine's audit rows name the request
    msg_id = _scalar(
        sql_engine, "SELECT msg_id FROM webhook_events WHERE type = 'order.placed' AND request_id = :r", r=request_id
    )
    assert msg_id is not None  # so does the outbox event the engine wrote
    got = wait_for(lambda: receiver.for_id(msg_id), timeout=30, what="the order.placed webhook")
    assert got[0].headers["x-request-id"] == request_id


# --- web ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def web(test_env, proc_log_dir, sql_engine):
    ensure_instruments(sql_engine)
    proc, base = start_web(test_env, proc_log_dir, name="web-metrics")
    yield base
    proc.stop()


def test_web_counts_websocket_connections_across_gunicorn_workers(web, app):
    cookie = "; ".join(f"{k}={v}" for k, (v, _) in session_cookies(app, make_user(app)).items())
    url = f"{web}/metrics"
    before = metric(scrape(url), "websocket_connections") or 0
    ws = websocket.create_connection(f"{web.replace('http', 'ws')}/api/stream", header=[f"Cookie: {cookie}"])
    try:
        wait_for(lambda: metric(scrape(url), "websocket_connections") == before + 1, timeout=10, what="+1")
    finally:
        ws.close()
    wait_for(lambda: metric(scrape(url), "websocket_connections") == before, timeout=10, what="back to before")


# Timing-sensitive like the relay's slow-client test: it runs in the sequential `slow` phase.
@pytest.mark.slow
def test_web_counts_quotes_dropped_for_a_slow_client(web, app, redis_client, feed):
    _, feed_proc, sim = feed
    feed_proc.stop()  # only our quotes flow now, so every one of them can be accounted for
    sim.stop()
    cookie = "; ".join(f"{k}={v}" for k, (v, _) in session_cookies(app, make_user(app)).items())
    url = f"{web}/metrics"
    dropped0 = metric(scrape(url), "websocket_frames_dropped_total") or 0
    redis_client.hdel("md:last", "ETHUSD")
    slow = websocket.create_connection(
        f"{web.replace('http', 'ws')}/api/stream?symbols=ETHUSD",
        header=[f"Cookie: {cookie}"],
        timeout=10,
        sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),),
    )
    try:
        wait_for(lambda: json.loads(slow.recv()).get("type") == "subscribed", timeout=10, what="subscribed")
        total, pad = 4000, "x" * 2000
        pipe = redis_client.pipeline(transaction=False)
        for n in range(total):
            pipe.publish("md:quote:ETHUSD", json.dumps({"symbol": "ETHUSD", "bid": "1", "ask": "2", "ts": n, "p": pad}))
        pipe.execute()
        seen: list[int] = []
        while not seen or seen[-1] != total - 1:
            frame = json.loads(slow.recv())
            if frame.get("type") == "quote":
                seen.append(frame["ts"])
    finally:
        slow.close()
    assert len(seen) < total
    # Every quote was either delivered or counted as dropped.
    wait_for(
        lambda: metric(scrape(url), "websocket_frames_dropped_total") == dropped0 + total - len(seen),
        timeout=10,
        what="the dropped quotes counted",
    )
