"""Client deposit and withdrawal requests; money itself moves only through engine commands.

A withdrawal request first asks the engine to hold the amount (`hold_funds`, refused beyond free
margin); the hold lives until the CRM decides (settle) or the request is declined or cancelled
(release). Engine command ids are derived from the request id, so a retried step is applied once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import redis
from sqlalchemy import Select, func, select, text

from common.outbox import add_events
from engine.contracts import (
    BALANCE_OP,
    HOLD_FUNDS,
    RELEASE_HOLD,
    Command,
    balance_op_payload,
    hold_funds_payload,
    http_status_for,
    release_hold_payload,
)
from models import Account, Deposit, ProcessedCommand, User, Withdrawal
from web.errors import ApiError
from web.extensions import db
from web.security import audit, settings

log = logging.getLogger(__name__)

T = TypeVar("T", Deposit, Withdrawal)
MAX_PENDING_PER_USER = 10
# Below the Redis client's 5 s socket timeout (redis-py applies socket_connect_timeout to reads
# when no socket_timeout is set), so an unanswered BLPOP ends as "no reply", not as an error.
ENGINE_WAIT_S = 4.5


# --- shared helpers (also used by web.services.crm) -------------------------------------------


def audit_as(actor: dict[str, Any], action: str, **kwargs: Any) -> None:
    """Append an audit row attributed to `actor` (a web.security.actor()-shaped dict)."""
    audit(action, actor_type=str(actor.get("type") or "anonymous"), actor_id=_actor_id(actor), **kwargs)


def _actor_id(actor: dict[str, Any]) -> str | None:
    value = actor.get("id")
    return None if value is None else str(value)


def actor_label(actor: dict[str, Any]) -> str:
    """A short `type:id` naming who decided, stored in decided_by / reviewed_by."""
    return f"{actor.get('type') or 'anonymous'}:{actor.get('id') or '-'}"[:128]


def engine_call(
    command_type: str, account_id: int, payload: dict[str, Any], actor: dict[str, Any], command_id: str
) -> dict[str, Any] | None:
    """Run one engine command (or read the stored result of an earlier run); None = still in flight."""
    from web import get_redis
    from web.services.commands import submit

    stored = db.execute(select(ProcessedCommand.result).where(ProcessedCommand.command_id == command_id)).scalar()
    if stored is not None:
        return dict(stored)
    command = Command(command_id, command_type, account_id, payload, _command_actor(actor))
    try:
        return submit(get_redis(), command, settings().engine_shards, ENGINE_WAIT_S)
    except redis.exceptions.TimeoutError:
        log.warning("no reply to %s %s before the socket timeout", command_type, command_id)
        return None


def _command_actor(actor: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in actor.items() if k in ("type", "id", "ip", "impersonator_id", "request_id")}


def engine_refusal(result: dict[str, Any]) -> ApiError:
    """The engine said no: its code, with 422 for business rules (404/409/400 for the others)."""
    code = str(result.get("code") or "rejected")
    return ApiError(http_status_for(code), code, str(result.get("message") or "The engine refused the operation."))


def in_flight(command_id: str) -> ApiError:
    """The engine has not answered in time; the same request may be repeated safely."""
    return ApiError(
        503,
        "engine_busy",
        "The trading engine has not confirmed yet; repeat the same request to get its result.",
        headers={"Retry-After": "2"},
        extra={"command_id": command_id},
    )


def paginate(stmt: Select[Any], page: int, per_page: int) -> tuple[list[Any], int]:
    """One page of a select (newest first by id) and the total count."""
    total = int(db.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one())
    entity = stmt.column_descriptions[0]["entity"]
    rows = db.execute(stmt.order_by(entity.id.desc()).limit(per_page).offset((page - 1) * per_page)).scalars().all()
    return list(rows), total


def filtered(model: type[T], filters: dict[str, Any], user_id: int | None = None) -> Select[Any]:
    """A select of deposits or withdrawals narrowed by the list filters."""
    stmt = select(model)
    uid = user_id if user_id is not None else filters.get("user_id")
    if uid is not None:
        stmt = stmt.where(model.user_id == uid)
    if filters.get("status"):
        stmt = stmt.where(model.status == filters["status"])
    if filters.get("account_id"):
        stmt = stmt.where(model.account_id == filters["account_id"])
    if filters.get("created_from"):
        stmt = stmt.where(model.created_at >= as_utc(filters["created_from"]))
    if filters.get("created_to"):
        stmt = stmt.where(model.created_at < as_utc(filters["created_to"]))
    return stmt


def as_utc(moment: datetime) -> datetime:
    """Read a naive date-time as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def money_event_data(row: Deposit | Withdrawal, previous_status: str | None = None) -> dict[str, Any]:
    """The webhook `data` of a deposit or withdrawal event (amounts as decimal strings)."""
    data: dict[str, Any] = {
        "id": row.id,
        "user_id": row.user_id,
        "account_id": row.account_id,
        "amount": str(row.amount),
        "currency": row.currency,
        "method": row.method,
        "status": row.status,
        "reason": row.reason,
        "external_id": row.external_id,
        "created_at": _iso(row.created_at),
        "decided_at": _iso(row.decided_at),
    }
    if isinstance(row, Withdrawal):
        data["details"] = row.details
    if previous_status is not None:
        data["previous_status"] = previous_status
    return data


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


