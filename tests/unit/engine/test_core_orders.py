"""Placement and modification rules: sides of the market, stops level, volume, rights, quotes,
sessions, deviation and expiry (research/trading.md A.2–A.4, D.x 2–3)."""

from __future__ import annotations

import pytest

from engine.core.instruments import DAY_MS
from tests.unit.engine.helpers import HOUR, MINUTE, T0, Harness


def _ready(**overrides) -> Harness:
    h = Harness(**overrides)
    h.quotes(EURUSD=("1.10000", "1.10010"), USDJPY=("150.000", "150.010"), BTCUSD=("50000.00", "50020.00"))
    h.open_account(deposit="100000")
    return h


def _code(result: dict) -> str:
    assert not result["ok"], result
    return result["code"]


def test_market_buy_fills_at_the_ask_and_sell_at_the_bid():
    h = _ready()
    assert h.order(side="buy")["position"]["open_price"] == "1.10010"
    assert h.order(side="sell")["position"]["open_price"] == "1.10000"


@pytest.mark.parametrize(
    ("kind", "side", "price"),
    [
        ("limit", "buy", "1.10010"),  # a buy limit must be below the ask
        ("limit", "sell", "1.10000"),  # a sell limit must be above the bid
        ("stop", "buy", "1.10010"),  # a buy stop must be above the ask
        ("stop", "sell", "1.10000"),  # a sell stop must be below the bid
        ("stop_limit", "buy", "1.09990"),
        ("stop_limit", "sell", "1.10020"),
    ],
)
def test_pending_price_on_the_wrong_side_of_the_market_is_refused(kind, side, price):
    h = _ready()
    extra = {"limit_price": price} if kind == "stop_limit" else {}
    assert _code(h.order(type=kind, side=side, price=price, **extra)) == "invalid_price"
    assert h.core.orders == {}


def test_pending_price_inside_the_stops_level_is_refused():
    h = _ready(EURUSD={"stops_level": 10})
    assert _code(h.order(type="limit", side="buy", price="1.10001")) == "invalid_price"
    assert h.order(type="limit", side="buy", price="1.10000")["ok"]


def test_stop_limit_needs_its_limit_on_the_better_side():
    h = _ready()
    assert _code(h.order(type="stop_limit", side="buy", price="1.10100")) == "invalid_price"
    assert _code(h.order(type="stop_limit", side="buy", price="1.10100", limit_price="1.10200")) == "invalid_price"
    assert h.order(type="stop_limit", side="buy", price="1.10100", limit_price="1.10050")["ok"]


def test_limit_price_is_refused_on_other_order_types():
    h = _ready()
    assert _code(h.order(type="limit", side="buy", price="1.09000", limit_price="1.08000")) == "invalid_price"


@pytest.mark.parametrize(
    ("side", "sl", "tp"),
    [
        ("buy", "1.10000", None),  # a buy's SL must be below the bid
        ("buy", None, "1.10000"),  # a buy's TP must be above the bid
        ("sell", "1.10010", None),  # a sell's SL must be above the ask
        ("sell", None, "1.10010"),
    ],
)
def test_market_order_stops_on_the_wrong_side_are_invalid(side, sl, tp):
    h = _ready()
    payload = {k: v for k, v in (("sl", sl), ("tp", tp)) if v}
    assert _code(h.order(side=side, **payload)) == "invalid_stops"
    assert h.core.positions == {}


def test_stops_closer_than_the_stops_level_are_invalid():
    h = _ready(EURUSD={"stops_level": 50})
    assert _code(h.order(side="buy", sl="1.09960")) == "invalid_stops"
    assert h.order(side="buy", sl="1.09950")["ok"]


def test_pending_stops_are_measured_from_the_order_price():
    h = _ready()
    assert _code(h.order(type="limit", side="buy", price="1.09000", sl="1.09000")) == "invalid_stops"
    assert _code(h.order(type="limit", side="buy", price="1.09000", tp="1.08900")) == "invalid_stops"
    assert h.order(type="limit", side="buy", price="1.09000", sl="1.08900", tp="1.09100")["ok"]
    # A stop-limit's stops are measured from its limit price, where it will fill.
    assert h.order(type="stop_limit", side="buy", price="1.10100", limit_price="1.10050", sl="1.10040")["ok"]


