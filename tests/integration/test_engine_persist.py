"""One engine batch = one transaction in one or two round trips, all or nothing (engine.persist.write_batch)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg2.extensions
import pytest
from sqlalchemy import text

from engine import store
from engine.core.journal import AuditRecord, Changes, WebhookNote
from engine.persist import FencedOut, Processed, write_batch
from tests.support import wait_for

SHARD = 77  # no engine of the test session uses it
T = 1_764_000_000_000


class CountingCursor(psycopg2.extensions.cursor):
    """Counts what goes to the server (statements and COPYs): each call is one round trip."""

    calls: list[str]

    def execute(self, query: Any, vars: Any = None) -> None:
        CountingCursor.calls.append(str(query)[:40])
        super().execute(query, vars)

    def copy_expert(self, sql: Any, file: Any, size: int = 8192) -> None:
        CountingCursor.calls.append(str(sql)[:40])
        super().copy_expert(sql, file, size)


@pytest.fixture()
def conn(sql_engine) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    with sql_engine.connect() as c:
        c.execution_options(isolation_level="AUTOCOMMIT")
        c.connection.dbapi_connection.cursor_factory = CountingCursor
        CountingCursor.calls = []
        yield c
        c.connection.dbapi_connection.cursor_factory = psycopg2.extensions.cursor


def _fence(sql_engine) -> int:  # type: ignore[no-untyped-def]
    with sql_engine.begin() as c:
        return store.acquire_fence(c, SHARD, "test-owner")


def _changes(tag: str, audit: bool = True) -> Changes:
    changes = Changes()
    if audit:
        changes.audit.append(
            AuditRecord("test.batch", "success", {"type": "system"}, "shard", str(SHARD), {"t": tag}, T)
        )
    changes.webhooks.append(WebhookNote("test.batch", {"tag": tag}, T))
    return changes


def _processed(*ids: str) -> list[Processed]:
    return [Processed(i, "place_order", None, f"{T}-{n}", '{"ok": true}') for n, i in enumerate(ids)]


def _stored(sql_engine, tag: str) -> tuple[int, int, int, str | None]:  # type: ignore[no-untyped-def]
    with sql_engine.connect() as c:
        return (
            c.execute(
                text("SELECT count(*) FROM processed_commands WHERE command_id LIKE :p"), {"p": f"{tag}%"}
            ).scalar(),
            c.execute(text("SELECT count(*) FROM audit_logs WHERE details->>'t' = :t"), {"t": tag}).scalar(),
            c.execute(
                text("SELECT count(*) FROM webhook_events WHERE payload::text LIKE :p"), {"p": f"%{tag}%"}
            ).scalar(),
            c.execute(text("SELECT last_stream_id FROM engine_shards WHERE shard = :s"), {"s": SHARD}).scalar(),
        )


def _write(conn: Any, fence: int, tag: str, command_ids: list[str], stream_id: str, audit: bool = True) -> None:
    write_batch(
        conn,
        shard=SHARD,
        fence=fence,
        changes=_changes(tag, audit),
        processed=_processed(*command_ids),
        last_stream_id=stream_id,
        last_tick_id=None,
    )


def _idle(conn: Any) -> bool:
    status = conn.connection.dbapi_connection.get_transaction_status()
    return bool(status == psycopg2.extensions.TRANSACTION_STATUS_IDLE)


def test_a_batch_is_committed_in_two_round_trips(conn, sql_engine) -> None:  # type: ignore[no-untyped-def]
    fence = _fence(sql_engine)
    _write(conn, fence, "ok-batch", ["ok-batch-1", "ok-batch-2"], f"{T}-1")
    assert len(CountingCursor.calls) == 2, CountingCursor.calls
    assert CountingCursor.calls[0].startswith("BEGIN;")
    assert _idle(conn)  # committed: no transaction left open
    assert _stored(sql_engine, "ok-batch") == (2, 1, 1, f"{T}-1")


def test_a_batch_without_audit_rows_is_committed_in_one_round_trip(conn, sql_engine) -> None:  # type: ignore[no-untyped-def]
    fence = _fence(sql_engine)
    _write(conn, fence, "lone-batch", ["lone-batch-1"], f"{T}-2", audit=False)
    assert len(CountingCursor.calls) == 1, CountingCursor.calls
    assert _idle(conn)
    assert _stored(sql_engine, "lone-batch") == (1, 0, 1, f"{T}-2")


def test_the_audit_lock_is_waited_for_only_once_the_batch_rows_are_written(conn, sql_engine) -> None:  # type: ignore[no-untyped-def]
    """Every writer of the audit chain (other shards, the web) queues on its lock: a batch takes it
    last, after sending its rows, so it is not held while they are formatted and written."""
    from common.audit import AUDIT_LOCK_KEY

    fence = _fence(sql_engine)
    pid = conn.connection.dbapi_connection.get_backend_pid()
    with sql_engine.connect() as holder:
        holder.execute(text("BEGIN"))
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
        writer = threading.Thread(target=_write, args=(conn, fence, "late-lock", ["late-lock-1"], f"{T}-3"))
        writer.start()
        with sql_engine.connect() as probe:

            def waiting_with_rows_in() -> set[str]:
                waiting = probe.execute(
                    text("SELECT 1 FROM pg_locks WHERE pid = :p AND locktype = 'advisory' AND NOT granted"), {"p": pid}
                ).first()
                if waiting is None:
                    return set()
                return set(
                    probe.execute(
                        text(
                            "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                            "WHERE l.pid = :p AND l.mode = 'RowExclusiveLock' AND l.granted"
                        ),
                        {"p": pid},
                    ).scalars()
                )

            written = wait_for(waiting_with_rows_in, what="the batch to wait for the audit lock")
        assert {"engine_shards", "processed_commands", "webhook_events"} <= written
        assert "audit_logs" not in written
        holder.execute(text("ROLLBACK"))
    writer.join(timeout=30)
    assert not writer.is_alive()
    assert _stored(sql_engine, "late-lock") == (1, 1, 1, f"{T}-3")


def test_a_failure_in_a_round_trip_leaves_nothing_and_the_connection_usable(conn, sql_engine) -> None:  # type: ignore[no-untyped-def]
    fence = _fence(sql_engine)
    before = _stored(sql_engine, "dup-batch")[3]
    with pytest.raises(psycopg2.errors.UniqueViolation):
        # the same command twice: the insert of the processed results fails
        _write(conn, fence, "dup-batch", ["dup-batch-1", "dup-batch-1"], f"{T}-9")
    assert _idle(conn)
    assert _stored(sql_engine, "dup-batch") == (0, 0, 0, before)  # progress, audit, outbox: all rolled back
    _write(conn, fence, "after-batch", ["after-batch-1"], f"{T}-10")
    assert _stored(sql_engine, "after-batch") == (1, 1, 1, f"{T}-10")


def test_a_fenced_out_batch_writes_nothing(conn, sql_engine) -> None:  # type: ignore[no-untyped-def]
    stale = _fence(sql_engine)
    _fence(sql_engine)  # another engine took the shard over
    before = _stored(sql_engine, "fenced")[3]
    with pytest.raises(FencedOut):
        _write(conn, stale, "fenced", ["fenced-1"], f"{T}-20")
    assert _idle(conn)
    assert _stored(sql_engine, "fenced") == (0, 0, 0, before)


def test_the_engine_reads_each_instruments_freeze_level_from_postgresql(sql_engine) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_market_support import ensure_instruments

    ensure_instruments(sql_engine)
    with sql_engine.begin() as c:
        c.execute(text("UPDATE instruments SET freeze_level = 15 WHERE symbol = 'EURUSD'"))
    try:
        with sql_engine.connect() as c:
            loaded = {i.symbol: i for i in store.load_instruments(c)}
        assert loaded["EURUSD"].freeze_level == 15
        assert loaded["GBPUSD"].freeze_level == 0
    finally:
        with sql_engine.begin() as c:
            c.execute(text("UPDATE instruments SET freeze_level = 0 WHERE symbol = 'EURUSD'"))