# --- client requests --------------------------------------------------------------------------


def _own_live_account(user: User, account_id: int, currency: str) -> Account:
    account = db.get(Account, account_id)
    if account is None or account.user_id != user.id:
        raise ApiError(404, "account_not_found", "No such account.")
    if account.type != "live":
        raise ApiError(
            422, "demo_account", "Demo accounts hold virtual money: real deposits and withdrawals go to a live account."
        )
    if currency != account.currency:
        raise ApiError(
            422, "currency_mismatch", f"This account is in {account.currency}.", {"currency": [account.currency]}
        )
    return account


def _check_limits(user: User, kind: str, amount: Decimal) -> None:
    raw = (user.limits or {}).get(f"{kind}_max")
    if raw is None:
        return
    try:
        cap = Decimal(str(raw))
    except InvalidOperation:
        log.warning("user %s has an unreadable %s_max limit", user.id, kind)
        return
    if amount > cap:
        raise ApiError(422, "limit_exceeded", f"The most you can request at once is {cap}.", extra={"limit": str(cap)})


def _check_pending(model: type[Deposit] | type[Withdrawal], user: User) -> None:
    pending = db.execute(
        select(func.count()).select_from(model).where(model.user_id == user.id, model.status == "pending")
    ).scalar_one()
    if pending >= MAX_PENDING_PER_USER:
        raise ApiError(422, "too_many_pending", "Wait for your pending requests to be decided first.")


def request_deposit(user: User, data: dict[str, Any], actor: dict[str, Any]) -> Deposit:
    """Record a pending deposit request and tell the CRM (deposit.requested)."""
    _own_live_account(user, data["account_id"], data["currency"])
    _check_limits(user, "deposit", data["amount"])
    _check_pending(Deposit, user)
    deposit = Deposit(
        user_id=user.id,
        account_id=data["account_id"],
        amount=data["amount"],
        currency=data["currency"],
        method=data["method"],
        status="pending",
        created_at=datetime.now(UTC),
    )
    db.add(deposit)
    db.flush()
    add_events(db.connection(), [("deposit.requested", money_event_data(deposit))])
    audit_as(actor, "deposit.requested", target_type="deposit", target_id=deposit.id, details=_brief(deposit))
    db.commit()
    return deposit


