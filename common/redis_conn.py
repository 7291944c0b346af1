"""Redis clients built from REDIS_URL only (never a library default of localhost)."""

from __future__ import annotations

from functools import lru_cache

import redis


def make_redis(url: str, **kwargs: object) -> redis.Redis:
    """A Redis client for the URL, with timeouts and health checks so outages are noticed."""
    if not url:
        raise RuntimeError("REDIS_URL is not set (run through `python launcher.py` for the embedded default)")
    options: dict[str, object] = {
        "decode_responses": True,
        "socket_connect_timeout": 5,
        # Above the longest blocking read we issue (BLPOP for an engine reply waits up to 5 s).
        "socket_timeout": 30,
        "health_check_interval": 15,
        "retry_on_timeout": True,
    }
    options.update(kwargs)
    return redis.Redis.from_url(url, **options)  # type: ignore[arg-type]


@lru_cache(maxsize=4)
def redis_for(url: str) -> redis.Redis:
    """One shared client (connection pool) per URL per process."""
    return make_redis(url)
