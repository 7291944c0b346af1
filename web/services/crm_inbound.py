"""Inbound CRM webhooks: verify the Standard Webhooks signature, apply each event once.

Rules (docs/CRM.md "Inbound webhooks"):
- The signature is checked with the standardwebhooks library against every secret in
  CRM_INBOUND_WEBHOOK_SECRET (several during rotation); a timestamp outside ±5 minutes, a bad or
  malformed signature or missing headers → 401, audited, nothing applied.
- `webhook-id` is the idempotency key. The same id with the same body (SHA-256) as an event
  already accepted answers that event's stored answer (200, or 202 for an ignored type) and
  changes nothing: that is the CRM retrying. The same id with a different body is a replay →
  409 `webhook_replayed`, audited, nothing applied.
- An event is applied through the same service function as its service-API call
  (web.services.crm), with the same validation; unknown types are stored and answered 202.
- An event that fails (validation 400, business rule 404/409/422, engine busy 503) is not
  recorded, so the CRM may send the same id again once the cause is fixed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from flask import current_app, g, request
from marshmallow import EXCLUDE, Schema, ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, scoped_session

from common.webhook_signing import InboundRefused, verify_inbound
from config import Settings
from models.webhooks import InboundWebhook
from web.errors import ApiError
from web.schemas.crm import BalanceResultSchema, CrmKycDocumentSchema, CrmUserSchema
from web.schemas.funds import MoneyRequestSchema
from web.schemas.webhooks import (
    InboundBalanceOperation,
    InboundDepositDecision,
    InboundEnvelopeSchema,
    InboundKycDecision,
    InboundUserUpdate,
    InboundWithdrawalDecision,
)
from web.security import audit

log = logging.getLogger(__name__)

DbSession = Session | scoped_session[Session]
PROCESSING = 102  # status_code of a claimed event whose effect is being applied
CLAIM_STALE_AFTER = timedelta(minutes=2)
ACTOR = {"type": "crm", "id": "webhook"}

REFUSALS = {
    "missing_headers": (401, "missing_signature_headers"),
    "bad_timestamp": (401, "invalid_timestamp"),
    "stale": (401, "stale_timestamp"),
    "bad_signature": (401, "invalid_signature"),
    "no_secret": (503, "inbound_webhooks_not_configured"),
}


@dataclass(frozen=True)
class Handler:
    schema: type[Schema]
    apply: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
    fixed: dict[str, Any]


def _money(kind: str) -> Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]:
    def apply(data: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
        from web.services import crm

        decide = crm.decide_deposit if kind == "deposit" else crm.decide_withdrawal
        row = decide(data[f"{kind}_id"], data["status"], data["reason"], actor, data["external_id"])
        return cast(dict[str, Any], MoneyRequestSchema().dump(row))

    return apply


def _kyc(data: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
    from web.services import crm

    doc = crm.decide_kyc(data["document_id"], data["status"], data["reason"], actor)
    return cast(dict[str, Any], CrmKycDocumentSchema().dump(doc))


def _user(data: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
    from web.services import crm

    fields = {k: v for k, v in data.items() if k != "user_id"}
    result = crm.update_user(data["user_id"], fields, actor)
    view = cast(dict[str, Any], CrmUserSchema().dump(crm.user_view(result.user, result.commands)))
    rejected = result.rejected
    if rejected is not None:
        raise ApiError(
            422,
            str(rejected.get("code") or "rejected"),
            f"The engine refused a change to account {rejected['account_id']}: {rejected.get('message')}",
            extra={"user": view},
        )
    return view


def _balance(data: dict[str, Any], actor: dict[str, Any]) -> dict[str, Any]:
    from web.services import crm

    fields = {k: v for k, v in data.items() if k != "account_id"}
    return cast(dict[str, Any], BalanceResultSchema().dump(crm.balance_operation(data["account_id"], fields, actor)))


HANDLERS: dict[str, Handler] = {
    "deposit.approved": Handler(InboundDepositDecision, _money("deposit"), {"status": "approved"}),
    "deposit.declined": Handler(InboundDepositDecision, _money("deposit"), {"status": "declined"}),
    "withdrawal.approved": Handler(InboundWithdrawalDecision, _money("withdrawal"), {"status": "approved"}),
    "withdrawal.declined": Handler(InboundWithdrawalDecision, _money("withdrawal"), {"status": "declined"}),
    "kyc.approved": Handler(InboundKycDecision, _kyc, {"status": "approved"}),
    "kyc.rejected": Handler(InboundKycDecision, _kyc, {"status": "rejected"}),
    "user.updated": Handler(InboundUserUpdate, _user, {}),
    "balance.operation": Handler(InboundBalanceOperation, _balance, {}),
}

OPENAPI_EXAMPLES = {
    "deposit.approved": {
        "value": {
            "type": "deposit.approved",
            "timestamp": "2026-11-29T10:15:00Z",
            "data": {"deposit_id": 42, "external_id": "psp-7781-2291"},
        }
    },
    "withdrawal.declined": {
        "value": {
            "type": "withdrawal.declined",
            "timestamp": "2026-11-29T10:15:00Z",
            "data": {"withdrawal_id": 7, "reason": "Payment details do not match"},
        }
    },
    "kyc.rejected": {
        "value": {
            "type": "kyc.rejected",
            "timestamp": "2026-11-29T10:15:00Z",
            "data": {"document_id": 9, "reason": "The document has expired."},
        }
    },
    "user.updated": {
        "value": {
            "type": "user.updated",
            "timestamp": "2026-11-29T10:15:00Z",
            "data": {"user_id": 42, "leverage": 50, "trading_rights": "close_only", "flags": {"vip": True}},
        }
    },
    "balance.operation": {
        "value": {
            "type": "balance.operation",
            "timestamp": "2026-11-29T10:15:00Z",
            "data": {"account_id": 1001, "type": "credit", "amount": "100.00", "external_id": "bonus-2026-11"},
        }
    },
}


def _settings() -> Settings:
    return cast(Settings, current_app.config["SETTINGS"])


def _audit(action: str, webhook_id: str | None, outcome: str = "success", **details: Any) -> None:
    audit(
        action,
        outcome=outcome,
        target_type="crm_webhook",
        target_id=(webhook_id or "")[:128] or None,
        details=details,
    )


def _refuse(
    session: DbSession, status: int, code: str, message: str, webhook_id: str | None, **details: Any
) -> ApiError:
    """Audit a refused webhook in its own transaction; the error to raise."""
    session.rollback()
    _audit("crm_webhook.refused", webhook_id, outcome="denied", code=code, **details)
    session.commit()
    return ApiError(status, code, message)


# --- parsing ------------------------------------------------------------------------------------


def _envelope(session: DbSession, body: str, webhook_id: str) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise _bad(session, webhook_id, {"_schema": ["The body is not JSON."]}) from exc
    if not isinstance(parsed, dict):
        raise _bad(session, webhook_id, {"_schema": ["The body must be a JSON object {type, timestamp, data}."]})
    try:
        return cast(dict[str, Any], InboundEnvelopeSchema().load(parsed, unknown="exclude"))
    except ValidationError as exc:
        raise _bad(session, webhook_id, exc.normalized_messages()) from exc


def _data(session: DbSession, handler: Handler, data: dict[str, Any], webhook_id: str) -> dict[str, Any]:
    try:
        return cast(dict[str, Any], handler.schema(unknown=EXCLUDE).load({**data, **handler.fixed}))
    except ValidationError as exc:
        messages = exc.normalized_messages()
        raise _bad(session, webhook_id, {"data": messages} if isinstance(messages, dict) else messages) from exc


def _bad(session: DbSession, webhook_id: str, fields: Any) -> ApiError:
    error = _refuse(session, 400, "validation_error", "The webhook has invalid fields.", webhook_id, fields=fields)
    error.fields = fields if isinstance(fields, dict) else {"_schema": fields}
    return error


# --- claiming the webhook-id ------------------------------------------------------------------


def _claim(session: DbSession, webhook_id: str, event_type: str, digest: str) -> InboundWebhook | None:
    """Record the id as being applied (committed); None if we own it now, else the existing row."""
    claimed = session.execute(
        pg_insert(InboundWebhook)
        .values(webhook_id=webhook_id, type=event_type, payload_sha256=digest, status_code=PROCESSING, result={})
        .on_conflict_do_nothing()
        .returning(InboundWebhook.webhook_id)
    ).scalar()
    session.commit()
    if claimed is not None:
        return None
    row = session.execute(
        select(InboundWebhook).where(InboundWebhook.webhook_id == webhook_id).with_for_update()
    ).scalar_one()
    stale = datetime.now(UTC) - row.received_at > CLAIM_STALE_AFTER
    if row.status_code == PROCESSING and stale and row.payload_sha256 == digest:
        # The process that claimed it died mid-way: apply again (the service functions are idempotent).
        row.received_at = datetime.now(UTC)
        session.commit()
        return None
    return row


def _release(session: DbSession, webhook_id: str) -> None:
    session.rollback()
    session.execute(delete(InboundWebhook).where(InboundWebhook.webhook_id == webhook_id))
    session.commit()


def _answer_existing(session: DbSession, row: InboundWebhook, digest: str) -> tuple[dict[str, Any], int]:
    if row.payload_sha256 != digest:
        raise _refuse(
            session,
            409,
            "webhook_replayed",
            "This webhook-id was used for another event; nothing was applied.",
            row.webhook_id,
            reason="replay",
            type=row.type,
        )
    if row.status_code == PROCESSING:
        session.rollback()
        raise ApiError(
            409,
            "webhook_in_progress",
            "This webhook is being applied; send it again shortly.",
            headers={"Retry-After": "5"},
        )
    row.attempts = row.attempts + 1
    _audit("crm_webhook.duplicate", row.webhook_id, type=row.type, attempts=row.attempts)
    session.commit()
    status = "ignored" if row.status_code == 202 else "duplicate"
    return {"status": status, "webhook_id": row.webhook_id, "type": row.type, "result": row.result}, row.status_code


def _store(session: DbSession, webhook_id: str, status_code: int, result: dict[str, Any]) -> None:
    session.execute(
        update(InboundWebhook)
        .where(InboundWebhook.webhook_id == webhook_id)
        .values(status_code=status_code, result=json.loads(json.dumps(result, default=str)))
    )


# --- the request ----------------------------------------------------------------------------


def receive(session: DbSession, body: bytes, headers: dict[str, str]) -> tuple[dict[str, Any], int]:
    """Verify and apply one inbound webhook; return (answer, HTTP status) or raise ApiError."""
    g.actor_override = dict(ACTOR)
    lowered = {k.lower(): v for k, v in headers.items()}
    claimed_id = lowered.get("webhook-id") or None
    try:
        verified = verify_inbound(body, lowered, list(_settings().crm_inbound_webhook_secret))
    except InboundRefused as exc:
        status, code = REFUSALS.get(exc.reason, (401, "invalid_signature"))
        raise _refuse(session, status, code, exc.message, claimed_id, reason=exc.reason) from exc
    webhook_id = verified.webhook_id
    if len(webhook_id) > 128:
        raise _bad(session, webhook_id, {"webhook-id": ["At most 128 characters."]})
    envelope = _envelope(session, verified.body, webhook_id)
    handler = HANDLERS.get(envelope["type"])
    data = _data(session, handler, envelope["data"], webhook_id) if handler else {}
    digest = hashlib.sha256(body).hexdigest()
    existing = _claim(session, webhook_id, envelope["type"], digest)
    if existing is not None:
        return _answer_existing(session, existing, digest)
    if handler is None:
        _store(session, webhook_id, 202, {"ignored": True})
        _audit("crm_webhook.ignored", webhook_id, type=envelope["type"])
        session.commit()
        return {"status": "ignored", "webhook_id": webhook_id, "type": envelope["type"], "result": {}}, 202
    return _apply(session, handler, envelope["type"], data, webhook_id)


def _apply(
    session: DbSession, handler: Handler, event_type: str, data: dict[str, Any], webhook_id: str
) -> tuple[dict[str, Any], int]:
    actor = {**ACTOR, "ip": request.remote_addr, "request_id": g.get("request_id"), "webhook_id": webhook_id}
    try:
        result = handler.apply(data, actor)
    except ApiError as exc:
        _release(session, webhook_id)
        _audit("crm_webhook.failed", webhook_id, outcome="failure", type=event_type, error=exc.code)
        session.commit()
        raise
    except Exception:
        log.exception("inbound webhook %s (%s) failed", webhook_id, event_type)
        _release(session, webhook_id)
        raise
    session.rollback()
    _store(session, webhook_id, 200, result)
    _audit("crm_webhook.applied", webhook_id, type=event_type)
    session.commit()
    return {"status": "applied", "webhook_id": webhook_id, "type": event_type, "result": result}, 200
