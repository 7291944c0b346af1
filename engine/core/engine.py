"""TradingCore: the in-memory state of one engine shard and the entry points that change it.

Entry points take the time as an argument and never read a clock or do I/O: `execute` (one
command, returns its result), `on_tick` (one quote), `on_time` (expiry, daily swap) and
`refresh` (live figures). What they changed accumulates in `changes` until the adapter drains
it after each batch.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from engine.core import funds, liquidation, orders, positions, rollover
from engine.core.book import SymbolBook
from engine.core.commands import OpenAccount, Rejection, parse
from engine.core.context import SYSTEM_ACTOR, CommandIn, Ctx, IdSource, InvariantError
from engine.core.entities import BUY, OPEN, PENDING, Account, Exposure, Hold, Order, Position
from engine.core.instruments import Instrument
from engine.core.journal import AuditRecord, Changes, LedgerRow, WebhookNote
from engine.core.money import ZERO, fmt, round_money
from engine.core.quotes import Quote, QuoteBook
from engine.core.risk import Figures, figures, floating_on
from engine.core.views import account_view

COMMISSION_CURRENCY = "USD"


Handler = Callable[["TradingCore", Ctx, Any, Any], "dict[str, Any] | Rejection"]


class TradingCore:
    """All accounts of one shard with their orders, positions and holds, and the quotes."""

    def __init__(self, instruments: Iterable[Instrument], ids: IdSource, rollover_minute: int = 21 * 60) -> None:
        self.instruments: dict[str, Instrument] = {inst.symbol: inst for inst in instruments}
        self.quotes = QuoteBook(self.instruments)
        self.books: dict[str, SymbolBook] = {symbol: SymbolBook() for symbol in self.instruments}
        self.accounts: dict[int, Account] = {}
        self.orders: dict[int, Order] = {}
        self.positions: dict[int, Position] = {}
        self.holds: dict[tuple[int, str], Hold] = {}
        self.external: dict[tuple[int, str, str], LedgerRow] = {}
        self.expiries: list[tuple[int, int]] = []
        self.ids = ids
        self.rollover_minute = rollover_minute
        self.last_rollover: int | None = None
        self.changes = Changes()
        self.touched: set[str] = set()
        self.figures_due: set[int] = set()
        self.published_at: dict[int, int] = {}  # account id -> when its figures were last published
        self.conversion_holders: dict[str, dict[int, int]] = {}
        self.stats: dict[str, int] = {"ticks": 0, "evaluations": 0}

    # --- loading (start-up and recovery) ----------------------------------------------------

    def load_account(self, account: Account) -> None:
        self.accounts[account.id] = account

    def load_order(self, order: Order) -> None:
        if order.status != PENDING:
            raise InvariantError(f"order {order.id} is not pending")
        self._index_order(order)

    def load_position(self, position: Position) -> None:
        if position.status != OPEN:
            raise InvariantError(f"position {position.id} is not open")
        self.attach(position)

    def load_hold(self, hold: Hold) -> None:
        self.holds[(hold.account_id, hold.hold_id)] = hold

    def load_external(self, row: LedgerRow) -> None:
        assert row.external_id is not None
        self.external[(row.account_id, row.kind, row.external_id)] = row

    def set_quote(self, symbol: str, bid: Decimal, ask: Decimal, ts: int) -> None:
        """Set a last quote without triggering anything (start-up from md:last)."""
        if symbol in self.instruments:
            self.quotes.quotes[symbol] = Quote(bid, ask, ts)

    def start(self, now: int) -> None:
        """Evaluate every account after loading: arm watches, act on margin levels."""
        for account in list(self.accounts.values()):
            liquidation.evaluate(self, account, Ctx(None, SYSTEM_ACTOR, now))
            self.figures_due.add(account.id)

    # --- entry points ------------------------------------------------------------------------

    def execute(self, command: CommandIn, now: int) -> dict[str, Any]:
        """Apply one command; return its result ({"ok": true, ...} or a rejection)."""
        ctx = Ctx(command.command_id, command.actor, now)
        parsed = parse(command.type, command.payload)
        if isinstance(parsed, Rejection):
            outcome: dict[str, Any] | Rejection = parsed
        elif isinstance(parsed, OpenAccount):
            outcome = funds.open_account(self, ctx, command.account_id, parsed, command.user_exists)
        else:
            account = self.accounts.get(command.account_id)
            if account is None:
                outcome = Rejection("unknown_account", f"account {command.account_id} is not known")
            else:
                outcome = _HANDLERS[command.type](self, ctx, account, parsed)
        if isinstance(outcome, Rejection):
            self.audit(
                ctx,
                f"command.{command.type}",
                "rejected",
                "account",
                command.account_id,
                {"code": outcome.code, "message": outcome.message, "payload": dict(command.payload)},
            )
            return {"ok": False, "code": outcome.code, "message": outcome.message}
        return {"ok": True, **outcome}

    def on_tick(self, symbol: str, bid: Decimal, ask: Decimal, ts: int, now: int) -> None:
        """Take a quote; trigger orders, SL/TP and margin checks it reaches (fresh, open market only)."""
        inst = self.instruments.get(symbol)
        if inst is None or bid <= ZERO or ask < bid:
            return
        last = self.quotes.quotes.get(symbol)
        if last is not None and ts < last.ts:
            return
        self.quotes.quotes[symbol] = Quote(bid, ask, ts)
        self.touched.add(symbol)
        self.stats["ticks"] += 1
        if not inst.enabled or now - ts > inst.max_quote_age_ms or not inst.is_open(ts):
            return
        book = self.books[symbol]
        affected: set[int] = set()
        for order_id in book.triggered_orders(bid, ask):
            order = self.orders.get(order_id)
            if order is not None and orders.trigger_order(self, order, bid, ask, ts, now):
                affected.add(order.account_id)
        for position_id in book.triggered_stops(bid, ask):
            position = self.positions.get(position_id)
            if position is not None and positions.trigger_stops(self, position, bid, ask, now):
                affected.add(position.account_id)
        affected.update(book.triggered_watches(bid, ask))
        for account_id in sorted(affected):
            liquidation.evaluate(self, self.accounts[account_id], Ctx(None, SYSTEM_ACTOR, now))

    def on_time(self, now: int) -> None:
        """Expire due orders and charge the daily swap when a rollover has passed."""
        ctx = Ctx(None, SYSTEM_ACTOR, now)
        while self.expiries and self.expiries[0][0] <= now:
            expires_at, order_id = heapq.heappop(self.expiries)
            order = self.orders.get(order_id)
            if order is not None and order.expires_at == expires_at:
                orders.end_order(self, ctx, order, "expired")
        rollover.run_due(self, ctx)

    def refresh(self, now: int, interval_ms: int = 250, limit: int | None = None) -> list[tuple[int, dict[str, Any]]]:
        """Live figures of accounts whose prices or state moved: each at most once per interval.

        At most `limit` accounts per call (those waiting longest first), so a price move that
        touches every account is spread over several batches instead of stalling one.
        """
        for symbol in self.touched:
            self.figures_due.update(self.books[symbol].holders)
            self.figures_due.update(self.conversion_holders.get(symbol, ()))
        self.touched.clear()
        published = self.published_at
        ready = [a for a in self.figures_due if now - published.get(a, 0) >= interval_ms]
        if limit is not None and len(ready) > limit:
            ready = sorted(ready, key=lambda a: (published.get(a, 0), a))[:limit]
        out = []
        for account_id in sorted(ready):
            self.figures_due.discard(account_id)
            account = self.accounts.get(account_id)
            if account is None:
                continue
            fig = liquidation.evaluate(self, account, Ctx(None, SYSTEM_ACTOR, now), rearm=False)
            out.append((account_id, self.figures_payload(account, fig, now)))
            published[account_id] = now
        return out

    def drain(self) -> Changes:
        """Hand over what changed since the last drain."""
        changes, self.changes = self.changes, Changes()
        return changes

    # --- helpers used by the rule modules ------------------------------------------------------

    def figures(self, account: Account) -> Figures:
        return figures(self, account)

    def figures_payload(self, account: Account, fig: Figures, now: int) -> dict[str, Any]:
        """The account event / acct:{id} content: figures, settings and each position's price and P/L.

        The views are kept per symbol with the prices and the rate they were computed at: while
        those stand still, only the positions changed since (Exposure.dirty: opened, closed,
        resized, charged swap) are recomputed, so an account republished after an order costs
        the order's position, not every position it holds.
        """
        positions: dict[str, dict[str, Any]] = {}
        quotes = self.quotes
        for symbol, exposure in account.exposures.items():
            quote = quotes.get(symbol)
            _, rate = floating_on(self, account, symbol)
            bid, ask = (quote.bid, quote.ask) if quote is not None else (None, None)
            seen = exposure.views
            if seen is not None and seen[0] is bid and seen[1] is ask and seen[2] == rate:
                views = seen[3]
                if exposure.dirty:
                    views = dict(views)  # the dict handed out before may still be on its way out
                    for position_id in exposure.dirty:
                        views.pop(str(position_id), None)
                    changed = [exposure.positions[i] for i in exposure.dirty if i in exposure.positions]
                    views.update(self._position_views(account, symbol, changed, bid, ask, rate))
            else:
                views = self._position_views(account, symbol, exposure.positions.values(), bid, ask, rate)
            exposure.views = (bid, ask, rate, views)
            exposure.dirty.clear()
            positions.update(views)
        settings = {
            "leverage": account.leverage,
            "trading_rights": account.trading_rights,
            "margin_call_level": fmt(account.margin_call_level),
            "stop_out_level": fmt(account.stop_out_level),
        }
        return {**fig.as_dict(now), **settings, "positions": positions}

    def _position_views(
        self,
        account: Account,
        symbol: str,
        positions: Iterable[Position],
        bid: Decimal | None,
        ask: Decimal | None,
        rate: Decimal | None,
    ) -> dict[str, dict[str, Any]]:
        """{position id: {price, pl, swap}} of positions of one symbol (price and P/L None without a
        quote or a conversion rate)."""
        if bid is None or ask is None:
            return {str(p.id): {"price": None, "pl": None, "swap": fmt(p.swap)} for p in positions}
        size = self.instruments[symbol].contract_size
        bid_text, ask_text = (fmt(bid), fmt(ask)) if rate is not None else (None, None)
        currency = account.currency
        views: dict[str, dict[str, Any]] = {}
        for position in positions:
            if position.side == BUY:
                diff, text = bid - position.open_price, bid_text
            else:
                diff, text = position.open_price - ask, ask_text
            pl = round_money(diff * position.volume * size * rate, currency) if rate is not None else None
            views[str(position.id)] = {"price": text, "pl": fmt(pl), "swap": fmt(position.swap)}
        return views

    def account_result(self, account: Account, now: int) -> dict[str, Any]:
        return account_view(account, self.figures(account).as_dict(now))

    def touch(self, account: Account, now: int) -> None:
        """Mark an account changed (persisted at the end of the batch, figures republished)."""
        account.version += 1
        account.updated_at = now
        if account.id not in self.changes.new_accounts:
            self.changes.accounts[account.id] = account
        self.figures_due.add(account.id)

    def margin_quote(self, account: Account, inst: Instrument, volume: Decimal, price: Decimal) -> Decimal:
        """Margin in the quote currency: volume × contract × price / leverage × margin rate."""
        leverage = min(account.leverage, inst.max_leverage)
        return volume * inst.contract_size * price / leverage * inst.margin_rate

    def attach(self, position: Position) -> None:
        """Add an open position to the indexes and its account's aggregates."""
        account = self.accounts[position.account_id]
        inst = self.instruments[position.symbol]
        self.positions[position.id] = position
        account.positions[position.id] = position
        exposure = account.exposures.get(position.symbol)
        if exposure is None:
            exposure = account.exposures[position.symbol] = Exposure()
            for symbol in self.quotes.symbols_on_path(inst.quote_currency, account.currency):
                holders = self.conversion_holders.setdefault(symbol, {})
                holders[account.id] = holders.get(account.id, 0) + 1
        exposure.add(position, self.margin_quote(account, inst, position.volume, position.open_price), 1)
        book = self.books[position.symbol]
        book.add_stops(position)
        book.add_holder(account.id)

    def detach(self, position: Position) -> None:
        """Remove an open position from the indexes and aggregates (before changing it)."""
        account = self.accounts[position.account_id]
        inst = self.instruments[position.symbol]
        self.positions.pop(position.id, None)
        account.positions.pop(position.id, None)
        exposure = account.exposures[position.symbol]
        exposure.add(position, self.margin_quote(account, inst, position.volume, position.open_price), -1)
        if not exposure.positions:
            del account.exposures[position.symbol]
            for symbol in self.quotes.symbols_on_path(inst.quote_currency, account.currency):
                holders = self.conversion_holders.get(symbol, {})
                if holders.get(account.id, 0) <= 1:
                    holders.pop(account.id, None)
                else:
                    holders[account.id] -= 1
        book = self.books[position.symbol]
        book.remove_stops(position)
        book.remove_holder(account.id)

    def _index_order(self, order: Order) -> None:
        account = self.accounts[order.account_id]
        self.orders[order.id] = order
        account.orders[order.id] = order
        self.books[order.symbol].add_order(order)
        if order.expires_at is not None:
            heapq.heappush(self.expiries, (order.expires_at, order.id))

    def index_order(self, order: Order) -> None:
        self._index_order(order)

    def unindex_order(self, order: Order) -> None:
        self.books[order.symbol].remove_order(order)
        self.orders.pop(order.id, None)
        self.accounts[order.account_id].orders.pop(order.id, None)

    def post_ledger(
        self,
        ctx: Ctx,
        account: Account,
        kind: str,
        amount: Decimal = ZERO,
        credit_amount: Decimal = ZERO,
        *,
        external_id: str | None = None,
        trade_id: int | None = None,
        position_id: int | None = None,
        comment: str | None = None,
    ) -> LedgerRow:
        """Change balance/credit by a ledger row carrying the running figures."""
        amount = round_money(amount, account.currency)
        credit_amount = round_money(credit_amount, account.currency)
        account.balance = round_money(account.balance + amount, account.currency)
        account.credit = round_money(account.credit + credit_amount, account.currency)
        row = LedgerRow(
            id=self.ids.next_id("ledger"),
            account_id=account.id,
            kind=kind,
            amount=amount,
            credit_amount=credit_amount,
            balance_after=account.balance,
            credit_after=account.credit,
            external_id=external_id,
            trade_id=trade_id,
            position_id=position_id,
            comment=comment,
            command_id=ctx.command_id,
            created_at=ctx.now,
        )
        self.changes.ledger.append(row)
        if external_id is not None:
            self.external[(account.id, kind, external_id)] = row
        self.touch(account, ctx.now)
        return row

    def commission(self, account: Account, inst: Instrument, volume: Decimal) -> Decimal | None:
        """The commission of one side of a fill (negative, account currency); None without a rate."""
        if not inst.commission_per_lot:
            return round_money(ZERO, account.currency)
        cost = self.quotes.convert_cost(inst.commission_per_lot * volume, COMMISSION_CURRENCY, account.currency)
        return None if cost is None else -round_money(cost, account.currency)

    def market_check(self, inst: Instrument, account: Account, now: int) -> Rejection | None:
        """Refuse when the market is closed, the quote stale or missing, or no conversion rate exists."""
        if not inst.enabled:
            return Rejection("trading_disabled", f"{inst.symbol} is not tradable")
        if not inst.is_open(now):
            return Rejection("market_closed", f"the {inst.symbol} market is closed")
        quote = self.quotes.get(inst.symbol)
        if quote is None:
            return Rejection("no_quote", f"no quote for {inst.symbol}")
        if now - quote.ts > inst.max_quote_age_ms:
            return Rejection("stale_quote", f"the last {inst.symbol} quote is too old")
        if self.quotes.rate(inst.quote_currency, account.currency, for_loss=True) is None:
            return Rejection("no_quote", f"no rate to convert {inst.quote_currency} to {account.currency}")
        return None

    def emit(self, account_id: int, event_type: str, **data: Any) -> None:
        """Publish an event on account:{id} after commit."""
        self.changes.events.append((account_id, {"type": event_type, "account_id": account_id, **data}))

    def audit(
        self, ctx: Ctx, action: str, outcome: str, target_type: str, target_id: object, details: dict[str, Any]
    ) -> None:
        self.changes.audit.append(
            AuditRecord(action, outcome, dict(ctx.actor), target_type, str(target_id), details, ctx.now)
        )

    def webhook(self, ctx: Ctx, event_type: str, data: dict[str, Any]) -> None:
        request_id = ctx.actor.get("request_id")
        note = WebhookNote(event_type, data, ctx.now, str(request_id)[:64] if request_id else None)
        self.changes.webhooks.append(note)

    # --- invariants -------------------------------------------------------------------------------

    def check(self, account: Account, full: bool = True) -> None:
        """Raise InvariantError when an account's state is impossible.

        The cheap part (counts, signs) always runs; `full` also recomputes every aggregate from
        the positions (O(positions), so the engine runs it on every 16th change of an account).
        """
        if account.held < ZERO:
            raise InvariantError(f"account {account.id}: held is negative")
        counted = 0
        for symbol, exposure in account.exposures.items():
            if not exposure.positions or exposure.long_volume < ZERO or exposure.short_volume < ZERO:
                raise InvariantError(f"account {account.id}: impossible exposure on {symbol}")
            counted += len(exposure.positions)
        if counted != len(account.positions):
            raise InvariantError(
                f"account {account.id}: {counted} positions in aggregates, {len(account.positions)} open"
            )
        if full:
            self._check_aggregates(account)

    def _check_aggregates(self, account: Account) -> None:
        expected: dict[str, tuple[Decimal, Decimal, int]] = {}
        for position in account.positions.values():
            if position.volume <= ZERO or position.status != OPEN:
                raise InvariantError(f"position {position.id}: open with volume {position.volume}")
            long_v, short_v, count = expected.get(position.symbol, (ZERO, ZERO, 0))
            if position.side == BUY:
                long_v += position.volume
            else:
                short_v += position.volume
            expected[position.symbol] = (long_v, short_v, count + 1)
        actual = {s: (e.long_volume, e.short_volume, len(e.positions)) for s, e in account.exposures.items()}
        if expected != actual:
            raise InvariantError(f"account {account.id}: exposure {actual} != positions {expected}")
        positions = account.positions
        for symbol, exposure in account.exposures.items():  # as many as open (the cheap part counted)
            for position_id, position in exposure.positions.items():
                if positions.get(position_id) is not position or position.symbol != symbol:
                    raise InvariantError(f"account {account.id}: position {position_id} misfiled under {symbol}")


_HANDLERS: dict[str, Handler] = {
    "place_order": orders.place_order,
    "modify_order": orders.modify_order,
    "cancel_order": orders.cancel_order,
    "modify_position": positions.modify_position,
    "close_position": positions.close_position_command,
    "close_all": positions.close_all,
    "close_by": positions.close_by,
    "balance_op": funds.balance_op,
    "hold_funds": funds.hold_funds,
    "release_hold": funds.release_hold,
    "set_account": funds.set_account,
}
