"""Order throughput: market orders for 1,000 accounts through the command stream into the real
engine, fully persisted (orders, positions, trades, ledger, results, audit, outbox), with p50/p99
command latency, beside the raw Redis XADD→XREADGROUP→XACK loop on the same machine.

The injector stands in for the web tier (which has cores of its own in production) and shares the
engine's two cores here: commands are encoded before the run and stamped with the time of sending.

Run: `python bench/bench_orders.py` with DATABASE_URL and REDIS_URL set (a scratch database is
created and dropped). ORDERS (default 50,000) changes the size of the run; SHARDS (default 2) adds
a run with that many engine shards (0 or 1: none).
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import Any

from engine_setup import (
    Scratch,
    cpu_by_pid,
    cpu_seconds,
    cpu_since,
    encode,
    fresh_quotes,
    make_users,
    open_accounts,
    rss_mib,
    scratch,
    seed_instruments,
    send_encoded,
    start_engine,
    stop,
    summary,
    wait_processed,
)

from engine.contracts import PLACE_ORDER, Command, reply_key

ACCOUNTS = 1000
SYMBOLS = ("BTCUSD", "ETHUSD", "EURUSD", "XAUUSD")


def _orders(accounts: list[int], n: int) -> list[Command]:
    rng = random.Random(5)
    out = []
    for i in range(n):
        symbol = rng.choice(SYMBOLS)
        payload = {"symbol": symbol, "side": rng.choice(("buy", "sell")), "type": "market", "volume": "0.01"}
        out.append(Command(f"ord-{i:07d}", PLACE_ORDER, accounts[i % len(accounts)], payload, {"type": "system"}, 0))
    return out


def _latencies(s: Scratch, sample: list[Command], sent_at: dict[str, float], out: list[float]) -> None:
    """Wait for the replies of a sample of the commands, in order; record submit→reply times."""
    for command in sample:
        item = s.r.blpop([reply_key(command.command_id)], timeout=120)
        if item is None:
            return
        out.append((time.perf_counter() - sent_at[command.command_id]) * 1000)


PACED_RATE = int(os.environ.get("PACED_RATE", "1000"))
PACED_SECONDS = 10


def _paced(s: Scratch, accounts: list[int], rate: int, seconds: int) -> str:
    """Command latency at a steady rate the engine sustains (every 10th command sampled)."""
    n = rate * seconds
    commands = [
        Command(
            f"paced-{i:07d}",
            PLACE_ORDER,
            accounts[i % len(accounts)],
            {"symbol": "BTCUSD", "side": "buy", "type": "market", "volume": "0.01"},
            {"type": "system"},
            0,
        )
        for i in range(n)
    ]
    sample = commands[::10]
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    waiter = threading.Thread(target=_latencies, args=(s, sample, sent_at, latencies))
    waiter.start()
    ready = encode(s, commands)
    begin = time.perf_counter()
    per_tick = max(1, rate // 100)  # 10 ms steps
    for first in range(0, n, per_tick):
        delay = begin + first / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        stamp = time.perf_counter()
        for command in commands[first : first + per_tick]:
            sent_at[command.command_id] = stamp
        send_encoded(s, ready[first : first + per_tick])
    wait_processed(s, commands)
    waiter.join()
    return f"{rate}/s for {seconds} s: {summary(latencies)}" if latencies else "n/a"


def run(s: Scratch, n: int, paced: bool = True) -> dict[str, Any]:
    seed_instruments(s)
    engines = [start_engine(s, shard) for shard in range(s.shards)]
    accounts = open_accounts(s, make_users(s, ACCOUNTS))
    commands = _orders(accounts, n)
    sample = commands[::50]
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    # Encoded ahead, stamped when sent: the injector stands in for the web tier, which runs on
    # cores of its own in production; here it shares the engine's two.
    ready = encode(s, commands)
    with fresh_quotes(s):
        waiter = threading.Thread(target=_latencies, args=(s, sample, sent_at, latencies))
        waiter.start()
        cpu_before = sum(cpu_seconds(e.pid) for e in engines)
        pg_before, redis_before = cpu_by_pid("postgres"), cpu_by_pid("redis-server")
        me_before = cpu_seconds(os.getpid())
        start = time.perf_counter()
        for first in range(0, n, 500):
            stamp = time.perf_counter()
            for command in commands[first : first + 500]:
                sent_at[command.command_id] = stamp
            send_encoded(s, ready[first : first + 500])
        injected = time.perf_counter() - start
        elapsed = wait_processed(s, commands) - start
        waiter.join()
        cpu = sum(cpu_seconds(e.pid) for e in engines) - cpu_before
        others = {
            "PostgreSQL": cpu_since("postgres", pg_before),
            "Redis": cpu_since("redis-server", redis_before),
            "injector": cpu_seconds(os.getpid()) - me_before,
        }
        rss = sum(rss_mib(e.pid) for e in engines)
        status: Any = s.r.hgetall("engine:status:0")
        paced_result = _paced(s, accounts, PACED_RATE, PACED_SECONDS) if paced else "n/a"
        for engine in engines:
            stop(engine)
    with s.sql().connect() as conn:
        from sqlalchemy import text

        filled = conn.execute(
            text("SELECT count(*) FROM orders WHERE command_id LIKE 'ord-%' AND status = 'filled'")
        ).scalar()
    return {
        "orders": n,
        "accounts": ACCOUNTS,
        "shards": s.shards,
        "filled": int(filled or 0),
        "orders_per_second": round(n / elapsed),
        "injection_seconds": round(injected, 2),
        "latency": summary(latencies) if latencies else "n/a",
        "paced": paced_result,
        "engine_rss_mib": round(rss, 1),
        "orders_per_cpu_second": round(n / cpu) if cpu else 0,
        "cpu_split": ", ".join(f"{name} {1e6 * sec / n:.0f}" for name, sec in {"engine": cpu, **others}.items())
        + f"; {sum(others.values(), cpu) / elapsed:.2f} of {os.cpu_count()} cores busy",
        "split": f"rules {status.get('core_ms')} ms, PostgreSQL {status.get('db_ms')} ms, "
        f"Redis out {status.get('publish_ms')} ms (cumulative, {status.get('batches')} batches)",
    }


def main() -> None:
    n = int(os.environ.get("ORDERS", "50000"))
    shards = int(os.environ.get("SHARDS", "2"))
    from reference import redis_stream_loop

    with scratch() as s:
        raw = redis_stream_loop()
        result = run(s, n)
    print(
        f"engine: {result['orders_per_second']} orders/s fully persisted ({result['orders']} market orders over "
        f"{result['accounts']} accounts, {result['filled']} filled; injected in {result['injection_seconds']} s)"
    )
    print(f"command latency in that burst (submit → reply, 1 in 50 sampled): {result['latency']}")
    print(f"command latency at a steady rate (1 in 10 sampled): {result['paced']}")
    print(
        f"engine CPU: {result['orders_per_cpu_second']} orders per engine CPU-second "
        f"(the ceiling of one shard when PostgreSQL and Redis have cores of their own)"
    )
    print(f"CPU per order (µs): {result['cpu_split']}")
    print(f"engine memory (RSS) after the run: {result['engine_rss_mib']} MiB")
    print(f"engine time: {result['split']}")
    if shards > 1:
        with scratch(shards) as s:
            sharded = run(s, n, paced=False)
        print(
            f"{shards} shards (ENGINE_SHARDS={shards}, one engine process each, same machine): "
            f"{sharded['orders_per_second']} orders/s fully persisted, {sharded['filled']} filled; "
            f"{sharded['orders_per_cpu_second']} orders per engine CPU-second; burst latency {sharded['latency']}"
        )
        print(f"  CPU per order (µs): {sharded['cpu_split']}")
    print(f"raw Redis stream loop (XADD → XREADGROUP 500 → XACK, no work): {raw['per_second']} messages/s")


if __name__ == "__main__":
    main()
