"""Hedging, modification, partial close, close and close-all (research/trading.md A.5, D.x 4)."""

from __future__ import annotations

from decimal import Decimal

from tests.unit.engine.helpers import D, Harness


def _ready(**overrides) -> Harness:
    h = Harness(**overrides)
    h.quotes(EURUSD=("1.10000", "1.10010"), GBPUSD=("1.25000", "1.25010"), USDJPY=("150.000", "150.010"))
    h.open_account(deposit="100000")
    return h


def test_hedging_keeps_opposite_positions_on_one_symbol():
    h = _ready()
    buy = h.order(side="buy")["position"]["id"]
    sell = h.order(side="sell")["position"]["id"]
    assert set(h.account().positions) == {buy, sell}
    exposure = h.account().exposures["EURUSD"]
    assert exposure.long_volume == D(1) and exposure.short_volume == D(1)


def test_each_fill_is_a_new_position_with_its_own_stops():
    h = _ready()
    first = h.order(sl="1.09000")["position"]
    second = h.order(tp="1.12000")["position"]
    assert first["id"] != second["id"]
    assert (first["sl"], first["tp"]) == ("1.09000", None)
    assert (second["sl"], second["tp"]) == (None, "1.12000")


def test_modify_position_sets_and_clears_stops_and_they_trigger():
    h = _ready()
    position_id = h.order()["position"]["id"]
    assert h.run("modify_position", 1, position_id=position_id, sl="1.09500", tp="1.11000")["ok"]
    assert h.run("modify_position", 1, position_id=position_id, tp=None)["position"]["tp"] is None
    h.tick("EURUSD", "1.20000", "1.20010")
    assert position_id in h.core.positions  # the cleared TP no longer triggers
    h.tick("EURUSD", "1.09500", "1.09510")
    assert position_id not in h.core.positions


def test_modify_position_with_invalid_stops_changes_nothing():
    h = _ready()
    position_id = h.order(sl="1.09000")["position"]["id"]
    result = h.run("modify_position", 1, position_id=position_id, sl="1.10500")
    assert result["code"] == "invalid_stops"
    assert str(h.core.positions[position_id].sl) == "1.09000"


def test_close_realises_profit_in_the_ledger():
    h = _ready()
    position_id = h.order()["position"]["id"]
    h.tick("EURUSD", "1.10510", "1.10520")
    result = h.run("close_position", 1, position_id=position_id)
    assert result["ok"]
    assert result["trade"]["price"] == "1.10510" and result["trade"]["profit"] == "500.00"
    assert result["position"]["status"] == "closed"
    assert h.account().balance == D("100500.00")
    assert [(r.kind, r.amount) for r in h.core.changes.ledger][-1] == ("trade", D("500.00"))


def test_short_closes_at_the_ask():
    h = _ready()
    position_id = h.order(side="sell")["position"]["id"]  # opens at the bid 1.10000
    h.tick("EURUSD", "1.09490", "1.09500")
    trade = h.run("close_position", 1, position_id=position_id)["trade"]
    assert trade["price"] == "1.09500" and trade["profit"] == "500.00" and trade["side"] == "buy"


def test_partial_close_keeps_the_position_id_and_reduces_volume():
    h = _ready()
    position_id = h.order(volume="1.00")["position"]["id"]
    h.tick("EURUSD", "1.10110", "1.10120")
    result = h.run("close_position", 1, position_id=position_id, volume="0.40")
    assert result["position"]["id"] == position_id
    assert result["position"]["volume"] == "0.60" and result["position"]["status"] == "open"
    assert result["trade"]["volume"] == "0.40" and result["trade"]["profit"] == "40.00"
    assert h.account().exposures["EURUSD"].long_volume == D("0.60")
    assert h.core.positions[position_id].margin == D("660.06")  # 0.6 lot at 1.10010 / 100


