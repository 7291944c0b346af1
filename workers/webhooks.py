"""Webhook delivery: one RQ job per delivery (its argument is the delivery id), retried by RQ.

Each attempt signs the stored payload bytes at send time (Standard Webhooks, common.webhook_signing),
POSTs them with a timeout and without following redirects, and logs a webhook_attempts row.
2xx = delivered; 410 = the endpoint is disabled; anything else (timeouts, connection errors, 3xx,
4xx, 5xx) raises so RQ's Retry (an interval list as long as `max`, jittered) schedules the next try.
A `Retry-After` longer than the next interval replaces that interval.

A delivery has one live job chain: its id is kept under `webhooks:delivery:{id}:job`; a job that
finds another id there was superseded (e.g. by a manual redelivery) and exits without sending.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from rq import Queue, Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.pool import NullPool

from common.audit import AuditEntry, write_audit
from common.logs import request_id_var
from common.webhook_signing import active_secrets, delivery_headers, key_material
from config import Settings, get_settings
from models.session import make_engine
from models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

log = logging.getLogger("workers.webhooks")

JITTER = 0.10
JOB_KEY_TTL_S = 7 * 24 * 3600
MAX_RETRY_AFTER_S = 24 * 3600
BODY_LOG_BYTES = 4096
FAILURE_TTL_S = 30 * 24 * 3600

# Delivery statuses.
PENDING = "pending"  # waiting for its first (or a manually requested) attempt
RETRYING = "retrying"  # an attempt failed; the next one is scheduled (next_attempt_at)
SUCCEEDED = "succeeded"
FAILED = "failed"  # the retry schedule ran out, or the endpoint answered 410
CANCELLED = "cancelled"  # the endpoint was disabled before the attempt
SENDABLE = (PENDING, RETRYING)
REDELIVERABLE = (FAILED, CANCELLED)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(\d+)\s*([smhd]?)$")


def safe_url(url: str) -> str:
    """A URL for logs and audit rows: its query (which may carry a receiver's token) hidden."""
    base, sep, _ = url.partition("?")
    return base + ("?…" if sep else "")


_QUERY = re.compile(r"\?[^\s'\")]*")


def _safe_error(text: str) -> str:
    return _QUERY.sub("?…", text)[:300]


class DeliveryFailed(Exception):
    """An attempt failed; raised so RQ schedules the next one."""


# --- the retry schedule ---------------------------------------------------------------------


def parse_schedule(entries: list[str]) -> list[int]:
    """WEBHOOK_RETRY_SCHEDULE entries (`5s`, `30m`, `2h`, `1d`, bare seconds) as seconds."""
    seconds = []
    for entry in entries:
        match = _DURATION.match(entry.strip().lower())
        if not match:
            raise ValueError(f"WEBHOOK_RETRY_SCHEDULE: cannot read {entry!r} (use e.g. 5s, 30m, 2h, 1d)")
        seconds.append(int(match.group(1)) * _UNITS[match.group(2) or "s"])
    return seconds


def jittered(schedule: list[int], rng: random.Random | None = None) -> list[int]:
    """Each interval ±10 %, at least 1 s (a retry of 0 s would skip the scheduler)."""
    pick = rng or random.Random()
    return [max(1, round(s * pick.uniform(1 - JITTER, 1 + JITTER))) for s in schedule]


def retry_after_seconds(value: str | None, now: datetime) -> int | None:
    """A Retry-After header (delta seconds or HTTP date) in seconds, capped at a day."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(int(value), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0, min(int((when - now).total_seconds()), MAX_RETRY_AFTER_S))


# --- enqueueing -----------------------------------------------------------------------------


def job_key(delivery_id: int) -> str:
    return f"webhooks:delivery:{delivery_id}:job"


def enqueue_delivery(queue: Queue, delivery_id: int, schedule: list[int], timeout_s: int) -> str:
    """Start a new job chain for a delivery (superseding any older one); return the job id."""
    job_id = f"webhook-{delivery_id}-{uuid.uuid4().hex[:12]}"
    # Claim the chain before the job can run, so it never sees an older id and exits.
    queue.connection.set(job_key(delivery_id), job_id, ex=JOB_KEY_TTL_S)
    intervals = jittered(schedule)
    queue.enqueue(
        deliver,
        delivery_id,
        job_id=job_id,
        retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
        job_timeout=timeout_s + 30,
        failure_ttl=FAILURE_TTL_S,
        description=f"webhook delivery {delivery_id}",
    )
    return job_id


# A running job's work horse refreshes its heartbeat every RQ job-monitoring interval (30 s); a
# heartbeat older than this belongs to a horse that died (its worker lost Redis, or was killed).
HEARTBEAT_STALE = timedelta(seconds=90)


def chain_alive(queue: Queue, delivery_id: int, now: datetime) -> bool:
    """Whether the delivery's current job will run: waiting in the queue, scheduled, or running."""
    r = queue.connection
    job_id = r.get(job_key(delivery_id))
    if job_id is None:
        return False
    job_id = job_id.decode() if isinstance(job_id, bytes) else str(job_id)
    try:
        job = Job.fetch(job_id, connection=r)
    except NoSuchJobError:
        return False
    status = job.get_status(refresh=False)
    if status == JobStatus.QUEUED:
        return r.lpos(queue.key, job_id) is not None
    if status == JobStatus.SCHEDULED:
        return r.zscore(ScheduledJobRegistry(queue=queue).key, job_id) is not None
    if status == JobStatus.STARTED:
        beat = job.last_heartbeat or job.started_at
        return beat is not None and now - beat < HEARTBEAT_STALE
    return status == JobStatus.DEFERRED  # finished/failed/stopped/canceled while still sendable: dead


# --- one attempt ----------------------------------------------------------------------------

_engine_pid: tuple[int, Engine] | None = None


def _engine(settings: Settings) -> Engine:
    """A NullPool engine of this process: RQ forks a work horse per job, pools must not cross forks."""
    global _engine_pid
    if _engine_pid is None or _engine_pid[0] != os.getpid():
        _engine_pid = (os.getpid(), make_engine(settings.database_url, poolclass=NullPool))
    return _engine_pid[1]


def _superseded(delivery_id: int) -> bool:
    job = get_current_job()
    if job is None:
        return False
    current = job.connection.get(job_key(delivery_id))
    if current is None:
        return False
    current_id = current.decode() if isinstance(current, bytes) else str(current)
    return current_id != job.id


def _load(conn: Connection, delivery_id: int) -> Any:
    return conn.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.status,
            WebhookDelivery.attempts,
            WebhookEvent.msg_id,
            WebhookEvent.payload,
            WebhookEvent.request_id,
            WebhookEndpoint.id.label("endpoint_id"),
            WebhookEndpoint.url,
            WebhookEndpoint.enabled,
            WebhookEndpoint.secret_enc,
            WebhookEndpoint.previous_secret_enc,
            WebhookEndpoint.previous_secret_expires_at,
        )
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id == delivery_id)
    ).one_or_none()


