"""The benchmarks' HTTP load generator (bench/httpload.py) against a small asyncio HTTP server.

Its figures are only as good as the client: it must reuse kept-alive connections, never write to
one the server closed, keep the cookies the server sets, and fail rather than hang.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from httpload import Client, fixed_rate

Handler = Callable[[bytes, bytes], Awaitable[tuple[bytes, bool] | None]]


class Server:
    """Answers each request with what `handler` returns: (raw response, close after it) or None (never)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []

    def drop_idle(self) -> None:
        """Close every connection from this side, as a keep-alive timeout does (no header said so)."""
        for writer in self.writers:
            writer.close()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                self.requests.append(head)
                answer = await self.handler(head, body)
                if answer is None:
                    await asyncio.sleep(3600)
                    return
                raw, close = answer
                writer.write(raw)
                await writer.drain()
                if close:
                    return
        finally:
            writer.close()


def response(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def running(server: Server) -> tuple[asyncio.Server, int]:
    srv = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    return srv, srv.sockets[0].getsockname()[1]


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def test_keeps_the_connection_alive_and_the_cookies_the_server_sets() -> None:
    async def handler(head: bytes, body: bytes) -> tuple[bytes, bool]:
        if head.startswith(b"GET /login"):
            return response(b"{}", "Set-Cookie: sid=abc; Path=/; HttpOnly", "Set-Cookie: old=; Max-Age=0"), False
        return response(b'{"echo": "' + body + b'"}', status="201 CREATED"), False

    async def scenario() -> None:
        server = Server(handler)
        srv, port = await running(server)
        client = Client("127.0.0.1", port, {"old": "1", "keep": "yes"})
        assert await client.request("GET", "/login") == (200, b"{}")
        status, content = await client.request("POST", "/orders", b"x", {"X-CSRFToken": "t"})
        assert (status, content) == (201, b'{"echo": "x"}')
        assert server.connections == 1
        sent = server.requests[1].decode()
        assert "Cookie: keep=yes; sid=abc\r\n" in sent
        assert "X-CSRFToken: t\r\n" in sent and "Content-Length: 1\r\n" in sent
        assert "old=" not in sent
        client.close()
        srv.close()

    asyncio.run(scenario())


def test_never_reuses_a_connection_the_server_closed() -> None:
    async def handler(head: bytes, body: bytes) -> tuple[bytes, bool]:
        if head.startswith(b"GET /bye"):
            return response(b"closing", "Connection: close"), True
        return response(b"ok"), False

    async def scenario() -> None:
        server = Server(handler)
        srv, port = await running(server)
        client = Client("127.0.0.1", port)
        assert await client.request("GET", "/bye") == (200, b"closing")
        assert client.idle == []
        assert await client.request("GET", "/kept") == (200, b"ok")
        assert len(client.idle) == 1
        server.drop_idle()
        await until(lambda: not client.idle[0].usable())
        assert await client.request("GET", "/next") == (200, b"ok")
        assert server.connections == 3
        client.close()
        srv.close()

    asyncio.run(scenario())


def test_a_request_without_an_answer_times_out() -> None:
    async def handler(head: bytes, body: bytes) -> None:
        return None

    async def scenario() -> None:
        srv, port = await running(Server(handler))
        client = Client("127.0.0.1", port, timeout_s=0.2)
        with pytest.raises(TimeoutError):
            await client.request("GET", "/never")
        assert client.idle == []
        srv.close()

    asyncio.run(scenario())


def test_fixed_rate_starts_every_request_once() -> None:
    seen: list[int] = []

    async def one(i: int) -> None:
        seen.append(i)

    asyncio.run(fixed_rate(one, rate=200, seconds=0.1))
    assert sorted(seen) == list(range(20))
