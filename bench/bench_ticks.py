"""Tick throughput: 10,000 open positions (with SL/TP) and 5,000 pending orders over 1,000
accounts and the seeded instruments; ticks absorbed per second by the real engine with pending
triggers, SL/TP and stop-out checked on every tick, beside the pure core's rate and its cost
shape (positions on other symbols, pending orders that do not trigger).

Run: `python bench/bench_ticks.py` with DATABASE_URL and REDIS_URL set (a scratch database is
created and dropped). TICKS (default 100,000) changes the size of the run.
"""

from __future__ import annotations

import os
import random
import time
from decimal import Decimal
from typing import Any

from engine_setup import (
    ALWAYS,
    PRICES,
    Scratch,
    cpu_seconds,
    fresh_quotes,
    make_users,
    now_ms,
    open_accounts,
    quotes,
    rss_mib,
    scratch,
    seed_instruments,
    send_all,
    start_engine,
    stop,
    tick_lag,
    wait_processed,
)

from engine.contracts import PLACE_ORDER, TICKS_STREAM, Command
from engine.core.context import CommandIn, CounterIds
from engine.core.engine import TradingCore
from engine.core.instruments import Instrument

ACCOUNTS = 1000
POSITIONS = 10_000
PENDING = 5_000
SYMBOLS = list(PRICES)


def _point(symbol: str) -> Decimal:
    return Decimal(1).scaleb(-len(PRICES[symbol][0].split(".")[1]))


def book_commands(accounts: list[int], rng: random.Random) -> list[tuple[int, dict[str, Any]]]:
    """Positions with SL/TP ±2 % away and pending orders 0.5–3 % away (most never trigger)."""
    out = []
    for i in range(POSITIONS):
        symbol = SYMBOLS[i % len(SYMBOLS)]
        bid, ask = (Decimal(p) for p in PRICES[symbol])
        side = rng.choice(("buy", "sell"))
        point = _point(symbol)
        ref = bid if side == "buy" else ask
        sign = 1 if side == "buy" else -1
        sl = (ref * (1 - sign * Decimal("0.02"))).quantize(point)
        tp = (ref * (1 + sign * Decimal("0.02"))).quantize(point)
        payload = {"symbol": symbol, "side": side, "type": "market", "volume": "0.01", "sl": str(sl), "tp": str(tp)}
        out.append((accounts[i % len(accounts)], payload))
    for i in range(PENDING):
        symbol = SYMBOLS[i % len(SYMBOLS)]
        bid, ask = (Decimal(p) for p in PRICES[symbol])
        side, kind = rng.choice(("buy", "sell")), rng.choice(("limit", "stop"))
        # One in ten close to the market (0.02–0.2 %): the walk fills some of them during the run.
        away = Decimal(rng.randint(2, 20)) / 10000 if i % 10 == 0 else Decimal(rng.randint(5, 30)) / 1000
        below = (side == "buy") == (kind == "limit")
        ref = ask if side == "buy" else bid
        price = (ref * (1 - away if below else 1 + away)).quantize(_point(symbol))
        payload = {"symbol": symbol, "side": side, "type": kind, "volume": "0.01", "price": str(price)}
        out.append((accounts[(i * 7) % len(accounts)], payload))
    return out


def _refusals(s: Scratch) -> dict[str, int]:
    from sqlalchemy import text

    with s.sql().connect() as conn:
        rows = conn.execute(
            text(
                "SELECT result->>'code', count(*) FROM processed_commands "
                "WHERE command_id LIKE 'book-%' AND result->>'ok' = 'false' GROUP BY 1"
            )
        ).all()
    return {code: int(n) for code, n in rows}


