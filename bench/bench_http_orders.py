"""HTTP round trip of POST /api/orders (web → command stream → engine → reply) at 100 and 200 orders/s:
p50/p99 latency, on the platform's gunicorn (gevent) configuration with the real engine.

Run: `python bench/bench_http_orders.py` with DATABASE_URL and REDIS_URL set (a scratch database
is created and dropped). RATES (default "100,200") and SECONDS (default 10) change the load. Beside
each latency it prints the CPU every part of the platform spent per request (web workers, engine,
PostgreSQL, Redis, the load generator) and how many cores that kept busy.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from engine_setup import (
    ROOT,
    Scratch,
    children,
    cpu_of,
    fresh_quotes,
    make_users,
    open_accounts,
    pct,
    pids_named,
    quiet_gc,
    scratch,
    seed_instruments,
    start_engine,
    stop,
)

USERS = 50


def _cookies(s: Scratch, user_ids: list[int]) -> list[dict[str, str]]:
    """Real session cookies for each user (made by the web's own session code)."""
    from config import from_env
    from models import User
    from tests.factories import session_cookies
    from web import create_app
    from web.extensions import db

    app = create_app(from_env(s.env()))
    out = []
    with app.app_context():
        users = [db.get_one(User, uid) for uid in user_ids]
        for user in users:
            db.expunge(user)
        db.remove()
    for user in users:
        out.append({name: value for name, (value, _path) in session_cookies(app, user).items()})
    return out


def _web(s: Scratch, port: int) -> subprocess.Popen[bytes]:
    env = s.env(PORT=str(port), HOST="127.0.0.1", WEB_CONCURRENCY=os.environ.get("WEB_CONCURRENCY", "2"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import requests

    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/healthz", timeout=1).ok:
                return proc
        except requests.RequestException:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("the web process did not start")
        time.sleep(0.1)


async def _load(port: int, clients: list[tuple[dict[str, str], int]], rate: int, seconds: float) -> dict[str, Any]:
    from httpload import Client, fixed_rate

    users = []
    for cookies, account_id in clients:
        client = Client("127.0.0.1", port, cookies)
        status, content = await client.request("GET", "/api/auth/csrf")
        assert status == 200, (status, content)
        users.append((client, json.loads(content)["csrf_token"], account_id))
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    async def one(i: int) -> None:
        client, token, account_id = users[i % len(users)]
        side = "buy" if i % 2 else "sell"
        body = {"account_id": account_id, "symbol": "BTCUSD", "side": side, "type": "market", "volume": "0.01"}
        headers = {"X-CSRFToken": token, "Content-Type": "application/json"}
        data = json.dumps(body).encode()
        start = time.perf_counter()
        status, _ = await client.request("POST", "/api/orders", data, headers)
        latencies.append((time.perf_counter() - start) * 1000)
        statuses[status] += 1

    await fixed_rate(one, rate, seconds)
    for client, _, _ in users:
        client.close()
    return {"latencies": latencies, "statuses": dict(statuses)}


def _measured(
    port: int, clients: list[tuple[dict[str, str], int]], rate: int, seconds: float, procs: dict[str, list[int]]
) -> str:
    """One load at `rate`: latency, and the CPU each part of the platform spent per request."""
    before = {name: cpu_of(pids) for name, pids in procs.items()}
    workers_before = [cpu_of([pid]) for pid in procs["web workers"]]
    with quiet_gc():
        result = asyncio.run(_load(port, clients, rate, seconds))
    spent = {name: cpu_of(pids) - before[name] for name, pids in procs.items()}
    split = [cpu_of([pid]) - b for pid, b in zip(procs["web workers"], workers_before, strict=True)]
    ms = result["latencies"]
    n = len(ms)
    per_request = ", ".join(f"{name} {spent[name] / n * 1000:.1f}" for name in procs)
    busy = sum(spent.values()) / seconds
    return (
        f"POST /api/orders at {rate}/s for {seconds:.0f} s ({n} orders, statuses {result['statuses']}): "
        f"p50 {statistics.median(ms):.2f} ms, p99 {pct(ms, 99):.2f} ms, max {max(ms):.2f} ms\n"
        f"  CPU per request (ms): {per_request}; total {sum(spent.values()) / n * 1000:.1f} ms "
        f"= {busy:.2f} of {os.cpu_count()} cores busy; each web worker: "
        + ", ".join(f"{100 * cpu / seconds:.0f} %" for cpu in split)
        + " of a core"
    )


def main() -> None:
    rates = [int(r) for r in os.environ.get("RATES", os.environ.get("RATE", "100,200")).split(",")]
    seconds = float(os.environ.get("SECONDS", "10"))
    from tests.support import free_port

    lines = []
    with scratch() as s:
        seed_instruments(s)
        engine = start_engine(s)
        users = make_users(s, USERS)
        accounts = open_accounts(s, users)
        cookies = _cookies(s, users)
        port = free_port()
        web = _web(s, port)
        procs = {
            "web workers": children(web.pid),
            "engine": [engine.pid],
            "PostgreSQL": pids_named("postgres"),
            "Redis": pids_named("redis-server"),
            "load generator": [os.getpid()],
        }
        try:
            with fresh_quotes(s):
                clients = list(zip(cookies, accounts, strict=True))
                asyncio.run(_load(port, clients, rates[0], 1.0))  # warm-up
                for rate in rates:
                    lines.append(_measured(port, clients, rate, seconds, procs))
        finally:
            stop(web)
            stop(engine)
    print("\n".join(lines))
    print("(round trip: cookie session + CSRF check, XADD, engine batch commit, reply via BLPOP; gunicorn gevent)")


if __name__ == "__main__":
    main()