def request_withdrawal(user: User, data: dict[str, Any], actor: dict[str, Any]) -> Withdrawal:
    """Hold the amount in the engine, then record a pending withdrawal (withdrawal.requested)."""
    account = _own_live_account(user, data["account_id"], data["currency"])
    _check_limits(user, "withdrawal", data["amount"])
    _check_pending(Withdrawal, user)
    withdrawal_id = int(db.execute(text("SELECT nextval('withdrawals_id_seq')")).scalar_one())
    db.rollback()  # no transaction stays open while the engine works
    hold = hold_funds_payload(withdrawal_hold_id(withdrawal_id), data["amount"])
    command_id = f"wd-{withdrawal_id}-hold"
    result = engine_call(HOLD_FUNDS, account.id, hold, actor, command_id)
    if result is None:
        _release_quietly(account.id, withdrawal_id, actor)
        raise in_flight(command_id)
    if not result.get("ok"):
        audit_as(
            actor,
            "withdrawal.refused",
            outcome="denied",
            target_type="account",
            target_id=account.id,
            details={"amount": str(data["amount"]), "reject_code": result.get("code")},
        )
        db.commit()
        raise engine_refusal(result)
    try:
        return _record_withdrawal(withdrawal_id, user, data, command_id, actor)
    except Exception:
        db.rollback()
        _release_quietly(account.id, withdrawal_id, actor)
        raise


def _record_withdrawal(
    withdrawal_id: int, user: User, data: dict[str, Any], command_id: str, actor: dict[str, Any]
) -> Withdrawal:
    withdrawal = Withdrawal(
        id=withdrawal_id,
        user_id=user.id,
        account_id=data["account_id"],
        amount=data["amount"],
        currency=data["currency"],
        method=data["method"],
        details=data.get("details"),
        status="pending",
        command_id=command_id,
        created_at=datetime.now(UTC),
    )
    db.add(withdrawal)
    db.flush()
    add_events(db.connection(), [("withdrawal.requested", money_event_data(withdrawal))])
    audit_as(
        actor, "withdrawal.requested", target_type="withdrawal", target_id=withdrawal.id, details=_brief(withdrawal)
    )
    db.commit()
    return withdrawal


def withdrawal_hold_id(withdrawal_id: int) -> str:
    """The engine hold of a withdrawal (also the external_id of its settling ledger row)."""
    return f"withdrawal:{withdrawal_id}"


def _release_quietly(account_id: int, withdrawal_id: int, actor: dict[str, Any]) -> None:
    """Queue a release after an unconfirmed hold: same shard stream, so it is applied after it."""
    from web import get_redis
    from web.services.commands import send

    payload = release_hold_payload(withdrawal_hold_id(withdrawal_id), settle=False)
    command = Command(f"wd-{withdrawal_id}-release", RELEASE_HOLD, account_id, payload, _command_actor(actor))
    send(get_redis(), command, settings().engine_shards)


def _brief(row: Deposit | Withdrawal) -> dict[str, Any]:
    return {"account_id": row.account_id, "amount": str(row.amount), "currency": row.currency, "method": row.method}


def own_request(model: type[T], user: User, request_id: int) -> T:
    """The user's own deposit or withdrawal; someone else's is 404."""
    row = db.get(model, request_id)
    if row is None or row.user_id != user.id:
        raise ApiError(404, "not_found", f"No such {_kind(model)}.")
    return row


def _kind(model: type[Deposit] | type[Withdrawal] | Deposit | Withdrawal) -> str:
    is_deposit = model is Deposit or isinstance(model, Deposit)
    return "deposit" if is_deposit else "withdrawal"


# --- decisions: client cancel and CRM approve/decline ------------------------------------------

# The engine step each final status takes, per kind (None: nothing to do in the engine).
_STEPS = {
    ("deposit", "approved"): "approve",
    ("deposit", "declined"): "decline",
    ("deposit", "cancelled"): "cancel",
    ("withdrawal", "approved"): "settle",
    ("withdrawal", "declined"): "decline",
    ("withdrawal", "cancelled"): "cancel",
}
_STEP_STATUS = {"approve": "approved", "settle": "approved", "decline": "declined", "cancel": "cancelled"}


def step_command_id(row: Deposit | Withdrawal, step: str) -> str:
    """The engine command id of one decision step of a request (stable, so a retry is applied once)."""
    return f"{'dep' if isinstance(row, Deposit) else 'wd'}-{row.id}-{step}"


