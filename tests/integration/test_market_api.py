"""GET /api/market/symbols, /status and /candles against PostgreSQL, Redis and the simulator's REST."""

from __future__ import annotations

import itertools
import json
import math
import time
from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select

from models import Candle, Instrument
from tests.integration.test_market_support import ensure_instruments, start_sim
from tests.support import free_port
from web.services import market


@pytest.fixture(scope="module")
def sim(test_env, proc_log_dir):
    simulator = start_sim(test_env, proc_log_dir)
    yield simulator
    simulator.stop()


@pytest.fixture(autouse=True)
def market_app(app, sim, sql_engine, redis_client, db_session):
    """The app's provider is the simulator; every test starts without cached, noted or stored candles."""
    ensure_instruments(sql_engine)
    original = app.config["SETTINGS"]
    app.config["SETTINGS"] = replace(original, marketsim_port=sim.port, twelvedata_api_key="")
    sim.reset()
    market.reset_candles()
    market.forget_instruments()
    for key in redis_client.scan_iter("md:candles:sync:*"):
        redis_client.delete(key)
    db_session.execute(delete(Candle))
    db_session.commit()
    yield app
    app.config["SETTINGS"] = original
    market.reset_candles()
    market.forget_instruments()


def _quote(redis_client, symbol: str, bid: str, ask: str, age_s: float) -> None:
    ts = int((time.time() - age_s) * 1000)
    redis_client.hset("md:last", symbol, json.dumps({"symbol": symbol, "bid": bid, "ask": ask, "ts": ts}))


# --- symbols and status ---------------------------------------------------------------------------


def test_symbols_show_contract_specs_last_quotes_and_tradability(client, redis_client, db_session):
    _quote(redis_client, "BTCUSD", "95000.10", "95020.10", age_s=1)
    _quote(redis_client, "ETHUSD", "3400.10", "3401.60", age_s=600)  # older than max_quote_age_s (30)
    redis_client.hdel("md:last", "XAUUSD")
    db_session.add(
        Instrument(
            **{
                "symbol": "OFFLINE",
                "provider_symbol": "OFF/USD",
                "kind": "forex",
                "base_currency": "OFF",
                "quote_currency": "USD",
                "digits": 5,
                "contract_size": Decimal("100000"),
                "volume_min": Decimal("0.01"),
                "volume_max": Decimal("1"),
                "volume_step": Decimal("0.01"),
                "max_leverage": 100,
                "default_spread": Decimal("0.0001"),
                "enabled": False,
            }
        )
    )
    db_session.commit()
    try:
        response = client.get("/api/market/symbols")
        assert response.status_code == 200
        rows = {row["symbol"]: row for row in response.json}
        assert "OFFLINE" not in rows and {"EURUSD", "BTCUSD", "XAUUSD", "WTI"} <= set(rows)
        btc = rows["BTCUSD"]
        assert btc["tradable"] is True
        assert btc["quote"]["bid"] == "95000.10" and btc["quote"]["ask"] == "95020.10"
        assert (btc["digits"], btc["contract_size"], btc["volume_min"], btc["max_leverage"]) == (2, "1", "0.01", 10)
        assert btc["spread_markup"] == "2" and btc["kind"] == "crypto"
        assert rows["ETHUSD"]["tradable"] is False and rows["ETHUSD"]["quote"] is not None
        assert rows["XAUUSD"]["quote"] is None and rows["XAUUSD"]["tradable"] is False
        eur = rows["EURUSD"]
        assert eur["description"] == "Euro vs US Dollar" and eur["sessions"]["sat"] == []
        assert "provider_symbol" not in eur
    finally:
        db_session.execute(delete(Instrument).where(Instrument.symbol == "OFFLINE"))
        db_session.commit()


