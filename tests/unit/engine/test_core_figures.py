"""Live account figures (the `account` event): each position's price, P/L and swap.

The views of a symbol's positions are remembered with what they were computed from; these tests
compare every payload with one computed cold (nothing remembered) after each kind of change that
moves a position's figures: a tick, a tick of the conversion symbol, an order, a partial close, a
swap charge.
"""

from __future__ import annotations

from typing import Any

from tests.unit.engine.helpers import HOUR, T0, D, Harness


def _payload(h: Harness) -> dict[str, Any]:
    account = h.account()
    return h.core.figures_payload(account, h.figures(), h.now)


def _cold(h: Harness) -> dict[str, Any]:
    for exposure in h.account().exposures.values():
        exposure.views = None
    return _payload(h)


def _positions(h: Harness) -> dict[str, dict[str, Any]]:
    payload = _payload(h)
    assert payload == _cold(h)
    return payload["positions"]


def _ready(currency: str = "USD") -> Harness:
    h = Harness(EURUSD={"swap_long": D("-6.5")})
    h.quotes(EURUSD=("1.08490", "1.08500"), USDJPY=("150.000", "150.010"))
    h.open_account(deposit="10000000", currency=currency)
    h.core.on_time(h.now)  # the first call records the last rollover
    return h


def test_each_change_of_a_positions_inputs_shows_in_its_view() -> None:
    h = _ready()
    eur = str(h.order(volume="1")["position"]["id"])
    jpy = str(h.order(symbol="USDJPY", side="sell", volume="1")["position"]["id"])
    first = _positions(h)
    assert first[eur] == {"price": "1.08490", "pl": "-10.00", "swap": "0.00"}
    assert _positions(h) == first  # nothing moved: the same figures

    hedge = str(h.order(side="sell", volume="0.5")["position"]["id"])  # same symbol, same quote objects
    grown = _positions(h)
    assert set(grown) == {eur, jpy, hedge} and grown[hedge] == {"price": "1.08500", "pl": "-5.00", "swap": "0.00"}
    h.run("close_position", 1, position_id=int(hedge))
    assert set(_positions(h)) == {eur, jpy}

    h.tick("EURUSD", "1.08590", "1.08600")
    moved = _positions(h)
    assert moved[eur] == {"price": "1.08590", "pl": "90.00", "swap": "0.00"}
    assert moved[jpy] == first[jpy]

    h.tick("USDJPY", "151.000", "151.010")  # the JPY P/L and its conversion rate both move
    converted = _positions(h)
    assert converted[jpy]["price"] == "151.010"
    assert converted[jpy]["pl"] != first[jpy]["pl"]

    h.run("close_position", 1, position_id=int(eur), volume="0.4")
    assert _positions(h)[eur]["pl"] == "54.00"  # 0.6 lot left

    h.now = T0 + 9 * HOUR  # the Tuesday rollover charges swap (no quote moves)
    h.core.on_time(h.now)
    assert _positions(h)[eur]["swap"] == "-3.90"  # -6.5 points × 0.6 lot


def test_a_move_of_the_conversion_rate_alone_shows_in_the_pl() -> None:
    h = _ready(currency="JPY")
    eur = str(h.order(volume="1")["position"]["id"])
    before = _positions(h)[eur]
    h.tick("USDJPY", "160.000", "160.010")  # EURUSD stands still; its USD P/L is worth more yen
    after = _positions(h)[eur]
    assert after["price"] == before["price"] == "1.08490"
    assert (D(before["pl"]), D(after["pl"])) == (D("-1500"), D("-1600"))  # -10 USD at the ask


def test_a_symbol_without_a_quote_shows_no_price_and_no_pl() -> None:
    h = _ready()
    eur = str(h.order(volume="1")["position"]["id"])
    assert _positions(h)[eur]["pl"] == "-10.00"
    del h.core.quotes.quotes["EURUSD"]
    assert _positions(h)[eur] == {"price": None, "pl": None, "swap": "0.00"}


def _figures_cold(h: Harness) -> Any:
    for exposure in h.account().exposures.values():
        exposure._at = None  # what pl_quote() remembered
    return h.figures()


def test_account_figures_equal_figures_computed_cold_after_every_change() -> None:
    """An exposure remembers its last P/L with the price objects it was computed at; any change of
    volume (an order, a partial close, a hedge) or of the quote must show in the figures."""
    h = _ready()
    seen = [h.figures()]
    h.order(volume="1")
    seen.append(h.figures())  # the same quote objects, one more position
    assert seen[-1] == _figures_cold(h) and seen[-1].floating_pl == D("-10.00")
    h.order(volume="2", side="sell")
    assert h.figures() == _figures_cold(h) and h.figures().floating_pl == D("-30.00")
    h.run("close_position", 1, position_id=1, volume="0.5")
    assert h.figures() == _figures_cold(h)
    h.tick("EURUSD", "1.08590", "1.08600")
    # 0.5 lot long from 1.08500 at 1.08590 (+45), 2 lots short from 1.08490 at 1.08600 (-220)
    assert h.figures() == _figures_cold(h) and h.figures().floating_pl == D("-175.00")
    assert seen[0].floating_pl == D("0.00")


def test_the_invariant_check_finds_an_exposure_that_lost_or_misfiled_a_position() -> None:
    """The per-symbol position lists feed the live views; core.check guards them."""
    import pytest

    from engine.core.context import InvariantError

    h = _ready()
    eur = h.order(volume="1")["position"]["id"]
    h.order(symbol="USDJPY", volume="1")
    account = h.account()
    h.core.check(account)
    position = account.exposures["EURUSD"].positions.pop(eur)
    with pytest.raises(InvariantError):
        h.core.check(account, full=False)
    account.exposures["EURUSD"].positions[eur] = position
    jpy_exposure = account.exposures["USDJPY"]
    jpy_id, jpy_position = next(iter(jpy_exposure.positions.items()))
    del jpy_exposure.positions[jpy_id]
    jpy_exposure.positions[eur] = position  # filed under the wrong symbol
    with pytest.raises(InvariantError):
        h.core.check(account)
    del jpy_exposure.positions[eur]
    jpy_exposure.positions[jpy_id] = jpy_position
    h.core.check(account)
