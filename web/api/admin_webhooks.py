"""Admin API for outgoing webhooks under /api/admin/webhooks: endpoints, the delivery log, redelivery."""

from __future__ import annotations

from typing import Any

from web.errors import ApiError
from web.extensions import db, limiter
from web.openapi import Blueprint
from web.schemas.webhooks import (
    EndpointCreateSchema,
    EndpointDisableSchema,
    EndpointListSchema,
    EndpointSchema,
    EndpointUpdateSchema,
    EndpointWithSecretSchema,
    EventDetailSchema,
    EventListArgs,
    EventPageSchema,
    RedeliveredSchema,
    RedeliverFailedSchema,
    RedeliverSchema,
    RotateSecretSchema,
    outgoing_example,
)
from web.security import actor, admin_required
from web.services import webhooks as service
from workers.dispatcher import EVENT_TYPES

blp = Blueprint(
    "admin_webhooks",
    __name__,
    url_prefix="/api/admin/webhooks",
    description="Outgoing webhooks to the CRM: endpoints, deliveries and redelivery (admin role only)",
)

REDELIVER_LIMIT = "10/minute"

# One example per event type we send, so the OpenAPI document shows every webhook payload.
EVENT_EXAMPLES = {
    event_type: {
        "summary": f"a {event_type} event and its delivery",
        "value": {
            "id": 311,
            "msg_id": "msg_01JDXQ2V7ZK3M4N5P6Q7R8S9TA",
            "type": event_type,
            "created_at": "2026-11-29T10:00:00.123000+00:00",
            "dispatched_at": "2026-11-29T10:00:00.301000+00:00",
            "payload": outgoing_example(event_type),
            "deliveries": [
                {
                    "id": 902,
                    "endpoint_id": 1,
                    "status": "succeeded",
                    "attempts": 2,
                    "last_status_code": 200,
                    "last_error": None,
                    "next_attempt_at": None,
                    "delivered_at": "2026-11-29T10:00:06.020000+00:00",
                    "created_at": "2026-11-29T10:00:00.301000+00:00",
                    "attempt_log": [
                        {
                            "attempt": 1,
                            "status_code": 503,
                            "duration_ms": 41,
                            "error": "HTTP 503",
                            "response_body": "unavailable",
                            "created_at": "2026-11-29T10:00:00.350000+00:00",
                        },
                        {
                            "attempt": 2,
                            "status_code": 200,
                            "duration_ms": 38,
                            "error": None,
                            "response_body": "",
                            "created_at": "2026-11-29T10:00:06.020000+00:00",
                        },
                    ],
                }
            ],
        },
    }
    for event_type in EVENT_TYPES
}


def _not_found(exc: LookupError) -> ApiError:
    db.rollback()
    return ApiError(404, "not_found", str(exc))


def _invalid(exc: ValueError, field: str) -> ApiError:
    db.rollback()
    return ApiError(400, "validation_error", "The request has invalid fields.", {field: [str(exc)]})


@blp.route("/endpoints", methods=["GET"])
@admin_required
@blp.response(200, EndpointListSchema)
def list_endpoints() -> dict[str, Any]:
    """List endpoints with their delivery counts (secrets are never shown again)."""
    return {"items": service.list_endpoints(db)}


@blp.route("/endpoints", methods=["POST"])
@admin_required
@blp.arguments(EndpointCreateSchema)
@blp.response(201, EndpointWithSecretSchema)
def add_endpoint(body: dict[str, Any]) -> dict[str, Any]:
    """Add an endpoint; the answer carries its whsec_ secret, shown only this once."""
    try:
        endpoint, secret = service.add_endpoint(db, body["url"], body["events"], body["description"], actor())
    except ValueError as exc:
        raise _invalid(exc, "events" if "event" in str(exc) else "url") from exc
    db.commit()
    return {**service.endpoint_dict(endpoint), "secret": secret}


@blp.route("/endpoints/<int:endpoint_id>", methods=["GET"])
@admin_required
@blp.response(200, EndpointSchema)
def get_endpoint(endpoint_id: int) -> dict[str, Any]:
    """One endpoint."""
    try:
        return service.get_endpoint_dict(db, endpoint_id)
    except LookupError as exc:
        raise _not_found(exc) from exc


