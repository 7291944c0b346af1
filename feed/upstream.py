"""The upstream WebSocket: connect, subscribe in one message, heartbeats, read with deadlines, reconnect forever."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from feed import sessions
from feed.client import (
    HEARTBEAT,
    handshake_auth_failure,
    parse_message,
    status_symbols,
    subscribe_message,
    unsubscribe_message,
)
from feed.policy import Backoff
from feed.quotes import BadTick, from_price_event
from feed.state import FeedState, ms

log = logging.getLogger("feed")


class AuthFailed(Exception):
    """The provider refused the key: fatal for this connection, reported as mode "down"."""


class IdleTimeout(Exception):
    """Nothing (or no price) arrived within the read-idle deadline."""


class UpstreamWebSocket(FeedState):
    """The WebSocket loop of the feed."""

    async def _ws_loop(self) -> None:
        backoff = Backoff(cap=self.cfg.backoff_max_s)
        while not self.stopping.is_set():
            if not self.ws_symbols:
                await self._sleep(1.0)
                continue
            started = time.monotonic()
            try:
                await self._connect_and_read()
            except AuthFailed as exc:
                self.auth_error = str(exc)
                self._disconnected("auth failed")
                log.error(
                    "upstream refused the API key (%s); mode down, next try in %.0f s", exc, self.cfg.auth_retry_s
                )
                await self._sleep(self.cfg.auth_retry_s)
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of the socket means: reconnect
                self.ws_error = _describe(exc)
                log.warning("upstream websocket ended: %s", self.ws_error)
            self._disconnected(self.ws_error or "closed")
            backoff.connection_ended(time.monotonic() - started)
            delay = backoff.next_delay()
            log.info("reconnecting in %.1f s", delay)
            await self._sleep(delay)

    async def _connect_and_read(self) -> None:
        log.info("connecting to %s", self.ep.ws_url_for_logs())
        try:
            ws = await connect(
                self.ep.ws_url_with_key(),
                proxy=None,
                open_timeout=10,
                ping_interval=self.cfg.ping_interval_s,
                ping_timeout=self.cfg.pong_timeout_s,
                close_timeout=5,
                max_size=2**20,
                compression=None,
            )
        except InvalidStatus as exc:
            reason = handshake_auth_failure(exc.response.status_code, exc.response.body)
            if reason:
                raise AuthFailed(reason) from None
            raise
        async with ws:
            self._connected(ws)
            helpers = [asyncio.create_task(self._heartbeats(ws)), asyncio.create_task(self._sender(ws))]
            try:
                self.outbox.put_nowait(("subscribe", self._initial_subscription()))
                await self._read(ws)
            finally:
                for task in helpers:
                    task.cancel()
                await asyncio.gather(*helpers, return_exceptions=True)

    def _connected(self, ws: ClientConnection) -> None:
        now = time.monotonic()
        self.ws, self.connected_at = ws, now
        self.last_frame_at = self.last_price_at = self.last_heartbeat_ack = now
        self.auth_error = self.ws_error = None
        self._set_live(clear=True)
        self.requested.clear()
        self.outbox = asyncio.Queue()
        log.info("upstream websocket connected")

    def _disconnected(self, reason: str) -> None:
        if self.ws is not None:
            self.reconnects += 1
        self._set_live(clear=True)
        self.ws = None
        self.connected_at = None
        self.live.clear()
        self.requested.clear()

    def _set_live(self, symbol: str | None = None, clear: bool = False) -> None:
        """Track which symbols the WebSocket delivers, and since when it delivers none."""
        if clear:
            self.live.clear()
        if symbol is not None:
            self.live.add(symbol)
        if self.live:
            self.not_live_since = None
        elif self.not_live_since is None:
            self.not_live_since = time.monotonic()

    def _initial_subscription(self) -> list[str]:
        """Everything wanted, minus symbols that failed recently (they are retried on their own timer)."""
        now = time.monotonic()
        return [
            s for s in self.ws_symbols if s not in self.failed or now - self.failed[s][1] >= self.cfg.failed_retry_s
        ]

    async def _sender(self, ws: ClientConnection) -> None:
        """Sends subscription changes within the client-event budget; retries failed symbols now and then."""
        while not self.stopping.is_set():
            try:
                async with asyncio.timeout(5.0):
                    action, symbols = await self.outbox.get()
            except TimeoutError:
                due = self._failed_due()
                if not due:
                    continue
                action, symbols = "subscribe", due
            if not symbols:
                continue
            wait = self.budget.wait_time(time.time())
            if wait > 0:
                log.info("client-event budget: waiting %.1f s before %s", wait, action)
                await asyncio.sleep(wait)
            text = subscribe_message(symbols) if action == "subscribe" else unsubscribe_message(symbols)
            await ws.send(text)
            self.budget.record(time.time())
            if action == "subscribe":
                self.requested |= set(symbols)
                for s in symbols:
                    if s in self.failed:
                        self.failed[s] = (self.failed[s][0], time.monotonic())
            else:
                self.requested -= set(symbols)
                self.live -= set(symbols)
                self._set_live()
            log.info("%s %d symbols", action, len(symbols))

    def _failed_due(self) -> list[str]:
        now = time.monotonic()
        return sorted(
            s
            for s, (_, when) in self.failed.items()
            if s in self.ws_symbols and s not in self.requested and now - when >= self.cfg.failed_retry_s
        )

    async def _heartbeats(self, ws: ClientConnection) -> None:
        """{"action":"heartbeat"} every MD_HEARTBEAT_S; a failed send never kills the supervisor."""
        warned = False
        while not self.stopping.is_set():
            await asyncio.sleep(self.cfg.heartbeat_s)
            now = time.time()
            if self.budget.can_send(now, heartbeat=True):
                try:
                    await ws.send(HEARTBEAT)
                except ConnectionClosed:
                    return
                self.budget.record(now)
            missing = time.monotonic() - self.last_heartbeat_ack
            if missing > 3 * self.cfg.heartbeat_s and not warned:
                log.warning("no heartbeat answer for %.0f s", missing)
                warned = True
            elif missing <= 3 * self.cfg.heartbeat_s:
                warned = False

    async def _read(self, ws: ClientConnection) -> None:
        while not self.stopping.is_set():
            try:
                async with asyncio.timeout(self.cfg.idle_timeout_s):
                    raw = await ws.recv()
            except TimeoutError:
                raise IdleTimeout(f"no frame for {self.cfg.idle_timeout_s:.0f} s") from None
            now = time.monotonic()
            self.last_frame_at = now
            self.last_message_ms = ms(time.time())
            await self._on_frame(raw)
            self._check_price_idle(now)

    def _check_price_idle(self, now: float) -> None:
        """Frames without prices (heartbeat answers only) while a subscribed market is open: a sick socket."""
        if not self.live or now - self.last_price_at < self.cfg.idle_timeout_s:
            return
        current = datetime.now(UTC)
        if any(sessions.is_open(self.specs[s].sessions, current) for s in self.live if s in self.specs):
            raise IdleTimeout(f"no price for {self.cfg.idle_timeout_s:.0f} s while markets are open")

    async def _on_frame(self, raw: str | bytes) -> None:
        try:
            message = parse_message(raw)
        except ValueError:
            self._bad_frame("not a JSON object")
            return
        event = message.get("event")
        if event == "price":
            await self._on_price(message)
        elif event == "subscribe-status":
            self._on_subscribe_status(message)
        elif event == "heartbeat":
            self.last_heartbeat_ack = time.monotonic()
        elif event == "message-processing":
            texts = message.get("messages") or []
            log.warning("upstream message-processing: %s", "; ".join(str(t) for t in texts)[:300])
            if any("exceeds the limit" in str(t) or "events" in str(t) for t in texts):
                self.budget.pause_to_next_minute(time.time())
        else:
            log.info("upstream event ignored: %s", str(event)[:40])

    async def _on_price(self, message: dict[str, Any]) -> None:
        symbol = message.get("symbol")
        spec = self.specs.get(symbol.split(":", 1)[0].upper()) if isinstance(symbol, str) else None
        if spec is None:
            self._bad_frame("price for an unknown symbol")
            return
        try:
            quote = from_price_event(spec, message, ms(time.time()))
        except BadTick as exc:
            self._bad_frame(str(exc))
            return
        self.last_price_at = time.monotonic()
        self._set_live(spec.provider_symbol.upper())
        await self._publish([quote])

    def _on_subscribe_status(self, message: dict[str, Any]) -> None:
        now = time.monotonic()
        for raw in status_symbols(message.get("success")):
            symbol = raw.split(":", 1)[0].upper()
            self._set_live(symbol)
            if self.failed.pop(symbol, None):
                log.info("%s subscribed after an earlier failure", symbol)
        fails = [raw.split(":", 1)[0].upper() for raw in status_symbols(message.get("fails"))]
        for symbol in fails:
            self.live.discard(symbol)
            self.failed[symbol] = ("not available on the WebSocket (plan or symbol)", now)
        self._set_live()
        if fails:
            log.warning(
                "subscribe fails: %s (served by REST; retried in %.0f s)", ", ".join(fails), self.cfg.failed_retry_s
            )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionClosed):
        rcvd = exc.rcvd
        return f"closed ({rcvd.code} {rcvd.reason})" if rcvd else "connection lost"
    if isinstance(exc, InvalidStatus):
        return f"handshake refused (HTTP {exc.response.status_code})"
    return f"{type(exc).__name__}: {exc}"[:200]
