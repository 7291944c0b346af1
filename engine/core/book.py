"""Per-symbol trigger indexes: pending orders, SL/TP levels and margin watches."""

from __future__ import annotations

from decimal import Decimal

from engine.core.entities import BUY, Order, Position
from engine.core.index import PriceIndex, WatchIndex


class SymbolBook:
    """Everything a tick on one symbol may trigger, indexed by price level.

    Buys compare with the ask, sells with the bid; SL/TP of a long with the bid, of a short with
    the ask (research/trading.md §A.1).
    """

    __slots__ = (
        "buy_limit",
        "buy_stop",
        "holders",
        "long_sl",
        "long_tp",
        "sell_limit",
        "sell_stop",
        "short_sl",
        "short_tp",
        "watch_down",
        "watch_up",
    )

    def __init__(self) -> None:
        self.buy_limit = PriceIndex(at_or_above=True)  # ask <= level
        self.buy_stop = PriceIndex(at_or_above=False)  # ask >= level
        self.sell_limit = PriceIndex(at_or_above=False)  # bid >= level
        self.sell_stop = PriceIndex(at_or_above=True)  # bid <= level
        self.long_sl = PriceIndex(at_or_above=True)  # bid <= sl
        self.long_tp = PriceIndex(at_or_above=False)  # bid >= tp
        self.short_sl = PriceIndex(at_or_above=False)  # ask >= sl
        self.short_tp = PriceIndex(at_or_above=True)  # ask <= tp
        self.watch_down = WatchIndex(at_or_above=True)  # bid <= threshold
        self.watch_up = WatchIndex(at_or_above=False)  # ask >= threshold
        self.holders: dict[int, int] = {}  # account id -> open positions on this symbol

    def _order_index(self, order: Order) -> PriceIndex:
        if order.side == BUY:
            return self.buy_limit if order.acts_as_limit else self.buy_stop
        return self.sell_limit if order.acts_as_limit else self.sell_stop

    def add_order(self, order: Order) -> None:
        self._order_index(order).add(order.trigger_price, order.id)

    def remove_order(self, order: Order) -> None:
        self._order_index(order).remove(order.trigger_price, order.id)

    def triggered_orders(self, bid: Decimal, ask: Decimal) -> list[int]:
        ids = (
            self.buy_limit.reached(ask)
            + self.buy_stop.reached(ask)
            + self.sell_limit.reached(bid)
            + self.sell_stop.reached(bid)
        )
        return sorted(set(ids)) if ids else ids

    def add_stops(self, position: Position) -> None:
        sl_index, tp_index = (self.long_sl, self.long_tp) if position.side == BUY else (self.short_sl, self.short_tp)
        if position.sl is not None:
            sl_index.add(position.sl, position.id)
        if position.tp is not None:
            tp_index.add(position.tp, position.id)

    def remove_stops(self, position: Position) -> None:
        sl_index, tp_index = (self.long_sl, self.long_tp) if position.side == BUY else (self.short_sl, self.short_tp)
        if position.sl is not None:
            sl_index.remove(position.sl, position.id)
        if position.tp is not None:
            tp_index.remove(position.tp, position.id)

    def triggered_stops(self, bid: Decimal, ask: Decimal) -> list[int]:
        ids = (
            self.long_sl.reached(bid)
            + self.long_tp.reached(bid)
            + self.short_sl.reached(ask)
            + self.short_tp.reached(ask)
        )
        return sorted(set(ids)) if ids else ids

    def triggered_watches(self, bid: Decimal, ask: Decimal) -> list[int]:
        # Watch levels are floats (engine.core.risk): compare like with like. Rounding to float is
        # monotonic, so a price that reaches a level exactly still reaches it. The watches
        # returned are taken out: the caller re-evaluates these accounts, which re-arms them.
        ids = self.watch_down.reached(float(bid)) + self.watch_up.reached(float(ask))
        return sorted(set(ids)) if ids else ids

    def add_holder(self, account_id: int) -> None:
        self.holders[account_id] = self.holders.get(account_id, 0) + 1

    def remove_holder(self, account_id: int) -> None:
        left = self.holders.get(account_id, 0) - 1
        if left > 0:
            self.holders[account_id] = left
        else:
            self.holders.pop(account_id, None)