def decide_request(
    model: type[T],
    row_id: int,
    status: str,
    reason: str | None,
    actor: dict[str, Any],
    *,
    owner: User | None = None,
    external_id: str | None = None,
) -> T:
    """Move a pending request to a final status once; the same decision again answers the same."""
    locked = select(model).where(model.id == row_id).with_for_update().execution_options(populate_existing=True)
    row = db.execute(locked).scalar_one_or_none()
    if row is None or (owner is not None and row.user_id != owner.id):
        db.rollback()
        raise ApiError(404, "not_found", f"No such {_kind(model)}.")
    kind = _kind(row)
    step = _STEPS[(kind, status)]
    _resolve_in_flight(row, step, actor)
    if row.status == status:
        db.commit()
        return row
    if row.status != "pending":
        db.commit()
        code = "not_pending" if owner is not None else "already_decided"
        raise ApiError(409, code, f"This {kind} is already {row.status}.", extra={"status": row.status})
    _run_step(row, step, actor)
    if external_id:
        row.external_id = external_id
    _record(row, status, reason, actor)
    db.commit()
    return row


def _stored_result(command_id: str) -> dict[str, Any] | None:
    stored = db.execute(select(ProcessedCommand.result).where(ProcessedCommand.command_id == command_id)).scalar()
    return None if stored is None else dict(stored)


def _resolve_in_flight(row: Deposit | Withdrawal, step: str, actor: dict[str, Any]) -> None:
    """If another decision's engine step was left unconfirmed, settle its outcome first."""
    cid = row.command_id
    if row.status != "pending" or not cid or cid.endswith("-hold") or cid == step_command_id(row, step):
        return
    other = cid.rsplit("-", 1)[-1]
    result = _stored_result(cid)
    if result is None:
        db.rollback()
        raise ApiError(409, "decision_in_progress", "Another decision on this request is still being applied.")
    if result.get("ok") and other in _STEP_STATUS:
        _record(row, _STEP_STATUS[other], None, actor)
    else:
        row.command_id = None


def _run_step(row: Deposit | Withdrawal, step: str, actor: dict[str, Any]) -> None:
    """Apply the engine side of a decision; raise (leaving the request pending) if not confirmed."""
    command = _step_command(row, step)
    if command is None:
        return
    command_type, payload = command
    command_id = step_command_id(row, step)
    result = engine_call(command_type, row.account_id, payload, actor, command_id)
    if result is None:
        row.command_id = command_id
        db.commit()
        raise in_flight(command_id)
    if not result.get("ok"):
        if command_type == RELEASE_HOLD and result.get("code") == "hold_not_found":
            log.warning("withdrawal %s had no hold left to release", row.id)
        else:
            db.rollback()
            raise engine_refusal(result)
    row.command_id = command_id


def _step_command(row: Deposit | Withdrawal, step: str) -> tuple[str, dict[str, Any]] | None:
    if isinstance(row, Deposit):
        if step != "approve":
            return None
        comment = f"Deposit #{row.id} ({row.method})"
        return BALANCE_OP, balance_op_payload("deposit", row.amount, deposit_external_id(row.id), comment)
    return RELEASE_HOLD, release_hold_payload(withdrawal_hold_id(row.id), settle=step == "settle")


def deposit_external_id(deposit_id: int) -> str:
    """The external_id of the ledger row that credits an approved deposit."""
    return f"deposit:{deposit_id}"


def _record(row: Deposit | Withdrawal, status: str, reason: str | None, actor: dict[str, Any]) -> None:
    """Set a final status and write its webhook and audit row in the current transaction."""
    kind = _kind(row)
    previous = row.status
    row.status = status
    row.reason = reason
    row.decided_at = datetime.now(UTC)
    row.decided_by = actor_label(actor)
    db.flush()
    add_events(db.connection(), [(f"{kind}.status_changed", money_event_data(row, previous))])
    details = {**_brief(row), "previous_status": previous, "reason": reason}
    audit_as(actor, f"{kind}.{status}", target_type=kind, target_id=row.id, details=details)
