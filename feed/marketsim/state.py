"""Everything one simulator instance holds: market, keys, faults, connections and counters."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from feed.marketsim.faults import Faults
from feed.marketsim.market import Market
from feed.marketsim.plans import KeyRing, Plan


@dataclass(eq=False)
class Connection:
    """One WebSocket client of the simulator."""

    ws: web.WebSocketResponse
    request: web.Request
    key: str
    plan: Plan
    opened_at: float
    symbols: set[str] = field(default_factory=set)
    events_minute: int = -1
    events_count: int = 0
    violations: int = 0

    def count_event(self, now: float) -> int:
        minute = int(now // 60)
        if minute != self.events_minute:
            self.events_minute, self.events_count = minute, 0
        self.events_count += 1
        return self.events_count

    def abort(self) -> None:
        """Drop the TCP connection without a close frame."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()


@dataclass(eq=False)
class SimState:
    market: Market
    keys: KeyRing
    faults: Faults = field(default_factory=Faults)
    connections: list[Connection] = field(default_factory=list)
    stats: Counter[str] = field(default_factory=Counter)
    started_at: float = field(default_factory=time.time)

    def snapshot(self) -> dict[str, Any]:
        """What GET /_sim/state shows."""
        now = time.time()
        return {
            "seed": self.market.seed,
            "faults": self.faults.as_dict(),
            "connections": [
                {
                    "key": c.key,
                    "plan": c.plan.name,
                    "symbols": sorted(c.symbols),
                    "opened_at": c.opened_at,
                    "events_this_minute": c.events_count,
                }
                for c in self.connections
            ],
            "stats": dict(self.stats),
            "credits": {k: self.keys.report(k, now) for k in self.keys.usage},
            "uptime_s": round(now - self.started_at, 3),
        }
