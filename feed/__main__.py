"""`python -m feed`: the one upstream market-data connection of the platform."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from functools import partial

from common.logs import setup_logging
from common.metrics import serve_metrics
from config import get_settings
from feed import metrics
from feed.client import RestClient, endpoints
from feed.instruments import load_enabled
from feed.publisher import Publisher
from feed.runner import Feed, FeedConfig

log = logging.getLogger("feed")


async def _main() -> int:
    settings = get_settings()
    ep = endpoints(settings)
    publisher = Publisher.from_url(settings.redis_url)
    feed = Feed(
        FeedConfig.from_settings(settings),
        ep,
        publisher,
        RestClient.from_endpoints(ep),
        partial(load_enabled, settings.database_url),
    )
    metrics.register(feed)
    serve_metrics(settings.feed_metrics_port, "feed")
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, feed.stop)
    log.info("feed starting (source %s, ws %s, rest %s)", ep.source, ep.ws_url_for_logs(), ep.rest_url)
    try:
        await feed.run()
    finally:
        await publisher.close()
    log.info("feed stopped")
    return 0


def main() -> int:
    settings = get_settings()
    setup_logging("feed", settings.log_level, settings.log_json)
    if not settings.redis_url or not settings.database_url:
        log.error("REDIS_URL and DATABASE_URL must be set (run through `python launcher.py` for the embedded default)")
        return 2
    return asyncio.run(_main())


if __name__ == "__main__":
    sys.exit(main())
