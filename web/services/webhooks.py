"""Outgoing webhooks for operators: endpoints, secret rotation, the delivery log, redelivery.

Delivery itself runs in the worker (workers.dispatcher, workers.webhooks). Redelivery keeps the
event's webhook-id (receivers dedupe on it) and signs anew at send time; jobs are enqueued only
after the commit that makes their deliveries sendable.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import Select, and_, exists, func, insert, select, update
from sqlalchemy.orm import Session, scoped_session

from common.audit import AuditEntry, write_audit
from common.webhook_signing import key_material, new_secret, seal
from config import Settings
from models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from workers.dispatcher import matches, validate_patterns
from workers.queues import WEBHOOKS, queue
from workers.webhooks import PENDING, REDELIVERABLE, enqueue_delivery, parse_schedule, safe_url

log = logging.getLogger(__name__)

DbSession = Session | scoped_session[Session]
DEFAULT_OVERLAP_HOURS = 24.0
MAX_OVERLAP_HOURS = 24.0 * 30
REDELIVER_MAX = 10_000


def _settings() -> Settings:
    return cast(Settings, current_app.config["SETTINGS"])


def _material() -> str:
    s = _settings()
    return key_material(s.data_encryption_key, s.secret_key)


def _audit(session: DbSession, action: str, actor: dict[str, Any], target: tuple[str, Any], **details: Any) -> None:
    write_audit(
        session.connection(),
        [
            AuditEntry(
                action=action,
                actor_type=actor.get("type") or "system",
                actor_id=actor.get("id"),
                impersonator_id=actor.get("impersonator_id"),
                target_type=target[0],
                target_id=None if target[1] is None else str(target[1]),
                ip=actor.get("ip"),
                request_id=actor.get("request_id"),
                details=details,
            )
        ],
    )


# --- endpoints ------------------------------------------------------------------------------


def validate_url(url: str) -> str:
    """An endpoint URL: absolute http(s) with a host; https only in production (no redirects are followed)."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2048:
        raise ValueError("the URL must be an absolute http(s) URL of at most 2048 characters")
    if parts.username or parts.password:
        raise ValueError("the URL must not carry credentials")
    if _settings().is_production and parts.scheme != "https":
        raise ValueError("webhook endpoints must use https in production")
    return url


