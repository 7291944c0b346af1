"""Quotes and feed status into Redis, exactly as DESIGN "Redis keys" says.

- XADD md:ticks MAXLEN ~ 100000 {symbol, bid, ask, ts}     (the engine reads it)
- PUBLISH md:quote:{SYMBOL} {"symbol","bid","ask","ts"}    (the web relays it)
- HSET md:last SYMBOL -> the same JSON                     (last value per symbol)
- HSET md:status {mode, since, updated_at, last_message_at, failed_symbols, ...}
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import redis.asyncio as aioredis

from engine.contracts import MD_LAST, MD_STATUS, TICKS_MAXLEN, TICKS_STREAM, quote_channel
from feed.quotes import Quote


class Publisher:
    """Writes quotes and status; one pipeline (one round trip) per batch of quotes."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.redis = client

    @classmethod
    def from_url(cls, url: str) -> Publisher:
        return cls(aioredis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=5, socket_timeout=10))

    async def publish(self, quotes: Iterable[Quote]) -> int:
        pipe = self.redis.pipeline(transaction=False)
        count = 0
        for quote in quotes:
            payload = quote.to_json()
            fields: Any = quote.to_fields()
            pipe.xadd(TICKS_STREAM, fields, maxlen=TICKS_MAXLEN, approximate=True)
            pipe.publish(quote_channel(quote.symbol), payload)
            pipe.hset(MD_LAST, quote.symbol, payload)
            count += 1
        if count:
            await pipe.execute()
        return count

    async def set_status(self, status: dict[str, Any]) -> None:
        mapping: dict[Any, Any] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in status.items()}
        await self.redis.hset(MD_STATUS, mapping=mapping)  # type: ignore[misc]

    async def close(self) -> None:
        await self.redis.aclose()