def tick_path(n: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """A random walk per symbol (±3 points a tick) that wanders about 0.1 %."""
    mids = {s: (Decimal(b) + Decimal(a)) / 2 for s, (b, a) in PRICES.items()}
    spreads = {s: Decimal(a) - Decimal(b) for s, (b, a) in PRICES.items()}
    out = []
    for i in range(n):
        symbol = SYMBOLS[i % len(SYMBOLS)]
        point = _point(symbol)
        mids[symbol] += rng.randint(-3, 3) * point
        bid = (mids[symbol] - spreads[symbol] / 2).quantize(point)
        out.append((symbol, str(bid), str(bid + spreads[symbol])))
    return out


def engine_run(s: Scratch, n_ticks: int) -> dict[str, Any]:
    rng = random.Random(11)
    seed_instruments(s)
    engine = start_engine(s)
    accounts = open_accounts(s, make_users(s, ACCOUNTS))
    commands = [
        Command(f"book-{i:06d}", PLACE_ORDER, account, payload, {"type": "system"}, now_ms())
        for i, (account, payload) in enumerate(book_commands(accounts, rng))
    ]
    with fresh_quotes(s):
        send_all(s, commands)
        wait_processed(s, commands)
    refused = _refusals(s)
    if refused:
        print(f"book: refused {refused}")
    path = tick_path(n_ticks, rng)
    quotes(s)
    time.sleep(1.2)  # one status period: the figures below describe the book before the walk
    book: Any = s.r.hgetall("engine:status:0")
    cpu_before = cpu_seconds(engine.pid)
    start = time.perf_counter()
    for first in range(0, n_ticks, 1000):
        pipe = s.r.pipeline(transaction=False)
        stamp = str(now_ms())
        for symbol, bid, ask in path[first : first + 1000]:
            pipe.xadd(TICKS_STREAM, {"symbol": symbol, "bid": bid, "ask": ask, "ts": stamp})
        pipe.execute()
    injected = time.perf_counter() - start
    while tick_lag(s) > 0:
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds(engine.pid) - cpu_before
    status = s.r.hgetall("engine:status:0")
    rss = rss_mib(engine.pid)
    stop(engine)
    return {
        "ticks_per_second": round(n_ticks / elapsed),
        "ticks_per_cpu_second": round(n_ticks / cpu) if cpu else 0,
        "injected_s": round(injected, 2),
        "positions": int(book.get("open_positions", 0)),
        "pending": int(book.get("pending_orders", 0)),
        "positions_after": int(status.get("open_positions", 0)),
        "pending_after": int(status.get("pending_orders", 0)),
        "rss": round(rss, 1),
    }


def _core(positions_on_others: int, pending_far: int) -> tuple[TradingCore, int]:
    from web.seed_data import INSTRUMENTS

    core = TradingCore([Instrument.from_row({**i, "sessions": ALWAYS}) for i in INSTRUMENTS], CounterIds())
    now = now_ms()
    for symbol, (bid, ask) in PRICES.items():
        core.on_tick(symbol, Decimal(bid), Decimal(ask), now, now)
    for account in range(1, ACCOUNTS + 1):
        core.execute(
            CommandIn(
                f"a{account}", "open_account", account, {"user_id": 1, "type": "live", "initial_deposit": "10000000"}
            ),
            now,
        )
    others = [s for s in SYMBOLS if s != "EURUSD"]
    for i in range(positions_on_others):
        payload = {"symbol": others[i % len(others)], "side": "buy", "type": "market", "volume": "0.01"}
        core.execute(CommandIn(f"p{i}", "place_order", 1 + i % ACCOUNTS, payload), now)
    for i in range(pending_far):
        payload = {
            "symbol": "EURUSD",
            "side": "buy",
            "type": "limit",
            "volume": "0.01",
            "price": f"{Decimal('1.00000') + Decimal(i) / 100000:.5f}",
        }
        core.execute(CommandIn(f"o{i}", "place_order", 1 + i % ACCOUNTS, payload), now)
    core.drain()
    return core, now


def core_rate(positions_on_others: int, pending_far: int, n: int = 50_000) -> float:
    """EURUSD ticks/s of the pure core (no I/O) with this much unrelated state."""
    core, now = _core(positions_on_others, pending_far)
    rng = random.Random(3)
    prices = [Decimal("1.08490") + rng.randint(-20, 20) * Decimal("0.00001") for _ in range(1000)]
    spread = Decimal("0.00010")
    start = time.perf_counter()
    for i in range(n):
        bid = prices[i % 1000]
        core.on_tick("EURUSD", bid, bid + spread, now, now)
    return n / (time.perf_counter() - start)


def main() -> None:
    n = int(os.environ.get("TICKS", "100000"))
    shape = {
        "no other state": core_rate(0, 0),
        "10,000 positions on other symbols": core_rate(POSITIONS, 0),
        "5,000 pending EURUSD orders that do not trigger": core_rate(0, PENDING),
    }
    with scratch() as s:
        result = engine_run(s, n)
    print(
        f"engine: {result['ticks_per_second']} ticks/s absorbed ({n} ticks over 7 symbols; {result['positions']} open "
        f"positions with SL/TP and {result['pending']} pending orders over {ACCOUNTS} accounts; "
        f"injected in {result['injected_s']} s)"
    )
    print(
        f"after the walk (fills, SL/TP): {result['positions_after']} open positions, {result['pending_after']} pending"
    )
    print(f"engine CPU: {result['ticks_per_cpu_second']} ticks per engine CPU-second; memory (RSS) {result['rss']} MiB")
    print("pure core, EURUSD ticks/s (cost shape):")
    for label, rate in shape.items():
        print(f"  {label}: {round(rate)}")


if __name__ == "__main__":
    main()
