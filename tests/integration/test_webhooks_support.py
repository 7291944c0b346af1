"""Helpers of the modules that run a real worker delivering webhooks (test_webhooks_delivery,
test_metrics_processes): a worker of their own starts from a clean slate.

(No tests here.)
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import func, update

from models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from workers.webhooks import CANCELLED, SENDABLE


def disable_endpoints(sql_engine: Any, reason: str = "test teardown") -> None:
    with sql_engine.begin() as conn:
        conn.execute(update(WebhookEndpoint).values(enabled=False, disabled_reason=reason))


def set_aside_earlier_work(sql_engine: Any) -> None:
    """Endpoints, events and deliveries earlier modules left are theirs, not the module's.

    A worker enables the CRM_WEBHOOK_URL endpoint before its first dispatch pass, so every event
    still in the outbox would become a delivery to the module's receiver, queued ahead of the
    tests' own events (hundreds after the API fuzzing module: longer than a test waits).
    """
    disable_endpoints(sql_engine)
    with sql_engine.begin() as conn:
        conn.execute(update(WebhookEvent).where(WebhookEvent.dispatched_at.is_(None)).values(dispatched_at=func.now()))
        conn.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.status.in_(SENDABLE))
            .values(status=CANCELLED, last_error="set aside by a test module", next_attempt_at=None)
        )


def clear_stale_scheduler_locks(redis_client: Any) -> None:
    """A worker killed earlier in this run may still hold RQ's scheduler lock; a live worker
    only retries taking it every 10 minutes, so drop locks whose scheduler process is gone."""
    for queue_name in ("webhooks", "mail"):
        lock = f"rq:scheduler-lock:{queue_name}"
        holder = redis_client.get(lock)
        pid = redis_client.hget(f"rq:scheduler:{holder}", "pid") if holder else None
        if holder and not (pid and _alive(int(pid))):
            redis_client.delete(lock)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
