"""Write one engine batch in ONE PostgreSQL transaction (the engine is the only writer).

The transaction first moves the shard's progress under its fencing token (a second engine that
took the shard over makes this one's batches fail before they write anything), then upserts the
changed state and inserts the facts: trades, ledger rows, processed command results, webhook
outbox rows and audit rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, NamedTuple

import psycopg2
from sqlalchemy import Connection

from common.audit import AUDIT_COLUMNS, LOCK_AND_TAIL_SQL, AuditEntry, link_rows, prepare_rows
from common.outbox import outbox_row
from common.pgcopy import COPY_FROM_ROWS, copy_rows, values_sql
from engine.codec import dumps
from engine.core.entities import Account, Hold, Order, Position
from engine.core.journal import AuditRecord, Changes, LedgerRow, TradeRow
from engine.store import ts


class FencedOut(RuntimeError):
    """Another engine owns this shard now (its fencing token is newer)."""


class Processed(NamedTuple):
    """A command's outcome, stored with the batch (exactly-once)."""

    command_id: str
    type: str
    account_id: int | None
    stream_id: str | None
    result_json: str  # encoded once: the same bytes are stored and sent as the reply


_ORDER_COLUMNS = (
    "id, account_id, symbol, side, type, status, volume, price, limit_price, sl, tp, expiry_type, expires_at, "
    "deviation, stop_triggered, fill_price, position_id, reject_code, command_id, created_at, updated_at, closed_at"
)
_ORDER_UPDATE = (
    "status, volume, price, limit_price, sl, tp, expiry_type, expires_at, stop_triggered, fill_price, "
    "position_id, reject_code, updated_at, closed_at"
)
_POSITION_COLUMNS = (
    "id, account_id, order_id, symbol, side, status, volume, initial_volume, open_price, close_price, sl, tp, "
    "swap, commission, realized_pl, margin, opened_at, updated_at, closed_at"
)
_POSITION_UPDATE = "status, volume, close_price, sl, tp, swap, commission, realized_pl, margin, updated_at, closed_at"


_TRADE_COLUMNS = (
    "id, account_id, position_id, order_id, symbol, side, entry, volume, price, profit, commission, swap, reason, "
    "command_id, executed_at"
)
_LEDGER_COLUMNS = (
    "id, account_id, kind, amount, credit_amount, balance_after, credit_after, external_id, trade_id, position_id, "
    "comment, command_id, created_at"
)


@lru_cache(maxsize=8)  # two column lists, every batch
def _excluded(columns: str) -> str:
    return ", ".join(f"{c.strip()} = EXCLUDED.{c.strip()}" for c in columns.split(","))


def _order_row(o: Order) -> tuple[Any, ...]:
    return (
        o.id,
        o.account_id,
        o.symbol,
        o.side,
        o.type,
        o.status,
        o.volume,
        o.price,
        o.limit_price,
        o.sl,
        o.tp,
        o.expiry_type,
        ts(o.expires_at),
        o.deviation,
        o.stop_triggered,
        o.fill_price,
        o.position_id,
        o.reject_code,
        o.command_id,
        ts(o.created_at),
        ts(o.updated_at),
        ts(o.closed_at),
    )


def _position_row(p: Position) -> tuple[Any, ...]:
    return (
        p.id,
        p.account_id,
        p.order_id,
        p.symbol,
        p.side,
        p.status,
        p.volume,
        p.initial_volume,
        p.open_price,
        p.close_price,
        p.sl,
        p.tp,
        p.swap,
        p.commission,
        p.realized_pl,
        p.margin,
        ts(p.opened_at),
        ts(p.updated_at),
        ts(p.closed_at),
    )


def _trade_row(t: TradeRow) -> tuple[Any, ...]:
    return (*t[:-1], ts(t.executed_at))  # the fields are in _TRADE_COLUMNS order


def _ledger_row(r: LedgerRow) -> tuple[Any, ...]:
    return (*r[:-1], ts(r.created_at))  # the fields are in _LEDGER_COLUMNS order


def _account_values(a: Account) -> tuple[Any, ...]:
    return (
        a.id,
        a.balance,
        a.credit,
        a.held,
        a.leverage,
        a.trading_rights,
        a.margin_call_level,
        a.stop_out_level,
        a.margin_call_active,
        a.version,
        ts(a.updated_at),
    )


def _audit_entry(record: AuditRecord) -> AuditEntry:
    actor = record.actor
    actor_id = actor.get("id")
    return AuditEntry(
        action=record.action,
        outcome=record.outcome,
        actor_type=str(actor.get("type") or "system"),
        actor_id=None if actor_id is None else str(actor_id),
        impersonator_id=None if actor.get("impersonator_id") is None else str(actor["impersonator_id"]),
        target_type=record.target_type,
        target_id=record.target_id,
        ip=actor.get("ip"),
        request_id=actor.get("request_id"),
        details=record.details,
        created_at=ts(record.at),
    )


def _json(value: Any) -> str:
    return dumps(value)


