"""The web's pool pings only connections that sat idle, and still heals a dropped connection."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, text

from models.session import make_engine


def _kill_pooled_backend(engine, sql_engine) -> None:  # type: ignore[no-untyped-def]
    """Use one connection, return it to the pool, then end its server process from outside."""
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with sql_engine.connect() as admin:
        assert admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()


def test_an_idle_connection_is_pinged_and_replaced_transparently(database_url, sql_engine):
    engine = make_engine(database_url, ping_idle_s=0.0, pool_size=1, max_overflow=0)
    try:
        _kill_pooled_backend(engine, sql_engine)
        with engine.connect() as conn:  # the ping fails, the pool opens a new connection
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged_and_heals_after_one_failure(database_url, sql_engine):
    engine = make_engine(database_url, ping_idle_s=3600.0, pool_size=1, max_overflow=0)
    try:
        _kill_pooled_backend(engine, sql_engine)
        with pytest.raises(exc.OperationalError), engine.connect() as conn:  # no ping: the statement fails
            conn.execute(text("SELECT 1"))
        with engine.connect() as conn:  # the failure invalidated the pool: a fresh connection now
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_the_web_keeps_the_configured_number_of_connections(app, settings):  # type: ignore[no-untyped-def]
    """Connections up to WEB_DB_POOL_SIZE stay open between requests; overflow ones are closed."""
    from dataclasses import replace

    from web import create_app
    from web.extensions import db, limiter

    db.remove()  # configure() only affects sessions created after it
    previous = db.get_bind()
    db.remove()
    try:
        create_app(replace(settings, web_db_pool_size=3, web_db_max_overflow=2))
        engine = db.get_bind()
        assert (engine.pool.size(), engine.pool._max_overflow) == (3, 2)  # type: ignore[attr-defined]
        held = [engine.connect() for _ in range(5)]  # the pool's 3 and both overflow connections
        for conn in held:
            conn.execute(text("SELECT 1"))
        with pytest.raises(exc.TimeoutError):
            engine.pool._timeout = 0.1  # type: ignore[attr-defined]
            engine.connect()
        for conn in held:
            conn.close()
        assert engine.pool.checkedin() == 3  # the overflow connections were closed, the pool's kept
    finally:
        db.remove()
        db.configure(bind=previous)
        limiter.init_app(app)  # process-wide: give the session's app its own back
