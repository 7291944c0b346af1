"""WS /api/stream on gunicorn (gevent): auth, quotes, client actions, status, account events, slow clients.

Quotes and events are PUBLISHed to Redis here exactly as the feed and the engine do, so each
assertion sees one known message; the last test runs the real feed and simulator end to end.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import websocket
from sqlalchemy import delete

from models import Account
from tests.factories import make_user, session_cookies
from tests.integration.test_market_support import (
    clear_market_keys,
    ensure_instruments,
    start_feed,
    start_sim,
    start_web,
    with_logs,
)


@pytest.fixture(scope="module")
def web(test_env, proc_log_dir, sql_engine, redis_client):
    ensure_instruments(sql_engine)
    clear_market_keys(redis_client)
    proc, port = start_web(test_env, proc_log_dir)
    yield proc, port
    proc.stop()
    clear_market_keys(redis_client)


@pytest.fixture(scope="module")
def user(app):
    return make_user(app)


@pytest.fixture(scope="module")
def cookie(app, user) -> str:
    return "; ".join(f"{name}={value}" for name, (value, _path) in session_cookies(app, user).items())


def _connect(web, cookie: str | None = None, query: str = "", **options: Any) -> websocket.WebSocket:
    _, port = web
    options.setdefault("header", [f"Cookie: {cookie}"] if cookie else [])
    return websocket.create_connection(f"ws://127.0.0.1:{port}/api/stream{query}", timeout=10, **options)


def _next(ws: websocket.WebSocket, match: Callable[[dict], bool], limit: int = 500) -> dict:
    """The next frame that matches (others are skipped)."""
    for _ in range(limit):
        frame = json.loads(ws.recv())
        if match(frame):
            return frame
    raise AssertionError("no matching frame")


def _close_code(ws: websocket.WebSocket) -> int:
    for _ in range(50):
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big")
    raise AssertionError("the server did not close")


def _publish_quote(redis_client, symbol: str, bid: str, ask: str, ts: int, **extra: Any) -> dict:
    payload = {"symbol": symbol, "bid": bid, "ask": ask, "ts": ts, **extra}
    redis_client.publish(f"md:quote:{symbol}", json.dumps(payload, separators=(",", ":")))
    return payload


def _subscribed(ws: websocket.WebSocket) -> list[str]:
    return _next(ws, lambda f: f["type"] == "subscribed")["symbols"]


def test_a_connection_without_a_session_gets_an_error_and_close_4401(web):
    ws = _connect(web)
    try:
        assert json.loads(ws.recv()) == {"type": "error", "code": "unauthorized", "message": "Sign in to continue."}
        assert _close_code(ws) == 4401
    finally:
        ws.close()


def test_compression_is_declined(web, cookie):
    ws = _connect(web, cookie, header=[f"Cookie: {cookie}", "Sec-WebSocket-Extensions: permessage-deflate"])
    try:
        assert "sec-websocket-extensions" not in {k.lower() for k in ws.getheaders()}
        assert json.loads(ws.recv())["type"] == "status"
    finally:
        ws.close()


def test_a_revoked_session_ends_the_stream(web, app, redis_client):
    from web.extensions import db
    from web.security import revoke_sessions

    owner = make_user(app)
    jar = session_cookies(app, owner)
    ws = _connect(web, "; ".join(f"{n}={v}" for n, (v, _p) in jar.items()))
    try:
        assert json.loads(ws.recv())["type"] == "status"
        with app.app_context():
            revoke_sessions(owner.id, "test")
            db.commit()
        ws.send(json.dumps({"action": "refresh_accounts"}))  # also re-checks the session (as every 30 s)
        assert _next(ws, lambda f: f["type"] == "error")["code"] == "session_ended"
        assert _close_code(ws) == 4401
    finally:
        ws.close()


def test_a_foreign_origin_is_refused(web, cookie):
    ws = _connect(web, cookie, origin="https://evil.example")
    try:
        assert _close_code(ws) == 1008
    finally:
        ws.close()


def test_a_burst_of_connections_past_the_redis_pool_waits_for_connections_and_all_subscribe(
    test_env, proc_log_dir, web, cookie
):
    """Forty clients connect at once to a worker allowed two Redis connections: every one subscribes.

    redis-py's own pool (capped at 100) raised MaxConnectionsError at once, and a burst of
    WebSocket connects then ended some of them with an HTTP 503 written onto the upgraded socket.
    """
    import threading

    proc, port = start_web(test_env, proc_log_dir, REDIS_MAX_CONNECTIONS="2", REDIS_POOL_TIMEOUT_S="30")
    results: list[Any] = []
    go = threading.Event()

    def client() -> None:
        go.wait()
        try:
            ws = _connect((proc, port), cookie, "?symbols=EURUSD,BTCUSD")
            try:
                results.append(_subscribed(ws))
            finally:
                ws.close()
        except Exception as exc:  # collected and asserted on below
            results.append(exc)

    threads = [threading.Thread(target=client) for _ in range(40)]
    try:
        for thread in threads:
            thread.start()
        go.set()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        proc.stop()
    assert results == [["BTCUSD", "EURUSD"]] * 40


def test_redis_unreachable_on_an_open_socket_closes_it_with_1013_not_an_http_error(test_env, proc_log_dir, cookie):
    """Once the socket is upgraded, an outage closes it with 1013 and a JSON error (the client retries)."""
    with socket.socket() as probe:  # a port nothing listens on: every Redis connect is refused
        probe.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    proc, port = start_web(test_env, proc_log_dir, REDIS_URL=dead)
    try:
        ws = _connect((proc, port), cookie)
        try:
            error = _next(ws, lambda f: f["type"] == "error")
            assert error["code"] == "service_unavailable"
            assert _close_code(ws) == 1013
        finally:
            ws.close()
    finally:
        proc.stop()


def test_subscribers_get_a_snapshot_then_every_quote_in_the_frame_shape(web, cookie, redis_client):
    snapshot = {"symbol": "EURUSD", "bid": "1.08000", "ask": "1.08008", "ts": int(time.time() * 1000)}
    redis_client.hset("md:last", "EURUSD", json.dumps(snapshot))
    ws = _connect(web, cookie, "?symbols=EURUSD,nope")
    try:
        assert json.loads(ws.recv())["type"] == "status"
        assert _next(ws, lambda f: f["type"] == "accounts")["account_ids"] == []
        error = _next(ws, lambda f: f["type"] == "error")
        assert (error["code"], error["symbols"]) == ("unknown_symbol", ["NOPE"])
        assert _subscribed(ws) == ["EURUSD"]
        assert _next(ws, lambda f: f["type"] == "quote") == {"type": "quote", **snapshot}
        sent = _publish_quote(redis_client, "EURUSD", "1.08101", "1.08109", snapshot["ts"] + 1)
        assert _next(ws, lambda f: f["type"] == "quote") == {"type": "quote", **sent}
    finally:
        ws.close()


def test_client_actions_subscribe_unsubscribe_ping_and_refuse_bad_frames(web, cookie, redis_client):
    ws = _connect(web, cookie)
    try:
        ws.send(json.dumps({"action": "subscribe", "symbols": ["eurusd", "XAUUSD"]}))
        assert _subscribed(ws) == ["EURUSD", "XAUUSD"]
        for bad in ("not json", "[1,2]", '{"action":"dance"}', '{"action":"subscribe","symbols":"EURUSD"}'):
            ws.send(bad)
            assert _next(ws, lambda f: f["type"] == "error")["code"] == "bad_request"
        ws.send_binary(b"\x00\x01")
        assert _next(ws, lambda f: f["type"] == "error")["code"] == "bad_request"
        ws.send(json.dumps({"action": "subscribe", "symbols": [f"S{i}" for i in range(51)]}))
        assert _next(ws, lambda f: f["type"] == "error")["code"] == "too_many_symbols"
        ws.send(json.dumps({"action": "ping"}))
        assert isinstance(_next(ws, lambda f: f["type"] == "pong")["ts"], int)

        ws.send(json.dumps({"action": "unsubscribe", "symbols": ["EURUSD"]}))
        assert _subscribed(ws) == ["XAUUSD"]
        _publish_quote(redis_client, "EURUSD", "1.1", "1.2", 1)
        _publish_quote(redis_client, "XAUUSD", "2600.00", "2600.30", 2)
        assert _next(ws, lambda f: f["type"] == "quote")["symbol"] == "XAUUSD"  # nothing for EURUSD came first
    finally:
        ws.close()


def test_an_oversized_frame_closes_the_socket_with_1009(web, cookie):
    ws = _connect(web, cookie)
    try:
        ws.send(json.dumps({"action": "subscribe", "symbols": ["X" * 5000]}))
        assert _close_code(ws) == 1009
    finally:
        ws.close()


def test_feed_status_changes_are_pushed(web, cookie, redis_client):
    now = int(time.time() * 1000)
    redis_client.hset("md:status", mapping={"mode": "ws", "updated_at": now})
    ws = _connect(web, cookie)
    try:
        with_logs(lambda: json.loads(ws.recv()) == {"type": "status", "feed": "ws"}, 10, "status ws", web[0])
        redis_client.hset("md:status", mapping={"mode": "rest-fallback", "updated_at": int(time.time() * 1000)})
        assert _next(ws, lambda f: f["type"] == "status") == {"type": "status", "feed": "rest-fallback"}
        redis_client.hset("md:status", "updated_at", now - 60_000)  # the feed went quiet
        assert _next(ws, lambda f: f["type"] == "status") == {"type": "status", "feed": "down"}
    finally:
        ws.close()
        redis_client.delete("md:status")


def _account(db_session, user_id: int) -> int:
    account = Account(user_id=user_id, number=f"T{uuid.uuid4().hex[:12]}", type="demo")
    db_session.add(account)
    db_session.commit()
    return account.id


def test_account_events_reach_only_their_owner_and_new_accounts_are_picked_up(
    web, app, cookie, user, db_session, redis_client
):
    other = make_user(app)
    mine, theirs = _account(db_session, user.id), _account(db_session, other.id)
    ws = _connect(web, cookie)
    try:
        assert _next(ws, lambda f: f["type"] == "accounts")["account_ids"] == [mine]
        foreign = {"type": "order", "account_id": theirs, "order": {"id": 1}}
        event = {"type": "position", "account_id": mine, "position": {"id": 7, "open_price": "1.08000"}}
        redis_client.publish(f"account:{theirs}", json.dumps(foreign))
        redis_client.publish(f"account:{mine}", json.dumps(event))
        assert _next(ws, lambda f: f["type"] in ("order", "position")) == event  # verbatim, and only ours

        opened = _account(db_session, user.id)  # a demo account opened while connected
        ws.send(json.dumps({"action": "refresh_accounts"}))
        assert _next(ws, lambda f: f["type"] == "accounts")["account_ids"] == sorted([mine, opened])
        balance = {"type": "balance", "account_id": opened, "balance": "10000.00"}
        redis_client.publish(f"account:{opened}", json.dumps(balance))
        assert _next(ws, lambda f: f["type"] == "balance") == balance
    finally:
        ws.close()
        db_session.execute(delete(Account).where(Account.user_id.in_([user.id, other.id])))
        db_session.commit()


# Timing-sensitive (the "fast" client must keep up with bursts of 2 KB frames): it runs in the
# sequential `slow` phase, not beside another xdist worker on a two-core CI machine.
@pytest.mark.slow
def test_a_slow_client_loses_old_quotes_and_never_delays_the_others(web, cookie, redis_client):
    slow = _connect(web, cookie, "?symbols=BTCUSD", sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    fast = _connect(web, cookie, "?symbols=BTCUSD")
    try:
        for ws in (slow, fast):
            assert _subscribed(ws) == ["BTCUSD"]
        redis_client.hdel("md:last", "BTCUSD")
        pad = "x" * 2000  # big frames fill the slow client's socket quickly
        batches, size = 40, 100  # each batch well under the per-connection queue (256)
        fast_seen: list[int] = []
        for batch in range(batches):  # paced by the fast client's reading, not by a clock
            pipe = redis_client.pipeline(transaction=False)
            for n in range(batch * size, (batch + 1) * size):
                quote = {"symbol": "BTCUSD", "bid": "1", "ask": "2", "ts": n, "pad": pad}
                pipe.publish("md:quote:BTCUSD", json.dumps(quote))
            pipe.execute()
            while len(fast_seen) < (batch + 1) * size:
                fast_seen.append(_next(fast, lambda f: f["type"] == "quote")["ts"])
        total = batches * size
        _publish_quote(redis_client, "BTCUSD", "3", "4", total)
        fast_seen.append(_next(fast, lambda f: f["type"] == "quote")["ts"])
        assert fast_seen == list(range(total + 1))  # everything, while the slow client read nothing

        slow_seen = []
        while not slow_seen or slow_seen[-1] != total:
            slow_seen.append(_next(slow, lambda f: f["type"] == "quote")["ts"])
        assert len(slow_seen) < total  # old quotes were dropped for the slow client only
        assert slow_seen == sorted(slow_seen) and slow_seen[-1] == total  # in order, the newest kept
    finally:
        slow.close()
        fast.close()


def test_end_to_end_simulator_feed_web(web, cookie, test_env, proc_log_dir, redis_client):
    sim = start_sim(test_env, proc_log_dir)
    feed = start_feed(test_env, proc_log_dir, sim)
    try:
        ws = _connect(web, cookie, "?symbols=BTCUSD,XAUUSD")
        try:
            with_logs(
                lambda: _next(ws, lambda f: f["type"] == "status")["feed"] == "ws", 20, "feed status ws", feed, web[0]
            )
            seen: dict[str, dict] = {}
            while len(seen) < 2:
                frame = _next(ws, lambda f: f["type"] == "quote")
                seen[frame["symbol"]] = frame
            for frame in seen.values():
                assert set(frame) == {"type", "symbol", "bid", "ask", "ts"}
                assert Decimal(frame["bid"]) < Decimal(frame["ask"]) and abs(time.time() * 1000 - frame["ts"]) < 30_000
        finally:
            ws.close()
    finally:
        feed.stop()
        sim.stop()
