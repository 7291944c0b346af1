"""A light HTTP/1.1 load generator for the latency benchmarks (keep-alive, cookies, fixed rate).

The load generator shares the machine's cores with what it measures. aiohttp's client spent about
1 ms of CPU per request (0.8-1.2 ms measured beside `POST /api/orders`): at 200 requests/s that is
a fifth of a core taken from the web workers, the engine and PostgreSQL. This client writes each
request as one prepared byte string on a kept-alive connection and reads the response by its
Content-Length, so what the benchmark measures is the platform, not its client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from http.cookies import SimpleCookie
from typing import Any, cast


class _Connection(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, list[tuple[str, str]], bytes]] | None = None
        self.head: tuple[int, list[tuple[str, str]], int] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def usable(self) -> bool:
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    def send(self, data: bytes) -> asyncio.Future[tuple[int, list[tuple[str, str]], bytes]]:
        assert self.transport is not None and self.waiter is None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            del self.buffer[: end + 4]
            status = int(lines[0].split(" ", 2)[1])
            pairs = (line.partition(":") for line in lines[1:])
            headers = [(name.strip().lower(), value.strip()) for name, _, value in pairs]
            fields = dict(headers)
            if "content-length" not in fields:
                self._fail(RuntimeError(f"response without Content-Length: {lines[0]}"))
                return
            if fields.get("connection", "").lower() == "close":
                self.closed = True
            self.head = (status, headers, int(fields["content-length"]))
        status, headers, length = self.head
        if len(self.buffer) < length:
            return
        body = bytes(self.buffer[:length])
        del self.buffer[:length]
        self.head = None
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((status, headers, body))

    def _fail(self, exc: Exception) -> None:
        self.closed = True
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionResetError("the server closed the connection"))


class Client:
    """One user's HTTP client: a pool of keep-alive connections and that user's cookies.

    A connection the server closed (its keep-alive timeout) is never reused. A request that gets
    no response within `timeout_s` raises TimeoutError: a benchmark fails rather than hangs.
    """

    def __init__(self, host: str, port: int, cookies: dict[str, str] | None = None, timeout_s: float = 30.0) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self.cookies = dict(cookies or {})
        self.idle: list[_Connection] = []

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if body or method not in ("GET", "HEAD"):
            lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        conn = None
        while self.idle and conn is None:
            conn = self.idle.pop()
            if not conn.usable():
                conn = None
        if conn is None:
            conn = await self._connect()
        try:
            status, response_headers, content = await asyncio.wait_for(conn.send(data), self.timeout_s)
        except TimeoutError:
            conn._fail(TimeoutError(f"no response to {method} {path} within {self.timeout_s} s"))
            raise
        for name, value in response_headers:
            if name == "set-cookie":
                jar: SimpleCookie = SimpleCookie()
                jar.load(value)
                for key, morsel in jar.items():
                    if morsel.value and morsel["max-age"] not in ("0", 0):
                        self.cookies[key] = morsel.value
                    else:  # a cookie the server deletes
                        self.cookies.pop(key, None)
        if conn.usable():
            self.idle.append(conn)
        return status, content

    async def _connect(self) -> _Connection:
        _, conn = await asyncio.get_running_loop().create_connection(_Connection, self.host, self.port)
        return conn

    def close(self) -> None:
        for conn in self.idle:
            if conn.transport is not None:
                conn.transport.close()
        self.idle.clear()


async def fixed_rate(one: Callable[[int], Coroutine[Any, Any, None]], rate: int, seconds: float) -> None:
    """Start request i at begin + i/rate whatever the earlier ones are doing (an open-loop load)."""
    tasks = []
    begin = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = begin + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