@pytest.mark.parametrize("volume", ["0", "0.001", "0.015", "101", "-1"])
def test_volume_outside_min_max_or_off_step_is_invalid(volume):
    h = _ready()
    assert _code(h.order(volume=volume)) == "invalid_volume"


def test_volume_on_the_grid_is_accepted_and_normalised():
    h = _ready()
    assert h.order(volume="0.1")["order"]["volume"] == "0.10"


def test_prices_with_more_digits_than_the_instrument_are_invalid():
    h = _ready()
    assert _code(h.order(type="limit", side="buy", price="1.090001")) == "invalid_price"


def test_malformed_payload_is_an_invalid_request_not_an_error():
    h = _ready()
    assert _code(h.order(volume=1.5)) == "invalid_request"  # floats never become money
    assert _code(h.order(side="up")) == "invalid_request"
    assert _code(h.run("place_order", 1, symbol="EURUSD")) == "invalid_request"
    assert _code(h.run("no_such_command", 1)) == "invalid_request"


def test_unknown_symbol_and_unknown_account_are_refused():
    h = _ready()
    assert _code(h.order(symbol="NOPE")) == "unknown_symbol"
    assert _code(h.order(account_id=99)) == "unknown_account"


def test_market_order_on_a_stale_quote_is_refused():
    h = _ready()
    h.advance(31_000)
    assert _code(h.order()) == "stale_quote"
    h.tick("EURUSD", "1.10000", "1.10010")
    assert h.order()["ok"]


def test_market_order_without_any_quote_is_refused():
    h = _ready()
    assert _code(h.order(symbol="GBPUSD")) == "no_quote"


def test_orders_are_refused_while_the_market_is_closed():
    h = _ready()
    h.now = T0 + 4 * DAY_MS  # Saturday
    h.tick("EURUSD", "1.10000", "1.10010")
    assert _code(h.order()) == "market_closed"
    assert _code(h.order(type="limit", side="buy", price="1.09000")) == "market_closed"
    # Crypto trades every day.
    h.tick("BTCUSD", "50000.00", "50020.00")
    assert h.order(symbol="BTCUSD", volume="0.01")["ok"]


def test_deviation_refuses_a_market_order_when_the_price_moved_against_the_client():
    h = _ready()
    assert _code(h.order(side="buy", price="1.09990", deviation=10)) == "price_moved"
    assert h.order(side="buy", price="1.10000", deviation=10)["ok"]
    # A move in the client's favour is never refused.
    assert h.order(side="buy", price="1.10500", deviation=0)["ok"]
    # Without deviation the instrument's max_deviation (50 points) applies.
    assert _code(h.order(side="sell", price="1.10051")) == "price_moved"


def test_close_only_rights_refuse_opening_but_allow_closing():
    h = _ready()
    position_id = h.order()["position"]["id"]
    assert h.run("set_account", 1, trading_rights="close_only")["ok"]
    assert _code(h.order()) == "close_only"
    assert _code(h.order(type="limit", side="buy", price="1.09000")) == "close_only"
    assert h.run("modify_position", 1, position_id=position_id, sl="1.09000")["ok"]
    assert h.run("close_position", 1, position_id=position_id)["ok"]


def test_disabled_rights_refuse_every_client_trade_but_not_cancelling():
    h = _ready()
    position_id = h.order()["position"]["id"]
    order_id = h.order(type="limit", side="buy", price="1.09000")["order"]["id"]
    assert h.run("set_account", 1, trading_rights="disabled")["ok"]
    assert _code(h.order()) == "trading_disabled"
    assert _code(h.run("close_position", 1, position_id=position_id)) == "trading_disabled"
    assert _code(h.run("modify_position", 1, position_id=position_id, sl="1.09000")) == "trading_disabled"
    assert h.run("cancel_order", 1, order_id=order_id)["ok"]


