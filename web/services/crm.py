"""Use cases of the CRM: clients, sessions, balance operations and decisions on money and KYC.

Plain functions taking an `actor` ({"type": "crm", "id": "key:3", ...}); the service API and the
inbound CRM webhooks call the same ones. Each is idempotent: repeating a request changes nothing
more and answers the same. Account state changes only through engine commands.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import redis
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from common.outbox import add_events
from engine.contracts import BALANCE_OP, SET_ACCOUNT, balance_op_payload, set_account_payload
from models import Account, Deposit, KycDocument, User, Withdrawal
from web.errors import ApiError
from web.extensions import db
from web.security import find_user_by_email, revoke_sessions, settings
from web.services import kyc as kyc_service
from web.services.funds import (
    ENGINE_WAIT_S,
    actor_label,
    audit_as,
    decide_request,
    engine_call,
    engine_refusal,
    filtered,
    in_flight,
    paginate,
)

log = logging.getLogger(__name__)

PROFILE_FIELDS = ("external_id", "first_name", "last_name", "country", "phone")
ACCOUNT_FIELDS = ("leverage", "trading_rights", "margin_call_level", "stop_out_level")


@dataclass
class UserResult:
    """A client after a CRM change, and the engine commands the change sent."""

    user: User
    created: bool = False
    commands: list[dict[str, Any]] = field(default_factory=list)
    fresh: dict[int, dict[str, Any]] = field(default_factory=dict)

    def record(self, kind: str, account_id: int, command_id: str, reply: dict[str, Any] | None) -> None:
        """Remember what the engine said about one command (and its fresh account view)."""
        self.commands.append(_command_outcome(kind, account_id, command_id, reply))
        if reply and reply.get("ok") and isinstance(reply.get("account"), dict):
            self.fresh[account_id] = reply["account"]

    def view(self) -> dict[str, Any]:
        return user_view(self.user, self.commands, self.fresh)

    @property
    def any_pending(self) -> bool:
        return any(c["status"] == "pending" for c in self.commands)

    @property
    def rejected(self) -> dict[str, Any] | None:
        return next((c for c in self.commands if c["status"] == "rejected"), None)


# --- reading ---------------------------------------------------------------------------------


def account_view(account: Account, fresh: dict[str, Any] | None = None) -> dict[str, Any]:
    """An account with the engine's live figures; `fresh` is the engine's own view from a reply just received."""
    from web.services.trading import account_view as trading_account_view

    view = trading_account_view(account)
    if fresh:
        view.update({k: fresh[k] for k in _FRESH_FIELDS if k in fresh})
    return view


# What an engine reply's "account" may refresh (the acct:{id} hash can lag it by a few hundred ms).
_FRESH_FIELDS = (
    "balance",
    "credit",
    "held",
    "equity",
    "margin",
    "free_margin",
    "margin_level",
    "floating_pl",
    "leverage",
    "trading_rights",
    "margin_call_level",
    "stop_out_level",
)


def user_accounts(user_id: int) -> list[Account]:
    return list(db.execute(select(Account).where(Account.user_id == user_id).order_by(Account.id)).scalars())


def user_view(
    user: User, commands: list[dict[str, Any]] | None = None, fresh: dict[int, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The client as the CRM sees it, with every account."""
    fresh = fresh or {}
    view: dict[str, Any] = {
        "id": user.id,
        "external_id": user.external_id,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "country": user.country,
        "phone": user.phone,
        "status": user.status,
        "email_verified": user.email_verified,
        "has_password": user.password_hash is not None,
        "totp_enabled": user.totp_enabled,
        "flags": dict(user.flags or {}),
        "limits": dict(user.limits or {}),
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "accounts": [account_view(a, fresh.get(a.id)) for a in user_accounts(user.id)],
    }
    if commands:
        view["engine_commands"] = commands
    return view


def user_event_data(user: User, changed: list[str] | None = None) -> dict[str, Any]:
    """The webhook `data` of user.created / user.updated."""
    data: dict[str, Any] = {
        "id": user.id,
        "external_id": user.external_id,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "country": user.country,
        "phone": user.phone,
        "status": user.status,
        "email_verified": user.email_verified,
        "flags": dict(user.flags or {}),
        "limits": dict(user.limits or {}),
    }
    if changed is not None:
        data["changed"] = changed
    return data


