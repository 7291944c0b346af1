"""Fan-out of Redis pub/sub messages to WebSocket connections (the engine of WS /api/stream).

One hub per process holds ONE Redis pub/sub connection (quote channels of the symbols someone
watches, account channels of connected users) and hands each message, encoded once as a WebSocket
frame, to every interested connection: written at once with a non-blocking send when the connection
is idle, otherwise queued (bounded; a slow client loses its oldest quotes, account events are never
dropped). The hub never waits on a socket. Runs under gevent in the web process (threading and
time are monkey-patched there); no Flask here.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import Counter, deque
from typing import Any, cast

from common.redis_conn import make_redis
from engine.contracts import MD_STATUS
from feed.status import feed_mode

log = logging.getLogger(__name__)

QUOTE_QUEUE_MAX = 256  # per connection; the oldest quotes go first when a client falls behind
PRIVATE_QUEUE_MAX = 2048  # account events and control frames; beyond this the client is cut off
TICK_S = 5.0  # the hub wakes every connection this often (session re-checks, no per-wait timers)
QUOTE_PREFIX = "md:quote:"


def encode_frame(text: str) -> bytes:
    """A server-to-client WebSocket text frame (RFC 6455: FIN, opcode 1, unmasked; no extensions).

    Encoded once per message and shared by every connection that gets it.
    """
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 65536:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


def frame(**data: Any) -> bytes:
    return encode_frame(json.dumps(data, separators=(",", ":")))


def quote_text(payload: str) -> str | None:
    """The client JSON of a md:quote message: the feed's JSON with "type":"quote" in front (no re-encoding)."""
    payload = payload.strip()
    if not payload.startswith("{") or len(payload) < 3:
        return None
    return '{"type":"quote",' + payload[1:]


def quote_frame(payload: str) -> bytes | None:
    text = quote_text(payload)
    return None if text is None else encode_frame(text)


