"""P/L and margin in the account currency, leverage caps, commission, swap and the ledger
(research/trading.md A.7–A.10, D.x 5, 6, 8)."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from engine.core.instruments import DAY_MS
from tests.unit.engine.helpers import HOUR, T0, D, Harness


def _ready(deposit: str = "100000", currency: str = "USD", **overrides) -> Harness:
    h = Harness(**overrides)
    h.quotes(
        EURUSD=("1.08490", "1.08500"),
        GBPUSD=("1.25000", "1.25010"),
        USDJPY=("150.000", "150.010"),
        XAUUSD=("2400.00", "2400.30"),
        BTCUSD=("50000.00", "50020.00"),
    )
    h.open_account(deposit=deposit, currency=currency)
    return h


def test_usdjpy_profit_is_converted_into_usd():
    """research/trading.md A.7: 0.500 × 100,000 = 50,000 JPY → ÷ 150.500 = 332.23 USD."""
    h = _ready()
    h.tick("USDJPY", "149.990", "150.000")
    position_id = h.order(symbol="USDJPY")["position"]["id"]  # open at the ask 150.000
    h.tick("USDJPY", "150.500", "150.510")
    trade = h.run("close_position", 1, position_id=position_id)["trade"]
    # A profit is converted at the rate that gives less: JPY → USD divides by the ask (150.510).
    assert trade["profit"] == "332.20"


def test_usdjpy_loss_is_converted_at_the_rate_that_costs_more():
    h = _ready()
    h.tick("USDJPY", "149.990", "150.000")
    position_id = h.order(symbol="USDJPY")["position"]["id"]
    h.tick("USDJPY", "149.500", "149.510")
    trade = h.run("close_position", 1, position_id=position_id)["trade"]
    assert trade["profit"] == "-334.45"  # -50,000 JPY ÷ 149.500 (the bid)


def test_margin_in_usd_for_eurusd_at_100_to_1():
    """research/trading.md A.8: 1 lot EURUSD at ask 1.08500, 1:100 → 1,085.00 USD."""
    h = _ready()
    position = h.order()["position"]
    assert position["margin"] == "1085.00"
    assert h.figures().margin == D("1085.00")


def test_margin_of_usdjpy_is_converted_from_yen():
    h = _ready()
    h.order(symbol="USDJPY")  # 100,000 × 150.010 / 100 JPY = 150,010 JPY → ÷ 150.000 (bid)
    assert h.figures().margin == D("1000.07")


def test_leverage_is_capped_by_the_instrument():
    h = _ready()
    h.run("set_account", 1, leverage=500)
    position = h.order(symbol="BTCUSD", volume="1")["position"]  # BTCUSD max_leverage 10
    assert position["margin"] == "5002.00"


def test_xauusd_margin_and_pl_use_the_contract_size():
    h = _ready()
    position_id = h.order(symbol="XAUUSD", volume="0.10")["position"]["id"]  # 10 oz at 2400.30
    assert h.core.positions[position_id].margin == D("240.03")
    h.tick("XAUUSD", "2401.30", "2401.60")
    # research/trading.md A.7: each 1.00 USD of price = 0.10 × 100 × 1 = 10 USD.
    assert h.run("close_position", 1, position_id=position_id)["trade"]["profit"] == "10.00"


def test_account_figures_follow_the_definitions():
    h = _ready(deposit="10000")
    h.run("balance_op", 1, op="credit", amount="500", external_id="bonus-1")
    h.order()
    h.tick("EURUSD", "1.08390", "1.08400")
    fig = h.figures()
    assert fig.floating_pl == D("-110.00")
    assert fig.equity == fig.balance + fig.credit + fig.floating_pl == D("10390.00")
    assert fig.free_margin == fig.equity - fig.margin - fig.held
    assert fig.margin_level == (fig.equity / fig.margin * 100).quantize(D("0.01"))


def test_commission_is_charged_per_lot_on_each_side():
    h = _ready(EURUSD={"commission_per_lot": D("3.00")})
    position_id = h.order(volume="2")["position"]["id"]
    assert h.account().balance == D("99994.00")
    h.run("close_position", 1, position_id=position_id, volume="1")
    h.run("close_position", 1, position_id=position_id)
    assert h.account().balance == D("99994.00") - D("6.00") - D("20.00")  # and 2 lots × 1 pip of spread
    commissions = [r.amount for r in h.core.changes.ledger if r.kind == "commission"]
    assert commissions == [D("-6.00"), D("-3.00"), D("-3.00")]
    assert h.core.changes.positions[position_id].commission == D("-12.00")


def test_commission_in_usd_is_converted_for_a_jpy_account():
    h = _ready(deposit="1000000", currency="JPY", EURUSD={"commission_per_lot": D("3.00")})
    h.order()
    # 3 USD → JPY at the ask that costs more (150.010), rounded to whole yen.
    assert h.account().balance == D("1000000") - D("450")


def test_swap_points_accrue_at_the_rollover_and_are_booked_at_close():
    h = _ready(EURUSD={"swap_long": D("-6.5")})
    h.core.on_time(h.now)  # first call records the last rollover, charging nothing
    position_id = h.order()["position"]["id"]
    h.now = T0 + 9 * HOUR  # Tuesday 21:00 UTC
    h.tick("EURUSD", "1.08490", "1.08500")
    h.core.on_time(h.now)
    position = h.core.positions[position_id]
    assert position.swap == D("-6.50")  # -6.5 × 0.00001 × 100,000
    assert h.figures().floating_pl == D("-10.00") + D("-6.50")
    balance = h.account().balance
    trade = h.run("close_position", 1, position_id=position_id)["trade"]
    assert trade["swap"] == "-6.50"
    assert h.account().balance == balance + D("-10.00") + D("-6.50")


def test_swap_is_tripled_on_the_triple_day_and_skipped_at_weekends():
    h = _ready(EURUSD={"swap_long": D("-6.5")})
    h.core.on_time(h.now)
    position_id = h.order()["position"]["id"]
    charged = []
    for day in range(7):  # Tue .. Mon rollovers
        h.now = T0 + 9 * HOUR + day * DAY_MS
        h.core.on_time(h.now)
        charged.append(h.core.positions[position_id].swap)
    steps = [charged[0]] + [b - a for a, b in itertools.pairwise(charged)]
    # Tue ×1, Wed ×3, Thu ×1, Fri ×1, Sat 0, Sun 0, Mon ×1
    assert steps == [D("-6.50"), D("-19.50"), D("-6.50"), D("-6.50"), D(0), D(0), D("-6.50")]


def test_a_missed_rollover_is_charged_once_after_a_restart():
    h = _ready(EURUSD={"swap_long": D("-6.5")})
    h.core.on_time(h.now)
    position_id = h.order()["position"]["id"]
    h.now = T0 + 9 * HOUR + DAY_MS + HOUR  # Wednesday 22:00: Tue and Wed rollovers passed
    h.tick("EURUSD", "1.08490", "1.08500")
    h.core.on_time(h.now)
    h.core.on_time(h.now)
    assert h.core.positions[position_id].swap == D("-26.00")


def test_percent_swap_on_crypto_every_day():
    h = _ready(
        BTCUSD={"swap_long": D("-3"), "swap_mode": "percent", "sessions": Harness().core.instruments["BTCUSD"].sessions}
    )
    h.core.on_time(h.now)
    position_id = h.order(symbol="BTCUSD", volume="1")["position"]["id"]
    h.now = T0 + 9 * HOUR + 4 * DAY_MS  # Saturday: crypto is charged every day
    h.tick("BTCUSD", "48000.00", "48020.00")
    h.core.on_time(h.now)
    # -3 / 100 / 360 × 48,000 × 1 × 1 = -4.00 per night, five nights
    assert h.core.positions[position_id].swap == D("-20.00")


def test_deposit_withdrawal_credit_and_correction_are_ledger_rows():
    h = _ready(deposit="1000")
    assert h.run("balance_op", 1, op="deposit", amount="250.50", external_id="d1")["ok"]
    assert h.run("balance_op", 1, op="withdrawal", amount="100", external_id="w1")["ok"]
    assert h.run("balance_op", 1, op="correction", amount="-0.50", external_id="c1")["ok"]
    assert h.run("balance_op", 1, op="credit", amount="300", external_id="b1")["ok"]
    account = h.account()
    assert (account.balance, account.credit) == (D("1150.00"), D("300.00"))
    ledger = h.core.changes.ledger
    assert sum((r.amount for r in ledger), Decimal(0)) == account.balance
    assert sum((r.credit_amount for r in ledger), Decimal(0)) == account.credit
    assert ledger[-1].balance_after == account.balance and ledger[-1].credit_after == account.credit


def test_a_repeated_external_id_changes_nothing_and_answers_the_same():
    h = _ready(deposit="1000")
    first = h.run("balance_op", 1, op="deposit", amount="100", external_id="dep-42")
    again = h.run("balance_op", 1, op="deposit", amount="100", external_id="dep-42")
    assert again["duplicate"] is True and again["ledger"] == first["ledger"]
    assert h.account().balance == D("1100.00")


def test_withdrawal_beyond_free_margin_is_insufficient_funds():
    h = _ready(deposit="2000")
    h.order()  # margin 1,085
    assert h.run("balance_op", 1, op="withdrawal", amount="1000", external_id="w")["code"] == "insufficient_funds"
    assert h.run("balance_op", 1, op="withdrawal", amount="900", external_id="w")["ok"]


def test_bad_amounts_are_invalid_requests():
    h = _ready(deposit="1000")
    for op, amount in (("deposit", "-5"), ("deposit", "0"), ("withdrawal", "1.001")):
        assert h.run("balance_op", 1, op=op, amount=amount, external_id=f"x-{amount}")["code"] == "invalid_request"


def test_credit_cannot_go_below_zero():
    h = _ready(deposit="1000")
    h.run("balance_op", 1, op="credit", amount="50", external_id="b1")
    assert h.run("balance_op", 1, op="credit", amount="-60", external_id="b2")["code"] == "insufficient_funds"
    assert h.run("balance_op", 1, op="credit", amount="-50", external_id="b3")["ok"]


def test_hold_reserves_money_and_settle_debits_it_once():
    h = _ready(deposit="1000")
    assert h.run("hold_funds", 1, hold_id="wd-1", amount="400")["ok"]
    assert h.account().held == D("400.00") and h.figures().free_margin == D("600.00")
    assert h.run("hold_funds", 1, hold_id="wd-2", amount="700")["code"] == "insufficient_funds"
    assert h.run("balance_op", 1, op="withdrawal", amount="700", external_id="w")["code"] == "insufficient_funds"
    settled = h.run("release_hold", 1, hold_id="wd-1", settle=True)
    assert settled["hold"]["status"] == "settled" and settled["ledger"]["external_id"] == "wd-1"
    assert (h.account().balance, h.account().held) == (D("600.00"), D("0.00"))
    assert h.run("release_hold", 1, hold_id="wd-1", settle=True)["duplicate"] is True
    assert h.account().balance == D("600.00")


def test_release_without_settling_gives_the_money_back():
    h = _ready(deposit="1000")
    h.run("hold_funds", 1, hold_id="wd-1", amount="400")
    assert h.run("release_hold", 1, hold_id="wd-1", settle=False)["hold"]["status"] == "released"
    assert (h.account().balance, h.account().held) == (D("1000.00"), D("0.00"))
    assert h.run("release_hold", 1, hold_id="nope", settle=False)["code"] == "hold_not_found"


def test_open_account_numbers_and_checks():
    h = Harness()
    live = h.run("open_account", 5, user_id=1, type="live")["account"]
    demo = h.run("open_account", 6, user_id=1, type="demo", initial_deposit="10000")["account"]
    assert (live["number"], demo["number"]) == ("10000005", "90000006")
    assert demo["balance"] == "10000.00" and live["balance"] == "0.00"
    assert h.run("open_account", 5, user_id=1, type="live")["code"] == "account_exists"
    assert h.run("open_account", 8, user_id=1, type="live", currency="XYZ")["code"] == "invalid_request"
    assert h.run("open_account", 9, user_id=1, type="gold")["code"] == "invalid_request"


@pytest.mark.parametrize(
    ("payload", "ok"),
    [
        ({"margin_call_level": "80", "stop_out_level": "30"}, True),
        ({"margin_call_level": "40"}, False),  # below the current stop-out 50
        ({"leverage": 0}, False),
        ({"trading_rights": "maybe"}, False),
    ],
)
def test_set_account_validates_levels_and_rights(payload, ok):
    h = _ready(deposit="1000")
    assert h.run("set_account", 1, **payload)["ok"] is ok


def test_changing_leverage_recomputes_open_margin():
    h = _ready()
    h.order()
    assert h.figures().margin == D("1085.00")
    h.run("set_account", 1, leverage=50)
    assert h.figures().margin == D("2170.00")
    assert next(iter(h.account().positions.values())).margin == D("2170.00")
