"""PostgreSQL adapter of the engine, reading side: load a shard's state, allocate ids, look up
processed commands and users. Writing a batch is engine/persist.py."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, text

from engine.core.engine import TradingCore
from engine.core.entities import Account, Hold, Order, Position
from engine.core.instruments import Instrument, to_ms
from engine.core.journal import LedgerRow
from engine.core.money import round_money

log = logging.getLogger(__name__)

SEQUENCES = {
    "order": "orders_id_seq",
    "position": "positions_id_seq",
    "trade": "trades_id_seq",
    "ledger": "ledger_entries_id_seq",
}


def ts(ms: int | None) -> datetime | None:
    """Epoch ms → aware UTC datetime (for PostgreSQL)."""
    if ms is None:
        return None
    return _ts(ms)


@lru_cache(maxsize=4096)
def _ts(ms: int) -> datetime:
    # A batch stamps most rows with the same instant: convert each once.
    return datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=(ms % 1000) * 1000)


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else to_ms(moment)


class SequenceIds:
    """Ids for orders, positions, trades and ledger rows, taken from PostgreSQL sequences in blocks."""

    def __init__(self, engine: Engine, block: int = 2000) -> None:
        self.engine = engine
        self.block = block
        self._pool: dict[str, list[int]] = {kind: [] for kind in SEQUENCES}

    def next_id(self, kind: str) -> int:
        if not self._pool[kind]:
            self._refill(kind)
        return self._pool[kind].pop()

    def _refill(self, kind: str) -> None:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(f"SELECT nextval('{SEQUENCES[kind]}') FROM generate_series(1, :n)"), {"n": self.block}
            ).scalars()
            ids = sorted((int(v) for v in rows), reverse=True)
            conn.commit()
        self._pool[kind] = ids


# --- loading ----------------------------------------------------------------------------------------


def load_instruments(conn: Connection) -> list[Instrument]:
    rows = conn.execute(text("SELECT * FROM instruments ORDER BY symbol")).mappings()
    return [Instrument.from_row(dict(row)) for row in rows]


def acquire_fence(conn: Connection, shard: int, owner: str) -> int:
    """Take the shard: bump its fencing token (the row lock orders this after any running batch)."""
    return int(
        conn.execute(
            text(
                "INSERT INTO engine_shards (shard, fence, owner, updated_at) VALUES (:s, 1, :o, now()) "
                "ON CONFLICT (shard) DO UPDATE SET fence = engine_shards.fence + 1, owner = :o, updated_at = now() "
                "RETURNING fence"
            ),
            {"s": shard, "o": owner},
        ).scalar_one()
    )


def shard_progress(conn: Connection, shard: int) -> dict[str, Any]:
    row = conn.execute(
        text("SELECT last_stream_id, last_tick_id, last_rollover FROM engine_shards WHERE shard = :s"), {"s": shard}
    ).mappings()
    found = row.first()
    return dict(found) if found else {}


def load_state(conn: Connection, core: TradingCore, shard: int, shards: int) -> None:
    """Load every account of the shard with its open positions, pending orders, holds and external ids."""
    params = {"n": shards, "s": shard}
    where = "account_id % :n = :s"
    for row in conn.execute(text("SELECT * FROM accounts WHERE id % :n = :s ORDER BY id"), params).mappings():
        core.load_account(_account(row))
    booked = {
        int(r[0]): Decimal(r[1])
        for r in conn.execute(
            text(
                f"SELECT t.position_id, SUM(t.swap) FROM trades t JOIN positions p ON p.id = t.position_id "
                f"WHERE p.status = 'open' AND t.entry = 'out' AND t.{where} GROUP BY t.position_id"
            ),
            params,
        )
    }
    positions = conn.execute(text(f"SELECT * FROM positions WHERE status = 'open' AND {where} ORDER BY id"), params)
    for row in positions.mappings():
        core.load_position(_position(core, row, booked.get(int(row["id"]))))
    orders = conn.execute(text(f"SELECT * FROM orders WHERE status = 'pending' AND {where} ORDER BY id"), params)
    for row in orders.mappings():
        core.load_order(_order(core, row))
    for row in conn.execute(text(f"SELECT * FROM account_holds WHERE {where}"), params).mappings():
        core.load_hold(_hold(row))
    externals = conn.execute(
        text(f"SELECT * FROM ledger_entries WHERE external_id IS NOT NULL AND {where} ORDER BY id"), params
    )
    for row in externals.mappings():
        core.load_external(_ledger(row))


def _account(row: Any) -> Account:
    ccy = row["currency"]
    return Account(
        id=int(row["id"]),
        user_id=int(row["user_id"]),
        number=row["number"],
        type=row["type"],
        currency=ccy,
        balance=round_money(row["balance"], ccy),
        credit=round_money(row["credit"], ccy),
        held=round_money(row["held"], ccy),
        leverage=int(row["leverage"]),
        trading_rights=row["trading_rights"],
        margin_call_level=Decimal(row["margin_call_level"]).quantize(Decimal("0.01")),
        stop_out_level=Decimal(row["stop_out_level"]).quantize(Decimal("0.01")),
        margin_call_active=bool(row["margin_call_active"]),
        version=int(row["version"]),
        created_at=to_ms(row["created_at"]),
        updated_at=to_ms(row["updated_at"]),
    )


def _position(core: TradingCore, row: Any, swap_booked: Decimal | None) -> Position:
    inst = core.instruments[row["symbol"]]
    ccy = core.accounts[int(row["account_id"])].currency
    return Position(
        id=int(row["id"]),
        account_id=int(row["account_id"]),
        order_id=row["order_id"],
        symbol=row["symbol"],
        side=row["side"],
        volume=inst.norm_volume(row["volume"]),
        initial_volume=inst.norm_volume(row["initial_volume"]),
        open_price=row["open_price"].quantize(inst.point),
        status=row["status"],
        close_price=inst.norm_price(row["close_price"]),
        sl=inst.norm_price(row["sl"]),
        tp=inst.norm_price(row["tp"]),
        swap=round_money(row["swap"], ccy),
        swap_booked=round_money(swap_booked or Decimal(0), ccy),
        commission=round_money(row["commission"], ccy),
        realized_pl=round_money(row["realized_pl"], ccy),
        margin=round_money(row["margin"], ccy),
        opened_at=to_ms(row["opened_at"]),
        updated_at=to_ms(row["updated_at"]),
    )


def _order(core: TradingCore, row: Any) -> Order:
    inst = core.instruments[row["symbol"]]
    return Order(
        id=int(row["id"]),
        account_id=int(row["account_id"]),
        symbol=row["symbol"],
        side=row["side"],
        type=row["type"],
        status=row["status"],
        volume=inst.norm_volume(row["volume"]),
        price=inst.norm_price(row["price"]),
        limit_price=inst.norm_price(row["limit_price"]),
        sl=inst.norm_price(row["sl"]),
        tp=inst.norm_price(row["tp"]),
        expiry_type=row["expiry_type"],
        expires_at=_ms(row["expires_at"]),
        deviation=row["deviation"],
        stop_triggered=bool(row["stop_triggered"]),
        command_id=row["command_id"],
        created_at=to_ms(row["created_at"]),
        updated_at=to_ms(row["updated_at"]),
    )


def _hold(row: Any) -> Hold:
    return Hold(
        account_id=int(row["account_id"]),
        hold_id=row["hold_id"],
        amount=Decimal(row["amount"]),
        status=row["status"],
        command_id=row["command_id"],
        ledger_id=row["ledger_entry_id"],
        created_at=to_ms(row["created_at"]),
        updated_at=to_ms(row["updated_at"]),
    )


def _ledger(row: Any) -> LedgerRow:
    return LedgerRow(
        id=int(row["id"]),
        account_id=int(row["account_id"]),
        kind=row["kind"],
        amount=Decimal(row["amount"]),
        credit_amount=Decimal(row["credit_amount"]),
        balance_after=Decimal(row["balance_after"]),
        credit_after=Decimal(row["credit_after"]),
        external_id=row["external_id"],
        trade_id=row["trade_id"],
        position_id=row["position_id"],
        comment=row["comment"],
        command_id=row["command_id"],
        created_at=to_ms(row["created_at"]),
    )


def known_results(conn: Connection, command_ids: Sequence[str]) -> dict[str, str]:
    """Stored results (JSON) of commands already processed (a redelivery answers with these)."""
    if not command_ids:
        return {}
    cur = conn.connection.cursor()  # the driver's cursor: this runs once per batch, on the hot path
    cur.execute(
        "SELECT command_id, result::text FROM processed_commands WHERE command_id = ANY(%s)", (list(command_ids),)
    )
    return {r[0]: r[1] for r in cur.fetchall()}


def existing_users(conn: Connection, user_ids: Iterable[int]) -> set[int]:
    ids = sorted(set(user_ids))
    if not ids:
        return set()
    return {int(r[0]) for r in conn.execute(text("SELECT id FROM users WHERE id = ANY(:ids)"), {"ids": ids})}
