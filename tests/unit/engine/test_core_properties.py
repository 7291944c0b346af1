"""Invariants under random sequences of commands and quotes (hypothesis):

- balance = Σ ledger amounts and credit = Σ ledger credit amounts, for every account, always;
- equity = balance + credit + floating P/L, and floating P/L = Σ positions' P/L + accrued swap;
- nothing fills at a stale quote;
- after a fresh tick no account is left at or below its stop-out level (unless nothing can be
  closed), on any path of prices, with USDJPY (non-linear conversion) in the mix.
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.risk import position_pl
from tests.unit.engine.helpers import D, Harness

SYMBOLS = {"EURUSD": (D("1.10000"), 5), "GBPUSD": (D("1.25000"), 5), "USDJPY": (D("150.000"), 3)}
NAMES = list(SYMBOLS)
ACCOUNTS = (1, 2, 3)

tick_op = st.tuples(
    st.just("tick"),
    st.sampled_from(NAMES),
    st.one_of(st.integers(-3000, 3000), st.sampled_from([-2000, -800, -300, 300, 800, 2000])),  # move (points)
    st.integers(1, 40),  # spread in points
    st.sampled_from([False, False, False, True]),  # stale?
)
order_op = st.tuples(
    st.just("order"),
    st.sampled_from(ACCOUNTS),
    st.sampled_from(NAMES),
    st.sampled_from(["buy", "sell"]),
    st.sampled_from(["market", "market", "limit", "stop", "stop_limit"]),
    st.one_of(st.integers(1, 200), st.sampled_from([50, 100, 150])),  # volume in 0.01 lots
    st.integers(5, 800),  # distance in points for pending price / stops
    st.sampled_from([False, False, True]),  # with SL/TP?
)
close_op = st.tuples(
    st.just("close"),
    st.sampled_from(ACCOUNTS),
    st.integers(0, 10),
    st.booleans(),
    st.sampled_from([False, False, True]),
)  # (..., partial?, close by the first opposite position of the symbol?)
money_op = st.tuples(
    st.just("money"),
    st.sampled_from(ACCOUNTS),
    st.sampled_from(["deposit", "withdrawal", "credit", "correction", "hold", "settle", "release"]),
    st.integers(1, 3000),
)
time_op = st.tuples(st.just("advance"), st.integers(0, 8_000))
ops = st.lists(
    st.one_of(tick_op, tick_op, tick_op, order_op, order_op, close_op, money_op, time_op), min_size=10, max_size=80
)


class Market:
    def __init__(self) -> None:
        self.mid = {name: price for name, (price, _) in SYMBOLS.items()}

    def quote(self, name: str, move: int, spread: int) -> tuple[str, str]:
        price, digits = SYMBOLS[name]
        point = Decimal(1).scaleb(-digits)
        mid = max(self.mid[name] + move * point, price / 2)
        self.mid[name] = mid
        return str(mid.quantize(point)), str((mid + spread * point).quantize(point))


def _setup() -> tuple[Harness, Market]:
    h = Harness()
    market = Market()
    for name in NAMES:
        h.tick(name, *market.quote(name, 0, 10))
    for account_id, deposit in zip(ACCOUNTS, ("1500", "4000", "12000"), strict=True):
        h.open_account(account_id, deposit=deposit)
    return h, market


def _apply(h: Harness, market: Market, op: tuple[Any, ...], holds: dict[int, list[str]]) -> None:
    kind = op[0]
    if kind == "tick":
        _, name, move, spread, stale = op
        bid, ask = market.quote(name, move, spread)
        h.tick(name, bid, ask, ts=h.now - 60_000 if stale else h.now)
    elif kind == "advance":
        h.advance(op[1])
    elif kind == "order":
        _, account_id, name, side, kind_, lots, distance, stops = op
        quote = h.core.quotes.quotes[name]
        point = h.core.instruments[name].point
        sign = 1 if side == "buy" else -1
        payload: dict[str, Any] = {"symbol": name, "side": side, "type": kind_, "volume": str(Decimal(lots) / 100)}
        ref = quote.ask if side == "buy" else quote.bid
        if kind_ == "limit":
            payload["price"] = str(ref - sign * distance * point)
        elif kind_ in ("stop", "stop_limit"):
            payload["price"] = str(ref + sign * distance * point)
            if kind_ == "stop_limit":
                payload["limit_price"] = str(ref + sign * (distance // 2) * point)
        if stops:
            entry = Decimal(payload.get("limit_price", payload.get("price", str(ref))))
            payload["sl"] = str(entry - sign * (distance + 200) * point)
            payload["tp"] = str(entry + sign * (distance + 200) * point)
        h.order(account_id, **payload)
    elif kind == "close":
        _, account_id, pick, partial, by = op
        positions = sorted(h.account(account_id).positions)
        if positions:
            position = h.account(account_id).positions[positions[pick % len(positions)]]
            opposite = [
                p.id
                for p in h.account(account_id).positions.values()
                if p.symbol == position.symbol and p.side != position.side
            ]
            if by and opposite:
                h.run("close_by", account_id, position_id=position.id, by_position_id=min(opposite))
            else:
                extra: dict[str, Any] = {"volume": str((position.volume / 2).quantize(D("0.01")))} if partial else {}
                h.run("close_position", account_id, position_id=position.id, **extra)
    else:
        _, account_id, what, amount = op
        if what in ("deposit", "withdrawal", "credit", "correction"):
            signed = -amount if what == "correction" and amount % 2 else amount
            h.run("balance_op", account_id, op=what, amount=str(signed), external_id=f"{what}-{h.seq}")
        elif what == "hold":
            hold_id = f"hold-{h.seq}"
            if h.run("hold_funds", account_id, hold_id=hold_id, amount=str(amount))["ok"]:
                holds.setdefault(account_id, []).append(hold_id)
        elif holds.get(account_id):
            h.run("release_hold", account_id, hold_id=holds[account_id].pop(), settle=what == "settle")


def _fresh(h: Harness, symbol: str) -> bool:
    quote = h.core.quotes.get(symbol)
    inst = h.core.instruments[symbol]
    return quote is not None and h.now - quote.ts <= inst.max_quote_age_ms and inst.is_open(h.now)


def _check_ledger(h: Harness) -> None:
    for account_id in ACCOUNTS:
        account = h.account(account_id)
        rows = [r for r in h.core.changes.ledger if r.account_id == account_id]
        assert account.balance == sum((r.amount for r in rows), Decimal(0))
        assert account.credit == sum((r.credit_amount for r in rows), Decimal(0))
        if rows:
            assert (rows[-1].balance_after, rows[-1].credit_after) == (account.balance, account.credit)
        h.core.check(account)


def _check_equity(h: Harness) -> None:
    for account_id in ACCOUNTS:
        account = h.account(account_id)
        fig = h.figures(account_id)
        assert fig.equity == fig.balance + fig.credit + fig.floating_pl
        assert fig.free_margin == fig.equity - fig.margin - fig.held
        positions = list(account.positions.values())
        pl = sum((position_pl(h.core, p, account.currency)[1] for p in positions), Decimal(0))
        swap = sum((p.swap - p.swap_booked for p in positions), Decimal(0))
        assert abs(fig.floating_pl - (pl + swap)) <= Decimal("0.01") * max(1, len(positions))


def _check_stop_out(h: Harness) -> None:
    for account_id in ACCOUNTS:
        account = h.account(account_id)
        symbols = set(account.exposures)
        if not symbols or not all(_fresh(h, s) for s in symbols | {"USDJPY"}):
            continue
        fig = h.figures(account_id)
        assert not fig.at_or_below(account.stop_out_level), (account_id, fig)


# ENGINE_EXAMPLES=2000 explores further (a soak run); the default keeps `make test` fast.
settings_ = settings(
    max_examples=int(os.environ.get("ENGINE_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@settings_
@given(ops)
def test_balance_is_the_sum_of_the_ledger(sequence):
    h, market = _setup()
    holds: dict[int, list[str]] = {}
    for op in sequence:
        _apply(h, market, op, holds)
        _check_ledger(h)


@settings_
@given(ops)
def test_equity_is_balance_plus_credit_plus_floating_pl(sequence):
    h, market = _setup()
    holds: dict[int, list[str]] = {}
    for op in sequence:
        _apply(h, market, op, holds)
        _check_equity(h)


@settings_
@given(ops)
def test_nothing_fills_at_a_stale_quote(sequence):
    h, market = _setup()
    holds: dict[int, list[str]] = {}
    for op in sequence:
        trades_before = len(h.core.changes.trades)
        _apply(h, market, op, holds)
        new = h.core.changes.trades[trades_before:]
        if op[0] == "tick" and op[4]:
            assert new == []  # a stale tick triggers nothing
        for trade in new:
            assert _fresh(h, trade.symbol), trade


@settings_
@given(ops)
def test_margin_level_is_never_left_below_stop_out_after_a_fresh_tick(sequence):
    h, market = _setup()
    holds: dict[int, list[str]] = {}
    for op in sequence:
        _apply(h, market, op, holds)
        if op[0] == "tick" and not op[4]:
            _check_stop_out(h)


walk = st.lists(
    st.tuples(
        st.sampled_from(NAMES),
        st.one_of(st.integers(-400, 400), st.sampled_from([-1500, -600, 600, 1500])),
        st.integers(1, 60),
    ),
    min_size=20,
    max_size=150,
)
book = st.lists(
    st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(NAMES), st.sampled_from(["buy", "sell"]), st.integers(5, 60)),
    min_size=3,
    max_size=15,
)


@settings_
@given(book, walk)
def test_stop_out_holds_on_every_tick_of_a_random_walk(positions, path):
    """Accounts loaded close to their margin limits; every fresh tick leaves them above stop-out."""
    h, market = _setup()
    for account_id, name, side, lots in positions:
        h.order(account_id, symbol=name, side=side, volume=str(Decimal(lots) / 100))
    for name, move, spread in path:
        h.advance(100)
        h.tick(name, *market.quote(name, move, spread))
        _check_stop_out(h)
        _check_ledger(h)
