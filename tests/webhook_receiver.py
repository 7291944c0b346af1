"""A real HTTP webhook receiver for tests: records every request and answers as it is told.

`fail_next(n, status, headers)` makes the next n requests fail; `close()` stops listening (the
port refuses connections) and `start()` on the same port brings it back, so an outage and a
recovery can both be staged against the real worker process.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"ok":true}'
    delay_s: float = 0.0


class WebhookReceiver:
    """A threaded HTTP server on 127.0.0.1 that records requests and replies from a script."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.requests: list[Received] = []
        self._planned: deque[Reply] = deque()
        self.default = Reply()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                reply = receiver._record(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop listening: connections to the port are refused until start() again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    # --- scripting -------------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 503, headers: dict[str, str] | None = None) -> None:
        """The next `count` requests get `status` (with `headers`), then the default reply again."""
        with self._lock:
            for _ in range(count):
                self._planned.append(Reply(status=status, headers=dict(headers or {}), body=b"unavailable"))

    def reply_next(self, reply: Reply) -> None:
        with self._lock:
            self._planned.append(reply)

    def always(self, reply: Reply) -> None:
        """Answer every request (after the planned ones) with this reply."""
        with self._lock:
            self.default = reply

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        with self._lock:
            self.requests.append(Received(path, headers, body, time.time()))
            return self._planned.popleft() if self._planned else self.default

    # --- reading ---------------------------------------------------------------------------

    def for_id(self, webhook_id: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.webhook_id == webhook_id]

    def paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests]