class LockedSocket:
    """The connection's socket with one write lock: our frames and simple_websocket's pings/pongs never interleave."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._lock = threading.Lock()
        # gevent sockets can be tried without blocking (timeout=0); a plain socket never is
        self.nonblocking_ok = "gevent" in type(sock).__module__

    def try_send(self, data: bytes) -> int | None:
        """Write what the socket takes right now; None when another writer holds it or it would block."""
        if not self.nonblocking_ok or not self._lock.acquire(blocking=False):
            return None
        try:
            return int(self._sock.send(data, 0, timeout=0.0))
        except BlockingIOError:
            return None
        finally:
            self._lock.release()

    def send(self, data: bytes) -> int:
        with self._lock:
            self._sock.sendall(data)
        return len(data)

    def sendall(self, data: bytes) -> None:
        with self._lock:
            self._sock.sendall(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


# --- per-connection queues ------------------------------------------------------------------------


class Conn:
    """What the hub knows of one WebSocket: its channels and its bounded outgoing queues."""

    def __init__(self, quote_max: int = QUOTE_QUEUE_MAX, private_max: int = PRIVATE_QUEUE_MAX) -> None:
        self.id = uuid.uuid4().hex[:8]
        self.quotes: deque[bytes] = deque(maxlen=quote_max)
        self.private: deque[bytes] = deque()
        self.private_max = private_max
        self.inbox: deque[str | bytes] = deque()
        self.wake = threading.Event()
        self.channels: set[str] = set()
        self.dropped = 0
        self.overflowed = False
        self.closed = False
        self.sock: LockedSocket | None = None  # set while serving: lets the hub write without a switch
        self.partial = b""  # the unsent tail of a direct write; it goes out before anything queued

    def _notify(self) -> None:
        if not self.wake.is_set():
            self.wake.set()

    def _try_direct(self, frame: bytes) -> bool:
        """Write at once when nothing waits and the socket takes the bytes without blocking (no greenlet switch).

        Order is kept: only an idle connection is written directly; the unsent tail of a partial write
        is left to the connection's own sender, ahead of everything queued after it.
        """
        sock = self.sock
        if sock is None or self.closed or self.partial or self.quotes or self.private:
            return False
        try:
            sent = sock.try_send(frame)
        except OSError:
            self.closed = True
            self._notify()
            return True
        if sent is None:
            return False
        if sent < len(frame):
            self.partial = frame[sent:]
            self._notify()
        return True

    def push_quote(self, frame: bytes) -> None:
        """Queue a quote; a full queue loses its oldest quote (the newest price wins)."""
        if self._try_direct(frame):
            return
        if len(self.quotes) == self.quotes.maxlen:
            self.dropped += 1
        self.quotes.append(frame)
        self._notify()

    def push_private(self, frame: bytes) -> None:
        """Queue an account event or control frame; never dropped (overflow ends the connection)."""
        if self._try_direct(frame):
            return
        if len(self.private) >= self.private_max:
            self.overflowed = True
        else:
            self.private.append(frame)
        self._notify()

    def take(self) -> list[bytes]:
        """Everything queued: the tail of a partial direct write, private frames, then quotes."""
        out = [self.partial] if self.partial else []
        self.partial = b""
        out.extend(self.private)
        self.private.clear()
        out.extend(self.quotes)
        self.quotes.clear()
        return out

    @property
    def symbols(self) -> set[str]:
        return {c[len(QUOTE_PREFIX) :] for c in self.channels if c.startswith(QUOTE_PREFIX)}

    @property
    def account_ids(self) -> set[int]:
        return {int(c.split(":", 1)[1]) for c in self.channels if c.startswith("account:")}


# --- the hub --------------------------------------------------------------------------------------


class Hub:
    """One Redis subscriber per process, fanning messages out to connections."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.channels: dict[str, set[Conn]] = {}
        self.conns: set[Conn] = set()
        self.ops: deque[str] = deque()  # channels whose subscription may need to change
        self.active: set[str] = set()  # channels Redis has confirmed
        self.mode = "down"
        self.mode_known = False
        self.stats: Counter[str] = Counter()
        self._started = False
        self._lock = threading.Lock()

    def ensure_started(self) -> None:
        if self._started:
            return
        with self._lock:
            if not self._started:
                threading.Thread(target=self._run, name="stream-hub", daemon=True).start()
                self._started = True

    # called from connection greenlets
    def attach(self, conn: Conn, redis_client: Any) -> None:
        if not self.mode_known:  # the hub has not polled yet: a new client must not see a false "down"
            self.set_mode(feed_mode(redis_client.hgetall(MD_STATUS), int(time.time() * 1000)))
        self.conns.add(conn)
        conn.push_private(frame(type="status", feed=self.mode))

    def detach(self, conn: Conn) -> None:
        self.conns.discard(conn)
        for channel in list(conn.channels):
            self.leave(conn, channel)

    def join(self, conn: Conn, channel: str) -> bool:
        if channel in conn.channels:
            return False
        conn.channels.add(channel)
        subscribers = self.channels.setdefault(channel, set())
        if not subscribers:
            self.ops.append(channel)
        subscribers.add(conn)
        return True

    def leave(self, conn: Conn, channel: str) -> None:
        conn.channels.discard(channel)
        subscribers = self.channels.get(channel)
        if subscribers is None:
            return
        subscribers.discard(conn)
        if not subscribers:
            del self.channels[channel]
            self.ops.append(channel)

    # called from the hub greenlet
    def dispatch(self, channel: str, data: str) -> None:
        """Fan one pub/sub message out to the connections that want it."""
        subscribers = self.channels.get(channel)
        if not subscribers:
            return
        if channel.startswith(QUOTE_PREFIX):
            frame = quote_frame(data)
            if frame is None:
                return
            for conn in list(subscribers):
                conn.push_quote(frame)
        else:
            event = encode_frame(data)
            for conn in list(subscribers):
                conn.push_private(event)
        self.stats["messages"] += 1

    def wait_active(self, channels: list[str], timeout: float = 2.0) -> bool:
        """Block (cooperatively) until Redis confirmed these subscriptions, so nothing published later is missed."""
        deadline = time.monotonic() + timeout
        while not set(channels) <= self.active:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    def set_mode(self, mode: str) -> None:
        self.mode_known = True
        if mode == self.mode:
            return
        self.mode = mode
        status = frame(type="status", feed=mode)
        for conn in list(self.conns):
            conn.push_private(status)

    def _run(self) -> None:
        while True:
            try:
                self._loop()
            except Exception as exc:  # noqa: BLE001 - Redis outage or a bad message: rebuild after a pause
                log.warning("stream hub: %s; resubscribing", type(exc).__name__)
                self.stats["reconnects"] += 1
                time.sleep(1.0)

    def _loop(self) -> None:
        client = make_redis(self.redis_url, health_check_interval=0)
        pubsub = client.pubsub()
        subscribed: set[str] = set()
        self.ops.clear()
        self.active.clear()
        next_status = next_tick = 0.0
        try:
            wanted = set(self.channels)
            if wanted:
                pubsub.subscribe(*wanted)
                subscribed |= wanted
            while True:
                self._apply_ops(pubsub, subscribed)
                if subscribed:
                    message = pubsub.get_message(timeout=0.05)
                    burst = 0
                    while message is not None:
                        burst += 1
                        if burst % 64 == 0:
                            time.sleep(0)  # let the senders drain during a burst (a gevent yield)
                        kind = message.get("type")
                        if kind == "message":
                            self.dispatch(message["channel"], message["data"])
                        elif kind == "subscribe":
                            self.active.add(message["channel"])
                        elif kind == "unsubscribe":
                            self.active.discard(message["channel"])
                        message = pubsub.get_message(timeout=0)
                else:
                    time.sleep(0.05)
                now = time.monotonic()
                if now >= next_status:
                    next_status = now + 1.0
                    self.set_mode(feed_mode(cast(dict[str, str], client.hgetall(MD_STATUS)), int(time.time() * 1000)))
                if now >= next_tick:
                    next_tick = now + TICK_S
                    for conn in list(self.conns):
                        conn.wake.set()
        finally:
            pubsub.close()
            client.close()

    def _apply_ops(self, pubsub: Any, subscribed: set[str]) -> None:
        add: set[str] = set()
        drop: set[str] = set()
        while self.ops:
            channel = self.ops.popleft()
            wanted = channel in self.channels
            if wanted and channel not in subscribed:
                add.add(channel)
            elif not wanted and channel in subscribed:
                drop.add(channel)
        if add:
            pubsub.subscribe(*add)
            subscribed |= add
        if drop:
            pubsub.unsubscribe(*drop)
            subscribed -= drop
