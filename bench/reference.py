"""Reference figures measured on the same machine in the same run, to set ours beside:

- Python speed: a fixed pure-Python and Decimal workload (the same code every run, so a slower
  virtual machine shows here before it shows in every other figure);
- raw Redis stream loop: XADD → XREADGROUP (batches) → XACK with no work;
- bare Flask on the same gunicorn (gevent): POST round trip p50/p99 at a fixed rate;
- batched PostgreSQL inserts: executemany of 100-row batches.

Needs DATABASE_URL and REDIS_URL (run via `make bench`, which fills them in).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def python_speed() -> dict[str, float]:
    """Best of five: sum(range(10**6)) and 100,000 Decimal multiply-adds, in ms."""
    import timeit
    from decimal import Decimal

    a, b = Decimal("1.23456"), Decimal("2.5")
    loop = min(timeit.repeat(lambda: sum(range(10**6)), number=1, repeat=5))
    decimal = min(timeit.repeat(lambda: [a * b + a for _ in range(100_000)], number=1, repeat=5))
    return {"sum_range_1e6_ms": round(loop * 1000, 1), "decimal_1e5_ms": round(decimal * 1000, 1)}


def redis_stream_loop(n: int = 50_000, batch: int = 500) -> dict[str, float]:
    import redis

    r = redis.Redis.from_url(os.environ["REDIS_URL"])
    stream = f"bench:ref:{os.getpid()}"
    r.delete(stream)
    r.xgroup_create(stream, "g", id="0", mkstream=True)
    pipe = r.pipeline(transaction=False)
    start = time.perf_counter()
    for i in range(n):
        pipe.xadd(stream, {"i": i, "payload": "x" * 64})
        if i % batch == batch - 1:
            pipe.execute()
    pipe.execute()
    done = 0
    while done < n:
        items: Any = r.xreadgroup("g", "c", {stream: ">"}, count=batch, block=100)
        if not items:
            continue
        ids = [entry_id for entry_id, _ in items[0][1]]
        r.xack(stream, "g", *ids)
        done += len(ids)
    elapsed = time.perf_counter() - start
    r.delete(stream)
    return {"messages": n, "batch": batch, "per_second": round(n / elapsed)}


def postgres_batched_inserts(rows: int = 50_000, batch: int = 100) -> dict[str, float]:
    """INSERT through SQLAlchemy Core (insertmanyvalues), one transaction per batch, as the engine does."""
    from sqlalchemy import BigInteger, Column, MetaData, Numeric, Table, Text, insert

    from models.session import make_engine

    engine = make_engine(os.environ["DATABASE_URL"])
    meta = MetaData()
    table = Table(
        f"bench_ref_{os.getpid()}",
        meta,
        Column("id", BigInteger, primary_key=True),
        Column("account_id", BigInteger),
        Column("amount", Numeric(20, 2)),
        Column("note", Text),
    )
    meta.create_all(engine)
    try:
        payload = [{"account_id": i % 1000, "amount": f"{i}.25", "note": "reference"} for i in range(batch)]
        start = time.perf_counter()
        for _ in range(rows // batch):
            with engine.begin() as conn:
                conn.execute(insert(table), payload)
        elapsed = time.perf_counter() - start
    finally:
        meta.drop_all(engine)
        engine.dispose()
    return {
        "rows": rows,
        "batch": batch,
        "rows_per_second": round(rows / elapsed),
        "transactions_per_second": round(rows / batch / elapsed),
    }


BARE_APP = textwrap.dedent(
    """
    from flask import Flask
    app = Flask(__name__)

    @app.post("/echo")
    def echo():
        return {"ok": True}, 201
    """
)


async def _fixed_rate(port: int, rate: int, seconds: float) -> list[float]:
    """POST /echo at `rate` with the same light client as bench_http_orders."""
    from httpload import Client, fixed_rate

    latencies: list[float] = []
    client = Client("127.0.0.1", port)

    async def one(_: int) -> None:
        start = time.perf_counter()
        status, _body = await client.request("POST", "/echo", b'{"x": 1}', {"Content-Type": "application/json"})
        assert status == 201, status
        latencies.append(time.perf_counter() - start)

    await fixed_rate(one, rate, seconds)
    client.close()
    return latencies


def bare_flask_round_trip(rate: int = 200, seconds: float = 10.0) -> dict[str, float]:
    """The same gunicorn + gevent, one worker, an app that does nothing."""
    from tests.support import free_port, wait_for

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "bare_app.py").write_text(BARE_APP)
        proc = subprocess.Popen(
            # the platform's keep-alive (gunicorn.conf.py), so connections live as long as they do there
            [sys.executable, "-m", "gunicorn", "-k", "gevent", "-w", "1", "--keep-alive", "30"]
            + ["-b", f"127.0.0.1:{port}", "bare_app:app"],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            import requests

            wait_for(lambda: requests.post(f"http://127.0.0.1:{port}/echo", timeout=1).ok, timeout=20)
            from engine_setup import quiet_gc

            with quiet_gc():  # as in bench_http_orders: the generator's own pauses are not measured
                latencies = asyncio.run(_fixed_rate(port, rate, seconds))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    ms = [v * 1000 for v in latencies]
    return {
        "rate": rate,
        "requests": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(pct(ms, 99), 2),
    }


def main() -> None:
    results = {
        "python_speed": python_speed(),
        "redis_stream_loop": redis_stream_loop(),
        "postgres_batched_inserts": postgres_batched_inserts(),
        "bare_flask_round_trip": bare_flask_round_trip(),
    }
    for name, figures in results.items():
        print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    print("RESULT " + json.dumps(results))


if __name__ == "__main__":
    main()