def get_client(user_id: int, *, lock: bool = False) -> User:
    """A client by id; admins and unknown ids are 404 to the CRM."""
    stmt = select(User).where(User.id == user_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    user = db.execute(stmt).scalar_one_or_none()
    if user is None or user.role != "client":
        db.rollback()
        raise ApiError(404, "user_not_found", "No such client.")
    return user


def find_clients(email: str | None, external_id: str | None) -> list[User]:
    """Clients matching an e-mail and/or an external id."""
    stmt = select(User).where(User.role == "client")
    if email:
        stmt = stmt.where(func.lower(User.email) == email.strip().lower())
    if external_id:
        stmt = stmt.where(User.external_id == external_id)
    return list(db.execute(stmt.order_by(User.id).limit(100)).scalars())


# --- creating and changing clients -------------------------------------------------------------


def upsert_user(data: dict[str, Any], actor: dict[str, Any]) -> UserResult:
    """Create a client (live account + set-password mail) or update the one matched by external_id, else e-mail."""
    user = _match(data)
    if user is not None:
        result = update_user(user.id, data, actor)
        _ensure_account(result, data, actor)
        return result
    try:
        user = _create(data, actor)
    except IntegrityError as exc:
        db.rollback()
        raise ApiError(
            409, "conflict", "A client with this e-mail or external_id was created meanwhile; retry."
        ) from exc
    result = UserResult(user=user, created=True)
    _send_set_password_mail(user)
    _open_live_account(result, data, actor)
    return result


def _match(data: dict[str, Any]) -> User | None:
    external_id = data.get("external_id")
    if external_id:
        user = db.execute(select(User).where(User.external_id == external_id)).scalar_one_or_none()
        if user is not None:
            return _client_or_conflict(user)
    user = find_user_by_email(data["email"])
    if user is None:
        return None
    _client_or_conflict(user)
    if external_id and user.external_id and user.external_id != external_id:
        raise ApiError(
            409,
            "external_id_conflict",
            "This e-mail belongs to a client with another external_id.",
            {"email": ["taken"]},
        )
    return user


def _client_or_conflict(user: User) -> User:
    if user.role != "client":
        raise ApiError(
            409, "email_taken", "This e-mail belongs to a user the CRM does not manage.", {"email": ["taken"]}
        )
    return user


def _create(data: dict[str, Any], actor: dict[str, Any]) -> User:
    now = datetime.now(UTC)
    user = User(
        email=data["email"].strip(),
        password_hash=None,
        first_name=data.get("first_name") or "",
        last_name=data.get("last_name") or "",
        country=data.get("country"),
        phone=data.get("phone"),
        external_id=data.get("external_id"),
        role="client",
        status="active",
        email_verified_at=now if data.get("email_verified") else None,
        flags=_merged({}, data.get("flags")),
        limits=_merged({}, data.get("limits")),
        preferences={},
    )
    db.add(user)
    db.flush()
    add_events(db.connection(), [("user.created", user_event_data(user))])
    audit_as(actor, "crm.user_created", target_type="user", target_id=user.id, details=_audit_fields(data))
    db.commit()
    return user


def _open_live_account(result: UserResult, data: dict[str, Any], actor: dict[str, Any]) -> None:
    """Ask the engine for the client's live account and wait briefly for it."""
    from web import get_redis
    from web.services.auth import live_account_command_id
    from web.services.commands import request_open_account, wait_reply

    r = get_redis()
    try:
        command = request_open_account(
            r,
            db,
            settings().engine_shards,
            user_id=result.user.id,
            account_type="live",
            actor=actor,
            currency=data.get("currency") or "USD",
            leverage=data.get("leverage") or 100,
            command_id=live_account_command_id(result.user.id),  # shared with registration: one live account
        )
    except redis.exceptions.RedisError as exc:
        # The client exists; the same request again takes the update path and asks again.
        db.rollback()
        log.error("could not ask for the live account of user %s: %s", result.user.id, type(exc).__name__)
        raise ApiError(
            503, "engine_busy", "The client was saved; repeat the same request to open their account."
        ) from exc
    db.rollback()
    try:
        reply = wait_reply(r, command.command_id, ENGINE_WAIT_S)
    except redis.exceptions.TimeoutError:
        reply = None
    result.record("open_account", command.account_id, command.command_id, reply)


def _ensure_account(result: UserResult, data: dict[str, Any], actor: dict[str, Any]) -> None:
    """A client the CRM created earlier whose account request was lost gets it asked for again.

    The same command id makes a repeat harmless on one shard. With several shards, a repeat made
    while the first request is still queued reserves another id that may map to another shard.
    """
    if not any(a.type == "live" for a in user_accounts(result.user.id)):
        _open_live_account(result, data, actor)


def _send_set_password_mail(user: User) -> None:
    from web.services.auth import send_set_password_mail

    send_set_password_mail(user)


def _merged(current: dict[str, Any], changes: dict[str, Any] | None) -> dict[str, Any]:
    """Merge changes into a JSON dict; a null value removes the key; decimals become strings."""
    merged = dict(current or {})
    for key, value in (changes or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = str(value) if isinstance(value, Decimal) else value
    return merged


def _audit_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in data.items() if k not in ("flags", "limits")} | {
        "flags": data.get("flags"),
        "limits": {k: None if v is None else str(v) for k, v in (data.get("limits") or {}).items()},
    }


def update_user(user_id: int, data: dict[str, Any], actor: dict[str, Any]) -> UserResult:
    """Apply a CRM change: profile, status (disabling ends sessions), limits, flags; trading settings via the engine."""
    user = get_client(user_id, lock=True)
    changed = _apply_profile(user, data)
    changed += _apply_email(user, data)
    changed += _apply_status(user, data.get("status"))
    for name in ("flags", "limits"):
        if name in data:
            new = _merged(getattr(user, name), data[name])
            if new != (getattr(user, name) or {}):
                setattr(user, name, new)
                changed.append(name)
    if changed:
        user.updated_at = datetime.now(UTC)
        db.flush()
        add_events(db.connection(), [("user.updated", user_event_data(user, changed))])
        audit_as(actor, "crm.user_updated", target_type="user", target_id=user.id, details=_audit_fields(data))
    try:
        db.commit()
    except IntegrityError as exc:
        db.rollback()
        raise ApiError(409, "conflict", "The e-mail or external_id is taken by another user.") from exc
    result = UserResult(user=user)
    settings_payload = set_account_payload(**{k: data[k] for k in ACCOUNT_FIELDS if data.get(k) is not None})
    if settings_payload:
        _apply_account_settings(result, settings_payload, actor)
    return result


def _apply_profile(user: User, data: dict[str, Any]) -> list[str]:
    changed = []
    for name in PROFILE_FIELDS:
        if name in data and getattr(user, name) != data[name]:
            if name == "external_id" and data[name]:
                taken = db.execute(select(User.id).where(User.external_id == data[name], User.id != user.id)).first()
                if taken:
                    db.rollback()
                    raise ApiError(409, "external_id_conflict", "Another client has this external_id.")
            setattr(user, name, data[name])
            changed.append(name)
    return changed


def _apply_email(user: User, data: dict[str, Any]) -> list[str]:
    changed = []
    email = data.get("email")
    if email and email.strip().lower() != user.email.lower():
        other = find_user_by_email(email)
        if other is not None and other.id != user.id:
            db.rollback()
            raise ApiError(409, "email_taken", "Another user has this e-mail.", {"email": ["taken"]})
        user.email = email.strip()
        user.email_verified_at = None  # a new address is unverified unless the CRM says otherwise below
        changed.append("email")
    if "email_verified" in data and data["email_verified"] != user.email_verified:
        user.email_verified_at = datetime.now(UTC) if data["email_verified"] else None
        changed.append("email_verified")
    return changed


def _apply_status(user: User, status: str | None) -> list[str]:
    if status is None or status == user.status:
        return []
    user.status = status
    if status == "disabled":
        revoke_sessions(user.id, "crm_disabled")
    return ["status"]


def _apply_account_settings(result: UserResult, payload: dict[str, Any], actor: dict[str, Any]) -> None:
    """Send set_account to each of the client's accounts and collect the outcomes."""
    for account in user_accounts(result.user.id):
        command_id = uuid.uuid4().hex
        reply = engine_call(SET_ACCOUNT, account.id, payload, actor, command_id)
        result.record(SET_ACCOUNT, account.id, command_id, reply)
    db.rollback()


def _command_outcome(kind: str, account_id: int, command_id: str, reply: dict[str, Any] | None) -> dict[str, Any]:
    outcome: dict[str, Any] = {"type": kind, "account_id": account_id, "command_id": command_id}
    if reply is None:
        outcome["status"] = "pending"
    elif reply.get("ok"):
        outcome["status"] = "applied"
    else:
        outcome.update(status="rejected", code=reply.get("code"), message=reply.get("message"))
    return outcome


# --- sessions and passwords ------------------------------------------------------------------


def force_logout(user_id: int, actor: dict[str, Any]) -> int:
    """End every session of the client at once; return how many were live."""
    user = get_client(user_id)
    ended = revoke_sessions(user.id, "crm_force_logout")
    audit_as(actor, "crm.force_logout", target_type="user", target_id=user.id, details={"sessions_ended": ended})
    db.commit()
    return ended


def password_reset(user_id: int, actor: dict[str, Any]) -> User:
    """Send the client a password-reset mail and end their sessions."""
    from web.services.auth import send_password_reset

    user = get_client(user_id)
    audit_as(actor, "crm.password_reset", target_type="user", target_id=user.id)
    db.commit()
    send_password_reset(user, initiated_by=actor_label(actor))
    return user


# --- money -----------------------------------------------------------------------------------


def balance_command_id(account_id: int, op: str, external_id: str, amount: Decimal) -> str:
    """Same account, type, external_id and amount → the same command (the engine answers it once)."""
    digest = hashlib.sha256(f"{account_id}|{op}|{external_id}|{amount}".encode()).hexdigest()[:40]
    return f"crm-bal-{digest}"


def balance_operation(account_id: int, data: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
    """Deposit, withdraw, credit or correct an account through the engine; a repeated external_id does nothing."""
    account = db.get(Account, account_id)
    if account is None:
        raise ApiError(404, "account_not_found", "No such account.")
    op, amount, external_id = data["type"], data["amount"], data["external_id"]
    payload = balance_op_payload(op, amount, external_id, data.get("comment"))
    command_id = balance_command_id(account_id, op, external_id, amount)
    reply = engine_call(BALANCE_OP, account_id, payload, actor, command_id)
    if reply is None:
        db.rollback()
        raise in_flight(command_id)
    details = {"type": op, "amount": str(amount), "external_id": external_id, "reject_code": reply.get("code")}
    audit_as(
        actor,
        "crm.balance_operation",
        outcome="success" if reply.get("ok") else "denied",
        target_type="account",
        target_id=account_id,
        details=details,
    )
    db.commit()
    if not reply.get("ok"):
        raise engine_refusal(reply)
    fresh = reply.get("account") if isinstance(reply.get("account"), dict) else None
    db.expire(account)
    return {
        "account_id": account_id,
        "type": op,
        "amount": str(amount),
        "external_id": external_id,
        "command_id": command_id,
        "duplicate": bool(reply.get("duplicate")),
        "ledger": reply.get("ledger") or {},
        "account": account_view(account, fresh),
    }


def decide_deposit(
    deposit_id: int, status: str, reason: str | None, actor: dict[str, Any], external_id: str | None = None
) -> Deposit:
    """Approve (credit through the engine, once) or decline a pending deposit."""
    return decide_request(Deposit, deposit_id, status, reason, actor, external_id=external_id)


def decide_withdrawal(
    withdrawal_id: int, status: str, reason: str | None, actor: dict[str, Any], external_id: str | None = None
) -> Withdrawal:
    """Approve (debit the held amount) or decline (release it) a pending withdrawal."""
    return decide_request(Withdrawal, withdrawal_id, status, reason, actor, external_id=external_id)


def decide_kyc(document_id: int, status: str, reason: str | None, actor: dict[str, Any]) -> KycDocument:
    """Approve or reject a pending KYC document."""
    return kyc_service.decide_document(document_id, status, reason, actor)


def list_deposits(filters: dict[str, Any]) -> tuple[list[Deposit], int]:
    return paginate(filtered(Deposit, filters), filters["page"], filters["per_page"])


def list_withdrawals(filters: dict[str, Any]) -> tuple[list[Withdrawal], int]:
    return paginate(filtered(Withdrawal, filters), filters["page"], filters["per_page"])


def list_kyc(filters: dict[str, Any]) -> tuple[list[KycDocument], int]:
    return paginate(kyc_service.documents_query(filters), filters["page"], filters["per_page"])
