"""Candles: our interval names, the provider's /time_series answer as bars, and their JSON."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from feed.quotes import to_decimal

# our interval -> (provider interval, seconds)
INTERVALS: dict[str, tuple[str, int]] = {
    "1m": ("1min", 60),
    "5m": ("5min", 300),
    "15m": ("15min", 900),
    "30m": ("30min", 1800),
    "1h": ("1h", 3600),
    "4h": ("4h", 14400),
    "1d": ("1day", 86400),
    "1w": ("1week", 604800),
}
MAX_LIMIT = 5000


@dataclass(frozen=True)
class Bar:
    """One OHLCV bar; t is the bar's start in epoch seconds (UTC)."""

    t: int
    o: Decimal
    h: Decimal
    low: Decimal
    c: Decimal
    v: Decimal

    def json(self) -> str:
        """The bar as the API's JSON object (decimal strings), built once and cached by callers."""
        return (
            f'{{"t":{self.t},"o":"{_text(self.o)}","h":"{_text(self.h)}","l":"{_text(self.low)}",'
            f'"c":"{_text(self.c)}","v":"{_text(self.v)}"}}'
        )


def _text(value: Decimal) -> str:
    return format(value, "f")


def quantize(value: Decimal, digits: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)


def normalise_volume(value: Decimal) -> Decimal:
    """Drop trailing zeros (NUMERIC(28,4) adds them) without switching to exponent notation."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def parse_datetime(text: str) -> int | None:
    """The provider's datetime (UTC requested): `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD` to epoch seconds."""
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return calendar.timegm(datetime.strptime(text.strip(), fmt).timetuple())
        except ValueError:
            continue
    return None


def bars_from_time_series(body: dict[str, Any], digits: int) -> list[Bar]:
    """Bars of a /time_series answer, oldest first; rows that cannot be read are skipped."""
    out: dict[int, Bar] = {}
    for row in body.get("values") or []:
        if not isinstance(row, dict):
            continue
        t = parse_datetime(str(row.get("datetime", "")))
        prices = [to_decimal(row.get(k)) for k in ("open", "high", "low", "close")]
        if t is None or any(p is None for p in prices):
            continue
        o, h, low, c = (quantize(p, digits) for p in prices if p is not None)
        volume = to_decimal(row.get("volume")) or Decimal(0)
        out[t] = Bar(t, o, max(h, o, c), min(low, o, c), c, normalise_volume(volume))
    return [out[t] for t in sorted(out)]


def is_forming(bar_t: int, interval_s: int, now: float) -> bool:
    """The newest bar of a provider answer is still forming until its period ends."""
    return bar_t + interval_s > now
