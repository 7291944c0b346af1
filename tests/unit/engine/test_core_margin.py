"""Margin call, stop-out and negative balance (research/trading.md A.8, D.x 7), and the per-tick
cost shape: ticks touch only what they can trigger."""

from __future__ import annotations

from decimal import Decimal

from tests.unit.engine.helpers import D, Harness


def _ready(deposit: str = "1000") -> Harness:
    h = Harness()
    h.quotes(EURUSD=("1.08490", "1.08500"), GBPUSD=("1.25000", "1.25010"), USDJPY=("150.000", "150.010"))
    h.open_account(deposit=deposit)
    return h


def _events(h: Harness, kind: str) -> list[dict]:
    return [event for _, event in h.core.changes.events if event["type"] == kind]


def test_an_order_that_would_start_below_the_margin_call_is_refused():
    """research/trading.md A.8: 1 lot EURUSD on 1,000 USD at 1:100 needs 1,085 USD of margin."""
    h = _ready()
    assert h.order(volume="1")["code"] == "insufficient_margin"


def test_margin_call_fires_once_when_the_level_is_crossed_and_again_after_recovery():
    h = _ready()
    h.order(volume="0.5")  # margin 542.50, equity 995.00
    h.tick("EURUSD", "1.07590", "1.07600")  # equity 545.00: 100.46 %
    assert _events(h, "margin_call") == []
    h.tick("EURUSD", "1.07580", "1.07590")  # equity 540.00: 99.54 %
    calls = _events(h, "margin_call")
    assert [c["margin_level"] for c in calls] == ["99.54"]
    assert h.account().margin_call_active
    assert [w.type for w in h.core.changes.webhooks].count("margin_call") == 1
    h.tick("EURUSD", "1.07560", "1.07570")
    assert len(_events(h, "margin_call")) == 1
    h.tick("EURUSD", "1.08000", "1.08010")  # recovered
    h.core.refresh(h.now)
    assert not h.account().margin_call_active
    h.tick("EURUSD", "1.07500", "1.07510")
    assert len(_events(h, "margin_call")) == 2


def test_stop_out_closes_the_largest_loss_first_and_stops_when_the_level_is_restored():
    h = _ready(deposit="2000")
    eur = h.order(volume="0.5")["position"]["id"]  # margin 542.50
    gbp = h.order(symbol="GBPUSD", volume="0.5")["position"]["id"]  # margin 625.05
    # EURUSD crashes: equity 545.00 is below 50 % of 1,167.55 while GBPUSD is flat.
    h.tick("EURUSD", "1.05600", "1.05610")
    assert eur not in h.core.positions and gbp in h.core.positions
    stop = _events(h, "stop_out")
    assert len(stop) == 1 and stop[0]["closed_positions"] == [eur]
    closing = [t for t in h.core.changes.trades if t.position_id == eur and t.entry == "out"]
    assert closing[0].reason == "stop_out" and closing[0].price == D("1.05600")
    assert h.figures().margin_level > h.account().stop_out_level


def test_stop_out_deletes_pending_orders_first():
    h = _ready()
    h.order(volume="0.5")
    pending = h.order(type="limit", side="buy", price="1.00000", volume="0.01")["order"]["id"]
    h.tick("EURUSD", "1.06000", "1.06010")
    assert pending not in h.core.orders
    assert h.core.changes.orders[pending].status == "cancelled"
    assert _events(h, "stop_out")[0]["cancelled_orders"] == [pending]


def test_stop_out_repeats_until_the_level_holds():
    h = _ready(deposit="2000")
    ids = [h.order(volume="0.3")["position"]["id"] for _ in range(3)]  # margin 976.50
    h.tick("EURUSD", "1.04000", "1.04010")
    stop = _events(h, "stop_out")[0]
    assert stop["closed_positions"] == ids[: len(stop["closed_positions"])]  # equal losses: lowest id first
    assert len(stop["closed_positions"]) >= 2
    fig = h.figures()
    assert fig.margin == 0 or fig.margin_level > h.account().stop_out_level