def _post(url: str, body: bytes, headers: dict[str, str], timeout_s: int) -> dict[str, Any]:
    """Send once; return status code, Retry-After, a truncated body or the error, and the duration."""
    started = time.monotonic()
    outcome: dict[str, Any] = {"status_code": None, "retry_after": None, "body": None, "error": None}
    try:
        with requests.post(
            url, data=body, headers=headers, timeout=timeout_s, allow_redirects=False, stream=True
        ) as response:
            outcome["status_code"] = response.status_code
            outcome["retry_after"] = response.headers.get("Retry-After")
            raw = response.raw.read(BODY_LOG_BYTES, decode_content=True) or b""
            outcome["body"] = raw.decode("utf-8", errors="replace")
    except requests.Timeout as exc:
        outcome["error"] = f"timeout after {timeout_s}s: {type(exc).__name__}"
    except requests.RequestException as exc:
        outcome["error"] = f"{type(exc).__name__}: {_safe_error(str(exc))}"
    outcome["duration_ms"] = int((time.monotonic() - started) * 1000)
    return outcome


def _next_wait(retry_after: int | None) -> int | None:
    """Seconds until RQ runs the next attempt (None: no retry left); a longer Retry-After wins."""
    job = get_current_job()
    if job is None or not job.retries_left or not job.retry_intervals:
        return None
    index = max(len(job.retry_intervals) - job.retries_left, 0)
    if retry_after is not None and retry_after > job.retry_intervals[index]:
        # RQ reads this list when it schedules the retry right after this job raises.
        job.retry_intervals[index] = retry_after
    return int(job.retry_intervals[index])


