"""The feed's mode and REST targets as its state changes (time is passed in; nothing connects)."""

from decimal import Decimal as D

import pytest

from feed.client import Endpoints, RestClient
from feed.publisher import Publisher
from feed.quotes import InstrumentSpec
from feed.runner import Feed, FeedConfig

SPECS = [
    InstrumentSpec("EURUSD", "EUR/USD", 5, D("0.00008"), D("0.00002")),
    InstrumentSpec("BTCUSD", "BTC/USD", 2, D("18"), D("2")),
    InstrumentSpec("WTI", "WTI/USD", 2, D("0.03"), D("0.01")),
]


@pytest.fixture()
def feed() -> Feed:
    cfg = FeedConfig(fallback_after_s=2.0, symbols_max=2)
    ep = Endpoints("ws://127.0.0.1:1/v1/quotes/price", "http://127.0.0.1:1", "k", "marketsim")
    instance = Feed(cfg, ep, Publisher.from_url("redis://127.0.0.1:1/0"), RestClient(ep.rest_url, "k"), lambda: SPECS)
    instance._apply_instruments(SPECS)
    return instance


def test_symbols_beyond_the_websocket_limit_go_to_rest(feed):
    assert feed.ws_symbols == ["EUR/USD", "BTC/USD"] and feed.overflow == ["WTI/USD"]


def test_a_new_feed_is_down_until_the_websocket_delivers(feed):
    assert feed.compute_mode(0.0) == "down"
    feed.ws = object()  # type: ignore[assignment]
    feed._set_live("EUR/USD")
    assert feed.compute_mode(0.0) == "ws"


def test_a_short_reconnect_stays_ws_and_a_long_one_moves_to_rest(feed):
    feed.mode = "ws"
    feed.not_live_since = 100.0
    assert feed.compute_mode(101.0) == "ws"
    assert feed.rest_targets(101.0) == ["WTI/USD"]  # only the overflow while the reconnect may succeed
    assert set(feed.rest_targets(103.0)) == {"EUR/USD", "BTC/USD", "WTI/USD"}
    assert feed.compute_mode(103.0) == "down"  # nothing polled yet
    feed.rest_active_since = 102.5
    assert feed.compute_mode(103.0) == "rest-fallback"
    feed.rest_error = "server (500): Internal server error"
    assert feed.compute_mode(103.0) == "down"


def test_refused_symbols_are_polled_by_rest_while_the_websocket_is_live(feed):
    feed.ws = object()  # type: ignore[assignment]
    feed._set_live("EUR/USD")
    feed.failed["BTC/USD"] = ("not available", 50.0)
    assert feed.rest_targets(60.0) == ["BTC/USD", "WTI/USD"]
    feed.rest_failed["WTI/USD"] = ("not available with your plan", 55.0)
    assert feed.rest_targets(60.0) == ["BTC/USD"]  # REST refused it too: retried only after MD_FAILED_RETRY_S
    assert feed.rest_targets(55.0 + feed.cfg.failed_retry_s) == ["BTC/USD", "WTI/USD"]


def test_status_names_our_symbols(feed):
    feed.failed["BTC/USD"] = ("not available on the WebSocket (plan or symbol)", 0.0)
    status = feed.status(0.0)
    assert status["failed_symbols"] == ["BTCUSD"] and status["symbols"] == 3
    assert status["mode"] == "down" and status["source"] == "marketsim"
