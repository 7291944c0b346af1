"""The worker process: an RQ worker (with its scheduler) on the webhooks and mail queues, plus
background loops registered in BACKGROUND_LOOPS (e.g. the webhook outbox dispatcher)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable

from rq import Worker

from common.logs import setup_logging
from config import get_settings
from workers.queues import ALL_QUEUES, queue, rq_connection

log = logging.getLogger("workers")

# Each loop takes a threading.Event that is set on shutdown and returns when it is set.
BACKGROUND_LOOPS: list[Callable[[threading.Event], None]] = []


def _load_loops() -> None:
    """Import the modules that register background loops (kept optional while they are built)."""
    import importlib

    for module in ("workers.dispatcher",):
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
    # A short maintenance interval lets a standby worker take over the scheduler lock within a minute
    # of a crash (RQ's default is 10 minutes), so scheduled webhook retries are not held up.
    worker = Worker(
        [queue(name, settings.redis_url) for name in ALL_QUEUES], connection=connection, maintenance_interval=60
    )
    log.info("worker starting on queues %s with %d background loops", ", ".join(ALL_QUEUES), len(threads))

    def _shutdown(signum: int, frame: object) -> None:
        stop.set()
        worker.request_stop(signum, frame)

    signal.signal(signal.SIGTERM, _shutdown)
    try:
        worker.work(with_scheduler=True, logging_level=settings.log_level)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
