"""The simulated market: prices, bid/ask, sessions and bars of every catalogue symbol."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from feed.marketsim import bars as barlib
from feed.marketsim.catalogue import SYMBOLS, SimSymbol
from feed.marketsim.pricepath import ANCHOR_DAY, DAY_S, PricePath, mix64, string_key

DAILY_VOLUME = {"crypto": 25_000.0, "stock": 50_000_000.0}


def fmt(value: float, dp: int) -> str:
    """A price as the provider prints it: fixed decimals, never exponent notation."""
    return f"{value:.{dp}f}"


@dataclass(frozen=True)
class Bar:
    start: int
    open: float
    high: float
    low: float
    close: float
    volume: float | None


@dataclass(frozen=True)
class Tick:
    price: float
    bid: float
    ask: float


class Market:
    """Deterministic prices for the catalogue, seeded once per simulator."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.paths = {s.symbol: PricePath(seed, s.symbol, s.level, s.daily_vol) for s in SYMBOLS}

    def tick(self, sym: SimSymbol, t: float) -> Tick:
        """Price, bid and ask at time t, rounded to the provider's decimals."""
        mid = self.paths[sym.symbol].price_at(t)
        unit = 10.0**-sym.dp
        price = round(mid, sym.dp)
        bid = round(mid - sym.spread / 2, sym.dp)
        ask = round(mid + sym.spread / 2, sym.dp)
        if ask <= bid:
            ask = bid + unit
        return Tick(price, bid, ask)

    @staticmethod
    def is_open(sym: SimSymbol, t: float, market_hours: bool) -> bool:
        """Crypto trades 24/7; with market hours on, the rest pauses from Friday 21:00 to Sunday 21:00 UTC."""
        if not market_hours or sym.kind == "crypto":
            return True
        d = datetime.fromtimestamp(t, UTC)
        weekday, hour = d.weekday(), d.hour
        if weekday == 5:
            return False
        if weekday == 4 and hour >= 21:
            return False
        return not (weekday == 6 and hour < 21)

    def volume(self, sym: SimSymbol, start: int, length: float) -> float | None:
        base = DAILY_VOLUME.get(sym.kind)
        if base is None:
            return None
        u = (mix64(string_key(sym.symbol) ^ (start * 7919)) >> 11) / 9007199254740992.0
        return base * length / DAY_S * (0.5 + u)

    def bars(self, sym: SimSymbol, interval: str, newest_start: int, count: int, oldest: int, now: float) -> list[Bar]:
        """Up to `count` bars ending with the one that starts at newest_start (oldest first)."""
        oldest = max(oldest, ANCHOR_DAY * DAY_S)
        edges = barlib.edges_back(interval, newest_start, count, oldest)
        if len(edges) < 2 or edges[0] > now:
            return []
        ohlc = self.paths[sym.symbol].bars(edges, now)
        out: list[Bar] = []
        for (start, end), (o, h, low, c) in zip(itertools.pairwise(edges), ohlc, strict=False):
            out.append(Bar(start, o, h, low, c, self.volume(sym, start, min(end, now) - start)))
        return out

    def fifty_two_week(self, sym: SimSymbol, now: float) -> tuple[float, float]:
        """Low and high of the daily anchors over the last 365 days."""
        path = self.paths[sym.symbol]
        day = math.floor(now / DAY_S)
        logs = [path.log_at(d * DAY_S) for d in range(day - 364, day + 1)] + [path.log_at(now)]
        return math.exp(min(logs)), math.exp(max(logs))