def test_partial_close_must_leave_zero_or_at_least_the_minimum():
    h = _ready()
    position_id = h.order(volume="0.02")["position"]["id"]
    assert h.run("close_position", 1, position_id=position_id, volume="0.015")["code"] == "invalid_volume"
    assert h.run("close_position", 1, position_id=position_id, volume="0.03")["code"] == "invalid_volume"
    assert h.run("close_position", 1, position_id=position_id, volume="0.01")["ok"]
    assert h.run("close_position", 1, position_id=position_id, volume="0.01")["position"]["status"] == "closed"


def test_unknown_position_is_not_found():
    h = _ready()
    assert h.run("close_position", 1, position_id=12345)["code"] == "position_not_found"


def test_close_all_closes_every_position_or_only_one_symbol():
    h = _ready()
    eur = [h.order()["position"]["id"] for _ in range(2)]
    gbp = h.order(symbol="GBPUSD")["position"]["id"]
    result = h.run("close_all", 1, symbol="EURUSD")
    assert sorted(p["id"] for p in result["positions"]) == sorted(eur)
    assert set(h.account().positions) == {gbp}
    assert h.run("close_all", 1)["positions"][0]["id"] == gbp
    assert h.account().positions == {}


def test_close_all_reports_positions_it_cannot_close_on_a_stale_quote():
    h = _ready()
    eur = h.order()["position"]["id"]
    gbp = h.order(symbol="GBPUSD")["position"]["id"]
    h.advance(31_000)
    h.tick("EURUSD", "1.10000", "1.10010")
    result = h.run("close_all", 1)
    assert [p["id"] for p in result["positions"]] == [eur]
    assert result["failed"] == [{"position_id": gbp, "code": "stale_quote", "message": result["failed"][0]["message"]}]


def test_every_fill_is_an_immutable_trade_row():
    h = _ready()
    position_id = h.order(volume="1.00")["position"]["id"]
    h.run("close_position", 1, position_id=position_id, volume="0.50")
    h.run("close_position", 1, position_id=position_id)
    trades = [(t.entry, t.volume, t.reason) for t in h.core.changes.trades if t.position_id == position_id]
    assert trades == [("in", D("1.00"), "market"), ("out", D("0.50"), "client"), ("out", D("0.50"), "client")]


def test_realised_pl_adds_up_over_partial_closes():
    h = _ready()
    position_id = h.order(volume="1.00")["position"]["id"]
    h.tick("EURUSD", "1.10110", "1.10120")
    h.run("close_position", 1, position_id=position_id, volume="0.50")
    h.tick("EURUSD", "1.10210", "1.10220")
    h.run("close_position", 1, position_id=position_id)
    closed = h.core.changes.positions[position_id]
    assert closed.realized_pl == D("50.00") + D("100.00")
    assert h.account().balance == D("100150.00")
    assert sum((r.amount for r in h.core.changes.ledger), Decimal(0)) == h.account().balance


def test_a_position_whose_stop_is_within_the_freeze_level_can_be_neither_modified_nor_closed():
    h = _ready(EURUSD={"freeze_level": 10})  # 10 points = 0.00010
    buy = h.order(side="buy", sl="1.09500", tp="1.11000")["position"]["id"]
    sell = h.order(side="sell", sl="1.11000")["position"]["id"]
    h.tick("EURUSD", "1.09510", "1.09520")  # the buy's SL is 10 points under the bid: frozen
    assert h.run("modify_position", 1, position_id=buy, sl=None)["code"] == "frozen"
    assert h.run("close_position", 1, position_id=buy)["code"] == "frozen"
    result = h.run("close_all", 1)
    assert [p["id"] for p in result["positions"]] == [sell]  # the sell's SL is far from the ask
    assert result["failed"] == [{"position_id": buy, "code": "frozen", "message": result["failed"][0]["message"]}]
    assert str(h.core.positions[buy].sl) == "1.09500"
    h.tick("EURUSD", "1.10000", "1.10010")
    assert h.run("modify_position", 1, position_id=buy, sl=None)["ok"]
    assert h.run("close_position", 1, position_id=buy)["ok"]