def test_status_reports_the_feed_mode_and_a_silent_feed_as_down(client, redis_client):
    now = int(time.time() * 1000)
    redis_client.hset(
        "md:status",
        mapping={"mode": "rest-fallback", "updated_at": now, "since": now - 5, "failed_symbols": '["WTI"]'},
    )
    body = client.get("/api/market/status").json
    assert body["feed"] == "rest-fallback" and body["failed_symbols"] == ["WTI"] and body["since"] == now - 5
    redis_client.hset("md:status", "updated_at", now - 60_000)  # the feed stopped refreshing it
    assert client.get("/api/market/status").json["feed"] == "down"
    redis_client.delete("md:status")


# --- candles: validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("symbol=EURUSD&interval=2m", "interval"),
        ("symbol=EURUSD&interval=1m&limit=0", "limit"),
        ("symbol=EURUSD&interval=1m&limit=5001", "limit"),
        ("symbol=EURUSD&interval=1m&limit=many", "limit"),
        ("interval=1m", "symbol"),
        ("symbol=EURUSD", "interval"),
    ],
)
def test_bad_candle_queries_are_400_with_the_field(client, sim, query, field):
    response = client.get(f"/api/market/candles?{query}")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "validation_error"
    assert field in response.json["error"]["fields"]
    assert sim.stat("rest/time_series") == 0


def test_an_unknown_symbol_is_404(client):
    response = client.get("/api/market/candles?symbol=NOPE&interval=1m")
    assert response.status_code == 404 and response.json["error"]["code"] == "unknown_symbol"


# --- candles: the three sources -------------------------------------------------------------------


