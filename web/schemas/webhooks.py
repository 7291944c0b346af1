"""Schemas of the webhook admin API and of inbound CRM webhooks (they validate input and document OpenAPI)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from web.schemas.crm import BalanceOperationSchema, CrmUserPatchSchema, KycDecisionSchema, MoneyDecisionSchema
from workers.webhooks import CANCELLED, FAILED, PENDING, RETRYING, SUCCEEDED

DELIVERY_STATUSES = [PENDING, RETRYING, SUCCEEDED, FAILED, CANCELLED]

# --- endpoints ------------------------------------------------------------------------------


class EndpointCreateSchema(Schema):
    url = fields.String(
        required=True,
        validate=validate.Length(min=8, max=2048),
        metadata={"example": "https://crm.example.com/hooks/trading"},
    )
    events = fields.List(
        fields.String(validate=validate.Length(max=64)),
        load_default=None,
        validate=validate.Length(max=50),
        metadata={"description": "event types or `prefix.*`; omitted or [] = every type", "example": ["deposit.*"]},
    )
    description = fields.String(load_default="", validate=validate.Length(max=255))


class EndpointUpdateSchema(Schema):
    url = fields.String(validate=validate.Length(min=8, max=2048))
    events = fields.List(fields.String(validate=validate.Length(max=64)), validate=validate.Length(max=50))
    description = fields.String(validate=validate.Length(max=255))


class EndpointDisableSchema(Schema):
    reason = fields.String(load_default=None, validate=validate.Length(max=255))


class RotateSecretSchema(Schema):
    overlap_hours = fields.Float(
        load_default=24.0,
        validate=validate.Range(min=0, max=720),
        metadata={"description": "how long the previous secret keeps signing (both signatures are sent)"},
    )


class EndpointSchema(Schema):
    id = fields.Integer()
    url = fields.String()
    description = fields.String()
    events = fields.List(fields.String(), allow_none=True)
    enabled = fields.Boolean()
    disabled_reason = fields.String(allow_none=True)
    source = fields.String(metadata={"description": "admin (API/CLI) or env (CRM_WEBHOOK_URL)"})
    created_at = fields.DateTime()
    previous_secret_active_until = fields.DateTime(allow_none=True)
    deliveries = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"example": {"succeeded": 12}})


class EndpointListSchema(Schema):
    items = fields.List(fields.Nested(EndpointSchema))


class EndpointWithSecretSchema(EndpointSchema):
    secret = fields.String(
        metadata={"description": "shown only in this answer", "example": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    )


# --- events, deliveries, attempts -------------------------------------------------------------


class EventListArgs(Schema):
    type = fields.String(validate=validate.Length(max=64), metadata={"description": "exact, or a prefix ending in *"})
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES), metadata={"description": "a delivery status"})
    endpoint_id = fields.Integer(validate=validate.Range(min=1))
    msg_id = fields.String(validate=validate.Length(max=64))
    since = fields.AwareDateTime(default_timezone=None)
    until = fields.AwareDateTime(default_timezone=None)
    undispatched = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class AttemptSchema(Schema):
    attempt = fields.Integer()
    status_code = fields.Integer(allow_none=True)
    duration_ms = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    response_body = fields.String(allow_none=True, metadata={"description": "the first 4 kB"})
    created_at = fields.DateTime()


class DeliverySchema(Schema):
    id = fields.Integer()
    endpoint_id = fields.Integer()
    status = fields.String(metadata={"description": " | ".join(DELIVERY_STATUSES)})
    attempts = fields.Integer()
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class DeliveryDetailSchema(DeliverySchema):
    attempt_log = fields.List(fields.Nested(AttemptSchema))


class EventSchema(Schema):
    id = fields.Integer()
    msg_id = fields.String(
        metadata={"description": "the webhook-id header", "example": "msg_01JDXQ2V7ZK3M4N5P6Q7R8S9TA"}
    )
    type = fields.String(metadata={"example": "deposit.status_changed"})
    created_at = fields.DateTime()
    dispatched_at = fields.DateTime(allow_none=True)
    deliveries = fields.List(fields.Nested(DeliverySchema))


class EventPageSchema(Schema):
    items = fields.List(fields.Nested(EventSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class EventDetailSchema(EventSchema):
    payload = fields.Dict(
        metadata={
            "description": "the body exactly as sent: {type, timestamp, data}",
            "example": {
                "type": "deposit.status_changed",
                "timestamp": "2026-11-29T10:15:02.120Z",
                "data": {"deposit_id": 42, "user_id": 7, "account_id": 1001, "status": "approved", "amount": "250.00"},
            },
        }
    )
    deliveries = fields.List(fields.Nested(DeliveryDetailSchema))


class RedeliverSchema(Schema):
    endpoint_id = fields.Integer(
        load_default=None, validate=validate.Range(min=1), metadata={"description": "only this endpoint"}
    )


class RedeliverFailedSchema(Schema):
    since = fields.AwareDateTime(required=True, default_timezone=None, metadata={"example": "2026-11-28T00:00:00Z"})
    endpoint_id = fields.Integer(load_default=None, validate=validate.Range(min=1))


class RedeliveredSchema(Schema):
    queued = fields.Integer(metadata={"description": "deliveries queued for a new attempt"})


# --- inbound (CRM → platform) -------------------------------------------------------------------


class InboundEnvelopeSchema(Schema):
    """The body of a CRM webhook (Standard Webhooks envelope)."""

    type = fields.String(
        required=True, validate=validate.Length(min=1, max=64), metadata={"example": "deposit.approved"}
    )
    timestamp = fields.String(
        load_default=None, validate=validate.Length(max=64), metadata={"example": "2026-11-29T10:15:00Z"}
    )
    data = fields.Dict(required=True, metadata={"example": {"deposit_id": 42}})


class InboundResultSchema(Schema):
    status = fields.String(metadata={"description": "applied | duplicate | ignored", "example": "applied"})
    webhook_id = fields.String(metadata={"example": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"})
    type = fields.String(metadata={"example": "deposit.approved"})
    result = fields.Dict(metadata={"description": "what the matching service-API call answers"})


class WhoAmISchema(Schema):
    id = fields.Integer()
    name = fields.String(metadata={"example": "crm-prod"})
    scopes = fields.List(fields.String(), metadata={"example": ["users", "funds"]})
    prefix = fields.String(metadata={"example": "bkr_Ajncx5mk3YKE_…"})


# --- inbound `data` per event type: the service API's own schemas plus the target id ------------
# (loaded with unknown=EXCLUDE: receivers ignore fields they do not know; known ones are validated)


class InboundDepositDecision(MoneyDecisionSchema):
    deposit_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1), metadata={"example": 42})


class InboundWithdrawalDecision(MoneyDecisionSchema):
    withdrawal_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1), metadata={"example": 7})


class InboundKycDecision(KycDecisionSchema):
    document_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1), metadata={"example": 9})


class InboundUserUpdate(CrmUserPatchSchema):
    user_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1), metadata={"example": 42})


class InboundBalanceOperation(BalanceOperationSchema):
    account_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1), metadata={"example": 1001})


# --- outgoing payload examples (docs/WEBHOOKS.md describes each field) ------------------------

_USER = {
    "id": 42,
    "external_id": "crm-10042",
    "email": "ada@example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "country": "GB",
    "phone": "+44 20 7946 0958",
    "status": "active",
    "email_verified": True,
    "flags": {"vip": True},
    "limits": {"withdrawal_max": "10000.00"},
}
_MONEY = {
    "id": 17,
    "user_id": 42,
    "account_id": 1001,
    "amount": "500.00",
    "currency": "USD",
    "method": "bank_transfer",
    "status": "pending",
    "reason": None,
    "external_id": None,
    "created_at": "2026-11-29T10:00:00+00:00",
    "decided_at": None,
}
_KYC = {
    "document_id": 9,
    "user_id": 42,
    "type": "passport",
    "status": "approved",
    "previous_status": "pending",
    "reason": None,
    "filename": "passport.pdf",
    "content_type": "application/pdf",
    "size": 183224,
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "created_at": "2026-11-29T09:00:00+00:00",
    "reviewed_at": "2026-11-29T10:00:00+00:00",
}
_ORDER = {
    "id": 5012,
    "account_id": 1001,
    "symbol": "EURUSD",
    "side": "buy",
    "type": "limit",
    "status": "pending",
    "volume": "0.10",
    "price": "1.08250",
    "limit_price": None,
    "sl": "1.07900",
    "tp": "1.09000",
    "expiry_type": "gtc",
    "expires_at": None,
    "deviation": None,
    "stop_triggered": False,
    "fill_price": None,
    "position_id": None,
    "reject_code": None,
    "created_at": "2026-11-29T10:00:00.000Z",
    "updated_at": "2026-11-29T10:00:00.000Z",
    "closed_at": None,
}
_POSITION = {
    "id": 3301,
    "account_id": 1001,
    "order_id": 5012,
    "symbol": "EURUSD",
    "side": "buy",
    "status": "closed",
    "volume": "0.10",
    "initial_volume": "0.10",
    "open_price": "1.08250",
    "close_price": "1.09000",
    "sl": "1.07900",
    "tp": "1.09000",
    "swap": "-0.42",
    "commission": "-0.70",
    "realized_pl": "75.00",
    "margin": "108.25",
    "opened_at": "2026-11-29T10:00:00.000Z",
    "updated_at": "2026-11-29T14:00:00.000Z",
    "closed_at": "2026-11-29T14:00:00.000Z",
}
_LEDGER = {
    "id": 771,
    "account_id": 1001,
    "kind": "deposit",
    "amount": "500.00",
    "credit_amount": "0.00",
    "balance_after": "1500.00",
    "credit_after": "0.00",
    "external_id": "deposit:17",
    "trade_id": None,
    "position_id": None,
    "comment": "Deposit #17 (bank_transfer)",
    "created_at": "2026-11-29T10:00:01.000Z",
}

OUTGOING_EXAMPLES: dict[str, dict[str, object]] = {
    "user.created": _USER,
    "user.updated": {**_USER, "changed": ["phone", "flags"]},
    "email.verified": _USER,
    "kyc.status_changed": _KYC,
    "order.placed": {"account_id": 1001, "user_id": 42, "order": _ORDER},
    "position.closed": {"account_id": 1001, "user_id": 42, "reason": "tp", "position": _POSITION},
    "balance.updated": {
        "account_id": 1001,
        "user_id": 42,
        "op": "deposit",
        "ledger": _LEDGER,
        "balance": "1500.00",
        "credit": "0.00",
    },
    "deposit.requested": _MONEY,
    "deposit.status_changed": {
        **_MONEY,
        "status": "approved",
        "previous_status": "pending",
        "external_id": "psp-7781-2291",
        "decided_at": "2026-11-29T10:00:00+00:00",
    },
    "withdrawal.requested": {**_MONEY, "id": 8, "amount": "200.00", "details": "IBAN DE89 3704 0044 0532 0130 00"},
    "withdrawal.status_changed": {
        **_MONEY,
        "id": 8,
        "amount": "200.00",
        "details": "IBAN DE89 3704 0044 0532 0130 00",
        "status": "declined",
        "previous_status": "pending",
        "reason": "Payment details do not match",
        "decided_at": "2026-11-29T10:00:00+00:00",
    },
    "margin_call": {"account_id": 1001, "user_id": 42, "margin_level": "95.40", "equity": "103.27", "margin": "108.25"},
    "stop_out": {
        "account_id": 1001,
        "user_id": 42,
        "margin_level": "48.10",
        "margin_level_after": "0.00",
        "closed_positions": [3301],
        "cancelled_orders": [5013],
    },
}


def outgoing_example(event_type: str) -> dict[str, object]:
    """The body of one outgoing webhook as sent: {type, timestamp, data}."""
    return {"type": event_type, "timestamp": "2026-11-29T10:00:00.123Z", "data": OUTGOING_EXAMPLES[event_type]}
