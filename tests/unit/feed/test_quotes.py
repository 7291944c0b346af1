"""Provider prices become client quotes: Decimal only, spread synthesis, markup, quote time."""

import json
from decimal import Decimal as D

import pytest

from feed.client import parse_message
from feed.quotes import BadTick, InstrumentSpec, client_prices, from_price_event, from_rest_quote, quote_time

EURUSD = InstrumentSpec("EURUSD", "EUR/USD", 5, D("0.00008"), D("0.00002"))
BTCUSD = InstrumentSpec("BTCUSD", "BTC/USD", 2, D("18.00"), D("2.00"))
XAUUSD = InstrumentSpec("XAUUSD", "XAU/USD", 2, D("0.25"), D("0.05"))
NO_MARKUP = InstrumentSpec("EURUSD", "EUR/USD", 5, D("0.00008"), D("0"))


def test_missing_bid_ask_are_synthesised_from_the_spread_rounded_outwards():
    bid, ask = client_prices(NO_MARKUP, D("1.081234"), None, None)
    # mid - 0.00004 = 1.081194 -> down to 1.08119; mid + 0.00004 = 1.081274 -> up to 1.08128
    assert (bid, ask) == (D("1.08119"), D("1.08128"))


def test_equal_bid_and_ask_count_as_missing():
    bid, ask = client_prices(BTCUSD, D("95000.00"), D("95000.00"), D("95000.00"))
    assert ask - bid == D("20.00")  # 18 spread + 2 markup
    assert (bid, ask) == (D("94990.00"), D("95010.00"))


def test_crossed_bid_and_ask_are_replaced_by_the_synthesised_quote():
    bid, ask = client_prices(NO_MARKUP, D("1.08000"), D("1.08010"), D("1.07990"))
    assert bid < ask
    assert (bid, ask) == (D("1.07996"), D("1.08004"))


def test_real_bid_ask_keep_their_spread_and_get_the_markup():
    bid, ask = client_prices(EURUSD, D("1.08005"), D("1.08001"), D("1.08009"))
    assert (bid, ask) == (D("1.08000"), D("1.08010"))


def test_markup_widens_by_exactly_the_markup_even_when_half_is_not_representable():
    # XAU markup 0.05 at 2 digits: 0.02 below, 0.03 above, never 0.06 in total
    bid, ask = client_prices(XAUUSD, D("2600.00"), D("2599.90"), D("2600.10"))
    assert (bid, ask) == (D("2599.88"), D("2600.13"))
    assert (ask - bid) - (D("2600.10") - D("2599.90")) == D("0.05")


def test_real_bid_ask_with_more_decimals_are_rounded_outwards():
    bid, ask = client_prices(NO_MARKUP, None, D("1.0800049"), D("1.0800951"))
    assert (bid, ask) == (D("1.08000"), D("1.08010"))


def test_a_zero_spread_instrument_still_quotes_one_point_apart():
    spec = InstrumentSpec("X", "X/USD", 2, D("0"), D("0"))
    assert client_prices(spec, D("10.00"), None, None) == (D("10.00"), D("10.01"))


def test_price_event_numbers_stay_decimal_from_the_json_text():
    raw = '{"event":"price","symbol":"EUR/USD","timestamp":1700000000,"price":1.081234,"bid":1.08119,"ask":1.08127}'
    event = parse_message(raw)
    assert isinstance(event["price"], D) and event["price"] == D("1.081234")
    quote = from_price_event(EURUSD, event, 1700000000500)
    assert (quote.bid, quote.ask) == (D("1.08118"), D("1.08128"))
    assert quote.ts == 1700000000500


@pytest.mark.parametrize(
    "event",
    [
        {"event": "price", "symbol": "EUR/USD"},
        {"event": "price", "symbol": "EUR/USD", "price": "abc"},
        {"event": "price", "symbol": "EUR/USD", "price": D("-1")},
        {"event": "price", "symbol": "EUR/USD", "price": D("0")},
        {"event": "price", "symbol": "EUR/USD", "price": True},
        {"event": "price", "symbol": "EUR/USD", "price": 1.08},  # a float means the JSON was parsed wrongly
        {"event": "price", "symbol": "EUR/USD", "price": D("NaN")},
    ],
)
def test_unusable_prices_are_refused(event):
    with pytest.raises(BadTick):
        from_price_event(EURUSD, event, 1700000000000)


def test_quote_json_and_stream_fields_carry_decimal_strings_and_ms():
    event = parse_message('{"symbol":"EUR/USD","price":1.08,"timestamp":1700000000}')
    quote = from_price_event(EURUSD, event, 1700000000123)
    assert json.loads(quote.to_json()) == {"symbol": "EURUSD", "bid": "1.07995", "ask": "1.08005", "ts": 1700000000123}
    assert quote.to_fields() == {"symbol": "EURUSD", "bid": "1.07995", "ask": "1.08005", "ts": "1700000000123"}


def test_quote_time_is_the_receive_time_unless_the_provider_says_the_price_is_old():
    received = 1_700_000_010_000
    assert quote_time(1_700_000_009, received) == received  # 1 s old: live
    assert quote_time(1_699_990_000, received) == 1_699_990_000_000  # 10 000 s old: keep its age
    assert quote_time(None, received) == received
    assert quote_time("soon", received) == received
    assert quote_time(1_800_000_000, received) == received  # from the future: not trusted


def test_rest_quote_uses_close_and_last_quote_at():
    body = {"symbol": "BTC/USD", "close": "95000.00", "last_quote_at": 1_700_000_000}
    quote = from_rest_quote(BTCUSD, body, 1_700_000_100_000)
    assert (quote.bid, quote.ask) == (D("94990.00"), D("95010.00"))
    assert quote.ts == 1_700_000_000_000  # the provider's price is 100 s old: the quote says so


def test_rest_price_answer_is_accepted():
    quote = from_rest_quote(BTCUSD, {"price": "100.00"}, 5_000)
    assert (quote.bid, quote.ask, quote.ts) == (D("90.00"), D("110.00"), 5_000)
