"""`python -m engine [--shard K]`: run one engine shard until SIGTERM; restart from PostgreSQL on failure."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from common.logs import setup_logging
from common.metrics import serve_metrics
from common.redis_conn import make_redis
from config import get_settings
from engine import metrics
from engine.bus import Bus
from engine.runner import Options, ShardEngine
from models.session import make_engine

log = logging.getLogger("engine")


def _options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m engine", description="Run one shard of the trading engine.")
    parser.add_argument("--shard", type=int, default=0, help="shard number, 0 .. ENGINE_SHARDS-1 (default 0)")
    parser.add_argument("--lease-ms", type=int, default=10_000, help="lease time-to-live in ms (default 10000)")
    parser.add_argument("--figures-ms", type=int, default=250, help="live figures refresh interval in ms")
    return parser.parse_args(argv)


def _rollover_minute(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def main(argv: list[str] | None = None) -> int:
    args = _options(argv)
    settings = get_settings()
    setup_logging(f"engine-{args.shard}", settings.log_level, settings.log_json)
    if not 0 <= args.shard < settings.engine_shards:
        log.error(
            "--shard %s is outside 0..%s (ENGINE_SHARDS=%s)",
            args.shard,
            settings.engine_shards - 1,
            settings.engine_shards,
        )
        return 2
    options = Options(
        shard=args.shard,
        shards=settings.engine_shards,
        batch_size=settings.engine_batch_size,
        block_ms=settings.engine_block_ms,
        lease_ms=args.lease_ms,
        figures_ms=args.figures_ms,
        rollover_minute=_rollover_minute(settings.rollover_utc),
    )
    db = make_engine(settings.database_url, pool_size=4, max_overflow=2)
    redis_client = make_redis(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        pool_timeout_s=settings.redis_pool_timeout_s,
        health_check_interval=0,
    )
    # One port per shard on a host: ENGINE_METRICS_PORT + K.
    port = settings.engine_metrics_port + args.shard if settings.engine_metrics_port else 0
    serve_metrics(port, f"engine shard {args.shard}")
    stop = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        log.info("signal %s: stopping after the current batch", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    backoff = 0.5
    while not stop.is_set():
        engine = ShardEngine(db, Bus(redis_client, args.shard, options.batch_size, options.block_ms), options)
        try:
            engine.run(stop)
            backoff = 0.5
        except Exception:  # any failure: drop the memory state, restart from PostgreSQL
            log.exception("engine shard %s failed; restarting from PostgreSQL in %.1f s", args.shard, backoff)
            metrics.RESTARTS.labels(args.shard).inc()
            stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)
    log.info("engine shard %s stopped", args.shard)
    return 0


if __name__ == "__main__":
    sys.exit(main())