def test_a_short_freezes_on_the_ask_near_its_take_profit_and_the_engine_still_closes_it():
    h = _ready(EURUSD={"freeze_level": 10})
    sell = h.order(side="sell", tp="1.09000")["position"]["id"]
    h.tick("EURUSD", "1.09000", "1.09010")  # the ask 10 points above the TP: frozen for the client
    assert h.run("close_position", 1, position_id=sell)["code"] == "frozen"
    h.tick("EURUSD", "1.08990", "1.09000")  # the TP itself still triggers
    assert sell not in h.core.positions


# --- close by (MT5 TRADE_ACTION_CLOSE_BY) -------------------------------------------------------------


def test_close_by_offsets_two_opposite_positions_at_the_by_positions_open_price_saving_a_spread():
    h = _ready()
    buy = h.order(side="buy", volume="1")["position"]  # opened at the ask 1.10010
    h.tick("EURUSD", "1.10500", "1.10510")
    sell = h.order(side="sell", volume="1")["position"]  # opened at the bid 1.10500
    h.tick("EURUSD", "1.10300", "1.10310")
    balance = h.account().balance
    result = h.run("close_by", 1, position_id=buy["id"], by_position_id=sell["id"])
    assert result["ok"], result
    closed_buy, closed_sell = result["positions"]
    assert (closed_buy["status"], closed_sell["status"]) == ("closed", "closed")
    trade_buy, trade_sell = result["trades"]
    # both at the sell's open price: the buy realises 1.10500 - 1.10010 = 490 points, the sell nothing
    assert (trade_buy["price"], trade_buy["profit"]) == ("1.10500", "490.00")
    assert (trade_sell["price"], trade_sell["profit"]) == ("1.10500", "0.00")
    assert (trade_buy["reason"], trade_sell["reason"]) == ("close_by", "close_by")
    assert h.account().balance == balance + D("490.00")
    assert h.account().positions == {}
    # (closing both separately now would realise 290.00 + 190.00: the spread of 10 points more)


def test_close_by_with_unequal_volumes_leaves_the_larger_ones_remainder_open():
    h = _ready()
    buy = h.order(side="buy", volume="1.5", sl="1.09000")["position"]["id"]
    sell = h.order(side="sell", volume="0.5")["position"]["id"]
    result = h.run("close_by", 1, position_id=sell, by_position_id=buy)
    assert result["ok"], result
    left = h.core.positions[buy]
    assert left.volume == D("1.0") and str(left.open_price) == "1.10010" and str(left.sl) == "1.09000"
    assert sell not in h.core.positions
    assert [t["volume"] for t in result["trades"]] == ["0.50", "0.50"]
    # the buy's part closed at its own open price realises nothing; the sell pays the spread it was opened with
    assert [t["profit"] for t in result["trades"]] == ["-5.00", "0.00"]


def test_close_by_refuses_what_it_cannot_offset_and_changes_nothing():
    h = _ready(EURUSD={"freeze_level": 10})
    buy = h.order(side="buy")["position"]["id"]
    other_buy = h.order(side="buy")["position"]["id"]
    gbp_sell = h.order(symbol="GBPUSD", side="sell")["position"]["id"]
    sell = h.order(side="sell", tp="1.09000")["position"]["id"]
    assert h.run("close_by", 1, position_id=buy, by_position_id=other_buy)["code"] == "invalid_close_by"
    assert h.run("close_by", 1, position_id=buy, by_position_id=gbp_sell)["code"] == "invalid_close_by"
    assert h.run("close_by", 1, position_id=buy, by_position_id=buy)["code"] == "position_not_found"
    assert h.run("close_by", 1, position_id=buy, by_position_id=999)["code"] == "position_not_found"
    h.tick("EURUSD", "1.09000", "1.09010")  # the sell's TP within the freeze level: frozen
    assert h.run("close_by", 1, position_id=buy, by_position_id=sell)["code"] == "frozen"
    h.advance(31_000)  # a stale quote
    assert h.run("close_by", 1, position_id=buy, by_position_id=sell)["code"] == "stale_quote"
    assert set(h.account().positions) == {buy, other_buy, gbp_sell, sell}