def _get_endpoint(session: DbSession, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise LookupError(f"no webhook endpoint {endpoint_id}")
    return endpoint


def add_endpoint(
    session: DbSession, url: str, events: Iterable[str] | None, description: str, actor: dict[str, Any]
) -> tuple[WebhookEndpoint, str]:
    """Add an endpoint with a fresh secret; return it and the secret (shown once). The caller commits."""
    patterns = validate_patterns(events) if events else None
    secret = new_secret()
    endpoint = WebhookEndpoint(
        url=validate_url(url),
        description=description.strip()[:255],
        secret_enc=seal(secret, _material()),
        events=patterns,
        source="admin",
    )
    session.add(endpoint)
    session.flush()
    _audit(session, "webhook.endpoint_added", actor, ("webhook_endpoint", endpoint.id), url=safe_url(endpoint.url))
    return endpoint, secret


def update_endpoint(
    session: DbSession,
    endpoint_id: int,
    actor: dict[str, Any],
    *,
    url: str | None = None,
    events: list[str] | None = None,
    description: str | None = None,
) -> WebhookEndpoint:
    """Change the URL, the event filter ([] = all events) or the description. The caller commits."""
    endpoint = _get_endpoint(session, endpoint_id)
    changed: dict[str, Any] = {}
    if url is not None:
        endpoint.url = validate_url(url)
        changed["url"] = safe_url(endpoint.url)
    if events is not None:
        endpoint.events = validate_patterns(events) or None
        changed["events"] = endpoint.events or "all"
    if description is not None:
        endpoint.description = changed["description"] = description.strip()[:255]
    _audit(session, "webhook.endpoint_updated", actor, ("webhook_endpoint", endpoint.id), **changed)
    return endpoint


def rotate_secret(
    session: DbSession, endpoint_id: int, overlap_hours: float, actor: dict[str, Any]
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the current one keeps signing (both signatures sent) for the overlap."""
    endpoint = _get_endpoint(session, endpoint_id)
    overlap = timedelta(hours=max(0.0, min(overlap_hours, MAX_OVERLAP_HOURS)))
    secret = new_secret()
    endpoint.previous_secret_enc = endpoint.secret_enc if overlap else None
    endpoint.previous_secret_expires_at = datetime.now(UTC) + overlap if overlap else None
    endpoint.secret_enc = seal(secret, _material())
    _audit(
        session,
        "webhook.secret_rotated",
        actor,
        ("webhook_endpoint", endpoint.id),
        overlap_hours=overlap.total_seconds() / 3600,
    )
    return endpoint, secret


def set_enabled(
    session: DbSession, endpoint_id: int, enabled: bool, actor: dict[str, Any], reason: str | None = None
) -> WebhookEndpoint:
    """Enable or disable sending to an endpoint. The caller commits."""
    endpoint = _get_endpoint(session, endpoint_id)
    endpoint.enabled = enabled
    endpoint.disabled_reason = None if enabled else (reason or "disabled by an operator")[:255]
    action = "webhook.endpoint_enabled" if enabled else "webhook.endpoint_disabled"
    _audit(session, action, actor, ("webhook_endpoint", endpoint.id), reason=endpoint.disabled_reason)
    return endpoint


def endpoint_dict(endpoint: WebhookEndpoint, counts: dict[str, int] | None = None) -> dict[str, Any]:
    """What operators see of an endpoint (never its secret)."""
    now = datetime.now(UTC)
    overlap_until = endpoint.previous_secret_expires_at
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": endpoint.events,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "source": endpoint.source,
        "created_at": endpoint.created_at,
        "previous_secret_active_until": overlap_until if overlap_until and overlap_until > now else None,
        "deliveries": counts or {},
    }


def list_endpoints(session: DbSession) -> list[dict[str, Any]]:
    """Every endpoint with its delivery counts by status."""
    counts: dict[int, dict[str, int]] = {}
    for endpoint_id, status, n in session.execute(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count()).group_by(
            WebhookDelivery.endpoint_id, WebhookDelivery.status
        )
    ):
        counts.setdefault(endpoint_id, {})[status] = n
    endpoints = session.execute(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).scalars()
    return [endpoint_dict(e, counts.get(e.id)) for e in endpoints]


def get_endpoint_dict(session: DbSession, endpoint_id: int) -> dict[str, Any]:
    return endpoint_dict(_get_endpoint(session, endpoint_id))


# --- the event and delivery log -------------------------------------------------------------


def _events_query(args: dict[str, Any]) -> Select[Any]:
    query = select(WebhookEvent)
    if args.get("type"):
        wanted = args["type"]
        query = query.where(
            WebhookEvent.type.startswith(wanted[:-1]) if wanted.endswith("*") else WebhookEvent.type == wanted
        )
    if args.get("msg_id"):
        query = query.where(WebhookEvent.msg_id == args["msg_id"])
    if args.get("since"):
        query = query.where(WebhookEvent.created_at >= args["since"])
    if args.get("until"):
        query = query.where(WebhookEvent.created_at < args["until"])
    delivery_filters = []
    if args.get("status"):
        delivery_filters.append(WebhookDelivery.status == args["status"])
    if args.get("endpoint_id"):
        delivery_filters.append(WebhookDelivery.endpoint_id == args["endpoint_id"])
    if delivery_filters:
        query = query.where(exists().where(WebhookDelivery.event_id == WebhookEvent.id, *delivery_filters))
    if args.get("undispatched"):
        query = query.where(WebhookEvent.dispatched_at.is_(None))
    return query


def _delivery_dict(d: WebhookDelivery, attempts: list[WebhookAttempt] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": d.id,
        "endpoint_id": d.endpoint_id,
        "status": d.status,
        "attempts": d.attempts,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "next_attempt_at": d.next_attempt_at,
        "delivered_at": d.delivered_at,
        "created_at": d.created_at,
    }
    if attempts is not None:
        data["attempt_log"] = [
            {
                "attempt": a.attempt,
                "status_code": a.status_code,
                "duration_ms": a.duration_ms,
                "error": a.error,
                "response_body": a.response_body,
                "created_at": a.created_at,
            }
            for a in attempts
        ]
    return data


def _event_dict(e: WebhookEvent, deliveries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": e.id,
        "msg_id": e.msg_id,
        "type": e.type,
        "created_at": e.created_at,
        "dispatched_at": e.dispatched_at,
        "deliveries": deliveries,
    }


def events_page(session: DbSession, args: dict[str, Any]) -> dict[str, Any]:
    """Events, newest first, with their deliveries; filters and pagination as in the admin API."""
    query = _events_query(args)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    page, per_page = args.get("page", 1), args.get("per_page", 50)
    events = list(
        session.execute(query.order_by(WebhookEvent.id.desc()).offset((page - 1) * per_page).limit(per_page)).scalars()
    )
    by_event: dict[int, list[dict[str, Any]]] = {}
    if events:
        for d in session.execute(
            select(WebhookDelivery)
            .where(WebhookDelivery.event_id.in_([e.id for e in events]))
            .order_by(WebhookDelivery.id)
        ).scalars():
            by_event.setdefault(d.event_id, []).append(_delivery_dict(d))
    items = [_event_dict(e, by_event.get(e.id, [])) for e in events]
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def event_detail(session: DbSession, event_id: int) -> dict[str, Any]:
    """One event: its payload exactly as sent, and every delivery with its attempt log."""
    event = session.get(WebhookEvent, event_id)
    if event is None:
        raise LookupError(f"no webhook event {event_id}")
    deliveries = list(
        session.execute(
            select(WebhookDelivery).where(WebhookDelivery.event_id == event_id).order_by(WebhookDelivery.id)
        ).scalars()
    )
    attempts: dict[int, list[WebhookAttempt]] = {}
    if deliveries:
        for a in session.execute(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_([d.id for d in deliveries]))
            .order_by(WebhookAttempt.delivery_id, WebhookAttempt.attempt, WebhookAttempt.id)
        ).scalars():
            attempts.setdefault(a.delivery_id, []).append(a)
    data = _event_dict(event, [_delivery_dict(d, attempts.get(d.id, [])) for d in deliveries])
    data["payload"] = json.loads(event.payload)
    return data


# --- redelivery -----------------------------------------------------------------------------


def _enqueue(delivery_ids: list[int]) -> None:
    """Start job chains for committed deliveries; if Redis fails, the dispatcher's sweep starts them."""
    s = _settings()
    q = queue(WEBHOOKS, s.redis_url)
    schedule = parse_schedule(s.webhook_retry_schedule)
    try:
        for delivery_id in delivery_ids:
            enqueue_delivery(q, delivery_id, schedule, s.webhook_timeout_s)
    except RedisError:
        log.warning("could not enqueue %d webhook deliveries now; the dispatcher will", len(delivery_ids))


def _reset(session: DbSession, delivery_ids: list[int]) -> None:
    if delivery_ids:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(delivery_ids))
            .values(status=PENDING, next_attempt_at=func.now(), last_error=None)
        )


