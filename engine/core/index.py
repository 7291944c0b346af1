"""Sorted price levels per symbol, so a tick touches only what it triggers.

An index answers "which entries does this price reach" with one comparison when nothing
triggers (the extreme entry is checked first) and a bisect otherwise; cost does not grow with
entries that do not trigger.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from decimal import Decimal
from heapq import heapify, heappop, heappush

from engine.core.money import INF

Level = Decimal | float  # exact prices for orders; floats for the risk watches (see engine.core.risk)
Key = tuple[Level, int]
_LOW_ID = -1
_HIGH_ID = 1 << 62


class PriceIndex:
    """Entries (price, id) that trigger when the market price reaches them from one side.

    `at_or_above=True`: an entry triggers when the price is <= its level (e.g. a buy limit at
    1.10 triggers when ask <= 1.10, i.e. for every level >= ask). `at_or_above=False`: an entry
    triggers when the price is >= its level.
    """

    __slots__ = ("at_or_above", "keys")

    def __init__(self, at_or_above: bool) -> None:
        self.at_or_above = at_or_above
        self.keys: list[Key] = []

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, price: Level, ident: int) -> None:
        insort(self.keys, (price, ident))

    def remove(self, price: Level, ident: int) -> None:
        keys = self.keys
        i = bisect_left(keys, (price, ident))
        if i < len(keys) and keys[i] == (price, ident):
            del keys[i]

    def reached(self, price: Level) -> list[int]:
        """Ids of the entries this market price reaches (not removed)."""
        keys = self.keys
        if not keys:
            return []
        if self.at_or_above:
            if keys[-1][0] < price:
                return []
            return [ident for _, ident in keys[bisect_left(keys, (price, _LOW_ID)) :]]
        if keys[0][0] > price:
            return []
        return [ident for _, ident in keys[: bisect_right(keys, (price, _HIGH_ID))]]


class WatchIndex:
    """Margin watches of one symbol and direction: at most one level per account, re-placed often.

    Every order re-arms its account's watches, so placing and dropping one must be cheap: a heap
    with the extreme level on top, and a dict of each account's current level. Dropping a watch
    only forgets it in the dict (its heap entry turns stale and is skipped when it comes to the
    top); the heap is rebuilt when stale entries outnumber the live ones. A price that reaches
    nothing costs one comparison, as in PriceIndex. `reached` takes the watches it returns out of
    the index: the caller re-evaluates those accounts, which places their watches again.
    """

    __slots__ = ("at_or_above", "heap", "live")

    def __init__(self, at_or_above: bool) -> None:
        self.at_or_above = at_or_above
        self.heap: list[tuple[float, int]] = []  # (level, or -level when at_or_above, account id)
        self.live: dict[int, float] = {}

    def add(self, level: float, ident: int) -> None:
        """Place (or move) the account's watch."""
        live = self.live
        live[ident] = level
        heap = self.heap
        heappush(heap, (-level, ident) if self.at_or_above else (level, ident))
        if len(heap) > 2 * len(live) + 64:
            sign = -1.0 if self.at_or_above else 1.0
            self.heap = [(sign * v, i) for i, v in live.items()]
            heapify(self.heap)

    def remove(self, level: float, ident: int) -> None:
        if self.live.get(ident) == level:
            del self.live[ident]

    def reached(self, price: float) -> list[int]:
        """Accounts whose watch this price reaches, taken out of the index."""
        heap, live, above = self.heap, self.live, self.at_or_above
        out: list[int] = []
        while heap:
            key, ident = heap[0]
            level = -key if above else key
            if (level < price) if above else (level > price):
                break
            heappop(heap)
            if live.get(ident) == level:
                del live[ident]
                out.append(ident)
        return out


def always_reached(at_or_above: bool) -> Decimal:
    """A level that every price reaches (used to re-check a distressed account on each tick)."""
    return INF if at_or_above else -INF
