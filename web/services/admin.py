"""Admin reads: the audit log (filters, pages, CSV), users and their money, impersonations, system status."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, String, and_, func, or_, select
from sqlalchemy.orm import Session, scoped_session

from common.audit import ChainReport, verify_chain
from engine.contracts import MD_LAST, MD_STATUS, account_figures_key, commands_stream, engine_status_key
from models import (
    Account,
    AuditLog,
    Deposit,
    KycDocument,
    User,
    UserSession,
    WebhookDelivery,
    WebhookEvent,
    Withdrawal,
)

DbSession = Session | scoped_session[Session]
CSV_COLUMNS = (
    "id",
    "created_at",
    "actor_type",
    "actor_id",
    "impersonator_id",
    "action",
    "target_type",
    "target_id",
    "ip",
    "user_agent",
    "request_id",
    "outcome",
    "details",
    "hash",
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")


# --- audit log -------------------------------------------------------------------------------


def _split_typed(value: str) -> tuple[str | None, str]:
    if ":" in value:
        kind, _, ident = value.partition(":")
        return kind or None, ident
    return None, value


def audit_query(filters: dict[str, Any]) -> Select[Any]:
    """The audit rows matching the admin's filters (all optional, combined with AND)."""
    conds = []
    if filters.get("actor"):
        kind, ident = _split_typed(filters["actor"])
        conds.append(AuditLog.actor_id == ident)
        if kind:
            conds.append(AuditLog.actor_type == kind)
    if filters.get("actor_type"):
        conds.append(AuditLog.actor_type == filters["actor_type"])
    if filters.get("action"):
        action = filters["action"]
        conds.append(AuditLog.action.startswith(action[:-1]) if action.endswith("*") else AuditLog.action == action)
    if filters.get("target"):
        kind, ident = _split_typed(filters["target"])
        conds.append(AuditLog.target_id == ident)
        if kind:
            conds.append(AuditLog.target_type == kind)
    if filters.get("outcome"):
        conds.append(AuditLog.outcome == filters["outcome"])
    if filters.get("ip"):
        conds.append(AuditLog.ip == filters["ip"])
    if filters.get("impersonator"):
        conds.append(AuditLog.impersonator_id == filters["impersonator"])
    if filters.get("date_from"):
        conds.append(AuditLog.created_at >= filters["date_from"])
    if filters.get("date_to"):
        conds.append(AuditLog.created_at < filters["date_to"])
    if filters.get("q"):
        pattern = "%" + filters["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds.append(AuditLog.search_text.ilike(pattern, escape="\\"))
    return select(AuditLog).where(and_(*conds)) if conds else select(AuditLog)


def _order(query: Select[Any], sort: str) -> Select[Any]:
    column = getattr(AuditLog, sort.lstrip("-"))
    primary = column.desc() if sort.startswith("-") else column.asc()
    tiebreak = AuditLog.id.desc() if sort.startswith("-") else AuditLog.id.asc()
    return query.order_by(primary, tiebreak)


def audit_page(db: DbSession, args: dict[str, Any]) -> dict[str, Any]:
    query = audit_query(args)
    total = db.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    page, per_page = args["page"], args["per_page"]
    rows = db.execute(_order(query, args["sort"]).offset((page - 1) * per_page).limit(per_page)).scalars().all()
    return {"items": rows, "total": total, "page": page, "per_page": per_page}


def neutralise(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP ASVS 1.2.10, CWE-1236)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.astimezone(UTC).isoformat()
    elif isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, default=str)
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def audit_csv(db: DbSession, filters: dict[str, Any], batch: int = 1000) -> Iterator[str]:
    """Stream the filtered audit rows as CSV (RFC 4180 quoting), oldest first, in batches."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    last_id = 0
    query = audit_query(filters)
    while True:
        rows = db.execute(query.where(AuditLog.id > last_id).order_by(AuditLog.id).limit(batch)).scalars().all()
        if not rows:
            return
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            writer.writerow([neutralise(getattr(row, col)) for col in CSV_COLUMNS])
        last_id = rows[-1].id
        yield buffer.getvalue()


_chain_cache: dict[str, Any] = {"at": 0.0, "report": None}
CHAIN_CACHE_S = 5.0


def chain_state(db: DbSession, fresh: bool = False) -> ChainReport:
    """The hash chain's state (cached a few seconds: a full walk reads every row)."""
    now = time.monotonic()
    if fresh or _chain_cache["report"] is None or now - _chain_cache["at"] > CHAIN_CACHE_S:
        _chain_cache["report"] = verify_chain(db.connection())
        _chain_cache["at"] = now
    report: ChainReport = _chain_cache["report"]
    return report


