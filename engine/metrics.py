"""Prometheus metrics of one engine shard (served by common.metrics.serve_metrics on ENGINE_METRICS_PORT).

Updated by the runner: per batch on the engine thread (what was applied) and on the commit thread
(commit and publish times, the end-to-end latency of each command). Labelled by shard so several
shards can be scraped into one series set.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

COMMANDS = Counter("engine_commands_total", "Commands processed, by type and result", ["shard", "type", "result"])
TICKS = Counter("engine_ticks_total", "Quotes applied from md:ticks", ["shard"])
BATCHES = Counter("engine_batches_total", "Batches applied (commands and ticks read together)", ["shard"])
BATCH_SIZE = Histogram("engine_batch_size", "Entries (commands + ticks) per batch", ["shard"], buckets=_BATCH_BUCKETS)
STAGE_SECONDS = Histogram(
    "engine_batch_seconds",
    "Time per batch and stage (apply in memory, commit, publish)",
    ["shard", "stage"],
    buckets=_SECONDS,
)
COMMAND_LATENCY = Histogram(
    "engine_command_latency_seconds",
    "From the command's XADD to its reply being published (queueing, rules, commit)",
    ["shard"],
    buckets=_SECONDS,
)
LAG = Gauge("engine_lag_seconds", "Age of the oldest command in the last batch when it was read", ["shard"])
PENDING = Gauge("engine_pending_commands", "Commands read but not yet acknowledged", ["shard"])
FENCE = Gauge("engine_fence", "Fencing token of the running shard owner", ["shard"])
RESTARTS = Counter("engine_restarts_total", "Restarts of the shard loop from PostgreSQL after a failure", ["shard"])
