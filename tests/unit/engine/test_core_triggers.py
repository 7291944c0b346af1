"""The trigger matrix (research/trading.md D.x 1): every pending type and SL/TP × before, equal,
through, gapped × a move of the wrong side of the quote; trigger side and fill price asserted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.engine.helpers import MINUTE, D, Harness

START = ("1.10000", "1.10010")


def _harness() -> Harness:
    h = Harness()
    h.quotes(EURUSD=START, USDJPY=("150.000", "150.010"))
    h.open_account(deposit="100000")
    return h


def _pending(h: Harness, **payload: Any) -> int:
    result = h.order(**payload)
    assert result["ok"], result
    assert result["order"]["status"] == "pending"
    return int(result["order"]["id"])


def _fill_of(h: Harness, order_id: int) -> str | None:
    order = h.core.orders.get(order_id)
    if order is not None:
        return None
    fills = [t for t in h.core.changes.trades if t.order_id == order_id and t.entry == "in"]
    assert len(fills) == 1
    return str(fills[0].price)


PENDING_CASES = [
    # (type, side, price, tick bid, tick ask, expected fill or None)
    ("limit", "buy", "1.09900", "1.09900", "1.09910", None),  # before: ask above the limit
    ("limit", "buy", "1.09900", "1.09890", "1.09900", "1.09900"),  # ask equal
    ("limit", "buy", "1.09900", "1.09880", "1.09890", "1.09890"),  # through: price or better
    ("limit", "buy", "1.09900", "1.09500", "1.09510", "1.09510"),  # gapped: the better gap price
    ("limit", "buy", "1.09900", "1.09800", "1.09910", None),  # only the bid reached it
    ("limit", "sell", "1.10100", "1.10090", "1.10100", None),
    ("limit", "sell", "1.10100", "1.10100", "1.10110", "1.10100"),
    ("limit", "sell", "1.10100", "1.10110", "1.10120", "1.10110"),
    ("limit", "sell", "1.10100", "1.10500", "1.10510", "1.10500"),
    ("limit", "sell", "1.10100", "1.10050", "1.10200", None),  # only the ask reached it
    ("stop", "buy", "1.10100", "1.10080", "1.10090", None),
    ("stop", "buy", "1.10100", "1.10090", "1.10100", "1.10100"),
    ("stop", "buy", "1.10100", "1.10100", "1.10110", "1.10110"),
    ("stop", "buy", "1.10100", "1.10490", "1.10500", "1.10500"),  # a gap fills at the gap
    ("stop", "buy", "1.10100", "1.10098", "1.10099", None),  # the bid nearly there, the ask not
    ("stop", "sell", "1.09900", "1.09910", "1.09920", None),
    ("stop", "sell", "1.09900", "1.09900", "1.09910", "1.09900"),
    ("stop", "sell", "1.09900", "1.09890", "1.09900", "1.09890"),
    ("stop", "sell", "1.09900", "1.09500", "1.09510", "1.09500"),
    ("stop", "sell", "1.09900", "1.09910", "1.09950", None),  # the ask fell, the bid did not
]


@pytest.mark.parametrize(("kind", "side", "price", "bid", "ask", "fill"), PENDING_CASES)
def test_pending_order_triggers_on_the_side_correct_price(kind, side, price, bid, ask, fill):
    h = _harness()
    order_id = _pending(h, type=kind, side=side, price=price)
    h.advance(1000)
    h.tick("EURUSD", bid, ask)
    assert _fill_of(h, order_id) == fill


def test_buy_stop_limit_becomes_a_limit_when_the_ask_touches_the_stop():
    h = _harness()
    order_id = _pending(h, type="stop_limit", side="buy", price="1.10100", limit_price="1.10050")
    h.tick("EURUSD", "1.10080", "1.10090")
    assert not h.core.orders[order_id].stop_triggered
    h.tick("EURUSD", "1.10090", "1.10100")
    order = h.core.orders[order_id]
    assert order.stop_triggered and order.status == "pending"
    h.tick("EURUSD", "1.10060", "1.10070")
    assert order_id in h.core.orders
    h.tick("EURUSD", "1.10030", "1.10040")
    assert _fill_of(h, order_id) == "1.10040"


def test_buy_stop_limit_fills_at_once_when_the_limit_is_already_reachable():
    h = _harness()
    order_id = _pending(h, type="stop_limit", side="buy", price="1.10100", limit_price="1.10100")
    h.tick("EURUSD", "1.10090", "1.10100")
    assert _fill_of(h, order_id) == "1.10100"


def test_sell_stop_limit_gapped_through_waits_for_its_limit():
    h = _harness()
    order_id = _pending(h, type="stop_limit", side="sell", price="1.09900", limit_price="1.09950")
    h.tick("EURUSD", "1.09500", "1.09510")
    assert h.core.orders[order_id].stop_triggered
    h.tick("EURUSD", "1.09940", "1.09950")
    assert order_id in h.core.orders
    h.tick("EURUSD", "1.09960", "1.09970")
    assert _fill_of(h, order_id) == "1.09960"


STOP_CASES = [
    # (position side, which, level, tick bid, tick ask, expected close price or None)
    ("buy", "sl", "1.09800", "1.09810", "1.09820", None),
    ("buy", "sl", "1.09800", "1.09800", "1.09810", "1.09800"),
    ("buy", "sl", "1.09800", "1.09790", "1.09800", "1.09790"),
    ("buy", "sl", "1.09800", "1.09500", "1.09510", "1.09500"),  # SL gapped: fills at the gap
    ("buy", "sl", "1.09800", "1.09850", "1.09700", None),  # bad quote (ask < bid) is ignored
    ("buy", "tp", "1.10300", "1.10290", "1.10300", None),
    ("buy", "tp", "1.10300", "1.10300", "1.10310", "1.10300"),
    ("buy", "tp", "1.10300", "1.10310", "1.10320", "1.10310"),
    ("buy", "tp", "1.10300", "1.10800", "1.10810", "1.10800"),  # TP gapped: the better price
    ("buy", "tp", "1.10300", "1.10200", "1.10350", None),  # only the ask reached the TP
    ("sell", "sl", "1.10200", "1.10180", "1.10190", None),
    ("sell", "sl", "1.10200", "1.10190", "1.10200", "1.10200"),
    ("sell", "sl", "1.10200", "1.10200", "1.10210", "1.10210"),
    ("sell", "sl", "1.10200", "1.10590", "1.10600", "1.10600"),
    ("sell", "sl", "1.10200", "1.10150", "1.10190", None),  # the bid is not what a short closes at
    ("sell", "tp", "1.09800", "1.09800", "1.09810", None),
    ("sell", "tp", "1.09800", "1.09790", "1.09800", "1.09800"),
    ("sell", "tp", "1.09800", "1.09780", "1.09790", "1.09790"),
    ("sell", "tp", "1.09800", "1.09490", "1.09500", "1.09500"),
    ("sell", "tp", "1.09800", "1.09700", "1.09850", None),  # only the bid reached the TP
]


@pytest.mark.parametrize(("side", "which", "level", "bid", "ask", "close_price"), STOP_CASES)
def test_sl_and_tp_trigger_on_the_closing_price(side, which, level, bid, ask, close_price):
    h = _harness()
    result = h.order(side=side, **{which: level})
    assert result["ok"], result
    position_id = int(result["position"]["id"])
    h.advance(1000)
    h.tick("EURUSD", bid, ask)
    closes = [t for t in h.core.changes.trades if t.position_id == position_id and t.entry == "out"]
    if close_price is None:
        assert closes == [] and position_id in h.core.positions
    else:
        assert [str(t.price) for t in closes] == [close_price]
        assert closes[0].reason == which
        assert position_id not in h.core.positions


def test_nothing_triggers_on_a_stale_quote():
    h = _harness()
    order_id = _pending(h, type="limit", side="buy", price="1.09900")
    h.advance(5 * MINUTE)
    # A quote stamped four minutes ago arrives late (a feed backlog): it is stored, not acted on.
    h.tick("EURUSD", "1.09800", "1.09810", ts=h.now - 4 * MINUTE)
    assert order_id in h.core.orders
    assert h.core.quotes.get("EURUSD").bid == D("1.09800")
    h.tick("EURUSD", "1.09800", "1.09810")
    assert _fill_of(h, order_id) == "1.09810"


def test_nothing_triggers_while_the_market_is_closed():
    h = _harness()
    result = h.order(side="buy", sl="1.09000")
    position_id = int(result["position"]["id"])
    # Saturday 28 November 2026: the FX market is closed; a stray quote must not stop anyone out.
    h.now += 4 * 24 * 60 * MINUTE
    h.tick("EURUSD", "1.08000", "1.08010")
    assert position_id in h.core.positions
    h.now += 2 * 24 * 60 * MINUTE  # Monday 12:00
    h.tick("EURUSD", "1.08000", "1.08010")
    assert position_id not in h.core.positions


def test_an_out_of_order_tick_is_ignored():
    h = _harness()
    h.advance(10_000)
    h.tick("EURUSD", "1.10020", "1.10030")
    h.tick("EURUSD", "1.09000", "1.09010", ts=h.now - 5000)
    assert h.core.quotes.get("EURUSD").bid == D("1.10020")
