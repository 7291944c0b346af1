"""Sorted price levels per symbol, so a tick touches only what it triggers.

An index answers "which entries does this price reach" with one comparison when nothing
triggers (the extreme entry is checked first) and a bisect otherwise; cost does not grow with
entries that do not trigger.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from decimal import Decimal

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


def always_reached(at_or_above: bool) -> Decimal:
    """A level that every price reaches (used to re-check a distressed account on each tick)."""
    return INF if at_or_above else -INF
