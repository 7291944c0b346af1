"""The trading API end to end: HTTP → command stream → engine process → PostgreSQL → reply.

One real engine for the module; quotes are published as the feed does. BTCUSD and ETHUSD trade
every day, so nothing here depends on the weekday.
"""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal
from typing import Any

import pytest

from engine.contracts import SET_ACCOUNT, set_account_payload
from tests.factories import login, make_user
from tests.integration.test_engine_support import engine, figures, open_account, run, scalar, tick
from tests.support import wait_for

__all__ = ["engine"]


@pytest.fixture(scope="module")
def trader(app, engine, sql_engine, redis_client):
    """A client with a funded live account, and fresh quotes."""
    user = make_user(app)
    account_id = open_account(sql_engine, redis_client, user.id, deposit="50000")
    return user, account_id


@pytest.fixture()
def api(client, app, trader, redis_client):
    user, _ = trader
    tick(redis_client, "BTCUSD", "50000.00", "50020.00")
    tick(redis_client, "ETHUSD", "3000.00", "3001.50")
    return login(client, app, user)


def _order(api, account: int, **payload: Any):
    body = {"account_id": account, "symbol": "BTCUSD", "side": "buy", "type": "market", "volume": "0.10", **payload}
    return api.post("/api/orders", json=body)


def test_accounts_list_shows_live_figures_from_the_engine(api, trader, redis_client):
    _, account_id = trader
    wait_for(lambda: figures(redis_client, account_id).get("balance"), what="figures")
    items = api.get("/api/accounts").json["items"]
    assert [a["id"] for a in items] == [account_id]
    account = items[0]
    assert account["type"] == "live" and account["currency"] == "USD" and account["number"].startswith("1")
    assert account["balance"] == figures(redis_client, account_id)["balance"]
    for name in ("equity", "margin", "free_margin", "floating_pl", "leverage", "trading_rights"):
        assert account[name] is not None
    assert api.get(f"/api/accounts/{account_id}").json["id"] == account_id


def test_market_order_fills_and_the_position_shows_live_pl(api, trader, redis_client):
    _, account_id = trader
    res = _order(api, account_id, sl="45000.00", tp="60000.00")
    assert res.status_code == 201, res.json
    order, position = res.json["order"], res.json["position"]
    assert order["status"] == "filled" and order["fill_price"] == "50020.00"
    assert position["open_price"] == "50020.00" and position["volume"] == "0.10" and position["sl"] == "45000.00"
    tick(redis_client, "BTCUSD", "50520.00", "50540.00")

    def live():
        items = api.get(f"/api/positions?account_id={account_id}").json["items"]
        mine = [p for p in items if p["id"] == position["id"]]
        return mine and mine[0]["floating_pl"] == "50.00" and mine[0]

    shown = wait_for(live, what="live P/L of the position")
    assert shown["current_price"] == "50520.00"
    account = api.get(f"/api/accounts/{account_id}").json
    assert Decimal(account["margin"]) > 0
    assert Decimal(account["equity"]) == Decimal(account["balance"]) + Decimal(account["credit"]) + Decimal(
        account["floating_pl"]
    )


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"volume": "100.00"}, "invalid_volume"),  # above BTCUSD's maximum
        ({"volume": "0.015"}, "invalid_volume"),  # off the 0.01 step
        ({"volume": "10.00"}, "insufficient_margin"),  # 10 × 50,020 / 10 = 50,020 of margin
        ({"sl": "50500.00"}, "invalid_stops"),  # a buy's SL above the price
        ({"symbol": "NOPE"}, "unknown_symbol"),
        ({"type": "limit", "price": "51000.00"}, "invalid_price"),  # a buy limit above the ask
        ({"price": "49000.00", "deviation": 10}, "price_moved"),
    ],
)
def test_refused_orders_answer_422_with_the_engine_code_and_change_nothing(api, trader, sql_engine, payload, code):
    _, account_id = trader
    before = scalar(sql_engine, "SELECT count(*) FROM orders WHERE account_id = :a", a=account_id)
    res = _order(api, account_id, **payload)
    assert res.status_code == 422, res.json
    assert res.json["error"]["code"] == code
    assert scalar(sql_engine, "SELECT count(*) FROM orders WHERE account_id = :a", a=account_id) == before


@pytest.mark.parametrize(
    "payload",
    [
        {"volume": 0.1},  # a float never becomes money
        {"side": "long"},
        {"type": "limit"},  # no price
        {"type": "stop_limit", "price": "51000.00"},  # no limit price
        {"limit_price": "1"},
        {"account_id": "x"},
        {"expiry": "next tuesday", "type": "limit", "price": "1"},
    ],
)
def test_malformed_orders_answer_400_validation_error(api, trader, payload):
    _, account_id = trader
    res = _order(api, account_id, **payload)
    assert res.status_code == 400
    assert res.json["error"]["code"] == "validation_error" and res.json["error"]["fields"]


