"""Retention of spent credentials: rows that can no longer authenticate anyone are deleted.

A background loop of the worker process (`python -m workers`), once at start and then every
PURGE_EVERY_S. It deletes, a day after they stopped working (GRACE):

- one-time tokens (e-mail verification, password reset, e-mail change) past their expiry;
- SSO impersonation hand-offs past their expiry;
- refresh tokens of sessions that ended (expired or revoked).

Each refresh of a 15-minute access cookie adds a refresh-token row and every e-mail link a one-time
token, so without this these tables grow with every active user, forever. The sessions themselves
stay (they are the login history admins read), and so does everything with a money or audit
meaning. Deletes run in chunks of CHUNK rows, one short transaction each, so no pass holds locks
on a busy table for long; several workers may run the loop at once (a row deleted twice is
deleted once).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Engine, delete, exists, or_, select

from config import get_settings
from models import OneTimeToken, RefreshToken, SsoToken, UserSession
from models.session import engine_for
from workers import register_loop

log = logging.getLogger("workers.retention")

PURGE_EVERY_S = 3600.0
GRACE = timedelta(days=1)
CHUNK = 1000


def _chunked(engine: Engine, table: type, condition: ColumnElement[bool]) -> int:
    """Delete the rows matching `condition`, CHUNK at a time; return how many went."""
    total = 0
    while True:
        with engine.begin() as conn:
            ids = select(table.id).where(condition).limit(CHUNK).scalar_subquery()  # type: ignore[attr-defined]
            removed = conn.execute(delete(table).where(table.id.in_(ids))).rowcount  # type: ignore[attr-defined]
        total += removed
        if removed < CHUNK:
            return total


def purge_once(engine: Engine, now: datetime | None = None) -> dict[str, int]:
    """One pass over every table; return the rows deleted per table."""
    cutoff = (now or datetime.now(UTC)) - GRACE
    ended = exists().where(
        UserSession.id == RefreshToken.session_id,
        or_(UserSession.expires_at < cutoff, UserSession.revoked_at < cutoff),
    )
    counts = {
        "one_time_tokens": _chunked(engine, OneTimeToken, OneTimeToken.expires_at < cutoff),
        "sso_tokens": _chunked(engine, SsoToken, SsoToken.expires_at < cutoff),
        "refresh_tokens": _chunked(engine, RefreshToken, ended),
    }
    if any(counts.values()):
        log.info("retention: deleted %s", ", ".join(f"{n} {table}" for table, n in counts.items() if n))
    return counts


def retention_loop(stop: threading.Event) -> None:
    """The worker's background loop: a pass at start, then one every PURGE_EVERY_S until stopped."""
    engine = engine_for(get_settings().database_url)
    while not stop.is_set():
        try:
            purge_once(engine)
        except Exception:
            log.exception("retention pass failed; the next one is in %.0f s", PURGE_EVERY_S)
        stop.wait(PURGE_EVERY_S)


register_loop(retention_loop)
