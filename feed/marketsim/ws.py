"""The simulator's WebSocket /v1/quotes/price: subscriptions, heartbeats, limits and price ticks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from typing import Any

from aiohttp import WSMsgType, web

from feed.marketsim.catalogue import SimSymbol, lookup
from feed.marketsim.market import fmt
from feed.marketsim.plans import MSG_BAD_KEY, msg_ws_events
from feed.marketsim.state import Connection, SimState

log = logging.getLogger("marketsim.ws")
MAX_MESSAGE = 1024 * 1024


def number_json(pairs: list[tuple[str, Any]]) -> str:
    """JSON of a flat object whose `RawNumber` values are written as given (exact decimals)."""
    parts = []
    for key, value in pairs:
        text = value.text if isinstance(value, RawNumber) else json.dumps(value)
        parts.append(f"{json.dumps(key)}:{text}")
    return "{" + ",".join(parts) + "}"


class RawNumber:
    """A JSON number kept as its decimal text."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def price_event(state: SimState, sym: SimSymbol, t: float) -> str:
    """A `price` event in the provider's shape for the symbol's asset class."""
    tick = state.market.tick(sym, t)
    faults = state.faults
    num = lambda v: RawNumber(fmt(v, sym.dp))  # noqa: E731 - tiny local formatter
    pairs: list[tuple[str, Any]] = [("event", "price"), ("symbol", sym.symbol)]
    if sym.kind == "stock":
        pairs += [("currency", sym.quote_code), ("exchange", sym.exchange), ("mic_code", sym.mic_code)]
    else:
        if sym.kind == "commodity":
            pairs.append(("currency", sym.quote_code))
        pairs += [("currency_base", sym.base_name), ("currency_quote", sym.quote_name)]
        if sym.kind == "crypto":
            pairs.append(("exchange", sym.exchange))
    pairs += [("type", sym.type_name), ("timestamp", int(t)), ("price", num(tick.price))]
    if sym.kind == "crypto":
        if faults.degenerate_bidask:
            pairs += [("bid", num(tick.price)), ("ask", num(tick.price))]
        else:
            pairs += [("bid", num(tick.bid)), ("ask", num(tick.ask))]
    elif sym.kind in ("forex", "commodity") and faults.bidask:
        pairs += [("bid", num(tick.bid)), ("ask", num(tick.ask))]
    if sym.kind in ("crypto", "stock"):
        volume = state.market.volume(sym, int(t // 86400) * 86400, t % 86400) or 0.0
        pairs.append(("day_volume", int(volume)))
    return number_json(pairs)


def _success_item(sym: SimSymbol, style: str) -> dict[str, Any]:
    if sym.kind == "crypto":
        return {"symbol": sym.symbol, "exchange": sym.exchange, "type": sym.type_name}
    if sym.kind == "stock":
        return {
            "symbol": sym.symbol,
            "exchange": sym.exchange,
            "mic_code": sym.mic_code,
            "country": "United States",
            "type": sym.type_name,
        }
    if style == "physical_currency":
        return {"symbol": sym.symbol, "exchange": "PHYSICAL CURRENCY", "type": "PHYSICAL_CURRENCY"}
    return {"symbol": sym.symbol, "exchange": "FOREX", "country": "", "type": sym.type_name}


def _requested_symbols(params: Any) -> list[str] | None:
    """Symbols of a subscribe/unsubscribe: a comma string or an array of strings/objects."""
    if not isinstance(params, dict):
        return None
    raw = params.get("symbols")
    if isinstance(raw, str):
        return [s.strip() for s in raw.split(",") if s.strip()]
    if isinstance(raw, list):
        out = []
        for item in raw:
            if isinstance(item, str):
                out.append(item.strip())
            elif isinstance(item, dict) and isinstance(item.get("symbol"), str):
                out.append(item["symbol"].strip())
            else:
                return None
        return [s for s in out if s]
    return None


class WsServer:
    """Handles WebSocket clients and streams ticks to them."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.rng = random.Random(state.market.seed)
        self.next_tick: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._late: set[asyncio.Future[None]] = set()

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self, app: web.Application) -> None:
        self._task = asyncio.create_task(self._ticker())

    async def stop(self, app: web.Application) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for conn in list(self.state.connections):
            with contextlib.suppress(Exception):
                await conn.ws.close(code=1001, message=b"server shutdown")

    # --- handshake ----------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        state = self.state
        key = request.query.get("apikey", "")
        plan = state.keys.plan(key)
        state.stats["ws_handshakes"] += 1
        if plan is None:
            state.stats["ws_auth_refused"] += 1
            body = {"code": 401, "message": MSG_BAD_KEY, "status": "error"}
            return web.json_response(body, status=state.faults.ws_auth_status)
        if state.faults.ws_refuse:
            state.stats["ws_refused"] += 1
            return web.Response(status=503, text="Service Unavailable")
        ws = web.WebSocketResponse(autoping=True, max_msg_size=MAX_MESSAGE, compress=False)
        await ws.prepare(request)
        conn = Connection(ws=ws, request=request, key=key, plan=plan, opened_at=time.time())
        await self._evict_over_limit(conn)
        state.connections.append(conn)
        state.stats["ws_connections"] += 1
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_message(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await self._send(conn, self._processing_error("Binary frames are not supported"))
        finally:
            if conn in state.connections:
                state.connections.remove(conn)
        return ws

    async def _evict_over_limit(self, newcomer: Connection) -> None:
        """A new connection beyond the plan's limit closes the oldest one of the same key."""
        same_key = [c for c in self.state.connections if c.key == newcomer.key]
        while len(same_key) >= newcomer.plan.max_connections:
            oldest = same_key.pop(0)
            self.state.connections.remove(oldest)
            self.state.stats["ws_evicted"] += 1
            with contextlib.suppress(Exception):
                await oldest.ws.close(code=self.state.faults.evict_close_code, message=b"connection limit")

    # --- client messages ----------------------------------------------------------------------

    @staticmethod
    def _processing_error(text: str) -> str:
        return json.dumps({"event": "message-processing", "status": "error", "messages": [text]})

    async def _on_message(self, conn: Connection, data: str) -> None:
        state = self.state
        try:
            message = json.loads(data)
        except ValueError:
            await self._send(conn, self._processing_error("Invalid JSON"))
            return
        action = message.get("action") if isinstance(message, dict) else None
        if action != "heartbeat" or state.faults.heartbeats_count:
            count = conn.count_event(time.time())
            if count > state.faults.events_per_minute:
                conn.violations += 1
                state.stats["ws_rate_limited"] += 1
                await self._send(
                    conn,
                    json.dumps({"event": "message-processing", "status": "error", "messages": [msg_ws_events(count)]}),
                )
                limit = state.faults.rate_limit_close_after
                if limit and conn.violations >= limit:
                    await conn.ws.close(code=1008, message=b"too many events")
                return
        if action == "heartbeat":
            state.stats["heartbeats"] += 1
            if not state.faults.mute_heartbeat:
                await self._send(conn, '{"event":"heartbeat","status":"ok"}')
        elif action in ("subscribe", "unsubscribe"):
            symbols = _requested_symbols(message.get("params"))
            if symbols is None:
                await self._send(conn, self._processing_error("Invalid params: symbols expected"))
            elif action == "subscribe":
                await self._subscribe(conn, symbols)
            else:
                state.stats["unsubscribe_messages"] += 1
                for raw in symbols:
                    sym = lookup(raw)
                    if sym is not None:
                        conn.symbols.discard(sym.symbol)
        elif action == "reset":
            state.stats["reset_messages"] += 1
            conn.symbols.clear()
        else:
            await self._send(conn, self._processing_error(f"Unknown action: {action!r}"))

    def _permitted(self, conn: Connection, sym: SimSymbol | None, wanted: set[str]) -> bool:
        plan = conn.plan
        if sym is None or plan.ws_access == "none":
            return False
        if plan.ws_access == "trial" and sym.symbol not in plan.trial_symbols:
            return False
        return sym.symbol in conn.symbols or len(conn.symbols | wanted) < plan.ws_credits

    async def _subscribe(self, conn: Connection, symbols: list[str]) -> None:
        state = self.state
        state.stats["subscribe_messages"] += 1
        style = state.faults.status_style
        success: list[dict[str, Any]] = []
        fails: list[dict[str, Any]] = []
        added: set[str] = set()
        for raw in symbols:
            sym = lookup(raw)
            if sym is not None and self._permitted(conn, sym, added):
                added.add(sym.symbol)
                success.append(_success_item(sym, style))
            else:
                fails.append({"symbol": raw})
        conn.symbols |= added
        reply: dict[str, Any] = {"event": "subscribe-status", "status": "error" if fails and not success else "ok"}
        if style == "omit_keys":
            if success:
                reply["success"] = success
            if fails:
                reply["fails"] = fails
        elif style == "fails_null":
            reply["success"] = success or None
            reply["fails"] = fails or None
        else:
            reply["success"] = success
            reply["fails"] = fails
        await self._send(conn, json.dumps(reply))

    async def _send(self, conn: Connection, text: str) -> None:
        if self.state.faults.silence or conn.ws.closed:
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            await conn.ws.send_str(text)

    # --- ticks --------------------------------------------------------------------------------

    async def _ticker(self) -> None:
        """Emit a tick for each subscribed symbol at random times, `tick_rate` per second on average."""
        while True:
            await asyncio.sleep(0.02)
            try:
                await self._tick_once(time.time())
            except Exception:  # the ticker must survive anything a client does
                log.exception("tick failed")

    async def _tick_once(self, now: float) -> None:
        state = self.state
        faults = state.faults
        wanted: dict[str, list[Connection]] = {}
        for conn in state.connections:
            for name in conn.symbols:
                wanted.setdefault(name, []).append(conn)
        for name, conns in wanted.items():
            due = self.next_tick.get(name, 0.0)
            if now < due:
                continue
            rate = max(faults.tick_rate, 0.01)
            self.next_tick[name] = now + self.rng.expovariate(rate)
            sym = lookup(name)
            if sym is None or name in faults.pause_symbols or faults.silence:
                continue
            if not state.market.is_open(sym, now, faults.market_hours):
                continue
            text = price_event(state, sym, now)
            state.stats["ticks"] += 1
            delay = faults.delay_symbols.get(name, 0.0)
            if delay > 0:
                asyncio.get_running_loop().call_later(delay, self._deliver_later, conns, text)
            else:
                await asyncio.gather(*(self._send(c, text) for c in conns))

    def _deliver_later(self, conns: list[Connection], text: str) -> None:
        for conn in conns:
            if conn in self.state.connections:
                future = asyncio.ensure_future(self._send(conn, text))
                self._late.add(future)
                future.add_done_callback(self._late.discard)

    # --- one-shot fault actions ---------------------------------------------------------------

    async def act(self, action: str, count: int, code: int) -> int:
        """Run a one-shot action against every open connection; return how many it touched."""
        conns = list(self.state.connections)
        for conn in conns:
            if action == "drop":
                conn.abort()
            elif action == "close":
                with contextlib.suppress(Exception):
                    await conn.ws.close(code=code, message=b"closed by marketsim")
            elif action == "malformed":
                for i in range(count):
                    await self._send(conn, MALFORMED[i % len(MALFORMED)])
            elif action == "unknown_event":
                await self._send(conn, json.dumps({"event": "maintenance-notice", "status": "ok", "eta": 30}))
            elif action == "rate_limit":
                await self._send(
                    conn,
                    json.dumps({"event": "message-processing", "status": "error", "messages": [msg_ws_events(101)]}),
                )
        self.state.stats[f"action_{action}"] += 1
        return len(conns)


MALFORMED = (
    '{"event":"price","symbol":"EUR/USD","price":1.0',
    "not json at all",
    "[]",
    '{"event":"price"}',
    '{"event":"price","symbol":"EUR/USD","timestamp":"soon","price":"abc"}',
    '{"event":"price","symbol":"EUR/USD","timestamp":1700000000,"price":-1}',
    "",
)
ACTIONS = ("drop", "close", "malformed", "unknown_event", "rate_limit")
