"""Last quotes per symbol and currency conversion at the current rates.

Conversion is deliberately unfavourable to the client, as MT5 does: a profit is converted at the
side of the conversion pair that gives less, a loss (or a cost such as margin) at the side that
costs more.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engine.core.instruments import Instrument
from engine.core.money import ONE, ZERO

PIVOT = "USD"


@dataclass(slots=True)
class Quote:
    bid: Decimal
    ask: Decimal
    ts: int


# One leg of a conversion path: (symbol, multiply?) — multiply when the pair is FROM/TO,
# divide when it is TO/FROM.
Leg = tuple[str, bool]


class QuoteBook:
    """Last quote of every symbol and the conversion paths between currencies."""

    def __init__(self, instruments: dict[str, Instrument]) -> None:
        self.quotes: dict[str, Quote] = {}
        self._pairs: dict[tuple[str, str], Leg] = {}
        for inst in instruments.values():
            self._pairs.setdefault((inst.base_currency, inst.quote_currency), (inst.symbol, True))
            self._pairs.setdefault((inst.quote_currency, inst.base_currency), (inst.symbol, False))
        self._paths: dict[tuple[str, str], tuple[Leg, ...] | None] = {}

    def get(self, symbol: str) -> Quote | None:
        return self.quotes.get(symbol)

    def path(self, frm: str, to: str) -> tuple[Leg, ...] | None:
        """The legs converting frm into to: direct, or through USD; None when impossible."""
        key = (frm, to)
        if key not in self._paths:
            if frm == to:
                found: tuple[Leg, ...] | None = ()
            elif key in self._pairs:
                found = (self._pairs[key],)
            elif (frm, PIVOT) in self._pairs and (PIVOT, to) in self._pairs:
                found = (self._pairs[(frm, PIVOT)], self._pairs[(PIVOT, to)])
            else:
                found = None
            self._paths[key] = found
        return self._paths[key]

    def can_convert(self, frm: str, to: str) -> bool:
        return self.path(frm, to) is not None

    def rate(self, frm: str, to: str, for_loss: bool) -> Decimal | None:
        """Units of `to` per unit of `frm`; None when a quote on the path is missing.

        for_loss=False is the rate for a profit (it gives less); True for a loss or a cost (it
        costs more): the broker-protective side for the sign of the amount.
        """
        legs = self.path(frm, to)
        if legs is None:
            return None
        rate = ONE
        for symbol, multiply in legs:
            quote = self.quotes.get(symbol)
            if quote is None:
                return None
            if multiply:
                # Selling FROM for TO: a profit gets the bid, a loss pays the ask.
                rate *= quote.ask if for_loss else quote.bid
            else:
                # Buying TO with FROM: a profit pays the ask, a loss gets the bid.
                rate /= quote.bid if for_loss else quote.ask
        return rate

    def convert(self, amount: Decimal, frm: str, to: str) -> Decimal | None:
        """Convert a signed amount (profit > 0, loss < 0) at the broker-protective side."""
        if frm == to:
            return amount
        rate = self.rate(frm, to, for_loss=amount < ZERO)
        return None if rate is None else amount * rate

    def convert_cost(self, amount: Decimal, frm: str, to: str) -> Decimal | None:
        """Convert a cost (margin, commission) so that it is never understated."""
        if frm == to:
            return amount
        rate = self.rate(frm, to, for_loss=True)
        return None if rate is None else amount * rate

    def symbols_on_path(self, frm: str, to: str) -> tuple[str, ...]:
        legs = self.path(frm, to) or ()
        return tuple(symbol for symbol, _ in legs)