def _record(conn: Connection, delivery_id: int, outcome: dict[str, Any], status: str, next_at: datetime | None) -> int:
    attempt = conn.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(
            attempts=WebhookDelivery.attempts + 1,
            status=status,
            last_status_code=outcome["status_code"],
            last_error=outcome["error"],
            next_attempt_at=next_at,
            delivered_at=datetime.now(UTC) if status == SUCCEEDED else WebhookDelivery.delivered_at,
        )
        .returning(WebhookDelivery.attempts)
    ).scalar_one()
    conn.execute(
        insert(WebhookAttempt).values(
            delivery_id=delivery_id,
            attempt=attempt,
            status_code=outcome["status_code"],
            duration_ms=outcome["duration_ms"],
            error=outcome["error"],
            response_body=outcome["body"],
        )
    )
    return int(attempt)


def _disable_on_gone(conn: Connection, endpoint_id: int, url: str) -> None:
    conn.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(enabled=False, disabled_reason="410 Gone from the receiver")
    )
    write_audit(
        conn,
        [
            AuditEntry(
                "webhook.endpoint_disabled",
                actor_type="system",
                actor_id="webhooks",
                target_type="webhook_endpoint",
                target_id=str(endpoint_id),
                details={"reason": "410 Gone", "url": safe_url(url)},
            )
        ],
    )


def deliver(delivery_id: int) -> str:
    """The RQ job: one attempt at one delivery (see the module docstring)."""
    settings = get_settings()
    if _superseded(delivery_id):
        return "superseded"
    engine = _engine(settings)
    with engine.begin() as conn:
        row = _load(conn, delivery_id)
        if row is None or row.status not in SENDABLE:
            return "nothing to send" if row is None else f"skipped: {row.status}"
        if not row.enabled:
            conn.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id)
                .values(status=CANCELLED, last_error="endpoint disabled", next_attempt_at=None)
            )
            return "cancelled: endpoint disabled"
    material = key_material(settings.data_encryption_key, settings.secret_key)
    secrets_ = active_secrets(row.secret_enc, row.previous_secret_enc, row.previous_secret_expires_at, material)
    body = row.payload.encode()
    headers = delivery_headers(secrets_, row.msg_id, int(time.time()), body)
    if row.request_id:
        # The request behind the event: our log lines and the receiver's can be joined on it.
        request_id_var.set(row.request_id)
        headers["X-Request-ID"] = row.request_id
    outcome = _post(row.url, body, headers, settings.webhook_timeout_s)
    code = outcome["status_code"]
    now = datetime.now(UTC)
    with engine.begin() as conn:
        if code is not None and 200 <= code < 300:
            _record(conn, delivery_id, outcome, SUCCEEDED, None)
            log.info("webhook delivery %s (%s) delivered: HTTP %s", delivery_id, row.msg_id, code)
            return f"delivered: {code}"
        if code == 410:
            outcome["error"] = "410 Gone: endpoint disabled"
            _record(conn, delivery_id, outcome, FAILED, None)
            _disable_on_gone(conn, row.endpoint_id, row.url)
            log.warning("webhook endpoint %s answered 410 Gone: disabled", row.endpoint_id)
            return "gone: endpoint disabled"
        if outcome["error"] is None:
            outcome["error"] = f"HTTP {code}"
        wait = _next_wait(retry_after_seconds(outcome["retry_after"], now))
        next_at = None if wait is None else now + timedelta(seconds=wait)
        attempt = _record(conn, delivery_id, outcome, RETRYING if next_at else FAILED, next_at)
    log.info("webhook delivery %s (%s) attempt %s failed: %s", delivery_id, row.msg_id, attempt, outcome["error"])
    raise DeliveryFailed(f"delivery {delivery_id} attempt {attempt}: {outcome['error']}")