class _Writer:
    """Collects a batch's statements and sends them in as few round trips as possible.

    Small groups of rows become INSERT/UPDATE statements joined into one execute (one round
    trip); large groups use COPY. Statement order is kept (accounts before their orders...).
    """

    def __init__(self, cur: Any) -> None:
        self.cur = cur
        self.pending: list[str] = []

    def _values(self, rows: Sequence[Sequence[Any]], template: str | None = None) -> str:
        return values_sql(self.cur, rows, template)

    def insert(self, table: str, columns: str, rows: Sequence[Sequence[Any]], suffix: str = "") -> None:
        if not rows:
            return
        if len(rows) >= COPY_FROM_ROWS and not suffix:
            self.flush()
            copy_rows(self.cur, table, columns, rows)
            return
        self.pending.append(f"INSERT INTO {table} ({columns}) VALUES {self._values(rows)} {suffix}")

    def statement(self, sql: str, rows: Sequence[Sequence[Any]], template: str) -> None:
        """A statement with one %s that takes the VALUES list (e.g. UPDATE ... FROM (VALUES %s))."""
        if rows:
            self.pending.append(sql.replace("%s", self._values(rows, template), 1))

    def update_accounts(self, rows: Sequence[Sequence[Any]]) -> None:
        if len(rows) < COPY_FROM_ROWS:
            self.statement(_ACCOUNT_UPDATE, rows, _ACCOUNT_TEMPLATE)
            return
        # In the batch's own transaction, so a rolled-back batch never leaves us believing in a
        # table that is not there; only large batches come here, where one more statement is noise.
        self.pending.append(_ACCOUNT_TEMP)
        self.flush()
        copy_rows(self.cur, "engine_account_changes", _ACCOUNT_CHANGES, rows)
        self.pending.append(_ACCOUNT_UPDATE_FROM_TEMP)

    def commit(self) -> None:
        """Send what is pending with the COMMIT that ends the batch's transaction (one round trip)."""
        self.pending.append("COMMIT")
        self.flush()

    def flush(self) -> None:
        if self.pending:
            self.cur.execute(";\n".join(self.pending))
            self.pending.clear()


_ACCOUNT_INSERT = (
    "id, user_id, number, type, currency, balance, credit, held, leverage, trading_rights, margin_call_level, "
    "stop_out_level, margin_call_active, version, created_at, updated_at"
)
_ACCOUNT_CHANGES = "id, balance, credit, held, leverage, trading_rights, mcl, sol, mca, version, updated_at"
_ACCOUNT_SET = (
    "UPDATE accounts AS a SET balance = v.balance, credit = v.credit, held = v.held, leverage = v.leverage, "
    "trading_rights = v.trading_rights, margin_call_level = v.mcl, stop_out_level = v.sol, "
    "margin_call_active = v.mca, version = v.version, updated_at = v.updated_at FROM {source} WHERE a.id = v.id"
)
_ACCOUNT_UPDATE = _ACCOUNT_SET.format(source=f"(VALUES %s) AS v ({_ACCOUNT_CHANGES})")
# Large groups of account updates go through COPY into a temporary table (formatting rows for
# COPY costs a fraction of quoting them into VALUES); it empties itself at every commit.
_ACCOUNT_TEMP = (
    "CREATE TEMP TABLE IF NOT EXISTS engine_account_changes (id bigint, balance numeric, credit numeric, "
    "held numeric, leverage int, trading_rights text, mcl numeric, sol numeric, mca boolean, version bigint, "
    "updated_at timestamptz) ON COMMIT DELETE ROWS"
)
_ACCOUNT_UPDATE_FROM_TEMP = _ACCOUNT_SET.format(source="engine_account_changes AS v")
_ACCOUNT_TEMPLATE = (
    "(%s::bigint, %s::numeric, %s::numeric, %s::numeric, %s::int, %s, %s::numeric, %s::numeric, %s::boolean, "
    "%s::bigint, %s::timestamptz)"
)
_HOLD_COLUMNS = "account_id, hold_id, amount, status, ledger_entry_id, command_id, created_at, updated_at"
_HOLD_UPSERT = (
    "ON CONFLICT (account_id, hold_id) DO UPDATE SET status = EXCLUDED.status, "
    "ledger_entry_id = EXCLUDED.ledger_entry_id, updated_at = EXCLUDED.updated_at"
)


def _new_account_row(a: Account) -> tuple[Any, ...]:
    return (
        a.id,
        a.user_id,
        a.number,
        a.type,
        a.currency,
        a.balance,
        a.credit,
        a.held,
        a.leverage,
        a.trading_rights,
        a.margin_call_level,
        a.stop_out_level,
        a.margin_call_active,
        a.version,
        ts(a.created_at),
        ts(a.updated_at),
    )


def _hold_row(h: Hold) -> tuple[Any, ...]:
    return (h.account_id, h.hold_id, h.amount, h.status, h.ledger_id, h.command_id, ts(h.created_at), ts(h.updated_at))


def _split(
    out: _Writer, table: str, columns: str, updatable: str, rows: list[tuple[int, tuple[Any, ...]]], new: set[int]
) -> None:
    """Rows created in this batch are inserted; rows of earlier batches are updated (upsert)."""
    out.insert(table, columns, [row for key, row in rows if key in new])
    upsert = f"ON CONFLICT (id) DO UPDATE SET {_excluded(updatable)}"
    out.insert(table, columns, [row for key, row in rows if key not in new], upsert)


