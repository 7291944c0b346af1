"""Prometheus metrics of the worker process (served by common.metrics.serve_metrics on WORKER_METRICS_PORT).

RQ runs each job in a forked work horse, whose counters would die with it; so the outcome of a job
is counted in the worker process itself, from the job's status and return value after the horse
exits (MeteredWorker). Queue depths and the outbox backlog are read from Redis and PostgreSQL when
Prometheus scrapes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from rq import Queue, Worker
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import Engine, func, select

from models.webhooks import WebhookDelivery, WebhookEvent
from workers.queues import MAIL, WEBHOOKS

log = logging.getLogger("workers.metrics")

JOBS = Counter("rq_jobs_total", "RQ jobs run by this worker, by queue and outcome", ["queue", "outcome"])
WEBHOOK_DELIVERIES = Counter("webhook_deliveries_total", "Webhook attempts the receiver accepted (2xx)")
WEBHOOK_FAILURES = Counter(
    "webhook_delivery_failures_total", "Webhook attempts that failed (a retry follows unless final)", ["final"]
)
MAIL_SENT = Counter("mail_sent_total", "E-mails handed to SMTP (or written to the mail directory)")
MAIL_FAILURES = Counter("mail_failures_total", "E-mail jobs that failed")


def job_outcome(job: Job) -> str:
    """finished | retrying | failed | other, as RQ recorded it once the work horse exited."""
    status = job.get_status(refresh=True)
    if status == JobStatus.FINISHED:
        return "finished"
    if status in (JobStatus.SCHEDULED, JobStatus.QUEUED):
        return "retrying"
    if status == JobStatus.FAILED:
        return "failed"
    return "other"


def count_job(job: Job, queue_name: str) -> None:
    """Count one executed job (called in the worker process after its work horse exited)."""
    outcome = job_outcome(job)
    JOBS.labels(queue_name, outcome).inc()
    if queue_name == WEBHOOKS:
        if outcome == "finished":
            result = str(job.return_value(refresh=True) or "")
            if result.startswith("delivered"):
                WEBHOOK_DELIVERIES.inc()
            elif result.startswith("gone"):  # 410: the attempt failed and ended the delivery
                WEBHOOK_FAILURES.labels("true").inc()
        elif outcome in ("retrying", "failed"):
            WEBHOOK_FAILURES.labels("true" if outcome == "failed" else "false").inc()
    elif queue_name == MAIL:
        if outcome == "finished":
            MAIL_SENT.inc()
        elif outcome in ("retrying", "failed"):
            MAIL_FAILURES.inc()


class MeteredWorker(Worker):
    """An RQ worker that counts the outcome of every job it runs (and remembers a shutdown request)."""

    shutdown_asked = False
    in_flight: tuple[Job, Queue] | None = None  # the job a lost Redis may have orphaned

    def request_stop(self, signum: Any, frame: Any) -> None:
        # RQ records a stop only for a busy worker; workers.__main__ must tell a shutdown from a crash.
        self.shutdown_asked = True
        super().request_stop(signum, frame)

    def execute_job(self, job: Job, queue: Queue) -> None:
        self.in_flight = (job, queue)
        super().execute_job(job, queue)  # raises on a lost Redis: in_flight then names the orphan
        self.in_flight = None
        try:
            count_job(job, queue.name)
        except Exception:
            log.debug("could not count job %s", job.id, exc_info=True)


class QueueCollector(Collector):
    """Queue depths (RQ) and the webhook backlog (PostgreSQL), read at scrape time."""

    def __init__(self, queues: list[Queue], db: Engine | None) -> None:
        self.queues = queues
        self.db = db

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("rq_queue_depth", "Jobs waiting in the queue", labels=["queue"])
        scheduled = GaugeMetricFamily("rq_scheduled_jobs", "Jobs scheduled for later (retries)", labels=["queue"])
        started = GaugeMetricFamily("rq_started_jobs", "Jobs running now", labels=["queue"])
        failed = GaugeMetricFamily("rq_failed_jobs", "Jobs in the failed registry", labels=["queue"])
        try:
            for q in self.queues:
                depth.add_metric([q.name], q.count)
                kw: dict[str, Any] = {"queue": q}
                scheduled.add_metric([q.name], ScheduledJobRegistry(**kw).get_job_count(cleanup=False))
                started.add_metric([q.name], StartedJobRegistry(**kw).get_job_count(cleanup=False))
                failed.add_metric([q.name], FailedJobRegistry(**kw).get_job_count(cleanup=False))
        except Exception as exc:  # noqa: BLE001 - Redis down: the scrape still answers
            log.debug("queue metrics unavailable: %s", type(exc).__name__)
        else:
            yield from (depth, scheduled, started, failed)
        yield from self._backlog()

    def _backlog(self) -> Iterator[Metric]:
        if self.db is None:
            return
        try:
            with self.db.connect() as conn:
                undispatched = conn.execute(
                    select(func.count()).select_from(WebhookEvent).where(WebhookEvent.dispatched_at.is_(None))
                ).scalar_one()
                by_status = conn.execute(
                    select(WebhookDelivery.status, func.count())
                    .where(WebhookDelivery.status.in_(("pending", "retrying")))
                    .group_by(WebhookDelivery.status)
                ).all()
        except Exception as exc:  # noqa: BLE001 - PostgreSQL down: report nothing rather than fail the scrape
            log.debug("webhook backlog unavailable: %s", type(exc).__name__)
            return
        yield GaugeMetricFamily("webhook_outbox_undispatched", "Outbox events not yet dispatched", value=undispatched)
        backlog = GaugeMetricFamily("webhook_deliveries_open", "Deliveries waiting to be sent", labels=["status"])
        counts = dict.fromkeys(("pending", "retrying"), 0) | {str(s): int(n) for s, n in by_status}
        for status, n in sorted(counts.items()):
            backlog.add_metric([status], n)
        yield backlog


def register(queues: list[Queue], db: Engine | None) -> None:
    """Expose queue depths and the webhook backlog through the default registry."""
    REGISTRY.register(QueueCollector(queues, db))
