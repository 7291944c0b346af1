"""The real feed against the simulator: quotes in md:*, and upstream faults survived.

One simulator and one feed process serve the whole module; every test starts from a healthy
WebSocket and leaves the switches reset.
"""

from __future__ import annotations

import json
import re
import time
from decimal import Decimal

import pytest

from tests.integration.test_market_support import (
    Sim,
    clear_market_keys,
    ensure_instruments,
    last_quote,
    md_status,
    start_feed,
    start_sim,
    with_logs,
)
from tests.support import Proc
from web.seed_data import INSTRUMENTS

SYMBOLS = {spec["symbol"]: spec for spec in INSTRUMENTS}
PROVIDER = {spec["provider_symbol"] for spec in INSTRUMENTS}


@pytest.fixture(scope="module")
def sim(test_env, proc_log_dir):
    simulator = start_sim(test_env, proc_log_dir, "--fault", "tick_rate=8")
    yield simulator
    simulator.stop()


@pytest.fixture(scope="module")
def feed(test_env, proc_log_dir, sim, sql_engine, redis_client):
    ensure_instruments(sql_engine)
    clear_market_keys(redis_client)
    proc = start_feed(test_env, proc_log_dir, sim)
    yield proc
    proc.stop()
    assert md_status(redis_client)["mode"] == "down"  # a stopped feed says so
    clear_market_keys(redis_client)


def _healthy(redis_client, feed: Proc, sim: Sim) -> None:
    with_logs(lambda: md_status(redis_client).get("mode") == "ws", 20, "feed on the WebSocket", feed, sim.proc)


def _latest_id(redis_client) -> str:
    entries = redis_client.xrevrange("md:ticks", count=1)
    return entries[0][0] if entries else "0-0"


def _ticks_after(redis_client, since: str, n: int = 5) -> bool:
    return len(redis_client.xrange("md:ticks", min=f"({since}", count=n)) >= n


@pytest.fixture(autouse=True)
def _healthy_start(sim, feed, redis_client):
    sim.reset()
    _healthy(redis_client, feed, sim)
    yield
    sim.reset()


def test_quotes_arrive_in_every_md_key_with_the_contract_shapes(sim, feed, redis_client):
    pubsub = redis_client.pubsub()
    pubsub.subscribe("md:quote:BTCUSD")
    try:
        with_logs(
            lambda: set(SYMBOLS) <= set(redis_client.hkeys("md:last")), 15, "a quote for every symbol", feed, sim.proc
        )
        now_ms = time.time() * 1000
        for symbol, spec in SYMBOLS.items():
            quote = last_quote(redis_client, symbol)
            assert set(quote) == {"symbol", "bid", "ask", "ts"} and quote["symbol"] == symbol
            assert isinstance(quote["ts"], int) and abs(now_ms - quote["ts"]) < 60_000
            for side in ("bid", "ask"):
                assert isinstance(quote[side], str)
                assert re.fullmatch(rf"\d+\.\d{{{spec['digits']}}}", quote[side]), quote
            assert Decimal(quote["bid"]) < Decimal(quote["ask"])
            assert Decimal(quote["ask"]) - Decimal(quote["bid"]) >= spec["spread_markup"]
        btc = last_quote(redis_client, "BTCUSD")
        # the simulator's crypto bid = ask = price: synthesised 18.00 spread + 2.00 markup
        assert Decimal(btc["ask"]) - Decimal(btc["bid"]) == Decimal("20.00")

        _entry_id, fields = redis_client.xrevrange("md:ticks", count=1)[0]
        assert set(fields) == {"symbol", "bid", "ask", "ts"} and fields["ts"].isdigit()

        message = None
        deadline = time.monotonic() + 10
        while message is None and time.monotonic() < deadline:
            message = pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
        assert message is not None, "no md:quote:BTCUSD message"
        payload = json.loads(message["data"])
        assert set(payload) == {"symbol", "bid", "ask", "ts"} and payload["symbol"] == "BTCUSD"
    finally:
        pubsub.close()


def test_one_connection_one_batched_subscription_and_heartbeats(sim, feed, redis_client):
    state = sim.state()
    assert len(state["connections"]) == 1
    assert PROVIDER <= set(state["connections"][0]["symbols"])
    status = md_status(redis_client)
    assert status["source"] == "marketsim" and set(SYMBOLS) <= set(status["live_symbols"])
    assert not set(SYMBOLS) & set(status["failed_symbols"])
    with_logs(lambda: sim.stat("heartbeats") >= 2, 10, "heartbeats every second", feed)
    assert sim.stat("subscribe_messages") == 0  # nothing re-sent while the connection lives


@pytest.mark.parametrize("action", ["drop", "close"])
def test_a_dropped_or_cleanly_closed_upstream_is_reconnected(sim, feed, redis_client, action):
    before = md_status(redis_client)["reconnects"]
    assert sim.action(action) == 1
    marker = _latest_id(redis_client)
    with_logs(lambda: md_status(redis_client)["reconnects"] > before, 15, f"a reconnect after {action}", feed)
    with_logs(lambda: sim.stat("ws_connections") >= 1, 15, "a new upstream connection", feed)
    _healthy(redis_client, feed, sim)
    with_logs(lambda: _ticks_after(redis_client, marker, 20), 15, "ticks after the reconnect", feed)
    assert sim.stat("subscribe_messages") == 1  # the whole set again, in one message


