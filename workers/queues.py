"""Queue names and the RQ connection (from REDIS_URL; never RQ's localhost default)."""

from __future__ import annotations

from functools import lru_cache

import redis
from rq import Queue

from common.redis_conn import make_redis
from config import get_settings

WEBHOOKS = "webhooks"
MAIL = "mail"
ALL_QUEUES = (WEBHOOKS, MAIL)


@lru_cache(maxsize=4)
def rq_connection(url: str | None = None) -> redis.Redis:
    """RQ stores pickled job data: it needs a client without decode_responses."""
    settings = get_settings()
    url = url or settings.redis_url
    if not url:
        raise RuntimeError("REDIS_URL is not set")
    # The same capped, waiting pool as every other client (the web enqueues from many greenlets).
    return make_redis(
        url,
        max_connections=settings.redis_max_connections,
        pool_timeout_s=settings.redis_pool_timeout_s,
        decode_responses=False,
        socket_timeout=None,  # RQ's worker blocks on BLMOVE for as long as it likes
        retry_on_timeout=False,
    )


def queue(name: str, url: str | None = None) -> Queue:
    return Queue(name, connection=rq_connection(url))
