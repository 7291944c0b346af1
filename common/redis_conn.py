"""Redis clients built from REDIS_URL only (never a library default of localhost)."""

from __future__ import annotations

from functools import lru_cache

import redis

from config import Settings

# For callers without Settings at hand: the defaults of REDIS_MAX_CONNECTIONS and REDIS_POOL_TIMEOUT_S.
MAX_CONNECTIONS: int = Settings.redis_max_connections
POOL_TIMEOUT_S: float = Settings.redis_pool_timeout_s


def make_redis(
    url: str, *, max_connections: int = MAX_CONNECTIONS, pool_timeout_s: float = POOL_TIMEOUT_S, **kwargs: object
) -> redis.Redis:
    """A Redis client for the URL, with timeouts and health checks so outages are noticed.

    Its pool opens at most `max_connections` and a caller past the cap waits up to
    `pool_timeout_s` for one to be returned (redis-py's own pool, capped at 100 since 6.x, raises
    MaxConnectionsError at once: a burst of a thousand WebSocket connects or of engine replies
    awaited in one gevent worker failed some of them with a 503).
    """
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
    pool = redis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout_s,
        **options,  # type: ignore[arg-type]
    )
    return redis.Redis(connection_pool=pool)


@lru_cache(maxsize=4)
def redis_for(url: str, max_connections: int = MAX_CONNECTIONS, pool_timeout_s: float = POOL_TIMEOUT_S) -> redis.Redis:
    """One shared client (connection pool) per URL per process."""
    return make_redis(url, max_connections=max_connections, pool_timeout_s=pool_timeout_s)
