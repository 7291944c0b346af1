"""The WebSocket relay WS /api/stream: live quotes, feed status and the user's account events.

The fan-out itself (one Redis subscriber per process, bounded per-connection queues, frames encoded
once) is `feed.fanout`. Here: the route, authentication, client actions, and the connection's
handler greenlet, the only writer that may block on its socket. Account events are never dropped
silently: a client that lets them pile up is disconnected (1013) and refetches on reconnect.

Protocol (JSON text frames; docs/MARKET_DATA.md):
  server -> client  {"type":"quote","symbol","bid","ask","ts"}  {"type":"status","feed":"ws|rest-fallback|down"}
                    {"type":"subscribed","symbols":[...]}  {"type":"accounts","account_ids":[...]}
                    {"type":"error","code","message",...}  {"type":"pong","ts"}
                    the engine's account events verbatim ({"type":"order"|"position"|..., "account_id", ...})
  client -> server  {"action":"subscribe"|"unsubscribe","symbols":[...]}  {"action":"refresh_accounts"}
                    {"action":"ping"}
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, g, request
from flask.blueprints import BlueprintSetupState
from simple_websocket import ConnectionClosed
from sqlalchemy import select

from config import Settings
from engine.contracts import MD_LAST, account_channel, quote_channel
from feed.fanout import Conn, Hub, LockedSocket, quote_frame
from feed.fanout import frame as _frame
from models import Account, User, UserSession
from web.errors import OUTAGES, ApiError
from web.extensions import db, sock
from web.metrics import WS_CONNECTIONS, WS_FRAMES_DROPPED
from web.security import load_current_user
from web.services.market import enabled_instruments

bp = Blueprint("stream", __name__)
log = logging.getLogger(__name__)

MAX_SYMBOLS = 50
MAX_FRAME_BYTES = 4096
PING_INTERVAL_S = 25
RECHECK_S = 30.0  # re-validate the session and pick up new accounts
SEND_TIMEOUT_S = 10.0  # a client that takes nothing for this long is cut off
ACTIONS_PER_10S = 40


@bp.record_once
def _configure(state: BlueprintSetupState) -> None:
    """flask-sock options: protocol ping every 25 s, small client frames."""
    state.app.config.setdefault(
        "SOCK_SERVER_OPTIONS", {"ping_interval": PING_INTERVAL_S, "max_message_size": MAX_FRAME_BYTES}
    )


@bp.before_request
def _no_compression() -> None:
    """Refuse permessage-deflate: quote frames are ~100 bytes, and a zlib state costs ~300 KB per connection."""
    request.environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)


_hub: tuple[int, Hub] | None = None


def get_hub(redis_url: str) -> Hub:
    """The hub of this process (a forked worker gets its own)."""
    global _hub
    if _hub is None or _hub[0] != os.getpid():
        _hub = (os.getpid(), Hub(redis_url))
    hub = _hub[1]
    hub.ensure_started()
    return hub


# --- one connection ------------------------------------------------------------------------------


class CloseConnection(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _origin_allowed(settings: Settings) -> bool:
    """Refuse cross-site WebSocket hijacking: a browser Origin must be ours."""
    origin = request.headers.get("Origin")
    if not origin:
        return True  # not a browser
    parts = urlsplit(origin)
    if parts.netloc == request.host or origin.rstrip("/") == settings.app_base_url.rstrip("/"):
        return True
    return not settings.is_production and parts.hostname in ("localhost", "127.0.0.1")


class StreamSession:
    """Serves one WebSocket: its handler greenlet is the only sender; a reader greenlet fills the inbox."""

    def __init__(self, ws: Any, hub: Hub) -> None:
        self.ws = ws
        self.hub = hub
        self.conn = Conn()
        self.user_id = 0
        self.session_id: uuid.UUID | None = None
        self.actions: deque[float] = deque()
        self.dropped_counted = 0

    def run(self) -> None:
        settings = cast(Settings, current_app.config["SETTINGS"])
        # simple_websocket reads only when its selector says so, so a socket timeout bounds our writes alone
        self.ws.sock.settimeout(SEND_TIMEOUT_S)
        self.ws.sock = LockedSocket(self.ws.sock)
        WS_CONNECTIONS.inc()
        try:
            if not _origin_allowed(settings):
                raise CloseConnection(1008, "forbidden_origin")
            self._authenticate()
            from web import get_redis

            self.hub.attach(self.conn, get_redis())
            self._refresh_accounts()
            initial = request.args.get("symbols", "")
            if initial:
                self._subscribe([s for s in initial.split(",") if s.strip()][: MAX_SYMBOLS + 1])
            db.remove()
            threading.Thread(target=self._read, name=f"ws-read-{self.conn.id}", daemon=True).start()
            self.conn.sock = self.ws.sock
            self._serve()
        except CloseConnection as exc:
            self._close(exc.code, exc.message)
        except ConnectionClosed:
            pass
        except OUTAGES as exc:
            # The socket was upgraded: an HTTP 503 from the error handler would reach the client as
            # garbage frames. Close with 1013 (try again later); the client reconnects with backoff.
            log.warning("stream closed, backing service unavailable: %s", type(exc).__name__)
            self._error("service_unavailable", "A service the platform depends on is unavailable; reconnect shortly.")
            self._close(1013, "service_unavailable")
        finally:
            WS_CONNECTIONS.dec()
            self._count_dropped()
            self.conn.closed = True
            self.hub.detach(self.conn)
            db.remove()

    def _authenticate(self) -> None:
        try:
            user = load_current_user()
        except ApiError as exc:
            self._send([_frame(type="error", code=exc.code, message=exc.message)])
            raise CloseConnection(4401 if exc.status == 401 else 4403, exc.code) from None
        assert user is not None
        self.user_id = user.id
        self.session_id = g.current_session.id

    def _serve(self) -> None:
        conn = self.conn
        next_check = time.monotonic() + RECHECK_S
        while not conn.closed:
            conn.wake.wait()
            conn.wake.clear()
            while conn.inbox:
                self._handle(conn.inbox.popleft())
            if conn.overflowed:
                raise CloseConnection(1013, "too many undelivered events; reconnect")
            self._count_dropped()
            frames = conn.take()
            if frames:
                self._send(frames)
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + RECHECK_S
                self._recheck()

    def _count_dropped(self) -> None:
        """Add the quotes the hub dropped for this slow client since the last count to the counter."""
        dropped = self.conn.dropped
        if dropped > self.dropped_counted:
            WS_FRAMES_DROPPED.inc(dropped - self.dropped_counted)
            self.dropped_counted = dropped

    def _read(self) -> None:
        """Reader greenlet: only collects client frames; the handler greenlet acts on them."""
        try:
            while True:
                data = self.ws.receive()
                if data is not None:
                    self.conn.inbox.append(data)
                    self.conn.wake.set()
        except ConnectionClosed:
            pass
        finally:
            self.conn.closed = True
            self.conn.wake.set()

    def _send(self, frames: list[bytes]) -> None:
        """Write queued frames with one sendall (simple_websocket's send() may write part of a frame, #45)."""
        if not self.ws.connected:
            raise ConnectionClosed()
        try:
            self.ws.sock.sendall(b"".join(frames))
        except OSError:  # includes the send timeout of a client that stopped reading
            self.ws.connected = False
            raise ConnectionClosed() from None

    def _close(self, code: int, message: str) -> None:
        self.conn.closed = True  # no direct writes after the close frame
        frames = self.conn.take()
        try:
            if frames and self.ws.connected:
                self._send(frames)
            if self.ws.connected:
                self.ws.close(reason=code, message=message)
        except (ConnectionClosed, OSError):
            pass

    def _error(self, code: str, message: str, **extra: Any) -> None:
        self.conn.push_private(_frame(type="error", code=code, message=message, **extra))

    # --- client actions ---------------------------------------------------------------------------

    def _handle(self, raw: str | bytes) -> None:
        now = time.monotonic()
        self.actions.append(now)
        while self.actions and self.actions[0] < now - 10:
            self.actions.popleft()
        if len(self.actions) > ACTIONS_PER_10S:
            raise CloseConnection(1008, "too many messages")
        if isinstance(raw, bytes):
            self._error("bad_request", "Send JSON text frames.")
            return
        try:
            message = json.loads(raw)
        except ValueError:
            self._error("bad_request", "Frames must be JSON objects.")
            return
        action = message.get("action") if isinstance(message, dict) else None
        try:
            if action in ("subscribe", "unsubscribe"):
                symbols = message.get("symbols")
                if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
                    self._error("bad_request", '"symbols" must be a list of symbol names.')
                elif len(symbols) > MAX_SYMBOLS:
                    self._error("too_many_symbols", f"At most {MAX_SYMBOLS} symbols per connection.")
                elif action == "subscribe":
                    self._subscribe(symbols)
                else:
                    self._unsubscribe(symbols)
            elif action == "refresh_accounts":
                self._recheck()
            elif action == "ping":
                self.conn.push_private(_frame(type="pong", ts=int(time.time() * 1000)))
            else:
                self._error("bad_request", 'Unknown "action"; use subscribe, unsubscribe, refresh_accounts or ping.')
        finally:
            db.remove()

    def _subscribe(self, names: list[str]) -> None:
        known = enabled_instruments()
        wanted = [n.strip().upper() for n in names if n.strip()]
        unknown = sorted({n for n in wanted if n not in known})
        if unknown:
            self._error("unknown_symbol", "No enabled instrument has these names.", symbols=unknown)
        valid = [n for n in dict.fromkeys(wanted) if n in known]
        if len(self.conn.symbols | set(valid)) > MAX_SYMBOLS:
            self._error("too_many_symbols", f"At most {MAX_SYMBOLS} symbols per connection.")
            valid = []
        added = [n for n in valid if self.hub.join(self.conn, quote_channel(n))]
        self.hub.wait_active([quote_channel(n) for n in valid])
        if added:
            from web import get_redis

            for payload in get_redis().hmget(MD_LAST, added):
                frame = quote_frame(payload) if payload else None
                if frame:
                    self.conn.push_quote(frame)
        self.conn.push_private(_frame(type="subscribed", symbols=sorted(self.conn.symbols)))

    def _unsubscribe(self, names: list[str]) -> None:
        for name in names:
            self.hub.leave(self.conn, quote_channel(name.strip().upper()))
        self.conn.push_private(_frame(type="subscribed", symbols=sorted(self.conn.symbols)))

    def _refresh_accounts(self) -> None:
        ids = set(db.execute(select(Account.id).where(Account.user_id == self.user_id)).scalars())
        current = self.conn.account_ids
        for account_id in ids - current:
            self.hub.join(self.conn, account_channel(account_id))
        self.hub.wait_active([account_channel(a) for a in ids - current])
        for account_id in current - ids:
            self.hub.leave(self.conn, account_channel(account_id))
        if ids != current or not current:
            self.conn.push_private(_frame(type="accounts", account_ids=sorted(ids)))

    def _recheck(self) -> None:
        """End the stream when its session ends; subscribe to accounts opened meanwhile."""
        try:
            session = db.get(UserSession, self.session_id)
            user = db.get(User, self.user_id)
            now = datetime.now(UTC)
            if session is None or session.revoked_at is not None or session.expires_at <= now:
                self._error("session_ended", "Your session has ended; sign in again.")
                raise CloseConnection(4401, "session_ended")
            if user is None or user.status != "active":
                self._error("account_disabled", "This account is disabled.")
                raise CloseConnection(4403, "account_disabled")
            self._refresh_accounts()
        finally:
            db.remove()


@sock.route("/api/stream", bp=bp)
def stream(ws: Any) -> None:
    """WS /api/stream?symbols=EURUSD,BTCUSD: quotes, feed status and the user's account events."""
    settings = cast(Settings, current_app.config["SETTINGS"])
    StreamSession(ws, get_hub(settings.redis_url)).run()


def register(app: Flask) -> None:
    """Attach the relay to the app (a plain Flask blueprint: WebSocket routes are not in OpenAPI)."""
    app.register_blueprint(bp)
