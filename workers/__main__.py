"""The worker process: an RQ worker (with its scheduler) on the webhooks and mail queues, plus
background loops registered in BACKGROUND_LOOPS (e.g. the webhook outbox dispatcher)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable

import redis
from rq import Queue
from rq.registry import StartedJobRegistry
from rq.scripts import release_lock

from common.logs import setup_logging
from common.metrics import serve_metrics
from config import get_settings
from models.session import engine_for
from workers import metrics
from workers.queues import ALL_QUEUES, queue, rq_connection

log = logging.getLogger("workers")

# Each loop takes a threading.Event that is set on shutdown and returns when it is set.
BACKGROUND_LOOPS: list[Callable[[threading.Event], None]] = []


def _load_loops() -> None:
    """Import the modules that register background loops (kept optional while they are built)."""
    import importlib

    for module in ("workers.dispatcher", "workers.retention", "workers.audit_head"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def main() -> int:
    settings = get_settings()
    setup_logging("worker", settings.log_level, settings.log_json)
    _load_loops()
    stop = threading.Event()
    threads = [
        threading.Thread(target=loop, args=(stop,), name=loop.__name__, daemon=True) for loop in BACKGROUND_LOOPS
    ]
    for thread in threads:
        thread.start()
    connection = rq_connection(settings.redis_url)
    queues = [queue(name, settings.redis_url) for name in ALL_QUEUES]
    metrics.register(queues, engine_for(settings.database_url) if settings.database_url else None)
    serve_metrics(settings.worker_metrics_port, "worker")
    log.info("worker starting on queues %s with %d background loops", ", ".join(ALL_QUEUES), len(threads))
    try:
        _work(queues, connection, settings.log_level, stop)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
    return 0


def _work(queues: list[Queue], connection: redis.Redis, log_level: str, stop: threading.Event) -> None:
    """Run the RQ worker until a shutdown is asked for, starting it again after a lost Redis.

    RQ's work loop quits on a Redis error (a restart, a failover); a worker process that exits
    with it would stop webhook and mail delivery until someone restarts it.
    """

    def _shutdown(signum: int, frame: object) -> None:
        stop.set()  # between two RQ loops (RQ installs its own handlers while it works)

    backoff = 0.5
    while not stop.is_set():
        # A short maintenance interval lets a standby worker take over the scheduler lock within a
        # minute of a crash (RQ's default is 10 minutes), so scheduled webhook retries are not held up.
        worker = metrics.MeteredWorker(queues, connection=connection, maintenance_interval=60)
        try:
            worker.work(with_scheduler=True, logging_level=log_level)
        except redis.RedisError as exc:
            log.warning("RQ worker lost Redis: %s", type(exc).__name__)
        signal.signal(signal.SIGTERM, _shutdown)
        signal.signal(signal.SIGINT, _shutdown)
        if worker.shutdown_asked or stop.is_set():
            return
        _release_scheduler_locks(worker)
        log.warning("RQ worker stopped unexpectedly; starting it again once Redis answers")
        while not stop.wait(backoff):
            backoff = min(backoff * 2, 10.0)
            try:
                connection.ping()
                break
            except redis.RedisError:
                continue
        backoff = 0.5
        _requeue_orphan(worker)


def _requeue_orphan(worker: metrics.MeteredWorker) -> None:
    """Put back the job the dead loop was running: RQ would call it abandoned only after its timeout.

    Jobs are at-least-once (a webhook delivery checks its row first; receivers deduplicate on
    webhook-id), so running it again is safe; losing it is not.
    """
    if worker.in_flight is None:
        return
    job, q = worker.in_flight
    worker.in_flight = None
    # A work horse that outlived its worker's loop must not run the job twice at once. Once the
    # horse has finished, RQ sets horse_pid to 0, and kill_horse() would then signal
    # os.getpgid(0): the worker's own process group, killing the worker itself.
    if worker.horse_pid:
        try:
            worker.kill_horse()
        except OSError:
            pass
    try:
        StartedJobRegistry(queue=q).remove_executions(job)
        q.enqueue_job(job)
        log.warning("re-queued job %s, orphaned by the lost Redis connection", job.id)
    except Exception as exc:  # noqa: BLE001 - the worker must live on; RQ's own cleanup is the fallback
        log.warning("could not re-queue job %s (%s); the sweep or RQ's cleanup will", job.id, type(exc).__name__)


def _release_scheduler_locks(worker: metrics.MeteredWorker) -> None:
    """Free the scheduler locks the dead worker held (they would block its successor for a minute)."""
    scheduler = worker.scheduler
    if scheduler is None:
        return
    try:
        worker.stop_scheduler()
    except OSError:
        pass
    for name in list(scheduler._acquired_locks):
        try:
            release_lock(worker.connection, scheduler.get_locking_key(name), scheduler.name)
        except redis.RedisError:
            break  # Redis is still down: the locks expire by themselves


if __name__ == "__main__":
    sys.exit(main())
