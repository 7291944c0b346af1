"""What the feed knows and its settings; shared by the WebSocket loop, the REST fallback and the runner."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError
from websockets.asyncio.client import ClientConnection

from config import Settings
from feed.client import Endpoints, RestClient
from feed.metrics import TICKS
from feed.policy import CreditBudget, EventBudget
from feed.publisher import Publisher
from feed.quotes import InstrumentSpec, Quote

log = logging.getLogger("feed")

UNKNOWN_PLAN_CREDITS = 4  # a Basic key has 8/minute: use half until /api_usage tells us more


@dataclass(frozen=True)
class FeedConfig:
    heartbeat_s: float = 10.0
    ping_interval_s: float = 20.0
    pong_timeout_s: float = 10.0
    idle_timeout_s: float = 30.0
    backoff_max_s: float = 30.0
    fallback_after_s: float = 2.0
    rest_credits_per_minute: int = 0  # 0: half of the plan's minute credits (from /api_usage)
    auth_retry_s: float = 300.0
    failed_retry_s: float = 300.0
    symbols_max: int = 500
    instruments_refresh_s: float = 30.0
    status_interval_s: float = 1.0
    lease_ttl_s: float = 10.0

    @classmethod
    def from_settings(cls, s: Settings) -> FeedConfig:
        return cls(
            heartbeat_s=s.md_heartbeat_s,
            ping_interval_s=s.md_ping_interval_s,
            pong_timeout_s=s.md_pong_timeout_s,
            idle_timeout_s=s.md_idle_timeout_s,
            backoff_max_s=s.md_backoff_max_s,
            fallback_after_s=s.md_fallback_after_s,
            rest_credits_per_minute=s.md_rest_credits_per_minute,
            auth_retry_s=s.md_auth_retry_s,
            failed_retry_s=s.md_failed_retry_s,
            symbols_max=s.md_ws_symbols_max,
            instruments_refresh_s=s.md_instruments_refresh_s,
        )


def ms(t: float) -> int:
    return int(t * 1000)


class FeedState:
    """The feed's state (one instance per process; the loops are mixins over it)."""

    def __init__(
        self,
        cfg: FeedConfig,
        ep: Endpoints,
        publisher: Publisher,
        rest: RestClient,
        load_instruments: Callable[[], list[InstrumentSpec]],
    ) -> None:
        self.cfg = cfg
        self.ep = ep
        self.publisher = publisher
        self.rest = rest
        self.load_instruments = load_instruments
        self.stopping = asyncio.Event()
        self.owner = uuid.uuid4().hex
        # instruments
        self.specs: dict[str, InstrumentSpec] = {}  # provider symbol (upper case) -> spec
        self.ws_symbols: list[str] = []
        self.overflow: list[str] = []
        # upstream WebSocket
        self.ws: ClientConnection | None = None
        self.outbox: asyncio.Queue[tuple[str, list[str]]] = asyncio.Queue()
        self.live: set[str] = set()
        self.requested: set[str] = set()
        self.failed: dict[str, tuple[str, float]] = {}  # symbol -> (reason, monotonic time)
        self.connected_at: float | None = None
        self.not_live_since: float | None = time.monotonic()  # the WebSocket delivers nothing since then
        self.last_frame_at = 0.0
        self.last_price_at = 0.0
        self.last_message_ms = 0
        self.last_heartbeat_ack = 0.0
        self.auth_error: str | None = None
        self.ws_error: str | None = None
        self.budget = EventBudget()
        self.reconnects = 0
        self.bad_frames = 0
        # REST fallback
        self.credits = CreditBudget(cfg.rest_credits_per_minute or UNKNOWN_PLAN_CREDITS)
        self.credits_known = bool(cfg.rest_credits_per_minute)
        self.rest_ok_at: float | None = None
        self.rest_active_since: float | None = None  # REST carries every symbol since then
        self.rest_error: str | None = None
        self.rest_failed: dict[str, tuple[str, float]] = {}
        self.rest_symbols: list[str] = []
        self.rest_polls = 0
        self.rotation = 0
        # published quotes
        self.last_tick_ms: dict[str, int] = {}
        self.last_rest_seen: dict[str, tuple[Any, ...]] = {}
        self.mode = "down"
        self.mode_since_ms = ms(time.time())

    async def _sleep(self, seconds: float) -> None:
        """Sleep, waking early on stop (loops check `stopping`: a cancel racing a set event can be lost)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(seconds, 0.0)):
                await self.stopping.wait()

    def _bad_frame(self, why: str) -> None:
        self.bad_frames += 1
        if self.bad_frames == 1 or self.bad_frames % 100 == 0:
            log.warning("malformed upstream frame (%s); %d so far", why, self.bad_frames)

    async def _publish(self, quotes: list[Quote]) -> None:
        try:
            await self.publisher.publish(quotes)
        except (RedisError, OSError) as exc:  # Redis outage: drop the tick, keep the upstream connection
            log.warning("cannot publish quotes: %s", type(exc).__name__)
            return
        for quote in quotes:
            self.last_tick_ms[quote.symbol] = quote.ts
            TICKS.labels(quote.symbol).inc()