# --- users -----------------------------------------------------------------------------------


def users_page(db: DbSession, args: dict[str, Any]) -> dict[str, Any]:
    query = select(User)
    if args.get("q"):
        q = args["q"].strip()
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds = [
            User.email.ilike(pattern, escape="\\"),
            User.first_name.ilike(pattern, escape="\\"),
            User.last_name.ilike(pattern, escape="\\"),
            User.external_id == q,
            func.cast(User.id, String) == q,
        ]
        accounts = select(Account.user_id).where(Account.number == q)
        conds.append(User.id.in_(accounts))
        query = query.where(or_(*conds))
    if args.get("role"):
        query = query.where(User.role == args["role"])
    if args.get("status"):
        query = query.where(User.status == args["status"])
    total = db.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    page, per_page = args["page"], args["per_page"]
    rows = db.execute(query.order_by(User.id.desc()).offset((page - 1) * per_page).limit(per_page)).scalars().all()
    return {"items": rows, "total": total, "page": page, "per_page": per_page}


def live_figures(r: Any, account_id: int) -> dict[str, str]:
    """The engine's live figures of an account (acct:{id}); empty until the engine has published them."""
    data = r.hgetall(account_figures_key(account_id)) or {}
    return {str(k): str(v) for k, v in data.items()}


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def user_detail(db: DbSession, r: Any, user: User) -> dict[str, Any]:
    """Everything an admin sees about one user."""
    accounts = db.execute(select(Account).where(Account.user_id == user.id).order_by(Account.id)).scalars().all()
    sessions = (
        db.execute(
            select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.created_at.desc()).limit(50)
        )
        .scalars()
        .all()
    )
    docs = db.execute(
        select(KycDocument).where(KycDocument.user_id == user.id).order_by(KycDocument.id.desc())
    ).scalars()
    deposits = db.execute(select(Deposit).where(Deposit.user_id == user.id).order_by(Deposit.id.desc()).limit(100))
    withdrawals = db.execute(
        select(Withdrawal).where(Withdrawal.user_id == user.id).order_by(Withdrawal.id.desc()).limit(100)
    )
    now = datetime.now(UTC)
    return {
        "user": user,
        "accounts": [
            {
                "id": a.id,
                "number": a.number,
                "type": a.type,
                "currency": a.currency,
                "balance": _money(a.balance),
                "credit": _money(a.credit),
                "held": _money(a.held),
                "leverage": a.leverage,
                "trading_rights": a.trading_rights,
                "margin_call_level": _money(a.margin_call_level),
                "stop_out_level": _money(a.stop_out_level),
                "live": live_figures(r, a.id),
            }
            for a in accounts
        ],
        "sessions": [
            {
                "id": str(s.id),
                "created_at": s.created_at,
                "last_seen_at": s.last_seen_at,
                "ip": s.ip,
                "user_agent": s.user_agent,
                "impersonator_id": s.impersonator_id,
                "active": s.revoked_at is None and s.expires_at > now,
                "revoked_reason": s.revoked_reason,
            }
            for s in sessions
        ],
        "kyc_documents": [
            {
                "id": d.id,
                "type": d.type,
                "status": d.status,
                "filename": d.filename,
                "size": d.size,
                "created_at": d.created_at,
                "reason": d.reason,
            }
            for d in docs
        ],
        "deposits": [_money_request(d) for d in deposits.scalars()],
        "withdrawals": [_money_request(w) for w in withdrawals.scalars()],
    }


def _money_request(row: Deposit | Withdrawal) -> dict[str, Any]:
    return {
        "id": row.id,
        "account_id": row.account_id,
        "amount": _money(row.amount),
        "currency": row.currency,
        "method": row.method,
        "status": row.status,
        "reason": row.reason,
        "created_at": row.created_at,
        "decided_at": row.decided_at,
    }


# --- impersonation history --------------------------------------------------------------------


