"""Quote fan-out: 1,000 WebSocket clients on one web process at 100 quotes/s (publish → receipt latency).

Runs gunicorn (one gevent worker) on this code, connects 1,000 authenticated clients to
/api/stream from BENCH_CLIENT_PROCS client processes (default: one per core; each a minimal
WebSocket client on asyncio, so the clients are not what is measured), PUBLISHes 100 quotes/s
in total on md:quote:{SYMBOL} (as the feed does) and measures, per received frame, publish →
receipt latency; frames dropped (expected - received), disconnects, and the worker's memory. Two
subscription patterns: each client watching one symbol (≈14 quotes/s per client), and each
watching all seven (a full watchlist).

Needs DATABASE_URL (migrated, with the seed's instruments) and REDIS_URL: `make bench` fills them in.
A client process that cannot get all its clients subscribed within BENCH_CONNECT_TIMEOUT_S (180)
fails the run and says how many subscribed, how many the server dropped and why.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import os
import random
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SYMBOLS = ["EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "WTI", "BTCUSD", "ETHUSD"]
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "1000"))
RATE = 100  # quotes per second, all symbols together
# The clients are spread over this many processes: one asyncio process parsing ~14,000 frames/s
# keeps a core busy and then measures its own queue, not the server's delivery.
CLIENT_PROCS = int(os.environ.get("BENCH_CLIENT_PROCS", str(os.cpu_count() or 1)))
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


class _QuoteClient(asyncio.Protocol):
    """A minimal WebSocket client (RFC 6455) that timestamps the quote frames it receives.

    The general-purpose `websockets` client spent ~60 µs per frame (an awaitable, a queue and a
    UTF-8 check per message): at 14,000 frames/s its process kept a core busy and the bench
    measured that process's own backlog. Server frames are never masked, so this one reads each
    frame's header and payload straight from the receive buffer and only looks for `"sent":`.
    """

    def __init__(self, url: str, cookie: str, symbols: list[str], out: dict[str, Any], window: list[float]) -> None:
        parts = urlsplit(url)
        self.request = (
            f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n"
            f"Cookie: {cookie}\r\n\r\n"
        ).encode()
        self.symbols, self.out, self.window = symbols, out, window
        self.buffer = bytearray()
        self.upgraded = self.ready = False
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def _send(self, opcode: int, payload: bytes) -> None:
        assert self.transport is not None and len(payload) < 126
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        self.transport.write(bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)

    def _finish(self, disconnected: bool, why: str = "") -> None:
        if not self.done.done():
            self.out["disconnects"] += disconnected
            if disconnected and len(self.out["why"]) < 3:
                self.out["why"].append(why or "closed")
            self.done.set_result(None)
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.buffer
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self._finish(disconnected=True, why=bytes(buf[: min(end, 200)]).decode(errors="replace"))
                return
            del buf[: end + 4]
            self.upgraded = True
            self._send(0x1, json.dumps({"action": "subscribe", "symbols": self.symbols}).encode())
        pos, size = 0, len(buf)
        while size - pos >= 2:
            first, length, head = buf[pos], buf[pos + 1] & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if size - pos < head + length:
                break
            start, pos = pos + head, pos + head + length
            opcode = first & 0x0F
            if opcode == 0x1 and first & 0x80:
                self._text(buf, start, pos, now)
            elif opcode == 0x9:
                self._send(0xA, bytes(buf[start:pos]))
            elif opcode != 0xA:  # close, or a fragmented/binary frame this server never sends
                self._finish(disconnected=True, why=f"opcode {opcode}: {bytes(buf[start:pos])[:200]!r}")
                return
        del buf[:pos]

    def _text(self, buf: bytearray, start: int, end: int, now: float) -> None:
        at = buf.find(b'"sent":', start, end)
        if at < 0:
            frame = json.loads(bytes(buf[start:end]))
            if not self.ready and frame.get("type") == "subscribed" and frame.get("symbols"):
                self.ready = True
                self.out["ready"] += 1
            return
        sent = float(buf[at + 7 : buf.index(b"}", at, end)])
        if self.window[0] <= sent < self.window[1]:
            self.out["latencies"].append((now - sent) * 1000)
            self.out["received"] += 1
        elif sent >= self.window[1] + 1.0:
            self._finish(disconnected=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish(disconnected=True, why=f"connection lost ({exc!r}) after {len(self.buffer)} unread bytes")


async def _client(url: str, cookie: str, symbols: list[str], out: dict[str, Any], window: list[float]) -> None:
    parts = urlsplit(url)
    client = _QuoteClient(url, cookie, symbols, out, window)
    await asyncio.get_running_loop().create_connection(lambda: client, parts.hostname or "127.0.0.1", parts.port or 80)
    await client.done


async def client_main(url: str, cookie: str, clients: int, mode: str, first: int) -> None:
    raise_fd_limit()
    out: dict[str, Any] = {"ready": 0, "received": 0, "disconnects": 0, "latencies": [], "why": []}
    window = [float("inf"), float("inf")]
    tasks = []
    for i in range(clients):
        symbols = SYMBOLS if mode == "all" else [SYMBOLS[(first + i) % len(SYMBOLS)]]
        tasks.append(asyncio.create_task(_client(url, cookie, symbols, out, window)))
        if i % 50 == 49:
            while out["ready"] < i - 100:
                await asyncio.sleep(0.01)
    deadline = time.monotonic() + float(os.environ.get("BENCH_CONNECT_TIMEOUT_S", "180"))
    while out["ready"] < clients:
        if time.monotonic() > deadline:
            failed = [task.exception() for task in tasks if task.done() and not task.cancelled() and task.exception()]
            print(
                f"NOT READY: {out['ready']} of {clients} subscribed, {out['disconnects']} disconnected, "
                f"{len(failed)} failed to connect{f' (first: {failed[0]!r})' if failed else ''}; why: {out['why']}",
                flush=True,
            )
            os._exit(1)
        await asyncio.sleep(0.05)
    print("READY", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    _, start, end = line.split()
    # No collector pauses while measuring: a full collection over 1,000 connections' objects
    # stalls every frame in this process and would be counted as delivery latency.
    gc.collect()
    gc.freeze()
    gc.disable()
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
    shares = [CLIENTS // CLIENT_PROCS + (1 if n < CLIENTS % CLIENT_PROCS else 0) for n in range(CLIENT_PROCS)]
    url = f"ws://127.0.0.1:{port}/api/stream"
    connect_start = time.monotonic()
    clients = [
        subprocess.Popen(
            [sys.executable, __file__, "--client", url, cookie, str(share), mode, str(sum(shares[:n]))],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=raise_fd_limit,
        )
        for n, share in enumerate(shares)
    ]
    for client in clients:
        assert client.stdout is not None
        status = client.stdout.readline().strip()
        if status != "READY":
            for other in clients:  # none is left connected behind a failed run
                other.kill()
            raise RuntimeError(f"clients did not connect: {status or 'the client process exited'}")
    connect_s = time.monotonic() - connect_start
    connected_rss = worker_rss(master)
    start = time.time() + WARMUP_S
    end = start + MEASURE_S
    for client in clients:
        assert client.stdin is not None
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
    results = []
    for client in clients:
        assert client.stdout is not None
        results.append(json.loads(client.stdout.readline()))
        client.wait(timeout=30)
    result = {key: sum((r[key] for r in results), type(results[0][key])()) for key in results[0]}
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
        f"  CPU: web worker {cpu_worker:.0f} %, client processes ({CLIENT_PROCS}) ~{cpu_clients:.0f} % of one core; "
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
        print(f"fan-out over WS /api/stream, one gunicorn gevent worker, clients in {CLIENT_PROCS} other process(es)")
        for mode in ("one", "all"):
            print(scenario(port, cookie, web.pid, mode), flush=True)
    finally:
        web.terminate()
        web.wait(timeout=30)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        asyncio.run(client_main(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6])))
    else:
        sys.exit(main())