def _create_missing(session: DbSession, pairs: list[tuple[int, int]]) -> list[int]:
    if not pairs:
        return []
    rows = [{"event_id": e, "endpoint_id": ep, "status": PENDING} for e, ep in pairs]
    return [int(i) for i in session.execute(insert(WebhookDelivery).returning(WebhookDelivery.id), rows).scalars()]


def redeliver_event(session: DbSession, event_id: int, endpoint_id: int | None, actor: dict[str, Any]) -> int:
    """Send one event again (same webhook-id) to its enabled endpoints, or to one; commit, then enqueue."""
    event = session.get(WebhookEvent, event_id)
    if event is None:
        raise LookupError(f"no webhook event {event_id}")
    query = select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))
    if endpoint_id is not None:
        endpoint = _get_endpoint(session, endpoint_id)
        if not endpoint.enabled:
            raise PermissionError(f"webhook endpoint {endpoint_id} is disabled; enable it first")
        query = query.where(WebhookEndpoint.id == endpoint_id)
    endpoints = list(session.execute(query).scalars())
    existing = {
        d.endpoint_id: d.id
        for d in session.execute(select(WebhookDelivery).where(WebhookDelivery.event_id == event_id)).scalars()
    }
    again = [existing[e.id] for e in endpoints if e.id in existing]
    missing = [(event_id, e.id) for e in endpoints if e.id not in existing and matches(e.events, event.type)]
    _reset(session, again)
    ids = again + _create_missing(session, missing)
    _audit(session, "webhook.redelivered", actor, ("webhook_event", event_id), deliveries=len(ids), msg_id=event.msg_id)
    session.commit()
    _enqueue(ids)
    return len(ids)


def redeliver_failed(session: DbSession, since: datetime, endpoint_id: int | None, actor: dict[str, Any]) -> int:
    """Send again every failed or cancelled delivery of events since a time, to enabled endpoints.

    Events created while an endpoint was disabled (after it was added) have no delivery yet: they
    are sent too, so "enable, then redeliver failed since the outage" recovers everything.
    """
    failed = (
        select(WebhookDelivery.id)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookEvent.created_at >= since,
            WebhookDelivery.status.in_(REDELIVERABLE),
            WebhookEndpoint.enabled.is_(True),
        )
    )
    gaps = (
        select(WebhookEvent.id, WebhookEvent.type, WebhookEndpoint.id, WebhookEndpoint.events)
        .join(WebhookEndpoint, WebhookEndpoint.created_at <= WebhookEvent.created_at)
        .where(
            WebhookEvent.created_at >= since,
            WebhookEvent.dispatched_at.is_not(None),
            WebhookEndpoint.enabled.is_(True),
            ~exists().where(
                and_(WebhookDelivery.event_id == WebhookEvent.id, WebhookDelivery.endpoint_id == WebhookEndpoint.id)
            ),
        )
    )
    if endpoint_id is not None:
        failed = failed.where(WebhookDelivery.endpoint_id == endpoint_id)
        gaps = gaps.where(WebhookEndpoint.id == endpoint_id)
    again = [int(i) for i in session.execute(failed.order_by(WebhookDelivery.id).limit(REDELIVER_MAX)).scalars()]
    missing = [
        (ev_id, ep_id)
        for ev_id, ev_type, ep_id, patterns in session.execute(gaps.order_by(WebhookEvent.id).limit(REDELIVER_MAX))
        if matches(patterns, ev_type)
    ]
    _reset(session, again)
    ids = again + _create_missing(session, missing)
    _audit(
        session,
        "webhook.redelivered_failed",
        actor,
        ("webhook_endpoint", endpoint_id),
        since=since.isoformat(),
        deliveries=len(ids),
    )
    session.commit()
    _enqueue(ids)
    return len(ids)
