"""Prometheus metrics for every process: web uses multiprocess mode, the others a small HTTP server."""

from __future__ import annotations

import logging
import os

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client import multiprocess as prom_multiprocess

log = logging.getLogger(__name__)


def registry() -> CollectorRegistry | None:
    """The registry to expose: aggregated across gunicorn workers when PROMETHEUS_MULTIPROC_DIR is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        reg = CollectorRegistry()
        prom_multiprocess.MultiProcessCollector(reg)  # type: ignore[no-untyped-call]
        return reg
    return None


def serve_metrics(port: int, process: str) -> None:
    """Expose /metrics of a non-web process on 127.0.0.1:port (0 = off)."""
    if port <= 0:
        return
    host = os.environ.get("METRICS_HOST", "127.0.0.1")
    start_http_server(port, addr=host)
    log.info("%s metrics on http://%s:%d/metrics", process, host, port)
