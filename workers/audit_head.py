"""Publishes the audit chain's head to the logs, so that removing the newest rows is evident.

The hash chain shows a row changed or removed in the middle, but not its newest rows deleted:
what is left still links up. A background loop of the worker process logs the head (the newest
row's id and hash) as it starts and then every HEAD_EVERY_S when it moved:

    audit chain head id=ID hash=HASH

Logs leave the machine (a log collector; docs/OPERATIONS.md), out of reach of whoever could edit
the database. `flask --app wsgi audit verify --head ID:HASH` then checks that row is still there
with that hash. Rows written after the last published head are covered only once the next head
is published (at most HEAD_EVERY_S later).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from common.audit import chain_head
from config import get_settings
from models.session import engine_for
from workers import register_loop

log = logging.getLogger("workers.audit_head")

HEAD_EVERY_S = 60.0


def publish_head(engine: Engine, last: tuple[int, str] | None) -> tuple[int, str] | None:
    """Log the chain head if it moved since `last`; return the head."""
    with engine.connect() as conn:
        head = chain_head(conn)
    if head is not None and head != last:
        log.info("audit chain head id=%d hash=%s", head[0], head[1])
    return head


def audit_head_loop(stop: threading.Event) -> None:
    """The worker's background loop: publish the head at start, then every HEAD_EVERY_S it moved."""
    engine = engine_for(get_settings().database_url)
    last: tuple[int, str] | None = None
    while not stop.is_set():
        try:
            last = publish_head(engine, last)
        except Exception:
            log.exception("could not read the audit chain head; trying again in %.0f s", HEAD_EVERY_S)
        stop.wait(HEAD_EVERY_S)


register_loop(audit_head_loop)