def test_malformed_frames_and_unknown_events_are_skipped_without_reconnecting(sim, feed, redis_client):
    before = md_status(redis_client)
    sim.action("malformed", count=7)
    sim.action("unknown_event")
    with_logs(lambda: md_status(redis_client)["bad_frames"] >= before["bad_frames"] + 7, 10, "bad frames counted", feed)
    marker = _latest_id(redis_client)
    with_logs(lambda: _ticks_after(redis_client, marker, 10), 10, "ticks after malformed frames", feed)
    assert md_status(redis_client)["reconnects"] == before["reconnects"]
    assert feed.alive()


def test_silence_trips_the_read_idle_deadline_and_rest_carries_the_quotes(sim, feed, redis_client):
    before = md_status(redis_client)["reconnects"]
    sim.faults(silence=True)
    with_logs(lambda: md_status(redis_client)["reconnects"] > before, 15, "reconnect after silence", feed)
    with_logs(lambda: md_status(redis_client)["mode"] == "rest-fallback", 15, "REST fallback while silent", feed)
    marker = _latest_id(redis_client)
    with_logs(lambda: _ticks_after(redis_client, marker, 7), 10, "REST quotes while silent", feed)
    sim.faults(silence=False)
    _healthy(redis_client, feed, sim)


def test_rest_fallback_starts_within_5s_of_losing_the_websocket_and_stops_when_it_returns(sim, feed, redis_client):
    sim.faults(ws_refuse=True)
    sim.action("drop")
    # DESIGN/issue: the fallback starts within 5 s of losing the WebSocket
    with_logs(lambda: md_status(redis_client)["mode"] == "rest-fallback", 5, "REST fallback within 5 s", feed)
    polls = sim.stat("rest/quote")
    assert polls >= 1
    before = last_quote(redis_client, "BTCUSD")["ts"]
    with_logs(lambda: last_quote(redis_client, "BTCUSD")["ts"] > before, 10, "quotes from REST", feed)
    assert set(md_status(redis_client)["rest_symbols"]) >= set(SYMBOLS)

    sim.faults(ws_refuse=False)
    _healthy(redis_client, feed, sim)
    with_logs(lambda: md_status(redis_client)["rest_symbols"] == [], 5, "REST targets cleared", feed)
    marker = _latest_id(redis_client)
    with_logs(lambda: _ticks_after(redis_client, marker, 10), 10, "WebSocket ticks", feed)
    settled = sim.stat("rest/quote")
    marker = _latest_id(redis_client)
    with_logs(lambda: _ticks_after(redis_client, marker, 40), 20, "more WebSocket ticks", feed)
    assert sim.stat("rest/quote") == settled  # polling stopped once the WebSocket was back


def test_instruments_enabled_or_disabled_meanwhile_are_subscribed_in_one_message(sim, feed, redis_client, db_session):
    from sqlalchemy import delete, update

    from models import Instrument

    spec = {**SYMBOLS["XAUUSD"], "symbol": "XAGUSD", "provider_symbol": "XAG/USD", "description": "Silver"}
    db_session.add(Instrument(**spec))
    db_session.commit()
    try:
        with_logs(lambda: last_quote(redis_client, "XAGUSD") is not None, 15, "the new symbol quoted", feed)
        assert sim.stat("subscribe_messages") == 1
        assert "XAG/USD" in sim.state()["connections"][0]["symbols"]
        db_session.execute(update(Instrument).where(Instrument.symbol == "XAGUSD").values(enabled=False))
        db_session.commit()
        with_logs(
            lambda: "XAG/USD" not in sim.state()["connections"][0]["symbols"], 15, "the symbol unsubscribed", feed
        )
        assert sim.stat("unsubscribe_messages") == 1
        assert PROVIDER <= set(sim.state()["connections"][0]["symbols"])
    finally:
        db_session.execute(delete(Instrument).where(Instrument.symbol == "XAGUSD"))
        db_session.commit()
        redis_client.hdel("md:last", "XAGUSD")


# Last in the module: the feed then holds its subscription changes until the next minute.
def test_a_rate_limit_message_pauses_sending_but_keeps_the_connection(sim, feed, redis_client):
    before = md_status(redis_client)["reconnects"]
    sim.action("rate_limit")
    marker = _latest_id(redis_client)
    with_logs(lambda: _ticks_after(redis_client, marker, 10), 10, "ticks after the rate-limit message", feed)
    with_logs(lambda: "message-processing" in feed.log_path.read_text(), 10, "the message logged", feed)
    assert md_status(redis_client)["reconnects"] == before
    assert sim.state()["stats"].get("ws_connections", 0) == 0  # no new connection was opened