def test_stop_out_skips_positions_whose_quote_is_stale():
    h = _ready(deposit="3000")
    gbp = h.order(symbol="GBPUSD", volume="1")["position"]["id"]
    eur = h.order(volume="0.5")["position"]["id"]
    h.advance(20_000)
    h.tick("GBPUSD", "1.23500", "1.23510")  # GBPUSD loses 1,510
    h.advance(15_000)  # GBPUSD's quote is now 15 s old... still fresh
    h.advance(20_000)  # ... and now 35 s old: stale
    h.tick("EURUSD", "1.06000", "1.06010")
    # GBPUSD has the largest loss, but it cannot be closed at a stale price: EURUSD goes.
    assert gbp in h.core.positions and eur not in h.core.positions


def test_negative_balance_is_reset_to_zero_after_a_gap():
    h = _ready()
    h.order(volume="0.5")
    h.tick("EURUSD", "1.00000", "1.00010")  # a huge gap: the loss exceeds the balance
    assert h.account().positions == {}
    assert h.account().balance == D("0.00")
    reset = [r for r in h.core.changes.ledger if r.kind == "negative_balance_reset"]
    assert len(reset) == 1 and reset[0].amount > 0 and reset[0].balance_after == D("0.00")
    assert sum((r.amount for r in h.core.changes.ledger), Decimal(0)) == h.account().balance


def test_a_tick_on_another_symbol_evaluates_no_account():
    h = _ready(deposit="100000")
    for account_id in range(2, 50):
        h.open_account(account_id, deposit="100000")
        h.order(account_id, symbol="GBPUSD", volume="1", sl="1.20000")
    h.order(volume="0.01")
    before = h.core.stats["evaluations"]
    for step in range(100):
        h.tick("EURUSD", f"1.08{490 + step % 7}", f"1.08{500 + step % 7}")
    assert h.core.stats["evaluations"] == before


def test_pending_orders_that_do_not_trigger_are_not_visited():
    h = _ready(deposit="100000")
    for i in range(500):
        h.order(type="limit", side="buy", price=f"1.0{1000 + i}", volume="0.01")
    book = h.core.books["EURUSD"]
    assert len(book.buy_limit) == 500
    assert book.triggered_orders(D("1.08000"), D("1.08010")) == []
    h.tick("EURUSD", "1.01200", "1.01210")  # reaches exactly the limits at or above 1.01210
    assert len(book.buy_limit) == 500 - (1499 - 1210 + 1)


def test_safe_accounts_are_not_evaluated_on_every_tick():
    h = _ready(deposit="100000")
    h.order(volume="1")
    before = h.core.stats["evaluations"]
    for step in range(200):
        h.tick("EURUSD", f"1.08{480 + step % 20}", f"1.08{490 + step % 20}")
    assert h.core.stats["evaluations"] == before


def test_an_account_near_its_level_is_re_evaluated_when_its_watch_is_touched():
    h = _ready()
    h.order(volume="0.5")
    before = h.core.stats["evaluations"]
    h.tick("EURUSD", "1.07000", "1.07010")
    assert h.core.stats["evaluations"] > before


def _watch(h: Harness) -> float:
    return h.core.books["EURUSD"].watch_down.live[h.account().id]


def _exact_level(h: Harness) -> float:
    """Where the watch may sit at the latest: half the buffer above the margin call, as a bid."""
    fig = h.core.figures(h.account())
    buffer = fig.equity - fig.margin * h.account().margin_call_level / 100
    loss_per_unit = float(h.account().exposures["EURUSD"].long_volume) * 100_000
    return float(h.core.quotes.quotes["EURUSD"].bid) - float(buffer) / 2 / loss_per_unit


def test_a_small_order_keeps_the_margin_watch_in_place_and_a_large_one_moves_it_closer():
    h = _ready()
    h.order(volume="0.5")
    first = _watch(h)
    assert first > _exact_level(h)  # placed early: room for the buffer to shrink
    index = h.core.books["EURUSD"].watch_down
    entries = len(index.heap)
    h.order(volume="0.01")  # a little more exposure: the watch still fires in time
    assert _watch(h) == first and len(index.heap) == entries
    assert first >= _exact_level(h)
    h.order(volume="0.3")  # much more: the old watch would fire too late
    assert first < _exact_level(h) <= _watch(h)
    before = h.core.stats["evaluations"]
    h.tick("EURUSD", f"{_watch(h) - 0.00001:.5f}", f"{_watch(h) + 0.00009:.5f}")
    assert h.core.stats["evaluations"] > before  # the moved watch is live