def test_pending_order_lifecycle_modify_fill_and_cancel(api, trader, redis_client):
    _, account_id = trader
    placed = _order(api, account_id, type="limit", price="49000.00", expiry="day")
    assert placed.status_code == 201, placed.json
    order_id = placed.json["order"]["id"]
    assert placed.json["order"]["status"] == "pending" and placed.json["order"]["expiry_type"] == "day"
    pending = api.get(f"/api/orders?account_id={account_id}&status=pending").json["items"]
    assert order_id in [o["id"] for o in pending]
    modified = api.patch(f"/api/orders/{order_id}", json={"price": "49500.00", "sl": "48000.00"})
    assert modified.status_code == 200 and modified.json["order"]["price"] == "49500.00"
    tick(redis_client, "BTCUSD", "49480.00", "49500.00")

    def filled():
        orders = api.get(f"/api/orders?account_id={account_id}&status=filled").json["items"]
        return next((o for o in orders if o["id"] == order_id), None)

    order = wait_for(filled, what="the limit order to fill")
    assert order["fill_price"] == "49500.00" and order["position_id"]
    assert api.delete(f"/api/orders/{order_id}").json["error"]["code"] == "order_not_found"

    other = _order(api, account_id, type="stop", price="52000.00").json["order"]["id"]
    cancelled = api.delete(f"/api/orders/{other}")
    assert cancelled.status_code == 200 and cancelled.json["order"]["status"] == "cancelled"


def test_position_modify_partial_close_close_and_history(api, trader, redis_client):
    _, account_id = trader
    position_id = _order(api, account_id, volume="0.20").json["position"]["id"]
    res = api.patch(f"/api/positions/{position_id}", json={"sl": "40000.00", "tp": "70000.00"})
    assert res.status_code == 200 and (res.json["position"]["sl"], res.json["position"]["tp"]) == (
        "40000.00",
        "70000.00",
    )
    assert api.patch(f"/api/positions/{position_id}", json={"tp": None}).json["position"]["tp"] is None
    bad = api.patch(f"/api/positions/{position_id}", json={"sl": "60000.00"})
    assert bad.status_code == 422 and bad.json["error"]["code"] == "invalid_stops"
    tick(redis_client, "BTCUSD", "51000.00", "51020.00")
    part = api.post(f"/api/positions/{position_id}/close", json={"volume": "0.05"})
    assert part.status_code == 200, part.json
    assert part.json["position"]["volume"] == "0.15" and part.json["trade"]["entry"] == "out"
    assert part.json["trade"]["profit"] == "49.00"  # 0.05 × (51,000.00 − 50,020.00)
    full = api.post(f"/api/positions/{position_id}/close", json={})
    assert full.json["position"]["status"] == "closed"
    trades = api.get(f"/api/trades?account_id={account_id}&symbol=BTCUSD").json
    mine = [t for t in trades["items"] if t["position_id"] == position_id]
    assert sorted((t["entry"], t["volume"]) for t in mine) == [("in", "0.20"), ("out", "0.05"), ("out", "0.15")]
    closed = api.get(f"/api/positions?account_id={account_id}&status=closed").json["items"]
    assert position_id in [p["id"] for p in closed]
    ledger = api.get(f"/api/accounts/{account_id}/ledger").json["items"]
    assert ledger[0]["kind"] == "trade" and ledger[0]["position_id"] == position_id


def test_trades_csv_export_has_every_matching_trade(api, trader):
    _, account_id = trader
    _order(api, account_id, symbol="ETHUSD", volume="1.00")
    res = api.get(f"/api/trades?account_id={account_id}&format=csv&symbol=ETHUSD&per_page=1")
    assert res.status_code == 200 and res.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(res.get_data(as_text=True))))
    assert rows and {r["symbol"] for r in rows} == {"ETHUSD"}
    total = api.get(f"/api/trades?account_id={account_id}&symbol=ETHUSD").json["total"]
    assert len(rows) == total


def test_close_all_closes_the_accounts_positions(api, trader):
    _, account_id = trader
    for _ in range(2):
        _order(api, account_id, symbol="ETHUSD", volume="0.50")
    res = api.post("/api/positions/close-all", json={"account_id": account_id, "symbol": "ETHUSD"})
    assert res.status_code == 200 and len(res.json["positions"]) >= 2 and res.json["failed"] == []
    still = api.get(f"/api/positions?account_id={account_id}&symbol=ETHUSD").json["items"]
    assert still == []


