"""Trading use cases of the web tier: read helpers and engine command submission.

The web never writes account state and never recomputes live figures: balance, equity, margin,
free margin, margin level and floating P/L come from the engine's acct:{id} hash. Other parts
(CRM, admin) reuse the read helpers here: `account_view`, `accounts_view`, `order_view`,
`position_view`, `trade_view`, `ledger_view`, `owned_account`.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import redis
from flask import current_app
from sqlalchemy import Select, func, select

from config import Settings
from engine.contracts import (
    OPEN_ACCOUNT,
    Command,
    account_figures_key,
    command_owner_key,
    commands_stream,
    http_status_for,
    open_account_payload,
    shard_for,
)
from models import Account, Instrument, LedgerEntry, Order, Position, ProcessedCommand, Trade, User
from web.errors import ApiError
from web.extensions import db
from web.services.commands import allocate_account_id, new_command_id, wait_reply

log = logging.getLogger(__name__)

ENGINE_WAIT_S = 5.0  # how long a request waits for the engine before answering 202 (app config ENGINE_REPLY_WAIT_S)
OWNER_TTL_S = 86_400
MAX_DEMO_ACCOUNTS = 5
_DIGITS_TTL_S = 60.0
_digits_cache: tuple[float, dict[str, tuple[int, Decimal]]] = (0.0, {})


def settings() -> Settings:
    return cast(Settings, current_app.config["SETTINGS"])


def _redis() -> Any:
    from web import get_redis

    return get_redis()


# --- formatting ----------------------------------------------------------------------------------


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds and a Z (the engine's format)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _specs() -> dict[str, tuple[int, Decimal]]:
    """digits and volume step per symbol, cached for a minute (instruments rarely change)."""
    global _digits_cache
    stamp, cached = _digits_cache
    if cached and time.monotonic() - stamp < _DIGITS_TTL_S:
        return cached
    rows = db.execute(select(Instrument.symbol, Instrument.digits, Instrument.volume_step)).all()
    cached = {symbol: (int(digits), Decimal(step).normalize()) for symbol, digits, step in rows}
    _digits_cache = (time.monotonic(), cached)
    return cached


def _price(symbol: str, value: Decimal | None) -> str | None:
    if value is None:
        return None
    spec = _specs().get(symbol)
    return format(value.quantize(Decimal(1).scaleb(-spec[0])) if spec else value.normalize(), "f")


def _volume(symbol: str, value: Decimal) -> str:
    spec = _specs().get(symbol)
    return format(value.quantize(spec[1]) if spec else value.normalize(), "f")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


# --- accounts ----------------------------------------------------------------------------------------


def figures_of(account_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """The engine's live figures (acct:{id}) of several accounts, in one round trip."""
    if not account_ids:
        return {}
    pipe = _redis().pipeline(transaction=False)
    for account_id in account_ids:
        pipe.hgetall(account_figures_key(account_id))
    try:
        values = pipe.execute()
    except Exception as exc:  # noqa: BLE001 - live figures are optional in every view
        log.warning("live figures unavailable: %s", type(exc).__name__)
        return {}
    return {account_id: value or {} for account_id, value in zip(account_ids, values, strict=True)}


