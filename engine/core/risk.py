"""Account figures, margin call and stop-out, and the margin watches that make them per-tick cheap.

Figures come from per-symbol aggregates (Exposure), so they cost O(symbols held), not
O(positions). Between full evaluations an account is guarded by *watches*: price levels per
symbol, in the trigger indexes, at which the account's buffer above its margin-call (or
stop-out) level could be used up. The buffer is split between the account's adverse price
directions with a safety factor of two, so no combination of moves that leaves every watch
untouched can reach the level; a touched watch re-evaluates the account exactly. A tick
therefore costs nothing for accounts whose margin is not at risk.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.core.entities import BUY, Account, Position
from engine.core.index import always_reached
from engine.core.money import HUNDRED, ONE, ZERO, fmt, round_money

if TYPE_CHECKING:
    from engine.core.engine import TradingCore

TWO = Decimal(2)
LEVEL_QUANTUM = Decimal("0.01")


@dataclass(slots=True)
class Figures:
    balance: Decimal
    credit: Decimal
    equity: Decimal
    margin: Decimal
    free_margin: Decimal
    floating_pl: Decimal
    held: Decimal

    @property
    def margin_level(self) -> Decimal | None:
        if self.margin <= ZERO:
            return None
        return (self.equity * HUNDRED / self.margin).quantize(LEVEL_QUANTUM)

    def at_or_below(self, level: Decimal) -> bool:
        """True when margin is used and equity / margin * 100 <= level (exact, no rounding)."""
        return self.margin > ZERO and self.equity * HUNDRED <= level * self.margin

    def as_dict(self, ts: int) -> dict[str, Any]:
        level = self.margin_level
        return {
            "balance": fmt(self.balance),
            "credit": fmt(self.credit),
            "equity": fmt(self.equity),
            "margin": fmt(self.margin),
            "free_margin": fmt(self.free_margin),
            "margin_level": fmt(level) if level is not None else None,
            "floating_pl": fmt(self.floating_pl),
            "held": fmt(self.held),
            "ts": ts,
        }


def figures(core: TradingCore, account: Account) -> Figures:
    """Balance, equity, margin, free margin and floating P/L at the current quotes.

    floating_on and QuoteBook.convert_cost, inlined: this runs two or three times per order.
    """
    pl = ZERO
    margin = ZERO
    swap = ZERO
    ccy = account.currency
    instruments = core.instruments
    book = core.quotes
    quotes = book.quotes
    for symbol, ex in account.exposures.items():
        inst = instruments[symbol]
        swap += ex.swap
        quote_ccy = inst.quote_currency
        quote = quotes.get(symbol)
        if quote is not None:
            pl_quote = ex.pl_quote(quote.bid, quote.ask, inst.contract_size)
            if quote_ccy == ccy:
                pl += pl_quote
            else:
                rate = book.rate(quote_ccy, ccy, for_loss=pl_quote < ZERO)
                if rate is not None:
                    pl += pl_quote * rate
        if quote_ccy == ccy:
            margin += ex.margin_quote
        else:
            rate = book.rate(quote_ccy, ccy, for_loss=True)
            margin += ex.margin_quote * rate if rate is not None else ex.margin_account
    floating = round_money(pl, ccy) + swap
    margin = round_money(margin, ccy)
    equity = account.balance + account.credit + floating
    return Figures(
        account.balance, account.credit, equity, margin, equity - margin - account.held, floating, account.held
    )


def position_pl(core: TradingCore, position: Position, currency: str) -> tuple[Decimal | None, Decimal]:
    """The close-side price and floating P/L (account currency, without swap) of one position."""
    inst = core.instruments[position.symbol]
    quote = core.quotes.get(position.symbol)
    if quote is None:
        return None, ZERO
    price = quote.bid if position.side == BUY else quote.ask
    diff = price - position.open_price if position.side == BUY else position.open_price - price
    account = core.accounts[position.account_id]
    _, rate = floating_on(core, account, position.symbol)
    if rate is None:
        return price, ZERO
    return price, round_money(diff * position.volume * inst.contract_size * rate, currency)


def floating_on(core: TradingCore, account: Account, symbol: str) -> tuple[Decimal, Decimal | None]:
    """An account's net floating P/L on a symbol (quote currency) and the rate converting it.

    One rate per symbol and account, chosen by the sign of the net P/L (broker-protective), so the
    positions' P/L add up to the account's floating P/L; a close realises at its own sign's rate.
    """
    inst = core.instruments[symbol]
    ex = account.exposures.get(symbol)
    quote = core.quotes.get(symbol)
    if ex is None or quote is None:
        return ZERO, None
    pl_quote = ex.pl_quote(quote.bid, quote.ask, inst.contract_size)
    if inst.quote_currency == account.currency:
        return pl_quote, ONE
    return pl_quote, core.quotes.rate(inst.quote_currency, account.currency, for_loss=pl_quote < ZERO)


def disarm(core: TradingCore, account: Account) -> None:
    for symbol, down, level in account.watches:
        book = core.books[symbol]
        (book.watch_down if down else book.watch_up).remove(level, account.id)
    account.watches.clear()


def _add_watch(core: TradingCore, account: Account, symbol: str, down: bool, level: Decimal) -> None:
    # A watch only says "evaluate this account again when the price gets here": float precision
    # is ample, and floats compare several times faster than Decimals in the index.
    threshold = float(level)
    book = core.books[symbol]
    (book.watch_down if down else book.watch_up).add(threshold, account.id)
    account.watches.append((symbol, down, threshold))


def _sensitivities(core: TradingCore, account: Account, level: Decimal) -> dict[tuple[str, bool], float]:
    """Money lost per unit of adverse price move, per (symbol, down?) direction.

    In floats: these only place watches, which sit well inside the distance they allow (see arm).
    """
    sens: dict[tuple[str, bool], float] = {}
    ccy = account.currency
    quotes = core.quotes
    for symbol, ex in account.exposures.items():
        inst = core.instruments[symbol]
        quote = quotes.get(symbol)
        if quote is None:
            continue
        same_currency = inst.quote_currency == ccy
        rate = 1.0 if same_currency else float(quotes.rate(inst.quote_currency, ccy, for_loss=True) or ZERO)
        size = inst.contract_size_float
        if ex.long_volume:
            sens[(symbol, True)] = sens.get((symbol, True), 0.0) + rate * size * float(ex.long_volume)
        if ex.short_volume:
            sens[(symbol, False)] = sens.get((symbol, False), 0.0) + rate * size * float(ex.short_volume)
        if same_currency:
            continue
        # The conversion rate moves too: d(rate * X)/dp = X * rate * (±1/p) per leg.
        exposure_quote = float(
            ex.pl_quote(quote.bid, quote.ask, inst.contract_size) - ex.margin_quote * level / HUNDRED
        )
        for leg_symbol, multiply in quotes.path(inst.quote_currency, ccy) or ():
            leg = quotes.get(leg_symbol)
            if leg is None or leg.bid <= ZERO:
                continue
            derivative = exposure_quote * rate / float(leg.bid) * (1 if multiply else -1)
            key = (leg_symbol, derivative > 0)
            sens[key] = sens.get(key, 0.0) + abs(derivative)
    return {key: value for key, value in sens.items() if value > 0}


# Where a new watch goes, and how far an old one may sit, as fractions of the distance to the
# level the buffer allows (see arm). Placing closer than needed leaves room for the buffer to
# shrink before the watch must move: an order that adds a little exposure (most orders) re-arms
# without touching the index.
PLACE_AT = 0.75
KEEP_FROM = 0.5


def arm(core: TradingCore, account: Account, fig: Figures) -> None:
    """Place the account's watches for the buffer left above its next margin level.

    Each adverse direction gets an equal share of half the buffer, i.e. a distance from the
    current price within which no combination of moves reaches the level. A watch already in
    place stays if it triggers no later than that distance and no sooner than KEEP_FROM of it;
    otherwise it moves to PLACE_AT of it. Staying early is always safe: a touched watch only
    re-evaluates the account, exactly.
    """
    if fig.margin <= ZERO:
        disarm(core, account)
        return
    level = account.stop_out_level if account.margin_call_active else account.margin_call_level
    buffer = fig.equity - fig.margin * level / HUNDRED
    sens = _sensitivities(core, account, level)
    if buffer <= ZERO or not sens:
        # Below the level and nothing could be done (stale or closed markets): re-check on
        # every fresh tick of a symbol the account holds.
        disarm(core, account)
        for symbol in account.exposures:
            _add_watch(core, account, symbol, True, always_reached(True))
        return
    share = float(buffer) / (2 * len(sens))
    ident = account.id
    placed: list[tuple[str, bool, float]] = []
    for (symbol, down), value in sens.items():
        quote = core.quotes.quotes[symbol]
        book = core.books[symbol]
        index = book.watch_down if down else book.watch_up
        distance = share / value
        old = index.live.get(ident)
        if down:
            price = float(quote.bid)
            keep = old is not None and price - distance <= old <= price - distance * KEEP_FROM
            target = price - distance * PLACE_AT
        else:
            price = float(quote.ask)
            keep = old is not None and price + distance * KEEP_FROM <= old <= price + distance
            target = price + distance * PLACE_AT
        if keep:
            assert old is not None
            placed.append((symbol, down, old))
        else:
            index.add(target, ident)  # moves the account's watch in this index
            placed.append((symbol, down, target))
    wanted = {(symbol, down) for symbol, down, _ in placed}
    for symbol, down, threshold in account.watches:
        if (symbol, down) not in wanted:
            book = core.books[symbol]
            (book.watch_down if down else book.watch_up).remove(threshold, ident)
    account.watches[:] = placed