def test_close_by_offsets_two_opposite_positions_through_the_engine(api, trader, sql_engine):
    _, account_id = trader
    buy = _order(api, account_id, symbol="ETHUSD", side="buy", volume="0.30").json["position"]
    sell = _order(api, account_id, symbol="ETHUSD", side="sell", volume="0.10").json["position"]
    res = api.post(f"/api/positions/{buy['id']}/close-by", json={"by_position_id": sell["id"]})
    assert res.status_code == 200, res.json
    left, gone = res.json["positions"]
    assert (left["id"], left["status"], left["volume"]) == (buy["id"], "open", "0.20")
    assert (gone["id"], gone["status"]) == (sell["id"], "closed")
    assert [t["price"] for t in res.json["trades"]] == [sell["open_price"]] * 2
    reasons = scalar(
        sql_engine,
        "SELECT count(*) FROM trades WHERE reason = 'close_by' AND position_id IN (:a, :b)",
        a=buy["id"],
        b=sell["id"],
    )
    assert reasons == 2
    same_side = _order(api, account_id, symbol="ETHUSD", side="buy", volume="0.10").json["position"]
    refused = api.post(f"/api/positions/{buy['id']}/close-by", json={"by_position_id": same_side["id"]})
    assert (refused.status_code, refused.json["error"]["code"]) == (422, "invalid_close_by")
    missing = api.post(f"/api/positions/{buy['id']}/close-by", json={})
    assert (missing.status_code, missing.json["error"]["code"]) == (400, "validation_error")
    assert api.get(f"/api/positions?account_id={account_id}&symbol=ETHUSD").json["items"]  # nothing changed


def test_idempotency_key_makes_a_retried_order_act_once(api, trader, sql_engine):
    _, account_id = trader
    key = uuid.uuid4().hex
    first = api.post("/api/orders", json=_body(account_id), headers={"Idempotency-Key": key})
    second = api.post("/api/orders", json=_body(account_id), headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert first.json["order"]["id"] == second.json["order"]["id"]
    count = scalar(sql_engine, "SELECT count(*) FROM orders WHERE command_id = :c", c=first.json["command_id"])
    assert count == 1


def _body(account_id: int) -> dict[str, Any]:
    return {"account_id": account_id, "symbol": "ETHUSD", "side": "sell", "type": "market", "volume": "0.01"}


def test_other_users_accounts_orders_and_positions_are_404(client, app, api, trader):
    _, account_id = trader
    position_id = _order(api, account_id, symbol="ETHUSD", volume="0.01").json["position"]["id"]
    order_id = _order(api, account_id, type="limit", price="40000.00").json["order"]["id"]
    command_id = _order(api, account_id, symbol="ETHUSD", volume="0.01").json["command_id"]
    intruder = login(app.test_client(), app, make_user(app))
    assert intruder.get(f"/api/accounts/{account_id}").status_code == 404
    assert intruder.get(f"/api/accounts/{account_id}/ledger").status_code == 404
    assert intruder.get("/api/accounts").json["items"] == []
    assert _order(intruder, account_id).status_code == 404
    assert intruder.patch(f"/api/orders/{order_id}", json={"price": "41000.00"}).status_code == 404
    assert intruder.delete(f"/api/orders/{order_id}").status_code == 404
    assert intruder.post(f"/api/positions/{position_id}/close", json={}).status_code == 404
    assert intruder.patch(f"/api/positions/{position_id}", json={"sl": None}).status_code == 404
    assert intruder.post("/api/positions/close-all", json={"account_id": account_id}).status_code == 404
    by = {"by_position_id": position_id}
    assert intruder.post(f"/api/positions/{position_id}/close-by", json=by).status_code == 404
    assert intruder.get(f"/api/orders?account_id={account_id}").status_code == 404
    assert intruder.get(f"/api/commands/{command_id}").status_code == 404
    assert api.get(f"/api/commands/{command_id}").json["status"] == "done"


def test_unauthenticated_requests_are_401(app):
    anonymous = app.test_client()
    assert anonymous.get("/api/accounts").status_code == 401
    assert anonymous.get("/api/positions").status_code == 401


def test_demo_account_opens_with_virtual_money(api, settings):
    res = api.post("/api/accounts/demo")
    assert res.status_code == 201, res.json
    account = res.json["account"]
    assert account["type"] == "demo" and account["number"].startswith("9")
    assert Decimal(account["balance"]) == settings.demo_deposit
    ledger = api.get(f"/api/accounts/{account['id']}/ledger").json["items"]
    assert [(e["kind"], e["amount"]) for e in ledger] == [("deposit", f"{settings.demo_deposit:.2f}")]


def test_trading_rights_set_by_the_crm_are_enforced(api, app, sql_engine, redis_client):
    user = make_user(app)
    account_id = open_account(sql_engine, redis_client, user.id, deposit="1000")
    client = login(app.test_client(), app, user)
    assert run(redis_client, SET_ACCOUNT, account_id, set_account_payload(trading_rights="disabled"))["ok"]
    res = _order(client, account_id, symbol="ETHUSD", volume="0.01")
    assert res.status_code == 422 and res.json["error"]["code"] == "trading_disabled"