def test_a_pending_order_that_triggers_on_a_restricted_account_is_rejected():
    h = _ready()
    order_id = h.order(type="limit", side="buy", price="1.09000")["order"]["id"]
    h.run("set_account", 1, trading_rights="close_only")
    h.tick("EURUSD", "1.08990", "1.09000")
    changed = h.core.changes.orders[order_id]
    assert changed.status == "rejected" and changed.reject_code == "close_only"
    assert h.core.positions == {}


def test_a_pending_order_without_margin_at_trigger_time_is_rejected():
    h = _ready()
    order_id = h.order(type="limit", side="buy", price="1.09000", volume="100")["order"]["id"]
    h.tick("EURUSD", "1.08990", "1.09000")
    assert h.core.changes.orders[order_id].reject_code == "insufficient_margin"


def test_market_order_beyond_free_margin_is_refused_and_changes_nothing():
    h = _ready()
    balance = h.account().balance
    assert _code(h.order(volume="100")) == "insufficient_margin"
    assert h.account().balance == balance and h.core.positions == {}
    assert h.core.changes.trades == []


def test_modify_order_moves_it_in_the_index():
    h = _ready()
    order_id = h.order(type="limit", side="buy", price="1.09000")["order"]["id"]
    result = h.run("modify_order", 1, order_id=order_id, price="1.09500", sl="1.09000")
    assert result["ok"] and result["order"]["price"] == "1.09500"
    h.tick("EURUSD", "1.09400", "1.09500")
    assert order_id not in h.core.orders
    position = next(iter(h.core.positions.values()))
    assert str(position.open_price) == "1.09500" and str(position.sl) == "1.09000"


def test_modify_order_with_a_bad_price_changes_nothing():
    h = _ready()
    order_id = h.order(type="limit", side="buy", price="1.09000")["order"]["id"]
    assert _code(h.run("modify_order", 1, order_id=order_id, price="1.20000")) == "invalid_price"
    assert str(h.core.orders[order_id].price) == "1.09000"


def test_sl_can_be_cleared_with_null():
    h = _ready()
    order_id = h.order(type="limit", side="buy", price="1.09000", sl="1.08000")["order"]["id"]
    assert h.run("modify_order", 1, order_id=order_id, sl=None)["order"]["sl"] is None


def test_cancel_order_and_unknown_order():
    h = _ready()
    order_id = h.order(type="stop", side="buy", price="1.11000")["order"]["id"]
    assert h.run("cancel_order", 1, order_id=order_id)["order"]["status"] == "cancelled"
    assert _code(h.run("cancel_order", 1, order_id=order_id)) == "order_not_found"
    h.tick("EURUSD", "1.11000", "1.11010")
    assert h.core.positions == {}


def test_gtc_order_does_not_expire():
    h = _ready()
    order_id = h.order(type="limit", side="buy", price="1.09000")["order"]["id"]
    h.advance(3 * DAY_MS)
    h.core.on_time(h.now)
    assert order_id in h.core.orders


def test_day_order_expires_at_the_rollover():
    h = _ready()
    order_id = h.order(type="limit", side="buy", price="1.09000", expiry_type="day")["order"]["id"]
    order = h.core.orders[order_id]
    assert order.expires_at == T0 + 9 * HOUR  # 21:00 UTC the same day
    h.now = order.expires_at - 1
    h.core.on_time(h.now)
    assert order_id in h.core.orders
    h.now = order.expires_at
    h.core.on_time(h.now)
    assert order_id not in h.core.orders
    assert h.core.changes.orders[order_id].status == "expired"


def test_specified_expiry_must_be_in_the_future_and_is_honoured():
    h = _ready()
    assert _code(h.order(type="limit", side="buy", price="1.09000", expiry_type="specified", expires_at=h.now)) == (
        "invalid_expiry"
    )
    result = h.order(type="limit", side="buy", price="1.09000", expiry_type="specified", expires_at=h.now + MINUTE)
    order_id = result["order"]["id"]
    h.advance(MINUTE)
    # A tick at the expiry instant does not fill: the order is no longer valid at that time.
    h.tick("EURUSD", "1.08990", "1.09000")
    assert order_id in h.core.orders
    h.core.on_time(h.now)
    assert h.core.changes.orders[order_id].status == "expired"


