"""The daily rollover: swap on every open position (points or annual percent; triple day)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from engine.core import liquidation
from engine.core.context import Ctx
from engine.core.entities import BUY, Position
from engine.core.instruments import DAY_MS, Instrument, utc
from engine.core.money import HUNDRED, ZERO, round_money

if TYPE_CHECKING:
    from engine.core.engine import TradingCore

DAYS_PER_YEAR = Decimal(360)


def next_rollover(now: int, rollover_minute: int) -> int:
    """The first rollover instant strictly after now (epoch ms)."""
    day_start = now - now % DAY_MS
    candidate = day_start + rollover_minute * 60_000
    return candidate if candidate > now else candidate + DAY_MS


def last_rollover_at_or_before(now: int, rollover_minute: int) -> int:
    return next_rollover(now, rollover_minute) - DAY_MS


def multiplier(inst: Instrument, rollover_at: int) -> int:
    """Nights charged at this rollover: triple on the instrument's day, none at weekends for
    instruments that do not trade every day (the triple day pays for the weekend)."""
    weekday = utc(rollover_at).weekday()
    if inst.trades_every_day:
        return 1
    if weekday + 1 == inst.triple_swap_day:
        return 3
    return 0 if weekday >= 5 else 1


def swap_amount(core: TradingCore, position: Position, inst: Instrument, currency: str, nights: int) -> Decimal | None:
    """One rollover's swap in the account currency (negative is a charge); None without prices."""
    rate = inst.swap_long if position.side == BUY else inst.swap_short
    if not rate or not nights:
        return ZERO
    if inst.swap_mode == "percent":
        quote = core.quotes.get(inst.symbol)
        if quote is None:
            return None
        price = quote.bid if position.side == BUY else quote.ask
        in_quote = rate / HUNDRED / DAYS_PER_YEAR * price * inst.contract_size * position.volume * nights
    else:
        in_quote = rate * inst.point * inst.contract_size * position.volume * nights
    converted = core.quotes.convert(in_quote, inst.quote_currency, currency)
    return None if converted is None else round_money(converted, currency)


def charge(core: TradingCore, ctx: Ctx, rollover_at: int) -> None:
    """Accrue one rollover's swap on every open position (booked to the balance at close)."""
    charged = skipped = 0
    touched = set()
    for position in list(core.positions.values()):
        inst = core.instruments[position.symbol]
        account = core.accounts[position.account_id]
        amount = swap_amount(core, position, inst, account.currency, multiplier(inst, rollover_at))
        if amount is None:
            skipped += 1
            continue
        if not amount:
            continue
        position.swap += amount
        position.updated_at = ctx.now
        account.exposures[position.symbol].accrue_swap(position, amount)
        core.changes.positions[position.id] = position
        touched.add(account.id)
        charged += 1
    for account_id in sorted(touched):
        account = core.accounts[account_id]
        core.touch(account, ctx.now)
        liquidation.evaluate(core, account, ctx)
    core.audit(ctx, "swap.rollover", "success", "rollover", rollover_at, {"charged": charged, "skipped": skipped})


def run_due(core: TradingCore, ctx: Ctx) -> None:
    """Charge every rollover that has passed since the last one (once each, across restarts)."""
    if core.last_rollover is None:
        core.last_rollover = last_rollover_at_or_before(ctx.now, core.rollover_minute)
        core.changes.last_rollover = core.last_rollover
        return
    while (due := next_rollover(core.last_rollover, core.rollover_minute)) <= ctx.now:
        charge(core, ctx, due)
        core.last_rollover = due
        core.changes.last_rollover = due