def _bars(client, query: str) -> list[dict]:
    response = client.get(f"/api/market/candles?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def test_first_request_fetches_stores_complete_bars_and_returns_the_forming_one(client, sim, db_session):
    minute_before = math.floor(time.time() / 60) * 60
    bars = _bars(client, "symbol=EURUSD&interval=1m&limit=50")
    minute_after = math.floor(time.time() / 60) * 60
    assert sim.stat("rest/time_series") == 1
    assert len(bars) == 50
    assert all(b2["t"] - b1["t"] == 60 for b1, b2 in itertools.pairwise(bars))  # oldest first
    assert bars[-1]["t"] in (minute_before, minute_after)  # the still-forming bar
    for bar in bars:
        assert set(bar) == {"t", "o", "h", "l", "c", "v"}
        o, h, low, c = (Decimal(bar[k]) for k in "ohlc")
        assert all(len(bar[k].split(".")[1]) == 5 for k in "ohlc")
        assert low <= min(o, c) <= max(o, c) <= h
        assert bar["v"] == "0"
    stored = db_session.execute(
        select(func.count(), func.max(Candle.ts)).where(Candle.symbol == "EURUSD", Candle.interval == "1m")
    ).one()
    assert stored[0] >= 900  # the fetch took ~1000 bars for later requests (one credit either way)
    assert stored[1].timestamp() < bars[-1]["t"]  # the forming bar was not stored


def test_the_sync_note_ends_when_the_forming_bar_completes(client, sim, redis_client):
    bars = _bars(client, "symbol=BTCUSD&interval=1h&limit=24")
    ttl = redis_client.ttl("md:candles:sync:BTCUSD:1h")
    assert 0 < ttl <= bars[-1]["t"] + 3600 - time.time() + 2  # then PostgreSQL would lack that bar
    note = json.loads(redis_client.get("md:candles:sync:BTCUSD:1h"))
    note["forming"] = note["forming"].replace(f'"t":{bars[-1]["t"]}', f'"t":{bars[-1]["t"] - 7200}')
    redis_client.set("md:candles:sync:BTCUSD:1h", json.dumps(note))  # as if that bar had completed
    market.reset_candles()
    assert _bars(client, "symbol=BTCUSD&interval=1h&limit=24")[-1]["t"] == bars[-1]["t"]
    assert sim.stat("rest/time_series") == 2  # synced again instead of serving an incomplete tail


def test_repeated_requests_come_from_the_cache_then_from_postgresql(client, sim):
    first = _bars(client, "symbol=XAUUSD&interval=4h&limit=300")
    assert sim.stat("rest/time_series") == 1
    assert _bars(client, "symbol=XAUUSD&interval=4h&limit=300") == first  # LRU cache
    assert _bars(client, "symbol=XAUUSD&interval=4h&limit=10") == first[-10:]
    market.reset_candles()  # as in another web process
    assert _bars(client, "symbol=XAUUSD&interval=4h&limit=300") == first  # PostgreSQL + the sync note
    assert sim.stat("rest/time_series") == 1
    more = _bars(client, "symbol=XAUUSD&interval=4h&limit=1500")  # more than was fetched: the provider again
    assert sim.stat("rest/time_series") == 2 and len(more) == 1500
    by_time = {bar["t"]: bar for bar in more}
    assert all(by_time[bar["t"]] == bar for bar in first[:-1])  # the same history from both sources


def test_stored_bars_are_served_when_the_provider_fails_later(client, sim, redis_client):
    first = _bars(client, "symbol=ETHUSD&interval=1d&limit=20")
    market.reset_candles()
    redis_client.delete("md:candles:sync:ETHUSD:1d")
    sim.faults(rest_error=500)
    stale = _bars(client, "symbol=ETHUSD&interval=1d&limit=20")
    assert len(stale) == 20 and stale[-19:] == first[:-1]  # the complete bars, from PostgreSQL
    calls = sim.stat("rest/time_series")
    assert _bars(client, "symbol=ETHUSD&interval=1d&limit=20") == stale
    assert sim.stat("rest/time_series") == calls  # an outage does not cost a provider call per request


@pytest.mark.parametrize(
    ("switches", "code"),
    [
        ({"rest_error": 500}, "provider_unavailable"),
        ({"rest_error": 429}, "provider_rate_limited"),
        ({"rest_error": 429, "error_http_mode": "200"}, "provider_rate_limited"),
        ({"rest_error": 403}, "provider_no_symbol"),
    ],
)
def test_provider_trouble_without_stored_bars_is_503_with_a_clear_code(client, sim, switches, code):
    sim.faults(**switches)
    response = client.get("/api/market/candles?symbol=GBPUSD&interval=4h&limit=100")
    assert response.status_code == 503
    assert response.json["error"]["code"] == code
    again = client.get("/api/market/candles?symbol=GBPUSD&interval=4h&limit=100")
    assert again.json["error"]["code"] == code and sim.stat("rest/time_series") == 1  # not asked again at once
    if code == "provider_rate_limited":
        assert int(response.headers["Retry-After"]) > 0


def test_a_refused_key_and_an_unreachable_provider_are_503(client, app, sim):
    settings = app.config["SETTINGS"]
    app.config["SETTINGS"] = replace(settings, twelvedata_api_key="wrong-key", twelvedata_rest_url=sim.base)
    response = client.get("/api/market/candles?symbol=USDJPY&interval=15m&limit=10")
    assert (response.status_code, response.json["error"]["code"]) == (503, "provider_auth_failed")
    market.reset_candles()
    app.config["SETTINGS"] = replace(settings, marketsim_port=free_port())
    response = client.get("/api/market/candles?symbol=USDJPY&interval=15m&limit=10")
    assert (response.status_code, response.json["error"]["code"]) == (503, "provider_unavailable")


def test_simultaneous_first_requests_cost_one_provider_call(app, sim):
    from concurrent.futures import ThreadPoolExecutor

    def fetch(_: int) -> list[dict]:
        with app.test_client() as own:
            return _bars(own, "symbol=WTI&interval=1h&limit=100")

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(fetch, range(8)))
    assert all(answer == answers[0] for answer in answers) and len(answers[0]) == 100
    assert sim.stat("rest/time_series") == 1