@blp.route("/endpoints/<int:endpoint_id>", methods=["PATCH"])
@admin_required
@blp.arguments(EndpointUpdateSchema)
@blp.response(200, EndpointSchema)
def update_endpoint(body: dict[str, Any], endpoint_id: int) -> dict[str, Any]:
    """Change an endpoint's URL, event filter ([] = every type) or description."""
    try:
        endpoint = service.update_endpoint(db, endpoint_id, actor(), **body)
    except LookupError as exc:
        raise _not_found(exc) from exc
    except ValueError as exc:
        raise _invalid(exc, "events" if "event" in str(exc) or "pattern" in str(exc) else "url") from exc
    db.commit()
    return service.endpoint_dict(endpoint)


def _set_enabled(endpoint_id: int, enabled: bool, reason: str | None = None) -> dict[str, Any]:
    try:
        endpoint = service.set_enabled(db, endpoint_id, enabled, actor(), reason)
    except LookupError as exc:
        raise _not_found(exc) from exc
    db.commit()
    return service.endpoint_dict(endpoint)


@blp.route("/endpoints/<int:endpoint_id>/disable", methods=["POST"])
@admin_required
@blp.arguments(EndpointDisableSchema)
@blp.response(200, EndpointSchema)
def disable_endpoint(body: dict[str, Any], endpoint_id: int) -> dict[str, Any]:
    """Stop sending to an endpoint (queued deliveries are cancelled when their turn comes)."""
    return _set_enabled(endpoint_id, False, body.get("reason"))


@blp.route("/endpoints/<int:endpoint_id>/enable", methods=["POST"])
@admin_required
@blp.response(200, EndpointSchema)
def enable_endpoint(endpoint_id: int) -> dict[str, Any]:
    """Send to an endpoint again; then redeliver-failed since the outage catches it up."""
    return _set_enabled(endpoint_id, True)


@blp.route("/endpoints/<int:endpoint_id>/rotate-secret", methods=["POST"])
@admin_required
@blp.arguments(RotateSecretSchema)
@blp.response(200, EndpointWithSecretSchema)
def rotate_secret(body: dict[str, Any], endpoint_id: int) -> dict[str, Any]:
    """New secret (shown once); the previous one keeps signing alongside it for the overlap."""
    try:
        endpoint, secret = service.rotate_secret(db, endpoint_id, body["overlap_hours"], actor())
    except LookupError as exc:
        raise _not_found(exc) from exc
    db.commit()
    return {**service.endpoint_dict(endpoint), "secret": secret}


@blp.route("/events", methods=["GET"])
@admin_required
@blp.arguments(EventListArgs, location="query")
@blp.response(200, EventPageSchema)
def list_events(args: dict[str, Any]) -> dict[str, Any]:
    """Events, newest first, with their deliveries; filter by type, delivery status, endpoint, time."""
    return service.events_page(db, args)


@blp.route("/events/<int:event_id>", methods=["GET"])
@admin_required
@blp.response(200, EventDetailSchema, examples=EVENT_EXAMPLES)
def get_event(event_id: int) -> dict[str, Any]:
    """One event: the payload as sent, each delivery and its attempt log."""
    try:
        return service.event_detail(db, event_id)
    except LookupError as exc:
        raise _not_found(exc) from exc


@blp.route("/events/<int:event_id>/redeliver", methods=["POST"])
@admin_required
@limiter.limit(REDELIVER_LIMIT)
@blp.arguments(RedeliverSchema)
@blp.response(202, RedeliveredSchema)
def redeliver(body: dict[str, Any], event_id: int) -> dict[str, Any]:
    """Send one event again (same webhook-id, new timestamp and signature)."""
    try:
        queued = service.redeliver_event(db, event_id, body.get("endpoint_id"), actor())
    except LookupError as exc:
        raise _not_found(exc) from exc
    except PermissionError as exc:
        db.rollback()
        raise ApiError(409, "endpoint_disabled", str(exc)) from exc
    return {"queued": queued}


@blp.route("/redeliver-failed", methods=["POST"])
@admin_required
@limiter.limit(REDELIVER_LIMIT)
@blp.arguments(RedeliverFailedSchema)
@blp.response(202, RedeliveredSchema)
def redeliver_failed(body: dict[str, Any]) -> dict[str, Any]:
    """Send again every failed delivery of events since a time (and those missed while disabled)."""
    return {"queued": service.redeliver_failed(db, body["since"], body.get("endpoint_id"), actor())}