def impersonations(db: DbSession, args: dict[str, Any]) -> dict[str, Any]:
    """Who impersonated whom, when, why, and what they did in that session."""
    query = (
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.impersonator_id.is_not(None))
    )
    if args.get("admin_id"):
        query = query.where(UserSession.impersonator_id == args["admin_id"])
    if args.get("user_id"):
        query = query.where(UserSession.user_id == args["user_id"])
    total = db.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    page, per_page = args["page"], args["per_page"]
    rows = db.execute(query.order_by(UserSession.created_at.desc()).offset((page - 1) * per_page).limit(per_page)).all()
    items = []
    for session, user in rows:
        actions = (
            db.execute(
                select(AuditLog)
                .where(
                    AuditLog.impersonator_id == session.impersonator_id,
                    AuditLog.actor_id == str(user.id),
                    AuditLog.created_at >= session.created_at,
                    AuditLog.created_at <= (session.revoked_at or session.expires_at),
                )
                .order_by(AuditLog.id)
                .limit(500)
            )
            .scalars()
            .all()
        )
        items.append(
            {
                "session_id": str(session.id),
                "admin_id": session.impersonator_id,
                "user_id": user.id,
                "user_email": user.email,
                "reason": session.impersonation_reason,
                "started_at": session.created_at,
                "ended_at": session.revoked_at,
                "expires_at": session.expires_at,
                "ip": session.ip,
                "actions": [
                    {
                        "id": a.id,
                        "created_at": a.created_at,
                        "action": a.action,
                        "outcome": a.outcome,
                        "target_type": a.target_type,
                        "target_id": a.target_id,
                    }
                    for a in actions
                ],
            }
        )
    return {"items": items, "total": total, "page": page, "per_page": per_page}


# --- system status ---------------------------------------------------------------------------


def _quote_ages(r: Any, now_ms: int) -> list[dict[str, Any]]:
    quotes = []
    for symbol, raw in sorted((r.hgetall(MD_LAST) or {}).items()):
        try:
            quote = json.loads(raw)
            ts = int(quote.get("ts", 0))
        except (ValueError, TypeError, AttributeError):
            quote, ts = {}, 0
        quotes.append(
            {
                "symbol": symbol,
                "bid": quote.get("bid"),
                "ask": quote.get("ask"),
                "ts": ts or None,
                "age_s": round((now_ms - ts) / 1000, 1) if ts else None,
            }
        )
    return quotes


def _engine_shards(r: Any, shards: int) -> list[dict[str, Any]]:
    out = []
    for shard in range(shards):
        stream = commands_stream(shard)
        pending: int | None
        try:
            groups = r.xinfo_groups(stream)
            group = next((g for g in groups if g.get("name") == "engine"), None)
            pending = None if group is None else int(group.get("pending", 0)) + int(group.get("lag") or 0)
            length = r.xlen(stream)
        except Exception:  # noqa: BLE001 - the stream may not exist yet
            pending, length = None, 0
        out.append(
            {
                "shard": shard,
                "stream_length": length,
                "pending_commands": pending,
                "status": r.hgetall(engine_status_key(shard)) or {},
            }
        )
    return out


def _queues() -> list[dict[str, Any]]:
    from rq import Queue
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

    from workers.queues import ALL_QUEUES, queue

    out = []
    for name in ALL_QUEUES:
        q: Queue = queue(name)
        out.append(
            {
                "name": name,
                "queued": q.count,
                "started": StartedJobRegistry(queue=q).count,
                "scheduled": ScheduledJobRegistry(queue=q).count,
                "failed": FailedJobRegistry(queue=q).count,
            }
        )
    return out


def system_status(db: DbSession, r: Any, shards: int) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    pending_webhooks = db.execute(
        select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.status.in_(("pending", "retrying")))
    ).scalar_one()
    undispatched = db.execute(
        select(func.count()).select_from(WebhookEvent).where(WebhookEvent.dispatched_at.is_(None))
    ).scalar_one()
    return {
        "feed": {"status": r.hgetall(MD_STATUS) or {}, "quotes": _quote_ages(r, now_ms)},
        "engine": _engine_shards(r, shards),
        "queues": _queues(),
        "webhooks": {"pending_deliveries": pending_webhooks, "undispatched_events": undispatched},
        "time": datetime.now(UTC),
    }
