"""The provider's quirks: error envelopes, handshake auth failures, subscribe-status shapes, the key."""

import json
from decimal import Decimal as D

import pytest

from config import from_env
from feed.client import (
    Endpoints,
    TwelveDataError,
    classify,
    endpoints,
    error_from_body,
    handshake_auth_failure,
    parse_message,
    status_symbols,
    subscribe_message,
)


@pytest.mark.parametrize(
    ("code", "message", "kind"),
    [
        (401, "**apikey** parameter is incorrect or not specified.", "auth"),
        (403, "**symbol** WTI/USD is not available with your plan.", "plan"),
        (404, "**symbol** EUR is not available with your plan...", "plan"),
        (404, "**symbol** or **figi** parameter is missing or invalid.", "not_found"),
        (400, "No data is available on the specified dates.", "bad_request"),
        (414, "Input parameter array exceeds the allowed length", "bad_request"),
        (429, "You have run out of API credits for the current minute. 9 API credits were used", "rate_minute"),
        (429, "You have run out of API credits for the day. 800 API credits were used", "rate_day"),
        (500, "Internal server error", "server"),
        (502, "Bad gateway", "server"),
    ],
)
def test_errors_are_classified_by_code_then_text(code, message, kind):
    assert classify(code, message) == kind


def test_the_body_code_wins_over_an_http_200():
    error = error_from_body(
        {"code": 429, "message": "You have run out of API credits for the day.", "status": "error"}, 200
    )
    assert (error.kind, error.code) == ("rate_day", 429)
    assert error.retryable


def test_error_text_never_carries_a_key():
    error = TwelveDataError("server", 500, "failed for https://api.twelvedata.com/price?apikey=SECRET123&symbol=X")
    assert "SECRET123" not in str(error) and "SECRET123" not in error.message


@pytest.mark.parametrize(
    ("status", "body", "fatal"),
    [
        (200, '{"code":401,"message":"**apikey** parameter is incorrect or not specified.","status":"error"}', True),
        (401, "", True),
        (403, "Forbidden", True),
        (400, "Invalid API key", True),
        (503, "Service Unavailable", False),
        (429, "too many requests", False),
        (500, '{"code":500,"message":"Internal server error","status":"error"}', False),
        (404, "Not Found", False),
    ],
)
def test_handshake_refusals_are_fatal_only_when_they_mean_a_bad_key(status, body, fatal):
    assert (handshake_auth_failure(status, body.encode()) is not None) is fatal


@pytest.mark.parametrize(
    ("items", "symbols"),
    [
        (None, []),
        ([], []),
        ([{"symbol": "EUR/USD", "exchange": "PHYSICAL CURRENCY", "type": "PHYSICAL_CURRENCY"}], ["EUR/USD"]),
        ([{"symbol": "BTC"}, "GBP/USD", 7, {"no": "symbol"}], ["BTC", "GBP/USD"]),
        ("EUR/USD", []),
    ],
)
def test_subscribe_status_lists_may_be_null_absent_objects_or_strings(items, symbols):
    assert status_symbols(items) == symbols


def test_one_subscribe_message_carries_every_symbol():
    message = json.loads(subscribe_message(["EUR/USD", "BTC/USD", "XAU/USD"]))
    assert message == {"action": "subscribe", "params": {"symbols": "EUR/USD,BTC/USD,XAU/USD"}}


def test_frames_parse_numbers_as_decimal_and_refuse_non_objects():
    assert parse_message('{"price": 0.1}')["price"] == D("0.1")
    for bad in ("[]", '"x"', "1", "{bad"):
        with pytest.raises(ValueError):
            parse_message(bad)


def test_without_a_key_the_feed_uses_the_local_simulator():
    ep = endpoints(from_env({"MARKETSIM_PORT": "9911"}))
    assert ep.ws_url == "ws://127.0.0.1:9911/v1/quotes/price"
    assert ep.rest_url == "http://127.0.0.1:9911"
    assert (ep.api_key, ep.source) == ("marketsim", "marketsim")


def test_with_a_key_the_feed_uses_twelve_data_and_logs_the_url_redacted():
    ep = endpoints(from_env({"TWELVEDATA_API_KEY": "k-123-secret"}))
    assert ep.source == "twelvedata"
    assert ep.ws_url_with_key() == "wss://ws.twelvedata.com/v1/quotes/price?apikey=k-123-secret"
    assert "k-123-secret" not in ep.ws_url_for_logs()
    assert Endpoints("ws://h/p?x=1", "http://h", "k", "twelvedata").ws_url_with_key() == "ws://h/p?x=1&apikey=k"
