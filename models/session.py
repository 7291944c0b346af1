"""Engines and sessions for processes that do not run Flask (engine, feed, workers)."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker


def sqlalchemy_url(database_url: str) -> str:
    """Map postgres:// and postgresql:// URLs to the psycopg2 driver."""
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://") :]
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg2://" + database_url[len("postgresql://") :]
    return database_url


def make_engine(database_url: str, **kwargs: object) -> Engine:
    """Create an Engine for a DATABASE_URL (pre-ping on, so restarts of PostgreSQL heal)."""
    if not database_url:
        raise RuntimeError("DATABASE_URL is not set (run through `python launcher.py` for the embedded default)")
    options: dict[str, object] = {"pool_pre_ping": True, "future": True}
    options.update(kwargs)
    return create_engine(sqlalchemy_url(database_url), **options)


@lru_cache(maxsize=4)
def engine_for(database_url: str) -> Engine:
    """One Engine per URL per process."""
    return make_engine(database_url)


def session_factory(database_url: str) -> sessionmaker[Session]:
    """A sessionmaker bound to the process Engine of a URL."""
    return sessionmaker(bind=engine_for(database_url), expire_on_commit=False)
