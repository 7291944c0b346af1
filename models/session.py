"""Engines and sessions for processes that do not run Flask (engine, feed, workers)."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker


def sqlalchemy_url(database_url: str) -> str:
    """Map postgres:// and postgresql:// URLs to the psycopg2 driver."""
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://") :]
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg2://" + database_url[len("postgresql://") :]
    return database_url


def make_engine(database_url: str, ping_idle_s: float | None = None, **kwargs: object) -> Engine:
    """Create an Engine for a DATABASE_URL whose pool heals after a restart of PostgreSQL.

    By default every checkout is pinged (pre-ping). With `ping_idle_s`, only a connection that sat
    in the pool longer than that is pinged: a busy pool skips the round trip, and a connection
    broken under load fails its statement once (503), which invalidates the whole pool.
    """
    if not database_url:
        raise RuntimeError("DATABASE_URL is not set (run through `python launcher.py` for the embedded default)")
    options: dict[str, object] = {"pool_pre_ping": ping_idle_s is None, "future": True}
    options.update(kwargs)
    engine = create_engine(sqlalchemy_url(database_url), **options)
    if ping_idle_s is not None:
        _ping_when_idle(engine, ping_idle_s)
    return engine


def _ping_when_idle(engine: Engine, idle_s: float) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("checked_in_at")
        if since is None or time.monotonic() - since < idle_s:
            return  # just opened, or in steady use
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # any failure: the pool replaces this connection
            raise exc.DisconnectionError(f"idle connection failed its ping: {error}") from error


@lru_cache(maxsize=4)
def engine_for(
    database_url: str, ping_idle_s: float | None = None, pool_size: int | None = None, max_overflow: int | None = None
) -> Engine:
    """One Engine per URL (and ping policy and pool size) per process."""
    pool: dict[str, object] = {}
    if pool_size is not None:
        pool["pool_size"] = pool_size
    if max_overflow is not None:
        pool["max_overflow"] = max_overflow
    return make_engine(database_url, ping_idle_s, **pool)


def session_factory(database_url: str) -> sessionmaker[Session]:
    """A sessionmaker bound to the process Engine of a URL."""
    return sessionmaker(bind=engine_for(database_url), expire_on_commit=False)
