"""HTTP metrics of the web process and the /metrics endpoint (Prometheus text format)."""

from __future__ import annotations

import hmac
import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from common.metrics import registry

REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["method", "endpoint"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WS_CONNECTIONS = Gauge("websocket_connections", "Open WebSocket connections", multiprocess_mode="livesum")
WS_FRAMES_DROPPED = Counter("websocket_frames_dropped_total", "Quote frames dropped for slow clients")


def init_app(app: Flask) -> None:
    """Time every request and serve /metrics (behind METRICS_TOKEN when it is set)."""

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.get("request_started")
        if started is not None and request.path != "/metrics":
            endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
            LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - started)
            REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        token = app.config["SETTINGS"].metrics_token
        if token:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                return Response("unauthorized\n", status=401, mimetype="text/plain")
        reg = registry()
        body = generate_latest(reg) if reg is not None else generate_latest()
        return Response(body, mimetype=CONTENT_TYPE_LATEST)
