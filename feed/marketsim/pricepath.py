"""A deterministic random walk per symbol: the price at any instant is a pure function of (seed, symbol, time).

Day anchors follow a mean-reverting (Ornstein-Uhlenbeck) walk of the log price from 2015-01-01.
Inside a day the path is a Brownian bridge between two anchors, refined by dyadic midpoints down
to 1/2^20 of a day (about 0.08 s). A coarse point never changes when finer points are added, so
history bars and the live ticks lie on the same path, and a restart replays the same prices.

This is a stochastic model, so it computes in binary floating point; the simulator rounds every
price to the provider's decimal places before it leaves the process, as the provider does.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Sequence

DAY_S = 86_400
ANCHOR_DAY = 16_436  # 2015-01-01, in days since the Unix epoch: no history before it
LEVEL_MAX = 20  # finest grid: a day split into 2^20 steps
MEMO_LEVEL = 12  # whole-day grids up to this level are kept in memory
MEMO_SIZE = 512
MASK = (1 << 64) - 1
TWO_PI = 2.0 * math.pi
SAMPLES_PER_BAR = 8


def mix64(x: int) -> int:
    """splitmix64 finaliser: a fast, well-spread 64-bit hash."""
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def string_key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def grid_step(level: int) -> float:
    """Seconds between two points of the grid of `level`."""
    return DAY_S / (1 << level)


class PricePath:
    """The log-price path of one symbol."""

    def __init__(self, seed: int, symbol: str, level: float, daily_vol: float, reversion: float = 0.02) -> None:
        self.salt = mix64((seed * 0x100000001B3) ^ string_key(symbol))
        self.mu = math.log(level)
        self.vol = daily_vol
        self.theta = reversion
        self._anchors: list[float] = [self.mu]
        self._memo: OrderedDict[tuple[int, int], list[float]] = OrderedDict()
        # conditional std-dev of a midpoint at each level (time measured in days)
        self._sd = [daily_vol * math.sqrt(1.0 / (1 << (lv + 1))) for lv in range(LEVEL_MAX + 1)]

    # --- building blocks ----------------------------------------------------------------------

    def _normal(self, key: int) -> float:
        h1 = mix64(self.salt ^ key)
        h2 = mix64(h1)
        u1 = ((h1 >> 11) + 1) / 9007199254740993.0  # in (0, 1]
        u2 = (h2 >> 11) / 9007199254740992.0
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(TWO_PI * u2)

    def _anchor(self, day: int) -> float:
        """Log price at 00:00 UTC of `day` (days since the epoch)."""
        n = max(day - ANCHOR_DAY, 0)
        anchors = self._anchors
        while len(anchors) <= n:
            k = len(anchors)
            x = anchors[-1]
            anchors.append(x + self.theta * (self.mu - x) + self.vol * self._normal(k << 48))
        return anchors[n]

    def _day_grid(self, day: int, level: int) -> list[float]:
        """All points of a day at a coarse level (memoised)."""
        key = (day, level)
        cached = self._memo.get(key)
        if cached is not None:
            self._memo.move_to_end(key)
            return cached
        if level == 0:
            values = [self._anchor(day), self._anchor(day + 1)]
        else:
            values = self._refine(day, level, 0, 1 << level, self._day_grid(day, level - 1), 0)
        self._memo[key] = values
        if len(self._memo) > MEMO_SIZE:
            self._memo.popitem(last=False)
        return values

    def _refine(self, day: int, level: int, a: int, b: int, parent: Sequence[float], pa: int) -> list[float]:
        """Points a..b of `level` from the parent level's points starting at index pa."""
        sd = self._sd[level]
        base = (day << 26) | (level << 21)
        out: list[float] = []
        append = out.append
        for i in range(a, b + 1):
            j = (i >> 1) - pa
            if i & 1:
                append((parent[j] + parent[j + 1]) * 0.5 + sd * self._normal(base | i))
            else:
                append(parent[j])
        return out

    def _range(self, day: int, level: int, a: int, b: int) -> list[float]:
        """Log prices at points a..b (inclusive) of the grid of `level` inside `day`."""
        if level == 0:
            return [self._anchor(day), self._anchor(day + 1)][a : b + 1]
        if level <= MEMO_LEVEL:
            cached = self._memo.get((day, level))
            if cached is not None or (b - a + 1) * 8 >= (1 << level):
                return (cached or self._day_grid(day, level))[a : b + 1]
        pa, pb = a >> 1, (b + 1) >> 1
        parent = self._range(day, level - 1, pa, pb)
        return self._refine(day, level, a, b, parent, pa)

    # --- public API ---------------------------------------------------------------------------

    def log_at(self, t: float) -> float:
        """Log price at epoch time t (the finest grid point at or before t)."""
        day = math.floor(t / DAY_S)
        index = min(int((t - day * DAY_S) / grid_step(LEVEL_MAX)), (1 << LEVEL_MAX) - 1)
        if index == 0:
            return self._anchor(day)
        # a point that lies on a coarser grid is that grid's point: far less work for bar edges
        zeros = (index & -index).bit_length() - 1
        return self._range(day, LEVEL_MAX - zeros, index >> zeros, index >> zeros)[0]

    def price_at(self, t: float) -> float:
        return math.exp(self.log_at(t))

    def samples(self, t0: float, t1: float, level: int) -> tuple[list[float], list[float]]:
        """Times and log prices of the grid points of `level` inside [t0, t1]."""
        step = grid_step(level)
        times: list[float] = []
        values: list[float] = []
        day = math.floor(t0 / DAY_S)
        while day * DAY_S <= t1:
            start = day * DAY_S
            a = max(0, math.ceil((t0 - start) / step))
            b = min(1 << level, math.floor((t1 - start) / step))
            if b == 1 << level:
                b -= 1  # the day's end point is the next day's first
            if a <= b:
                values.extend(self._range(day, level, a, b))
                times.extend(start + i * step for i in range(a, b + 1))
            day += 1
        return times, values

    def bars(self, edges: Sequence[float], now: float) -> list[tuple[float, float, float, float]]:
        """OHLC (prices) of the bars between consecutive edges; the last one may still be forming."""
        if len(edges) < 2:
            return []
        shortest = min(e1 - e0 for e0, e1 in itertools.pairwise(edges))
        level = max(0, min(LEVEL_MAX, math.ceil(math.log2(DAY_S * SAMPLES_PER_BAR / shortest))))
        end = min(edges[-1], now)
        times, values = self.samples(edges[0], end, level)
        out: list[tuple[float, float, float, float]] = []
        for e0, e1 in itertools.pairwise(edges):
            if e0 > now:
                break
            # a finished bar closes at the next bar's open, as in a continuous market
            close_t = min(e1, now)
            o = self.log_at(e0)
            c = self.log_at(close_t)
            lo_i, hi_i = bisect_left(times, e0), bisect_right(times, close_t)
            inside = values[lo_i:hi_i]
            h = max(o, c, *inside) if inside else max(o, c)
            low = min(o, c, *inside) if inside else min(o, c)
            out.append((math.exp(o), math.exp(h), math.exp(low), math.exp(c)))
        return out
