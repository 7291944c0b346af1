"""feed.marketsim speaks Twelve Data: REST shapes and errors, credits, the WebSocket and its faults."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import websocket

from tests.integration.test_market_support import Sim, start_sim

pytestmark = pytest.mark.usefixtures("sim")


@pytest.fixture(scope="module")
def sim(test_env, proc_log_dir):
    simulator = start_sim(test_env, proc_log_dir, "--seed", "11")
    yield simulator
    simulator.stop()


@pytest.fixture(autouse=True)
def _reset(sim: Sim):
    sim.reset()
    yield


def _ws(sim: Sim, key: str = "marketsim") -> websocket.WebSocket:
    return websocket.create_connection(f"{sim.ws_url}?apikey={key}", timeout=10)


def _recv_event(ws: websocket.WebSocket, event: str, limit: int = 200) -> dict:
    for _ in range(limit):
        message = json.loads(ws.recv())
        if message.get("event") == event:
            return message
    raise AssertionError(f"no {event} event")


def test_time_series_has_the_provider_shape_newest_first_with_string_prices(sim: Sim):
    body = sim.get("/time_series", symbol="EUR/USD", interval="1min", outputsize=5, apikey="marketsim").json()
    assert body["status"] == "ok"
    assert body["meta"] == {
        "symbol": "EUR/USD",
        "interval": "1min",
        "currency_base": "Euro",
        "currency_quote": "US Dollar",
        "type": "Physical Currency",
    }
    values = body["values"]
    assert len(values) == 5
    assert values[0]["datetime"] > values[-1]["datetime"]
    assert set(values[0]) == {"datetime", "open", "high", "low", "close"}  # forex has no volume
    assert all(isinstance(v["close"], str) and len(v["close"].split(".")[1]) == 5 for v in values)
    crypto = sim.get("/time_series", symbol="BTC/USD", interval="1day", outputsize=2, order="asc", apikey="marketsim")
    rows = crypto.json()["values"]
    assert rows[0]["datetime"] < rows[1]["datetime"] and len(rows[0]["datetime"]) == 10 and "volume" in rows[0]


def test_history_and_live_prices_agree(sim: Sim):
    price = Decimal(str(sim.get("/price", symbol="XAU/USD", apikey="marketsim").json()["price"]))
    bar = sim.get("/time_series", symbol="XAU/USD", interval="1min", outputsize=1, apikey="marketsim").json()
    close = Decimal(bar["values"][0]["close"])
    assert abs(close - price) / price < Decimal("0.001")
    assert 2000 < price < 3300


def test_batches_are_keyed_by_symbol_with_per_symbol_errors(sim: Sim):
    response = sim.get("/price", symbol="EUR/USD,XCU/USD,WTI/USD", apikey="demo")
    assert response.headers["Is_batch"] == "true"
    body = response.json()
    assert set(body["EUR/USD"]) == {"price"}
    assert body["XCU/USD"]["code"] == 404 and body["XCU/USD"]["status"] == "error"
    assert body["WTI/USD"]["code"] == 403 and "not available with your plan" in body["WTI/USD"]["message"]


@pytest.mark.parametrize("mode", ["status", "200"])
def test_errors_come_as_http_status_or_as_http_200_with_the_envelope(sim: Sim, mode: str):
    sim.faults(error_http_mode=mode)
    bad_key = sim.get("/quote", symbol="EUR/USD", apikey="nope")
    assert bad_key.status_code == (401 if mode == "status" else 200)
    assert bad_key.json()["code"] == 401 and bad_key.json()["status"] == "error"
    assert "**apikey**" in bad_key.json()["message"]
    unknown = sim.get("/time_series", symbol="XCU/USD", interval="1min", apikey="marketsim")
    assert unknown.json()["code"] == 404
    bad_interval = sim.get("/time_series", symbol="EUR/USD", interval="2min", apikey="marketsim")
    assert bad_interval.json()["code"] == 400 and "Supported intervals" in bad_interval.json()["message"]
    empty = sim.get("/time_series", symbol="EUR/USD", interval="1day", end_date="2001-01-01", apikey="marketsim")
    assert empty.json()["message"].startswith("No data is available")


def test_the_key_also_works_in_the_authorization_header(sim: Sim):
    import requests

    ok = requests.get(f"{sim.base}/price", params={"symbol": "EUR/USD"}, headers={"Authorization": "apikey demo"})
    assert ok.status_code == 200 and "price" in ok.json()


def test_minute_credits_run_out_with_the_provider_message(sim: Sim):
    sim.add_keys(tiny="basic")
    statuses = [sim.get("/price", symbol="EUR/USD", apikey="tiny") for _ in range(9)]
    assert all(r.status_code == 200 for r in statuses[:8]), [r.text for r in statuses]
    refused = statuses[8]
    assert refused.status_code == 429
    assert refused.json()["message"].startswith("You have run out of API credits for the current minute. 9 API")
    usage = sim.get("/api_usage", apikey="marketsim").json()
    assert usage["plan_category"] == "pro" and usage["plan_limit"] == 1597


def test_catalogue_endpoints(sim: Sim):
    pairs = sim.get("/forex_pairs", currency_base="EUR", apikey="marketsim").json()
    assert {"symbol": "EUR/USD", "currency_group": "Major", "currency_base": "EUR", "currency_quote": "USD"} in pairs[
        "data"
    ]
    commodities = sim.get("/commodities", apikey="marketsim").json()["data"]
    assert {"symbol": "WTI/USD", "name": "Crude Oil WTI Spot"}.items() <= next(
        c for c in commodities if c["symbol"] == "WTI/USD"
    ).items()
    crypto = sim.get("/cryptocurrencies", symbol="BTC/USD", apikey="marketsim").json()["data"]
    assert crypto[0]["currency_base"] == "Bitcoin"
    found = sim.get("/symbol_search", symbol="XAU", apikey="marketsim").json()["data"]
    assert [f["symbol"] for f in found] == ["XAU/USD"]


def test_websocket_refuses_a_bad_key_without_upgrading(sim: Sim):
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        _ws(sim, key="wrong")
    assert refused.value.status_code == 200
    assert json.loads(refused.value.resp_body or b"{}")["code"] == 401


def test_websocket_subscribe_status_heartbeat_and_price_events(sim: Sim):
    ws = _ws(sim)
    try:
        ws.send(json.dumps({"action": "subscribe", "params": {"symbols": "EUR/USD,BTC/USD:Coinbase Pro,NOPE/X"}}))
        status = _recv_event(ws, "subscribe-status")
        assert status["status"] == "ok"
        assert [s["symbol"] for s in status["success"]] == ["EUR/USD", "BTC/USD"]
        assert status["fails"] == [{"symbol": "NOPE/X"}]
        ws.send('{"action":"heartbeat"}')
        assert _recv_event(ws, "heartbeat") == {"event": "heartbeat", "status": "ok"}
        seen: dict[str, dict] = {}
        while len(seen) < 2:
            event = _recv_event(ws, "price")
            seen[event["symbol"]] = event
        assert {"currency_base", "currency_quote", "type", "timestamp", "price", "bid", "ask"} <= set(seen["EUR/USD"])
        btc = seen["BTC/USD"]
        assert btc["bid"] == btc["ask"] == btc["price"] and btc["exchange"] == "Coinbase Pro"
        assert isinstance(btc["timestamp"], int)
    finally:
        ws.close()


def test_subscribe_status_variants_seen_in_the_wild(sim: Sim):
    sim.faults(status_style="fails_null")
    ws = _ws(sim)
    try:
        ws.send(json.dumps({"action": "subscribe", "params": {"symbols": [{"symbol": "EUR/USD", "type": "Forex"}]}}))
        status = _recv_event(ws, "subscribe-status")
        assert status["fails"] is None and status["success"][0]["symbol"] == "EUR/USD"
        sim.faults(status_style="physical_currency")
        ws.send(json.dumps({"action": "subscribe", "params": {"symbols": "GBP/USD"}}))
        assert _recv_event(ws, "subscribe-status")["success"][0]["type"] == "PHYSICAL_CURRENCY"
    finally:
        ws.close()


def test_too_many_client_events_get_a_message_processing_error(sim: Sim):
    sim.faults(events_per_minute=3)
    ws = _ws(sim)
    try:
        for _ in range(4):
            ws.send('{"action":"reset"}')
        message = _recv_event(ws, "message-processing")
        assert message["status"] == "error"
        assert "exceeds the limit of 100 events per minute" in message["messages"][0]
    finally:
        ws.close()


def test_a_connection_beyond_the_plan_limit_closes_the_oldest(sim: Sim):
    first = _ws(sim, key="demo")  # basic plan: one connection
    try:
        second = _ws(sim, key="demo")
        try:
            opcode, data = first.recv_data(control_frame=True)
            assert opcode == websocket.ABNF.OPCODE_CLOSE
            assert int.from_bytes(data[:2], "big") == 1000
            assert sim.stat("ws_evicted") == 1
        finally:
            second.close()
    finally:
        first.close()


def test_fault_actions_reach_open_connections(sim: Sim):
    ws = _ws(sim)
    try:
        assert sim.action("malformed", count=2) == 1
        assert ws.recv() == '{"event":"price","symbol":"EUR/USD","price":1.0'
        assert ws.recv() == "not json at all"
        sim.action("unknown_event")
        assert json.loads(ws.recv())["event"] == "maintenance-notice"
        sim.action("close", code=1001)
        opcode, data = ws.recv_data(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE and int.from_bytes(data[:2], "big") == 1001
    finally:
        ws.close()
