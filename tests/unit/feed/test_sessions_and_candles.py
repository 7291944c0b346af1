"""Trading sessions, and the provider's /time_series answer turned into bars."""

from datetime import UTC, datetime
from decimal import Decimal as D

from feed.candles import Bar, bars_from_time_series, is_forming, normalise_volume, parse_datetime
from feed.sessions import is_open
from web.seed_data import ALWAYS, FX_SESSIONS


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_forex_opens_sunday_22_and_closes_friday_21_utc():
    assert not is_open(FX_SESSIONS, _at("2026-11-29 21:59"))  # Sunday
    assert is_open(FX_SESSIONS, _at("2026-11-29 22:00"))
    assert is_open(FX_SESSIONS, _at("2026-12-02 23:59"))  # Wednesday, the 24:00 end
    assert is_open(FX_SESSIONS, _at("2026-12-04 20:59"))  # Friday
    assert not is_open(FX_SESSIONS, _at("2026-12-04 21:00"))
    assert not is_open(FX_SESSIONS, _at("2026-12-05 12:00"))  # Saturday


def test_crypto_is_always_open_and_no_sessions_means_always_open():
    assert is_open(ALWAYS, _at("2026-12-05 03:00"))
    assert is_open({}, _at("2026-12-05 03:00"))
    assert not is_open({"sat": [["bad"]]}, _at("2026-12-05 03:00"))


def test_time_series_rows_become_bars_oldest_first_with_exact_decimals():
    body = {
        "meta": {"symbol": "EUR/USD", "interval": "1min"},
        "values": [
            {
                "datetime": "2026-11-29 11:47:00",
                "open": "1.06460",
                "high": "1.06473",
                "low": "1.06456",
                "close": "1.06473",
            },
            {
                "datetime": "2026-11-29 11:46:00",
                "open": "1.06459",
                "high": "1.06460",
                "low": "1.06437",
                "close": "1.0646",
            },
            {"datetime": "garbage", "open": "1", "high": "1", "low": "1", "close": "1"},
            {"datetime": "2026-11-29 11:45:00", "open": "x", "high": "1", "low": "1", "close": "1"},
        ],
        "status": "ok",
    }
    bars = bars_from_time_series(body, 5)
    assert [b.t for b in bars] == [parse_datetime("2026-11-29 11:46:00"), parse_datetime("2026-11-29 11:47:00")]
    assert bars[0] == Bar(bars[0].t, D("1.06459"), D("1.06460"), D("1.06437"), D("1.06460"), D("0"))
    assert bars[1].json() == (f'{{"t":{bars[1].t},"o":"1.06460","h":"1.06473","l":"1.06456","c":"1.06473","v":"0"}}')


def test_daily_dates_and_crypto_volume_are_read():
    body = {
        "values": [
            {"datetime": "2026-11-23", "open": "100", "high": "90", "low": "95", "close": "99", "volume": "12.50"}
        ]
    }
    (bar,) = bars_from_time_series(body, 2)
    assert bar.t == parse_datetime("2026-11-23 00:00:00")
    assert (bar.h, bar.low) == (D("100.00"), D("95.00"))  # a high below the open is repaired
    assert bar.v == D("12.5")


def test_the_newest_bar_forms_until_its_period_ends():
    assert is_forming(1_000_020, 60, 1_000_079.9)
    assert not is_forming(1_000_020, 60, 1_000_080)


def test_volumes_lose_column_padding_without_exponents():
    assert str(normalise_volume(D("1200.0000"))) == "1200"
    assert str(normalise_volume(D("0.5000"))) == "0.5"
