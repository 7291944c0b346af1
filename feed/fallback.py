"""REST fallback: /quote batches within the plan's credits while the WebSocket delivers nothing."""

from __future__ import annotations

import asyncio
import logging
import time

from feed.client import TwelveDataError
from feed.policy import next_day, next_minute
from feed.quotes import BadTick, Quote, from_rest_quote
from feed.state import FeedState, ms

log = logging.getLogger("feed")


class RestFallback(FeedState):
    """The REST loop of the feed."""

    def ws_lost_for(self, now: float) -> float:
        """Seconds the WebSocket has delivered nothing (0 while it is live)."""
        return 0.0 if self.not_live_since is None else now - self.not_live_since

    def rest_targets(self, now: float) -> list[str]:
        """Symbols REST must serve now: all of them once the WebSocket has been lost for a moment."""
        if self.ws_lost_for(now) >= self.cfg.fallback_after_s:
            wanted = self.ws_symbols + self.overflow
        else:
            wanted = [s for s in self.ws_symbols if s in self.failed] + self.overflow
        return [
            s for s in wanted if s not in self.rest_failed or now - self.rest_failed[s][1] >= self.cfg.failed_retry_s
        ]

    async def _rest_loop(self) -> None:
        while not self.stopping.is_set():
            mono = time.monotonic()
            targets = self.rest_targets(mono)
            self.rest_symbols = targets
            full_fallback = bool(targets) and self.ws_lost_for(mono) >= self.cfg.fallback_after_s
            if full_fallback and self.rest_active_since is None:
                self.rest_active_since = mono
            elif not full_fallback:
                self.rest_active_since = None
            if not targets:
                await self._sleep(0.25)
                continue
            if not self.credits_known:
                await self._learn_credits()
            per_minute = self.credits.per_minute
            size = min(len(targets), 120, max(1, per_minute))
            available = self.credits.available(time.time())
            if available < size:
                await self._sleep(min(1.0, max(0.1, next_minute(time.time()) - time.time())))
                continue
            start = self.rotation % len(targets)
            batch = (targets[start:] + targets[:start])[:size]
            self.rotation += size
            self.credits.spend(len(batch), time.time())
            await self._poll(batch)
            await self._sleep(max(1.0, 60.0 * size / per_minute))

    async def _learn_credits(self) -> None:
        try:
            usage = await asyncio.to_thread(self.rest.api_usage)
            limit = int(usage.get("plan_limit") or 0)
        except (TwelveDataError, ValueError, TypeError) as exc:
            log.warning("cannot read /api_usage (%s); REST fallback uses %d credits/min", exc, self.credits.per_minute)
            self.credits_known = True  # do not spend a credit on it every poll
            return
        if limit > 0:
            self.credits.per_minute = max(1, limit // 2)
        self.credits_known = True
        log.info("REST fallback budget: %d credits/min (plan %s)", self.credits.per_minute, usage.get("plan_category"))

    async def _poll(self, batch: list[str]) -> None:
        self.rest_polls += 1
        try:
            results = await asyncio.to_thread(self.rest.batch, "/quote", batch, {"interval": "1min"})
        except TwelveDataError as exc:
            self._rest_failure(exc)
            return
        quotes: list[Quote] = []
        received = ms(time.time())
        for symbol, item in results.items():
            spec = self.specs.get(symbol)
            if spec is None:
                continue
            if isinstance(item, TwelveDataError):
                if item.kind in ("plan", "not_found", "bad_request"):
                    self.rest_failed[symbol] = (item.message, time.monotonic())
                    log.warning("REST cannot serve %s: %s", symbol, item.message[:120])
                continue
            try:
                quote = from_rest_quote(spec, item, received)
            except BadTick as exc:
                self._bad_frame(str(exc))
                continue
            self.rest_failed.pop(symbol, None)
            seen = (quote.bid, quote.ask, item.get("last_quote_at"), item.get("timestamp"))
            if self.last_rest_seen.get(symbol) == seen and item.get("last_quote_at") is not None:
                continue  # the same quote again (a closed market): publishing it would fake freshness
            self.last_rest_seen[symbol] = seen
            quotes.append(quote)
        self.rest_ok_at = time.monotonic()
        self.rest_error = None
        if quotes:
            await self._publish(quotes)

    def _rest_failure(self, exc: TwelveDataError) -> None:
        self.rest_error = str(exc)
        now = time.time()
        if exc.kind == "rate_minute":
            self.credits.pause(next_minute(now))
        elif exc.kind == "rate_day":
            self.credits.pause(next_day(now))
        elif exc.kind == "auth":
            self.auth_error = self.auth_error or exc.message
            self.credits.pause(now + self.cfg.auth_retry_s)
        log.warning("REST fallback failed: %s", exc)
