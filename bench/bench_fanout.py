"""Quote fan-out: 1,000 WebSocket clients on one web process at 100 quotes/s (publish → receipt latency).

Runs gunicorn (one gevent worker) on this code, connects 1,000 authenticated clients to
/api/stream from a separate client process, PUBLISHes 100 quotes/s in total on md:quote:{SYMBOL}
(as the feed does) and measures, per received frame, publish → receipt latency; frames dropped
(expected - received), disconnects, and the worker's memory. Two subscription patterns: each client
watching one symbol (≈14 quotes/s per client), and each watching all seven (a full watchlist).

Needs DATABASE_URL (migrated, with the seed's instruments) and REDIS_URL: `make bench` fills them in.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SYMBOLS = ["EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "WTI", "BTCUSD", "ETHUSD"]
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "1000"))
RATE = 100  # quotes per second, all symbols together
WARMUP_S = 3.0
MEASURE_S = 10.0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))


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


# --- the client process ----------------------------------------------------------------------------


async def _client(url: str, cookie: str, symbols: list[str], out: dict[str, Any], window: list[float]) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, additional_headers={"Cookie": cookie}, compression=None, proxy=None, max_queue=None) as ws:
        await ws.send(json.dumps({"action": "subscribe", "symbols": symbols}))
        async with asyncio.timeout(60):
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("type") == "subscribed" and frame.get("symbols"):
                    break
        out["ready"] += 1
        try:
            async for raw in ws:
                now = time.time()
                if isinstance(raw, bytes):
                    continue
                at = raw.find('"sent":')
                if at < 0:
                    continue
                sent = float(raw[at + 7 : raw.index("}", at)])
                if window[0] <= sent < window[1]:
                    out["latencies"].append((now - sent) * 1000)
                    out["received"] += 1
                elif sent >= window[1] + 1.0:
                    return
        except Exception:  # a bench counts disconnects instead of failing
            out["disconnects"] += 1


async def client_main(url: str, cookie: str, clients: int, mode: str) -> None:
    raise_fd_limit()
    out: dict[str, Any] = {"ready": 0, "received": 0, "disconnects": 0, "latencies": []}
    window = [float("inf"), float("inf")]
    tasks = []
    for i in range(clients):
        symbols = SYMBOLS if mode == "all" else [SYMBOLS[i % len(SYMBOLS)]]
        tasks.append(asyncio.create_task(_client(url, cookie, symbols, out, window)))
        if i % 50 == 49:
            while out["ready"] < i - 100:
                await asyncio.sleep(0.01)
    deadline = time.monotonic() + 180
    while out["ready"] < clients:
        if time.monotonic() > deadline:
            print("NOT READY", flush=True)
            os._exit(1)
        await asyncio.sleep(0.05)
    print("READY", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    _, start, end = line.split()
    window[0], window[1] = float(start), float(end)
    cpu_start = time.process_time()
    await asyncio.wait(tasks, timeout=float(end) - time.time() + 15)
    out["cpu_s"] = time.process_time() - cpu_start
    print(json.dumps({k: v for k, v in out.items()}), flush=True)
    os._exit(0)


# --- the orchestrator --------------------------------------------------------------------------------


def session_cookie() -> str:
    """A real session of a bench user (the same cookies for every client)."""
    from http.cookies import SimpleCookie

    from flask import Response

    from config import from_env
    from models import User
    from web import create_app
    from web.extensions import db
    from web.security import start_session
    from web.services.passwords import hash_password

    app = create_app(from_env())
    with app.test_request_context("/api/auth/login", method="POST", environ_base={"REMOTE_ADDR": "127.0.0.1"}):
        user = User(
            email=f"bench-{os.getpid()}-{random.randrange(10**9)}@example.test",
            password_hash=hash_password("Bench-Pass-2026!"),
            first_name="Bench",
            last_name="Client",
            role="client",
            status="active",
            flags={},
            limits={},
            preferences={},
        )
        db.add(user)
        db.flush()
        response = Response()
        start_session(response, user)
        db.commit()
        jar: SimpleCookie = SimpleCookie()
        for header in response.headers.getlist("Set-Cookie"):
            jar.load(header)
        return "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())


def start_web(port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "RATELIMIT_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=raise_fd_limit,  # a bench child, no threads yet
    )
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/healthz", timeout=1).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def worker_rss(master: int) -> float:
    import psutil

    children = psutil.Process(master).children()
    return sum(c.memory_info().rss for c in children) / 2**20


def publish(redis_url: str, start: float, end: float) -> dict[str, int]:
    """RATE quotes/s round-robin over the symbols until after `end`; count those sent inside [start, end)."""
    import redis

    r = redis.Redis.from_url(redis_url)
    counts = dict.fromkeys(SYMBOLS, 0)
    n = 0
    t0 = time.time()
    while True:
        due = t0 + n / RATE
        now = time.time()
        if due > now:
            time.sleep(due - now)
        sent = time.time()
        if sent >= end + 1.2:
            return counts
        symbol = SYMBOLS[n % len(SYMBOLS)]
        payload = f'{{"symbol":"{symbol}","bid":"1.08000","ask":"1.08008","ts":{int(sent * 1000)},"sent":{sent:.6f}}}'
        r.publish(f"md:quote:{symbol}", payload)
        if start <= sent < end:
            counts[symbol] += 1
        n += 1


def scenario(port: int, cookie: str, master: int, mode: str) -> str:
    base_rss = worker_rss(master)
    client = subprocess.Popen(
        [sys.executable, __file__, "--client", f"ws://127.0.0.1:{port}/api/stream", cookie, str(CLIENTS), mode],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=raise_fd_limit,
    )
    assert client.stdin is not None and client.stdout is not None
    connect_start = time.monotonic()
    if client.stdout.readline().strip() != "READY":
        raise RuntimeError("clients did not connect")
    connect_s = time.monotonic() - connect_start
    connected_rss = worker_rss(master)
    start = time.time() + WARMUP_S
    end = start + MEASURE_S
    client.stdin.write(f"GO {start} {end}\n")
    client.stdin.flush()
    import psutil

    worker = psutil.Process(master).children()[0]
    before = worker.cpu_times()
    wall = time.monotonic()
    counts = publish(os.environ["REDIS_URL"], start, end)
    after = worker.cpu_times()
    cpu_worker = (after.user + after.system - before.user - before.system) / (time.monotonic() - wall) * 100
    loaded_rss = worker_rss(master)
    result = json.loads(client.stdout.readline())
    client.wait(timeout=30)
    per_symbol = [counts[SYMBOLS[i % len(SYMBOLS)]] for i in range(CLIENTS)]
    expected = sum(counts.values()) * CLIENTS if mode == "all" else sum(per_symbol)
    lat = result["latencies"]
    cpu_clients = result["cpu_s"] / (end + 1.0 - start + WARMUP_S) * 100
    received = result["received"]
    label = "all 7 symbols each" if mode == "all" else "one symbol each"
    return (
        f"{CLIENTS} clients, {label}, {RATE} quotes/s published, measured over {MEASURE_S:.0f} s\n"
        f"  delivered {received} of {expected} frames ({received / MEASURE_S:,.0f}/s); "
        f"dropped {expected - received} ({(expected - received) / max(expected, 1):.2%}); "
        f"disconnects {result['disconnects']}\n"
        f"  publish -> receipt latency: p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms, "
        f"max {max(lat, default=float('nan')):.1f} ms\n"
        f"  CPU: web worker {cpu_worker:.0f} %, client process ~{cpu_clients:.0f} % of one core; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n"
        f"  web worker RSS: {base_rss:.0f} MiB idle, {connected_rss:.0f} MiB with {CLIENTS} clients "
        f"({(connected_rss - base_rss) * 1024 / CLIENTS:.0f} KiB each), {loaded_rss:.0f} MiB under load; "
        f"connecting took {connect_s:.1f} s"
    )


def main() -> int:
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(name):
            print(f"{name} is not set (run through `make bench`)", file=sys.stderr)
            return 2
    raise_fd_limit()
    ensure_instruments()
    cookie = session_cookie()
    port = free_port()
    web = start_web(port)
    try:
        print("fan-out over WS /api/stream, one gunicorn gevent worker, clients in one separate process")
        for mode in ("one", "all"):
            print(scenario(port, cookie, web.pid, mode), flush=True)
    finally:
        web.terminate()
        web.wait(timeout=30)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        asyncio.run(client_main(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]))
    else:
        sys.exit(main())
