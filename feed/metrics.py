"""Prometheus metrics of the feed process (served by common.metrics.serve_metrics on FEED_METRICS_PORT).

Ticks are counted as they are published; everything else is read from the feed's state when
Prometheus scrapes, so a quote's age is exact at scrape time rather than as of the last status tick.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from feed.state import FeedState

MODES = ("ws", "rest-fallback", "down")

TICKS = Counter("feed_ticks_total", "Quotes published to Redis (md:ticks, md:quote, md:last)", ["symbol"])


class FeedCollector(Collector):
    """Quote age per symbol, feed mode and connection counters, read from the live feed state."""

    def __init__(self, feed: FeedState) -> None:
        self.feed = feed

    def collect(self) -> Iterator[Metric]:
        feed = self.feed
        now_ms = time.time() * 1000
        age = GaugeMetricFamily(
            "feed_quote_age_seconds", "Seconds since the last quote published per symbol", labels=["symbol"]
        )
        for symbol, ts in sorted(feed.last_tick_ms.items()):
            age.add_metric([symbol], max(0.0, (now_ms - ts) / 1000))
        yield age
        mode = GaugeMetricFamily(
            "feed_mode", "1 for the feed's current mode (ws, rest-fallback, down)", labels=["mode"]
        )
        for name in MODES:
            mode.add_metric([name], 1.0 if feed.mode == name else 0.0)
        yield mode
        yield GaugeMetricFamily(
            "feed_ws_connected", "1 while the upstream WebSocket is open", value=feed.ws is not None
        )
        yield GaugeMetricFamily("feed_symbols", "Enabled instruments the feed serves", value=len(feed.specs))
        yield GaugeMetricFamily("feed_rest_symbols", "Symbols currently served by REST polling", len(feed.rest_symbols))
        yield CounterMetricFamily("feed_reconnects", "Upstream WebSocket reconnects", value=feed.reconnects)
        yield CounterMetricFamily("feed_rest_polls", "REST fallback polls", value=feed.rest_polls)
        yield CounterMetricFamily("feed_bad_frames", "Malformed upstream messages dropped", value=feed.bad_frames)


def register(feed: FeedState) -> None:
    """Expose the feed's state through the default registry (what serve_metrics serves)."""
    REGISTRY.register(FeedCollector(feed))