def test_modify_order_can_change_the_expiry():
    h = _ready()
    order_id = h.order(type="limit", side="buy", price="1.09000")["order"]["id"]
    h.run("modify_order", 1, order_id=order_id, expiry_type="specified", expires_at=h.now + MINUTE)
    h.advance(MINUTE)
    h.core.on_time(h.now)
    assert order_id not in h.core.orders


# --- freeze level (MT5 SYMBOL_TRADE_FREEZE_LEVEL) ---------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "side", "price", "frozen_quote", "free_quote"),
    [
        # a buy limit watches the ask coming down to it; a sell limit the bid going up
        ("limit", "buy", "1.09900", ("1.09900", "1.09910"), ("1.09899", "1.09911")),
        ("limit", "sell", "1.10200", ("1.10190", "1.10200"), ("1.10189", "1.10199")),
        # a buy stop watches the ask going up to it; a sell stop the bid coming down
        ("stop", "buy", "1.10200", ("1.10180", "1.10190"), ("1.10179", "1.10189")),
        ("stop", "sell", "1.09800", ("1.09810", "1.09820"), ("1.09811", "1.09821")),
    ],
)
def test_a_pending_order_within_the_freeze_level_can_be_neither_modified_nor_cancelled(
    kind, side, price, frozen_quote, free_quote
):
    h = _ready(EURUSD={"freeze_level": 10})  # 10 points = 0.00010
    order_id = h.order(type=kind, side=side, price=price)["order"]["id"]
    h.tick("EURUSD", *frozen_quote)  # exactly 10 points from the activation price: frozen
    assert _code(h.run("cancel_order", 1, order_id=order_id)) == "frozen"
    assert _code(h.run("modify_order", 1, order_id=order_id, sl=None)) == "frozen"
    assert order_id in h.account().orders
    h.tick("EURUSD", *free_quote)  # 11 points away: free again
    assert h.run("modify_order", 1, order_id=order_id, tp=None)["ok"]
    assert h.run("cancel_order", 1, order_id=order_id)["ok"]


def test_a_triggered_stop_limit_freezes_around_its_limit_price():
    h = _ready(EURUSD={"freeze_level": 10})
    order_id = h.order(type="stop_limit", side="buy", price="1.10100", limit_price="1.10050")["order"]["id"]
    h.tick("EURUSD", "1.10100", "1.10110")  # the stop triggers: a buy limit at 1.10050 is left
    assert h.account().orders[order_id].stop_triggered
    assert h.run("modify_order", 1, order_id=order_id, tp=None)["ok"]  # the ask 60 points above the limit: free
    h.tick("EURUSD", "1.10050", "1.10060")  # the ask 10 points above the limit: frozen (the stop price is past)
    assert _code(h.run("cancel_order", 1, order_id=order_id)) == "frozen"
    h.tick("EURUSD", "1.10200", "1.10210")
    assert h.run("cancel_order", 1, order_id=order_id)["ok"]


def test_without_a_freeze_level_and_on_a_closed_market_nothing_is_frozen():
    h = _ready()
    order_id = h.order(type="limit", side="buy", price="1.09900")["order"]["id"]
    h.tick("EURUSD", "1.09891", "1.09901")
    assert h.run("cancel_order", 1, order_id=order_id)["ok"]
    h = _ready(EURUSD={"freeze_level": 10})
    order_id = h.order(type="limit", side="buy", price="1.09900")["order"]["id"]
    h.tick("EURUSD", "1.09891", "1.09901")
    assert _code(h.run("cancel_order", 1, order_id=order_id)) == "frozen"
    h.advance(DAY_MS)  # the quote is stale now: a freeze needs a live market
    assert h.run("cancel_order", 1, order_id=order_id)["ok"]
