"""Queue names and the RQ connection (from REDIS_URL; never RQ's localhost default)."""

from __future__ import annotations

from functools import lru_cache

import redis
from rq import Queue

from config import get_settings

WEBHOOKS = "webhooks"
MAIL = "mail"
ALL_QUEUES = (WEBHOOKS, MAIL)


@lru_cache(maxsize=4)
def rq_connection(url: str | None = None) -> redis.Redis:
    """RQ stores pickled job data: it needs a client without decode_responses."""
    url = url or get_settings().redis_url
    if not url:
        raise RuntimeError("REDIS_URL is not set")
    return redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=15)


def queue(name: str, url: str | None = None) -> Queue:
    return Queue(name, connection=rq_connection(url))
