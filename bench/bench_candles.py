"""Candles: GET /api/market/candles?limit=1000 served from the in-process cache, from PostgreSQL, from the provider.

Runs the simulator (the provider) and gunicorn (one gevent worker) on this code. A first web
process fetches 1,000 bars for 7 symbols x 4 intervals from the provider (stored in PostgreSQL);
a second, fresh process then answers each of them once from PostgreSQL (its cache is empty) and
then repeatedly from its LRU cache. Times are HTTP round trips over a keep-alive connection.

Needs DATABASE_URL (migrated, with the seed's instruments) and REDIS_URL: `make bench` fills them in.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SYMBOLS = ["EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "WTI", "BTCUSD", "ETHUSD"]
INTERVALS = ["1m", "5m", "1h", "1d"]
LIMIT = 1000
CACHED_ROUNDS = 30


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_instruments() -> None:
    """The seed's instruments exist (`make bench` may run before `make run` ever seeded the database)."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from models import Instrument
    from models.session import engine_for
    from web.seed_data import INSTRUMENTS

    with Session(engine_for(os.environ["DATABASE_URL"])) as session:
        have = set(session.execute(select(Instrument.symbol)).scalars())
        session.add_all(Instrument(**spec) for spec in INSTRUMENTS if spec["symbol"] not in have)
        session.commit()


def wait_http(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def start(args: list[str], env: dict[str, str], probe: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(probe, proc)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=30)


def timed(session: requests.Session, url: str) -> float:
    begin = time.perf_counter()
    response = session.get(url, timeout=30)
    elapsed = (time.perf_counter() - begin) * 1000
    if response.status_code != 200 or len(response.json()) != LIMIT:
        raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
    return elapsed


def line(name: str, values: list[float]) -> str:
    return (
        f"  {name:<34} p50 {pct(values, 50):7.2f} ms   p99 {pct(values, 99):7.2f} ms   "
        f"mean {statistics.fmean(values):7.2f} ms   (n={len(values)})"
    )


def main() -> int:
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(name):
            print(f"{name} is not set (run through `make bench`)", file=sys.stderr)
            return 2
    ensure_instruments()
    sim_port, web_port = free_port(), free_port()
    env = {
        **os.environ,
        "TWELVEDATA_API_KEY": "",
        "MARKETSIM_PORT": str(sim_port),
        "PORT": str(web_port),
        "WEB_CONCURRENCY": "1",
        "RATELIMIT_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }
    import redis
    from sqlalchemy import create_engine, text

    from models.session import sqlalchemy_url

    redis.Redis.from_url(os.environ["REDIS_URL"]).delete(
        *[f"md:candles:sync:{s}:{i}" for s in SYMBOLS for i in INTERVALS]
    )
    with create_engine(sqlalchemy_url(os.environ["DATABASE_URL"])).begin() as conn:
        conn.execute(text("DELETE FROM candles"))
    base = f"http://127.0.0.1:{web_port}/api/market/candles"
    urls = [f"{base}?symbol={s}&interval={i}&limit={LIMIT}" for s in SYMBOLS for i in INTERVALS]
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
    sim = start(
        [sys.executable, "-m", "feed.marketsim", "--port", str(sim_port)],
        env,
        f"http://127.0.0.1:{sim_port}/_sim/state",
    )
    try:
        web = start(gunicorn, env, f"http://127.0.0.1:{web_port}/api/healthz")
        try:
            with requests.Session() as session:
                provider = [timed(session, url) for url in urls]
        finally:
            stop(web)
        web = start(gunicorn, env, f"http://127.0.0.1:{web_port}/api/healthz")  # a fresh process: empty cache
        try:
            with requests.Session() as session:
                session.get(f"http://127.0.0.1:{web_port}/api/market/symbols")  # warm DB and Redis pools
                database = [timed(session, url) for url in urls]
                cached = [timed(session, url) for _ in range(CACHED_ROUNDS) for url in urls]
        finally:
            stop(web)
    finally:
        stop(sim)
    print(
        f"GET /api/market/candles, {LIMIT} bars, {len(SYMBOLS)} symbols x {len(INTERVALS)} intervals, HTTP on gunicorn"
    )
    print(line("cached (in-process LRU)", cached))
    print(line("first request, from PostgreSQL", database))
    print(line("first request, from the provider", provider))
    print(f"  (the provider is the local simulator; load average {os.getloadavg()[0]:.1f} at the end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