def account_view(account: Account, figures: dict[str, str] | None = None) -> dict[str, Any]:
    """An account as the API shows it, live figures from the engine (null until it has published)."""
    if figures is None:
        figures = figures_of([account.id]).get(account.id, {})

    def live(name: str) -> str | None:
        return figures.get(name) or None

    ts_ms = figures.get("ts")
    return {
        "id": account.id,
        "number": account.number,
        "type": account.type,
        "currency": account.currency,
        "balance": live("balance") or _money(account.balance),
        "credit": live("credit") or _money(account.credit),
        "equity": live("equity"),
        "margin": live("margin"),
        "free_margin": live("free_margin"),
        "margin_level": live("margin_level"),
        "floating_pl": live("floating_pl"),
        "held": live("held") or _money(account.held),
        "leverage": int(figures.get("leverage") or account.leverage),
        "trading_rights": figures.get("trading_rights") or account.trading_rights,
        "margin_call_level": figures.get("margin_call_level") or _money(account.margin_call_level),
        "stop_out_level": figures.get("stop_out_level") or _money(account.stop_out_level),
        "figures_at": iso(datetime.fromtimestamp(int(ts_ms) // 1000, UTC)) if ts_ms else None,
        "created_at": iso(account.created_at),
    }


def accounts_view(accounts: Sequence[Account]) -> list[dict[str, Any]]:
    """Several accounts with their figures (one Redis round trip)."""
    figures = figures_of([a.id for a in accounts])
    return [account_view(a, figures.get(a.id, {})) for a in accounts]


def user_accounts(user_id: int) -> list[Account]:
    return list(db.execute(select(Account).where(Account.user_id == user_id).order_by(Account.id)).scalars())


def owned_account(user: User, account_id: int) -> Account:
    """The user's own account, or 404 (someone else's account does not exist for them)."""
    account = db.get(Account, account_id)
    if account is None or account.user_id != user.id:
        raise ApiError(404, "not_found", "No such account.")
    return account


_OWNERS_CACHED = 100_000


def owned_account_id(user: User, account_id: int) -> int:
    """The id of one of the user's own accounts, or 404.

    An account never changes hands and ids are never reused, so its owner is remembered (per
    application and process, bounded): a command for an account costs no query for it.
    """
    owners: OrderedDict[int, int] = current_app.extensions.setdefault("account_owners", OrderedDict())
    owner = owners.get(account_id)
    if owner is None:
        owner = db.execute(select(Account.user_id).where(Account.id == account_id)).scalar()
        if owner is None:
            raise ApiError(404, "not_found", "No such account.")
        owners[account_id] = owner
        if len(owners) > _OWNERS_CACHED:
            owners.popitem(last=False)
    if owner != user.id:
        raise ApiError(404, "not_found", "No such account.")
    return account_id


def _owned(model: type[Order] | type[Position], user: User, object_id: int) -> Any:
    row: Any = db.get(model, object_id)
    if row is None:
        raise ApiError(404, "not_found", f"No such {model.__tablename__[:-1]}.")
    owned_account_id(user, row.account_id)
    return row


def _own_account_ids(user: User, account_id: int | None) -> list[int]:
    if account_id is not None:
        return [owned_account_id(user, account_id)]
    return list(db.execute(select(Account.id).where(Account.user_id == user.id)).scalars())


# --- orders, positions, trades, ledger ------------------------------------------------------------------


def order_view(order: Order) -> dict[str, Any]:
    s = order.symbol
    return {
        "id": order.id,
        "account_id": order.account_id,
        "symbol": s,
        "side": order.side,
        "type": order.type,
        "status": order.status,
        "volume": _volume(s, order.volume),
        "price": _price(s, order.price),
        "limit_price": _price(s, order.limit_price),
        "sl": _price(s, order.sl),
        "tp": _price(s, order.tp),
        "expiry_type": order.expiry_type,
        "expires_at": iso(order.expires_at),
        "deviation": order.deviation,
        "stop_triggered": order.stop_triggered,
        "fill_price": _price(s, order.fill_price),
        "position_id": order.position_id,
        "reject_code": order.reject_code,
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
        "closed_at": iso(order.closed_at),
    }


def position_view(position: Position, live: dict[str, Any] | None = None) -> dict[str, Any]:
    """A position; `live` is its entry in the engine's acct:{id} positions ({"price", "pl", "swap"})."""
    s = position.symbol
    live = live if position.status == "open" else None
    return {
        "id": position.id,
        "account_id": position.account_id,
        "order_id": position.order_id,
        "symbol": s,
        "side": position.side,
        "status": position.status,
        "volume": _volume(s, position.volume),
        "initial_volume": _volume(s, position.initial_volume),
        "open_price": _price(s, position.open_price),
        "close_price": _price(s, position.close_price),
        "current_price": (live or {}).get("price"),
        "floating_pl": (live or {}).get("pl"),
        "sl": _price(s, position.sl),
        "tp": _price(s, position.tp),
        "swap": (live or {}).get("swap") or _money(position.swap),
        "commission": _money(position.commission),
        "realized_pl": _money(position.realized_pl),
        "margin": _money(position.margin),
        "opened_at": iso(position.opened_at),
        "updated_at": iso(position.updated_at),
        "closed_at": iso(position.closed_at),
    }


def trade_view(trade: Trade) -> dict[str, Any]:
    s = trade.symbol
    return {
        "id": trade.id,
        "account_id": trade.account_id,
        "position_id": trade.position_id,
        "order_id": trade.order_id,
        "symbol": s,
        "side": trade.side,
        "entry": trade.entry,
        "volume": _volume(s, trade.volume),
        "price": _price(s, trade.price),
        "profit": _money(trade.profit),
        "commission": _money(trade.commission),
        "swap": _money(trade.swap),
        "reason": trade.reason,
        "executed_at": iso(trade.executed_at),
    }


def ledger_view(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "account_id": entry.account_id,
        "kind": entry.kind,
        "amount": _money(entry.amount),
        "credit_amount": _money(entry.credit_amount),
        "balance_after": _money(entry.balance_after),
        "credit_after": _money(entry.credit_after),
        "external_id": entry.external_id,
        "trade_id": entry.trade_id,
        "position_id": entry.position_id,
        "comment": entry.comment,
        "created_at": iso(entry.created_at),
    }


def _page(stmt: Select[Any], order_by: Iterable[Any], page: int, per_page: int) -> tuple[list[Any], int]:
    total = int(db.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one())
    rows = db.execute(stmt.order_by(*order_by).limit(per_page).offset((page - 1) * per_page)).scalars().all()
    return list(rows), total


def _envelope(items: list[dict[str, Any]], total: int, query: dict[str, Any]) -> dict[str, Any]:
    return {"items": items, "total": total, "page": query["page"], "per_page": query["per_page"]}


def list_orders(user: User, query: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Order).where(Order.account_id.in_(_own_account_ids(user, query.get("account_id"))))
    if query.get("status"):
        stmt = stmt.where(Order.status == query["status"])
    if query.get("symbol"):
        stmt = stmt.where(Order.symbol == query["symbol"])
    rows, total = _page(stmt, [Order.id.desc()], query["page"], query["per_page"])
    return _envelope([order_view(o) for o in rows], total, query)


def list_positions(user: User, query: dict[str, Any]) -> dict[str, Any]:
    account_ids = _own_account_ids(user, query.get("account_id"))
    stmt = select(Position).where(Position.account_id.in_(account_ids), Position.status == query["status"])
    if query.get("symbol"):
        stmt = stmt.where(Position.symbol == query["symbol"])
    rows, total = _page(stmt, [Position.id.desc()], query["page"], query["per_page"])
    live = _live_positions({p.account_id for p in rows}) if query["status"] == "open" else {}
    return _envelope([position_view(p, live.get(p.id)) for p in rows], total, query)


def _live_positions(account_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Current price and P/L of open positions, as the engine published them in acct:{id}."""
    ids = sorted(account_ids)
    if not ids:
        return {}
    pipe = _redis().pipeline(transaction=False)
    for account_id in ids:
        pipe.hget(account_figures_key(account_id), "positions")
    out: dict[int, dict[str, Any]] = {}
    try:
        values = pipe.execute()
    except Exception as exc:  # noqa: BLE001 - live P/L is optional
        log.warning("live positions unavailable: %s", type(exc).__name__)
        return out
    for raw in values:
        try:
            out.update({int(k): v for k, v in json.loads(raw or "{}").items()})
        except (TypeError, ValueError):
            continue
    return out


def position_with_live(position: Position) -> dict[str, Any]:
    return position_view(position, _live_positions([position.account_id]).get(position.id))


def _trades_stmt(user: User, query: dict[str, Any]) -> Select[Any]:
    stmt = select(Trade).where(Trade.account_id.in_(_own_account_ids(user, query.get("account_id"))))
    if query.get("symbol"):
        stmt = stmt.where(Trade.symbol == query["symbol"])
    if query.get("from_"):
        stmt = stmt.where(Trade.executed_at >= _utc(query["from_"]))
    if query.get("to"):
        stmt = stmt.where(Trade.executed_at < _utc(query["to"]))
    return stmt


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def list_trades(user: User, query: dict[str, Any]) -> dict[str, Any]:
    rows, total = _page(
        _trades_stmt(user, query), [Trade.executed_at.desc(), Trade.id.desc()], query["page"], query["per_page"]
    )
    return _envelope([trade_view(t) for t in rows], total, query)


CSV_COLUMNS = (
    "id",
    "executed_at",
    "account_id",
    "position_id",
    "order_id",
    "symbol",
    "side",
    "entry",
    "volume",
    "price",
    "profit",
    "commission",
    "swap",
    "reason",
)
CSV_MAX_ROWS = 100_000


def trades_csv(user: User, query: dict[str, Any]) -> str:
    """Every matching trade (not one page) as CSV, oldest first."""
    stmt = _trades_stmt(user, query).order_by(Trade.executed_at, Trade.id).limit(CSV_MAX_ROWS)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for trade in db.execute(stmt).scalars():
        view = trade_view(trade)
        writer.writerow(["" if view[c] is None else view[c] for c in CSV_COLUMNS])
    return out.getvalue()


def account_ledger(user: User, account_id: int, query: dict[str, Any]) -> dict[str, Any]:
    account = owned_account(user, account_id)
    stmt = select(LedgerEntry).where(LedgerEntry.account_id == account.id)
    rows, total = _page(stmt, [LedgerEntry.id.desc()], query["page"], query["per_page"])
    return _envelope([ledger_view(r) for r in rows], total, query)


# --- commands ----------------------------------------------------------------------------------------


def _stored_result(command_id: str) -> dict[str, Any] | None:
    stored = db.execute(select(ProcessedCommand.result).where(ProcessedCommand.command_id == command_id)).scalar()
    return dict(stored) if stored is not None else None


def _command_actor(actor: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in actor.items() if k in ("type", "id", "ip", "impersonator_id", "request_id")}


def submit(
    user: User,
    account_id: int,
    command_type: str,
    payload: dict[str, Any],
    actor: dict[str, Any],
    idempotency_key: str | None,
) -> tuple[str, dict[str, Any] | None]:
    """Send a command for one of the user's accounts and wait for the engine's result.

    Returns (command_id, result) — result None means the engine has not answered yet (202). The
    same Idempotency-Key gives the same command id, so a retried request never acts twice.
    """
    user_id = user.id  # read before the rollback, which expires every loaded object
    command_id = new_command_id(scope=str(user_id), idempotency_key=idempotency_key)
    if idempotency_key:
        stored = _stored_result(command_id)
        if stored is not None:
            return command_id, stored
    # No transaction stays open and no connection stays checked out while we wait for the engine.
    db.rollback()
    command = Command(command_id, command_type, account_id, payload, _command_actor(actor), int(time.time() * 1000))
    return command_id, _send_and_wait(user_id, command)


def _send_and_wait(user_id: int, command: Command) -> dict[str, Any] | None:
    """XADD the command (and who sent it), then wait for the engine's reply; 503 if Redis is down."""
    fields: dict[Any, Any] = dict(command.to_fields())
    r = _redis()
    try:
        pipe = r.pipeline(transaction=False)
        pipe.set(command_owner_key(command.command_id), str(user_id), ex=OWNER_TTL_S)
        pipe.xadd(commands_stream(shard_for(command.account_id, settings().engine_shards)), fields)
        pipe.execute()
    except redis.RedisError as exc:
        log.error("cannot queue command %s: %s", command.command_id, type(exc).__name__)
        raise ApiError(503, "engine_unavailable", "Trading is unavailable right now; try again shortly.") from exc
    try:
        return wait_reply(r, command.command_id, reply_wait_s())
    except redis.RedisError:
        return None  # queued: the outcome can be read later at GET /api/commands/{id}


def reply_wait_s() -> float:
    return float(current_app.config.get("ENGINE_REPLY_WAIT_S", ENGINE_WAIT_S))


def answer(command_id: str, result: dict[str, Any] | None) -> dict[str, Any]:
    """The engine's success result, or the API error its rejection maps to; 202 is left to the view."""
    if result is None:
        return {"command_id": command_id, "status": "pending"}
    if not result.get("ok"):
        code = str(result.get("code") or "rejected")
        raise ApiError(http_status_for(code), code, str(result.get("message") or "The engine refused the request."))
    return result


def command_status(user: User, command_id: str) -> dict[str, Any]:
    """The outcome of a command the user sent (pending until the engine has processed it)."""
    if len(command_id) > 64:
        raise ApiError(404, "not_found", "No such command.")
    row = db.get(ProcessedCommand, command_id)
    owner = None
    try:
        owner = _redis().get(command_owner_key(command_id))
    except Exception as exc:  # noqa: BLE001 - fall back to the account owner check
        log.warning("command owner lookup failed: %s", type(exc).__name__)
    if row is not None:
        account = db.get(Account, row.account_id) if row.account_id is not None else None
        mine = (account is not None and account.user_id == user.id) or owner == str(user.id)
        if mine:
            return {"command_id": command_id, "status": "done", "result": dict(row.result)}
    elif owner == str(user.id):
        return {"command_id": command_id, "status": "pending", "result": None}
    raise ApiError(404, "not_found", "No such command.")


def order_account(user: User, order_id: int) -> int:
    order = _owned(Order, user, order_id)
    return int(order.account_id)


def position_account(user: User, position_id: int) -> int:
    position = _owned(Position, user, position_id)
    return int(position.account_id)


def open_demo_account(
    user: User, actor: dict[str, Any], idempotency_key: str | None
) -> tuple[str, dict[str, Any] | None]:
    """Ask the engine for a demo account funded with DEMO_DEPOSIT of virtual money."""
    command_id = new_command_id(scope=f"{user.id}:demo-account", idempotency_key=idempotency_key)
    if idempotency_key:
        stored = _stored_result(command_id)
        if stored is not None:
            return command_id, stored
    demos = db.execute(
        select(func.count()).select_from(Account).where(Account.user_id == user.id, Account.type == "demo")
    ).scalar_one()
    if demos >= MAX_DEMO_ACCOUNTS:
        raise ApiError(409, "too_many_accounts", f"At most {MAX_DEMO_ACCOUNTS} demo accounts per client.")
    user_id = user.id
    account_id = allocate_account_id(db)
    db.commit()
    payload = open_account_payload(user_id, "demo", "USD", 100, settings().demo_deposit)
    command = Command(command_id, OPEN_ACCOUNT, account_id, payload, _command_actor(actor), int(time.time() * 1000))
    return command_id, _send_and_wait(user_id, command)
