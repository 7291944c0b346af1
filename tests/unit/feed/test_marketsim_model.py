"""The simulator's model: a deterministic walk at realistic levels, bars consistent with ticks, plans, switches."""

import itertools
import math

import pytest

from feed.marketsim import bars as barlib
from feed.marketsim.catalogue import BY_SYMBOL, lookup
from feed.marketsim.faults import Faults
from feed.marketsim.market import Market
from feed.marketsim.plans import KeyRing, msg_day, msg_minute
from feed.marketsim.pricepath import PricePath

NOW = 1_795_953_000.0  # 2026-11-29, a fixed instant: the model is a pure function of time

LEVELS = {
    "EUR/USD": (0.95, 1.25),
    "GBP/USD": (1.10, 1.45),
    "USD/JPY": (125.0, 175.0),
    "XAU/USD": (2000.0, 3300.0),
    "WTI/USD": (50.0, 105.0),
    "BTC/USD": (55_000.0, 165_000.0),
    "ETH/USD": (1_800.0, 6_500.0),
}


@pytest.mark.parametrize("symbol", sorted(LEVELS))
def test_prices_stay_near_realistic_levels(symbol):
    low, high = LEVELS[symbol]
    market = Market(42)
    sym = BY_SYMBOL[symbol]
    for t in (NOW, NOW - 86_400 * 400, NOW - 86_400 * 2000):
        assert low <= market.tick(sym, t).price <= high


def test_the_walk_is_a_pure_function_of_seed_symbol_and_time():
    a, b = PricePath(7, "EUR/USD", 1.08, 0.005), PricePath(7, "EUR/USD", 1.08, 0.005)
    assert [a.price_at(NOW + k * 0.25) for k in range(20)] == [b.price_at(NOW + k * 0.25) for k in range(20)]
    assert PricePath(8, "EUR/USD", 1.08, 0.005).price_at(NOW) != a.price_at(NOW)
    assert len({round(a.price_at(NOW + k), 7) for k in range(60)}) > 10  # it moves


def test_history_bars_meet_the_live_path_at_their_edges():
    path = PricePath(42, "BTC/USD", 95_000, 0.03)
    start = math.floor(NOW / 60) * 60 - 600
    edges = [start + 60 * k for k in range(11)]
    bars = path.bars(edges, now=NOW)
    for (e0, e1), (o, h, low, c) in zip(itertools.pairwise(edges), bars, strict=True):
        assert o == pytest.approx(path.price_at(e0), rel=1e-12)
        assert c == pytest.approx(path.price_at(min(e1, NOW)), rel=1e-12)
        assert low <= min(o, c) <= max(o, c) <= h
    for previous, nxt in itertools.pairwise(bars):
        assert previous[3] == pytest.approx(nxt[0], rel=1e-12)


def test_the_forming_bar_closes_at_the_current_price():
    market = Market(42)
    sym = BY_SYMBOL["EUR/USD"]
    newest = barlib.bar_start("1min", NOW)
    bars = market.bars(sym, "1min", newest, 3, 0, NOW)
    assert [b.start for b in bars] == [newest - 120, newest - 60, newest]
    assert bars[-1].close == pytest.approx(market.paths["EUR/USD"].price_at(NOW), rel=1e-12)
    assert bars[-1].volume is None  # spot forex has no volume, like the provider


def test_spread_and_decimals_follow_the_instrument():
    market = Market(42)
    eur, btc = BY_SYMBOL["EUR/USD"], BY_SYMBOL["BTC/USD"]
    tick = market.tick(eur, NOW)
    assert tick.bid < tick.price < tick.ask
    assert round(tick.ask - tick.bid, 5) == pytest.approx(0.00006, abs=0.000011)
    assert market.tick(btc, NOW).price == round(market.tick(btc, NOW).price, 2)


def test_week_and_month_bars_start_on_monday_and_the_first():
    assert barlib.format_datetime("1week", barlib.bar_start("1week", NOW)) == "2026-11-23"
    assert barlib.format_datetime("1month", barlib.bar_start("1month", NOW)) == "2026-11-01"
    assert barlib.next_start("1month", barlib.bar_start("1month", NOW)) == barlib.parse_date("2026-12-01")


def test_symbols_are_found_in_any_case_and_with_an_exchange_suffix():
    assert lookup("eur/usd").symbol == "EUR/USD"
    assert lookup("BTC/USD:Coinbase Pro").symbol == "BTC/USD"
    assert lookup("XCU/USD") is None


def test_credits_run_out_per_minute_and_per_day_with_the_provider_messages():
    ring = KeyRing.with_defaults({"b": "basic"})
    assert ring.charge("b", 8, 60.0) is None
    assert ring.charge("b", 1, 61.0) == (429, msg_minute(9, 8))
    assert ring.charge("b", 1, 120.0) is None  # next minute
    for minute in range(3, 101):
        assert ring.charge("b", 8, minute * 60.0) is None
    assert ring.charge("b", 8, 101 * 60.0) == (429, msg_day(801, 800))
    assert "for the day" in msg_day(801, 800) and "current minute" in msg_minute(9, 8)


def test_fault_switches_validate_their_values():
    faults = Faults()
    assert faults.update({"silence": True, "tick_rate": "10", "pause_symbols": ["eur/usd"]}) == []
    assert faults.silence and faults.tick_rate == 10.0 and faults.pause_symbols == ["EUR/USD"]
    assert sorted(faults.update({"silence": "yes", "nope": 1, "status_style": "odd", "error_http_mode": "x"})) == [
        "error_http_mode",
        "nope",
        "silence",
        "status_style",
    ]
