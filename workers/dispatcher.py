"""The outbox dispatcher: webhook_events rows → webhook_deliveries (one per matching endpoint) → RQ jobs.

Runs as a background loop of the worker process (`python -m workers`). Each pass claims
undispatched events with SELECT … FOR UPDATE SKIP LOCKED (several workers may run), creates the
deliveries and marks the events dispatched in one transaction, and enqueues the jobs only after
that commit. A sweep re-enqueues overdue deliveries whose job chain is dead (the job never reached
Redis, or was lost or abandoned by a Redis restart or a worker crash), so nothing written to the
outbox is lost.

At start it creates or refreshes the endpoint configured by CRM_WEBHOOK_URL + CRM_WEBHOOK_SECRET.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from rq import Queue
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from common.audit import AuditEntry, write_audit
from common.webhook_signing import check_secret, key_material, seal, unseal
from config import Settings, get_settings
from models.session import engine_for
from models.webhooks import WebhookDelivery, WebhookEndpoint, WebhookEvent
from workers import register_loop
from workers.queues import WEBHOOKS, queue
from workers.webhooks import CANCELLED, PENDING, SENDABLE, chain_alive, enqueue_delivery, parse_schedule, safe_url

log = logging.getLogger("workers.dispatcher")

POLL_INTERVAL_S = 0.25
BATCH = 200
SWEEP_EVERY_S = 15.0
SWEEP_GRACE = timedelta(seconds=30)
ENV_SOURCE = "env"

# Every event type we emit (docs/WEBHOOKS.md describes each payload).
EVENT_TYPES = (
    "user.created",
    "user.updated",
    "email.verified",
    "kyc.status_changed",
    "order.placed",
    "position.closed",
    "balance.updated",
    "deposit.requested",
    "deposit.status_changed",
    "withdrawal.requested",
    "withdrawal.status_changed",
    "margin_call",
    "stop_out",
)
_PATTERN = re.compile(r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$")


def validate_patterns(patterns: Iterable[str]) -> list[str]:
    """Event filters of an endpoint: exact types, `prefix.*` or `*`; ValueError on a typo."""
    clean = []
    for raw in patterns:
        pattern = raw.strip()
        if not _PATTERN.match(pattern):
            raise ValueError(f"not an event type or pattern: {pattern!r}")
        if not any(matches([pattern], t) for t in EVENT_TYPES):
            raise ValueError(f"{pattern!r} matches no event type (known: {', '.join(EVENT_TYPES)})")
        clean.append(pattern)
    return sorted(set(clean))


def matches(patterns: list[str] | None, event_type: str) -> bool:
    """Whether an endpoint subscribed to an event type (no filter = every type)."""
    if not patterns:
        return True
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


# --- the endpoint from the environment --------------------------------------------------------


def ensure_env_endpoint(conn: Connection, settings: Settings) -> int | None:
    """Create or refresh the CRM_WEBHOOK_URL endpoint (source "env"); return its id."""
    if not settings.crm_webhook_url:
        return None
    if not settings.crm_webhook_secret:
        log.error("CRM_WEBHOOK_URL is set but CRM_WEBHOOK_SECRET is empty: no endpoint configured")
        return None
    if settings.is_production and not settings.crm_webhook_url.startswith("https://"):
        log.error("CRM_WEBHOOK_URL must be https in production: no endpoint configured")
        return None
    secret = check_secret(settings.crm_webhook_secret)
    material = key_material(settings.data_encryption_key, settings.secret_key)
    row = conn.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.url, WebhookEndpoint.secret_enc)
        .where(WebhookEndpoint.source == ENV_SOURCE)
        .order_by(WebhookEndpoint.id)
        .limit(1)
    ).first()
    if row is None:
        new_id = conn.execute(
            insert(WebhookEndpoint)
            .values(
                url=settings.crm_webhook_url,
                description="CRM_WEBHOOK_URL",
                secret_enc=seal(secret, material),
                source=ENV_SOURCE,
            )
            .returning(WebhookEndpoint.id)
        ).scalar_one()
        _audit(
            conn, "webhook.endpoint_added", new_id, {"url": safe_url(settings.crm_webhook_url), "source": ENV_SOURCE}
        )
        log.info("webhook endpoint %s created from CRM_WEBHOOK_URL", new_id)
        return int(new_id)
    same_secret = _unseal_or_none(row.secret_enc, material) == secret
    if row.url != settings.crm_webhook_url or not same_secret:
        conn.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == row.id)
            .values(
                url=settings.crm_webhook_url,
                secret_enc=seal(secret, material),
                enabled=True,
                disabled_reason=None,
            )
        )
        _audit(
            conn,
            "webhook.endpoint_refreshed",
            row.id,
            {"url": safe_url(settings.crm_webhook_url), "source": ENV_SOURCE},
        )
        log.info("webhook endpoint %s refreshed from CRM_WEBHOOK_URL", row.id)
    return int(row.id)


def _unseal_or_none(sealed: str, material: str) -> str | None:
    try:
        return unseal(sealed, material)
    except ValueError:
        return None


def _audit(conn: Connection, action: str, endpoint_id: int, details: dict[str, Any]) -> None:
    write_audit(
        conn,
        [
            AuditEntry(
                action,
                actor_type="system",
                actor_id="webhooks",
                target_type="webhook_endpoint",
                target_id=str(endpoint_id),
                details=details,
            )
        ],
    )


# --- dispatching --------------------------------------------------------------------------


def dispatch_batch(conn: Connection, limit: int = BATCH) -> tuple[int, list[int]]:
    """Claim undispatched events, create their deliveries, mark them dispatched.

    Returns how many events were claimed and the ids of the deliveries created (fewer than the
    events when endpoints filter them out or none is enabled, more with several endpoints).
    """
    events = conn.execute(
        select(WebhookEvent.id, WebhookEvent.type)
        .where(WebhookEvent.dispatched_at.is_(None))
        .order_by(WebhookEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not events:
        return 0, []
    endpoints = conn.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.events).where(WebhookEndpoint.enabled.is_(True))
    ).all()
    rows = [
        {"event_id": event.id, "endpoint_id": endpoint.id, "status": PENDING}
        for event in events
        for endpoint in endpoints
        if matches(endpoint.events, event.type)
    ]
    ids: list[int] = []
    if rows:
        stmt = pg_insert(WebhookDelivery).values(rows).on_conflict_do_nothing().returning(WebhookDelivery.id)
        ids = [int(i) for i in conn.execute(stmt).scalars()]
    conn.execute(
        update(WebhookEvent).where(WebhookEvent.id.in_([e.id for e in events])).values(dispatched_at=datetime.now(UTC))
    )
    return len(events), ids


def dispatch_once(
    engine: Engine, q: Queue, schedule: list[int], timeout_s: int, unqueued: list[int] | None = None
) -> int:
    """One pass: commit the deliveries, then enqueue their jobs; return how many events were claimed.

    A full batch (BATCH events) means more are probably waiting: the loop goes on without pausing,
    whether or not those events made deliveries (an endpoint that filters most types out, or none
    enabled, must not slow the draining of a backlog to one batch per poll interval).

    `unqueued` carries deliveries committed by an earlier pass whose enqueue failed (Redis down):
    they are enqueued first, as soon as Redis answers, rather than waiting for the sweep. On a
    Redis error the ids not yet enqueued are left in it and the error propagates.
    """
    backlog = unqueued if unqueued is not None else []
    claimed = 0
    ids: list[int] = []
    if not backlog:
        with engine.begin() as conn:
            claimed, ids = dispatch_batch(conn)
    backlog.extend(ids)
    while backlog:
        enqueue_delivery(q, backlog[0], schedule, timeout_s)
        backlog.pop(0)
    return claimed


def sweep_once(engine: Engine, q: Queue, schedule: list[int], timeout_s: int, now: datetime | None = None) -> int:
    """Re-enqueue sendable deliveries overdue by the grace period whose job chain is dead.

    Overdue: created (or due for a retry) more than SWEEP_GRACE ago. A live chain has a job waiting
    in the queue, scheduled in the registry, or running with a fresh heartbeat; anything else (no
    job, a job lost with Redis's last second, one abandoned by a worker that died with Redis) is
    replaced by a new chain, which supersedes the old one (workers.webhooks.enqueue_delivery).
    Overdue deliveries of a disabled endpoint are cancelled here, as their job would on its first
    step, instead of queueing a job each in front of the live ones. Returns how many were re-enqueued.
    """
    moment = now or datetime.now(UTC)
    count = 0
    due = func.coalesce(WebhookDelivery.next_attempt_at, WebhookDelivery.created_at)
    with engine.begin() as conn:
        rows = conn.execute(
            select(WebhookDelivery.id, WebhookEndpoint.enabled)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.status.in_(SENDABLE), WebhookDelivery.created_at < moment - SWEEP_GRACE)
            .where(due < moment - SWEEP_GRACE)
            .order_by(WebhookDelivery.id)
            .limit(1000)
            .with_for_update(of=WebhookDelivery, skip_locked=True)
        ).all()
        # What their job would do on its first step, without a job each in front of live deliveries.
        disabled = [row.id for row in rows if not row.enabled]
        if disabled:
            conn.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(disabled))
                .values(status=CANCELLED, last_error="endpoint disabled", next_attempt_at=None)
            )
        for row in rows:
            if row.enabled and not chain_alive(q, row.id, moment):
                enqueue_delivery(q, row.id, schedule, timeout_s)
                count += 1
    if disabled:
        log.info("cancelled %d overdue webhook deliveries of disabled endpoints", len(disabled))
    if count:
        log.warning("re-enqueued %d webhook deliveries whose jobs were missing or dead", count)
    return count


def dispatcher_loop(stop: threading.Event) -> None:
    """The worker's background loop: env endpoint at start, then dispatch and sweep until stopped."""
    settings = get_settings()
    schedule = parse_schedule(settings.webhook_retry_schedule)
    engine = engine_for(settings.database_url)
    q = queue(WEBHOOKS, settings.redis_url)
    ready = False
    last_sweep = 0.0
    failures = 0
    unqueued: list[int] = []  # committed deliveries whose enqueue failed: retried before new work
    while not stop.is_set():
        try:
            if not ready:
                with engine.begin() as conn:
                    ensure_env_endpoint(conn, settings)
                ready = True
            claimed = dispatch_once(engine, q, schedule, settings.webhook_timeout_s, unqueued)
            if time.monotonic() - last_sweep >= SWEEP_EVERY_S:
                sweep_once(engine, q, schedule, settings.webhook_timeout_s)
                last_sweep = time.monotonic()
            failures = 0
            if claimed >= BATCH:
                continue
            stop.wait(POLL_INTERVAL_S)
        except Exception:
            failures += 1
            log.exception("webhook dispatcher pass failed (%d in a row)", failures)
            stop.wait(min(30.0, POLL_INTERVAL_S * 2**failures))


register_loop(dispatcher_loop)
