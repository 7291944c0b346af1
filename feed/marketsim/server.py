"""The simulator's aiohttp application: WebSocket, REST and the /_sim control endpoints."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from feed.marketsim.faults import Faults
from feed.marketsim.market import Market
from feed.marketsim.plans import PLANS, KeyRing
from feed.marketsim.rest import RestApi
from feed.marketsim.state import SimState
from feed.marketsim.ws import ACTIONS, WsServer

STATE_KEY = web.AppKey("state", SimState)
WS_KEY = web.AppKey("ws", WsServer)
INITIAL_KEY = web.AppKey("initial_faults", dict)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json(loads=json.loads)
    except ValueError as exc:
        raise web.HTTPBadRequest(text="JSON object expected") from exc
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="JSON object expected")
    return data


async def get_state(request: web.Request) -> web.Response:
    """The switches, open connections, credits and counters."""
    return web.json_response(request.app[STATE_KEY].snapshot())


async def post_faults(request: web.Request) -> web.Response:
    """Change switches, e.g. {"silence": true} or {"error_http_mode": "200"}."""
    state = request.app[STATE_KEY]
    bad = state.faults.update(await _body(request))
    if bad:
        return web.json_response({"error": "unknown or invalid switches", "fields": bad}, status=400)
    return web.json_response(state.faults.as_dict())


async def post_actions(request: web.Request) -> web.Response:
    """One-shot actions on every open WebSocket: drop, close, malformed, unknown_event, rate_limit."""
    data = await _body(request)
    action = data.get("action")
    if action not in ACTIONS:
        return web.json_response({"error": f"action must be one of {', '.join(ACTIONS)}"}, status=400)
    count = int(data.get("count", 1))
    code = int(data.get("code", 1000))
    touched = await request.app[WS_KEY].act(str(action), count, code)
    return web.json_response({"action": action, "connections": touched})


async def post_keys(request: web.Request) -> web.Response:
    """Add keys: {"my-key": "basic", ...} (plans: basic, grow, pro, ultra, enterprise)."""
    state = request.app[STATE_KEY]
    data = await _body(request)
    unknown = [plan for plan in data.values() if plan not in PLANS]
    if unknown:
        return web.json_response({"error": f"unknown plans {unknown}"}, status=400)
    for key, plan in data.items():
        state.keys.add(str(key), str(plan))
    return web.json_response({"keys": sorted(state.keys.keys)})


async def post_reset(request: web.Request) -> web.Response:
    """Back to the default switches, credits and counters."""
    state = request.app[STATE_KEY]
    state.faults = Faults(**request.app[INITIAL_KEY])
    state.keys.usage.clear()
    state.stats.clear()
    return web.json_response(state.faults.as_dict())


def build_app(seed: int, keys: dict[str, str] | None = None, faults: dict[str, Any] | None = None) -> web.Application:
    """A simulator with the given seed, extra keys ({key: plan}) and initial switches."""
    initial = Faults()
    bad = initial.update(faults or {})
    if bad:
        raise ValueError(f"unknown or invalid switches: {bad}")
    state = SimState(market=Market(seed), keys=KeyRing.with_defaults(keys), faults=initial)
    ws = WsServer(state)
    app = web.Application()
    app[STATE_KEY] = state
    app[WS_KEY] = ws
    app[INITIAL_KEY] = initial.as_dict()
    app.router.add_get("/v1/quotes/price", ws.handle)
    app.router.add_routes(RestApi(state).routes())
    app.router.add_get("/_sim/state", get_state)
    app.router.add_post("/_sim/faults", post_faults)
    app.router.add_post("/_sim/actions", post_actions)
    app.router.add_post("/_sim/keys", post_keys)
    app.router.add_post("/_sim/reset", post_reset)
    app.on_startup.append(ws.start)
    app.on_shutdown.append(ws.stop)
    return app
