"""The feed service: one upstream WebSocket, REST fallback, quotes and status into Redis.

Tasks (asyncio): the WebSocket loop (feed.upstream: connect, subscribe, read, reconnect forever),
the REST loop (feed.fallback: /quote while the WebSocket is down and for symbols it cannot carry),
the status loop (md:status every second), the instruments loop and the single-feed lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from feed import sessions
from feed.fallback import RestFallback
from feed.quotes import InstrumentSpec
from feed.state import FeedConfig, ms
from feed.upstream import UpstreamWebSocket

__all__ = ["Feed", "FeedConfig"]

log = logging.getLogger("feed")

LEASE_KEY = "md:feed:lease"


class Feed(UpstreamWebSocket, RestFallback):
    """The market-data process."""

    # --- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until stop() is called."""
        await self._acquire_lease()
        if self.stopping.is_set():
            return
        await self._refresh_instruments(initial=True)
        tasks = [
            asyncio.create_task(self._ws_loop(), name="ws"),
            asyncio.create_task(self._rest_loop(), name="rest"),
            asyncio.create_task(self._status_loop(), name="status"),
            asyncio.create_task(self._instruments_loop(), name="instruments"),
            asyncio.create_task(self._lease_loop(), name="lease"),
        ]
        await self.stopping.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._final_status()

    def stop(self) -> None:
        self.stopping.set()

    async def _final_status(self) -> None:
        with contextlib.suppress(Exception):
            await self.publisher.set_status(
                {"mode": "down", "since": ms(time.time()), "updated_at": ms(time.time()), "error": "feed stopped"}
            )
            await self.publisher.redis.eval(
                "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
                1,
                LEASE_KEY,
                self.owner,
            )

    # --- single instance ----------------------------------------------------------------------

    async def _acquire_lease(self) -> None:
        """Only one feed holds the upstream connection (two would evict each other and double-publish)."""
        ttl = int(self.cfg.lease_ttl_s * 1000)
        waiting_logged = False
        while not self.stopping.is_set():
            try:
                if await self.publisher.redis.set(LEASE_KEY, self.owner, nx=True, px=ttl):
                    return
            except (RedisError, OSError) as exc:  # Redis down: keep trying
                log.warning("lease: %s", type(exc).__name__)
            if not waiting_logged:
                log.info("another feed holds %s; standing by", LEASE_KEY)
                waiting_logged = True
            await self._sleep(self.cfg.lease_ttl_s / 3)

    async def _lease_loop(self) -> None:
        ttl = int(self.cfg.lease_ttl_s * 1000)
        script = (
            "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) "
            "elseif redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end return 0"
        )
        while not self.stopping.is_set():
            await self._sleep(self.cfg.lease_ttl_s / 3)
            try:
                held = await self.publisher.redis.eval(script, 1, LEASE_KEY, self.owner, ttl)
            except (RedisError, OSError) as exc:
                log.warning("lease refresh: %s", type(exc).__name__)
                continue
            if not held:
                log.error("lost the feed lease to another process; stopping")
                self.stop()

    # --- instruments --------------------------------------------------------------------------

    async def _instruments_loop(self) -> None:
        while not self.stopping.is_set():
            await self._sleep(self.cfg.instruments_refresh_s)
            await self._refresh_instruments()

    async def _refresh_instruments(self, initial: bool = False) -> None:
        while True:
            try:
                specs = await asyncio.to_thread(self.load_instruments)
                break
            except (SQLAlchemyError, OSError) as exc:
                log.warning("cannot read instruments: %s", type(exc).__name__)
                if not initial:
                    return
                await self._sleep(2.0)
                if self.stopping.is_set():
                    return
        self._apply_instruments(specs)

    def _apply_instruments(self, specs: list[InstrumentSpec]) -> None:
        by_provider = {s.provider_symbol.upper(): s for s in specs}
        ordered = [s.provider_symbol.upper() for s in specs]
        old = set(self.ws_symbols)
        self.specs = by_provider
        self.ws_symbols = ordered[: self.cfg.symbols_max]
        self.overflow = ordered[self.cfg.symbols_max :]
        if self.overflow:
            log.warning("MD_WS_SYMBOLS_MAX=%d: %d symbols go through REST", self.cfg.symbols_max, len(self.overflow))
        new = set(self.ws_symbols)
        if self.ws is not None and new != old:
            added = sorted(new - self.requested)
            removed = sorted(old - new)
            if added:
                self.outbox.put_nowait(("subscribe", added))
            if removed:
                self.outbox.put_nowait(("unsubscribe", removed))
        for gone in set(self.failed) - new:
            self.failed.pop(gone, None)

    # --- status -------------------------------------------------------------------------------

    def compute_mode(self, now: float) -> str:
        """ws while the WebSocket delivers; rest-fallback while REST carries the quotes; else down."""
        lost = self.ws_lost_for(now)
        if lost == 0.0 and self.ws is not None:
            return "ws"
        if self.rest_active_since is not None and self.rest_error is None:
            return "rest-fallback"  # polling, and the last poll (if any yet) worked
        if self.mode == "ws" and lost < self.cfg.fallback_after_s:
            return "ws"  # a reconnect in progress is not an outage yet
        return "down"

    def status(self, now: float) -> dict[str, Any]:
        current = datetime.now(UTC)
        wall_ms = ms(time.time())
        by_provider = self.specs
        stale = sorted(
            spec.symbol
            for spec in by_provider.values()
            if sessions.is_open(spec.sessions, current)
            and wall_ms - self.last_tick_ms.get(spec.symbol, 0) > spec.max_quote_age_s * 1000
        )
        failures = {by_provider[s].symbol: reason for s, (reason, _) in self.failed.items() if s in by_provider}
        for s, (reason, _) in self.rest_failed.items():
            if s in by_provider:
                failures[by_provider[s].symbol] = f"REST: {reason}"
        error = f"auth_failed: {self.auth_error}" if self.auth_error else ""
        if not error and self.ws is None:
            error = self.ws_error or ""
        if not error and self.rest_symbols:
            error = self.rest_error or ""
        return {
            "mode": self.mode,
            "since": self.mode_since_ms,
            "updated_at": wall_ms,
            "source": self.ep.source,
            "ws_connected": self.ws is not None,
            "last_message_at": self.last_message_ms,
            "last_tick_at": max(self.last_tick_ms.values(), default=0),
            "symbols": len(by_provider),
            "live_symbols": sorted(by_provider[s].symbol for s in self.live if s in by_provider),
            "failed_symbols": sorted(failures),
            "failures": failures,
            "stale_symbols": stale,
            "rest_symbols": sorted(by_provider[s].symbol for s in self.rest_symbols if s in by_provider),
            "rest_polls": self.rest_polls,
            "reconnects": self.reconnects,
            "bad_frames": self.bad_frames,
            "error": error,
        }

    async def _status_loop(self) -> None:
        while not self.stopping.is_set():
            now = time.monotonic()
            mode = self.compute_mode(now)
            if mode != self.mode:
                log.info("mode %s -> %s", self.mode, mode)
                self.mode, self.mode_since_ms = mode, ms(time.time())
            try:
                await self.publisher.set_status(self.status(now))
            except (RedisError, OSError) as exc:
                log.warning("cannot write md:status: %s", type(exc).__name__)
            await self._sleep(self.cfg.status_interval_s)