# Moves the shard's progress, or raises (and so ends the query string) when no row matched: the
# fencing token is no longer current.
FENCE_SQLSTATE = "EF001"
_FENCED = (
    "DO $fence$ BEGIN {progress}; IF NOT FOUND THEN RAISE EXCEPTION 'engine shard fenced out' "
    f"USING ERRCODE = '{FENCE_SQLSTATE}'; END IF; END $fence$"
)


@contextmanager
def _fenced_out(shard: int, fence: int) -> Iterator[None]:
    try:
        yield
    except psycopg2.Error as exc:
        if exc.pgcode == FENCE_SQLSTATE:
            raise FencedOut(f"shard {shard}: fence {fence} is no longer current") from exc
        raise


@contextmanager
def _rolled_back_on_error(cur: Any) -> Iterator[None]:
    try:
        yield
    except BaseException:
        try:
            cur.execute("ROLLBACK")
        except Exception:  # noqa: BLE001, S110 - a broken connection has no transaction left to end
            pass
        raise


def write_batch(
    conn: Connection,
    *,
    shard: int,
    fence: int,
    changes: Changes,
    processed: Sequence[Processed],
    last_stream_id: str | None,
    last_tick_id: str | None,
) -> None:
    """Persist one batch in one transaction; raise FencedOut if the shard was taken over.

    The connection is in autocommit mode and the transaction is spelled out in the statements (the
    driver's own transactions would add a round trip for its BEGIN and another for the COMMIT):

    1. BEGIN, move the shard's progress under its fencing token (a block that raises when the
       token is no longer current, so nothing after it runs), then every insert and update (COPY,
       a round trip of its own, for large groups), then the audit lock and the chain's tail;
    2. the audit rows chained on that tail, and COMMIT.

    A batch without audit rows is one round trip. The audit lock serialises every writer of the
    chain (the other shards, the web), so it is taken last: it is held for the audit rows' hashes,
    their insert and the COMMIT only, not while the batch's rows are formatted and sent. On any
    error the transaction is rolled back before the error is raised again.
    """
    raw = conn.connection.dbapi_connection
    assert raw is not None and raw.autocommit, "write_batch runs its own transaction on an autocommit connection"
    cur = raw.cursor()
    with _rolled_back_on_error(cur), _fenced_out(shard, fence):
        # The UPDATE holds the shard row's lock until COMMIT: a takeover committed before it leaves
        # a newer fence there (no row matches); one not yet committed makes it wait, then match none.
        progress = cur.mogrify(
            "UPDATE engine_shards SET last_stream_id = COALESCE(%s, last_stream_id), "
            "last_tick_id = COALESCE(%s, last_tick_id), last_rollover = COALESCE(%s, last_rollover), "
            "updated_at = now() WHERE shard = %s AND fence = %s",
            (last_stream_id, last_tick_id, ts(changes.last_rollover), shard, fence),
        ).decode()
        out = _Writer(cur)
        out.pending.append(f"BEGIN; {_FENCED.format(progress=progress)}")
        out.insert("accounts", _ACCOUNT_INSERT, [_new_account_row(a) for a in changes.new_accounts.values()])
        out.update_accounts([_account_values(a) for a in changes.accounts.values()])
        _split(
            out,
            "orders",
            _ORDER_COLUMNS,
            _ORDER_UPDATE,
            [(k, _order_row(o)) for k, o in changes.orders.items()],
            changes.new_orders,
        )
        _split(
            out,
            "positions",
            _POSITION_COLUMNS,
            _POSITION_UPDATE,
            [(k, _position_row(p)) for k, p in changes.positions.items()],
            changes.new_positions,
        )
        out.insert("account_holds", _HOLD_COLUMNS, [_hold_row(h) for h in changes.holds.values()], _HOLD_UPSERT)
        out.insert("trades", _TRADE_COLUMNS, [_trade_row(t) for t in changes.trades])
        out.insert("ledger_entries", _LEDGER_COLUMNS, [_ledger_row(r) for r in changes.ledger])
        out.insert(
            "processed_commands",
            "command_id, type, account_id, shard, stream_id, result",
            [(p.command_id, p.type[:32], p.account_id, shard, p.stream_id, p.result_json) for p in processed],
        )
        outbox = [outbox_row(n.type, n.data, ts(n.at), n.request_id) for n in changes.webhooks]
        out.insert(
            "webhook_events",
            "msg_id, type, payload, created_at, request_id",
            [(r["msg_id"], r["type"], r["payload"], r["created_at"], r["request_id"]) for r in outbox],
        )
        if changes.audit:
            prepared = prepare_rows([_audit_entry(r) for r in changes.audit])
            out.pending.append(LOCK_AND_TAIL_SQL)
            out.flush()
            tail = cur.fetchone()
            rows, _ = link_rows(tail[0] if tail else None, prepared)  # the lock is held from here
            out.insert("audit_logs", AUDIT_COLUMNS, rows)
        out.commit()
