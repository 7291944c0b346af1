"""The engine loop of one shard: recover, then read → apply → commit → ack → publish, in batches.

Start-up and recovery are one path: take the lease and a new fencing token, load the shard from
PostgreSQL and the last quotes from md:last, replay this consumer's own pending entries (commands
already processed answer with their stored result), then read new entries. Any failure stops the
loop; __main__ starts it again from PostgreSQL.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine

from common.logs import request_id_var
from engine import metrics, persist, store
from engine.bus import Bus, Entry, Tick, stream_key
from engine.codec import dumps
from engine.committer import Committer, PreparedBatch
from engine.contracts import COMMAND_TYPES, OPEN_ACCOUNT, result_ok, result_rejected
from engine.core.context import CommandIn
from engine.core.engine import TradingCore
from engine.core.journal import Changes

log = logging.getLogger("engine")

DEADLETTER_AFTER = 5  # deliveries of one command that keep crashing the engine
REMEMBERED_RESULTS = 50_000
FIGURES_PER_BATCH = 100  # accounts whose live figures one batch publishes at most
INLINE_BATCH = 8  # a batch this small is committed on the engine thread when the committer is idle


def wall_ms() -> int:
    """The engine's clock (the core never reads one: this value is passed in)."""
    return time.time_ns() // 1_000_000


@dataclass
class Options:
    shard: int = 0
    shards: int = 1
    batch_size: int = 500
    block_ms: int = 5
    lease_ms: int = 10_000
    figures_ms: int = 250
    status_ms: int = 1000
    rollover_minute: int = 21 * 60


@dataclass
class Stats:
    started_at: int = field(default_factory=wall_ms)
    batches: int = 0
    commands: int = 0
    ticks: int = 0
    last_batch_at: int = 0
    last_batch_size: int = 0
    last_lag_ms: int = 0
    # Where the time goes (cumulative ms): rules in memory, the PostgreSQL commit, Redis out.
    core_ms: float = 0.0
    db_ms: float = 0.0
    publish_ms: float = 0.0


class ShardEngine:
    """One shard's engine: owns the lease, the in-memory core, and the batch loop."""

    def __init__(self, db: Engine, bus: Bus, options: Options) -> None:
        self.db = db
        # Look-ups and batch commits run in autocommit mode: write_batch spells its transaction out
        # (BEGIN ... COMMIT in its own statements), which saves the driver's two extra round trips.
        self.autocommit = db.execution_options(isolation_level="AUTOCOMMIT")
        self.bus = bus
        self.opt = options
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.fence = 0
        self.core: TradingCore | None = None
        self.results: OrderedDict[str, str] = OrderedDict()  # command id -> result JSON
        self.stats = Stats()
        self._lease_renewed = 0.0
        self._last_status = 0
        self._last_trim = 0
        self._last_acked: str | None = None
        self._conn: Connection | None = None
        self.committer: Committer | None = None
        self._figures: list[tuple[int, dict[str, Any]]] = []
        self._counters: dict[tuple[str, str], Any] = {}
        self.last_tick_id: str | None = None

    # --- lease --------------------------------------------------------------------------------------

    def acquire(self, stop: threading.Event) -> bool:
        """Wait for the shard's lease, then take a new fencing token in PostgreSQL."""
        waiting_logged = False
        while not stop.is_set():
            if self.bus.try_lease(self.token, self.opt.lease_ms):
                break
            if not waiting_logged:
                log.info("shard %s is owned by another engine; waiting for its lease", self.opt.shard)
                waiting_logged = True
            stop.wait(min(1.0, self.opt.lease_ms / 4000))
        else:
            return False
        self._lease_renewed = time.monotonic()
        with self.db.begin() as conn:
            self.fence = store.acquire_fence(conn, self.opt.shard, self.token)
        self.bus.publish_fence(self.fence)
        metrics.FENCE.labels(self.opt.shard).set(self.fence)
        log.info("shard %s acquired (fence %s, owner %s)", self.opt.shard, self.fence, self.token)
        return True

    def keep_lease(self) -> None:
        if (time.monotonic() - self._lease_renewed) * 1000 >= self.opt.lease_ms / 3:
            self.bus.renew_lease(self.token, self.opt.lease_ms)
            self._lease_renewed = time.monotonic()

    # --- start-up = recovery ------------------------------------------------------------------------

    def recover(self) -> None:
        """Load the shard from PostgreSQL and the last quotes; evaluate every account; persist that."""
        started = time.monotonic()
        with self.db.connect() as conn:
            instruments = store.load_instruments(conn)
            progress = store.shard_progress(conn, self.opt.shard)
            core = TradingCore(instruments, store.SequenceIds(self.db), self.opt.rollover_minute)
            store.load_state(conn, core, self.opt.shard, self.opt.shards)
        if progress.get("last_rollover") is not None:
            core.last_rollover = store.to_ms(progress["last_rollover"])
        self.last_tick_id = progress.get("last_tick_id")
        for symbol, quote in self.bus.last_quotes().items():
            try:
                core.set_quote(symbol, Decimal(quote["bid"]), Decimal(quote["ask"]), int(quote["ts"]))
            except (KeyError, ValueError, ArithmeticError, TypeError):
                continue
        self.core = core
        self.bus.ensure_groups()
        now = wall_ms()
        core.start(now)
        core.on_time(now)
        figures = core.refresh(now, self.opt.figures_ms)
        with self.autocommit.connect() as conn:
            self.write(conn, PreparedBatch(self._drain(), figures=figures))
        # The loaded state lives as long as the process: keep the cyclic collector off it, and run
        # it rarely (a full collection over many objects is a latency spike of tens of ms).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
        log.info(
            "shard %s recovered in %.0f ms: %d accounts, %d open positions, %d pending orders",
            self.opt.shard,
            (time.monotonic() - started) * 1000,
            len(core.accounts),
            len(core.positions),
            len(core.orders),
        )

    def replay_pending(self) -> None:
        """Apply (or answer again) this consumer's entries that were read but not acknowledged."""
        while True:
            self.keep_lease()
            entries, ticks, counts = self.bus.own_pending()
            if not entries and not ticks:
                return
            poison = [e for e in entries if counts.get(e.stream_id, 0) >= DEADLETTER_AFTER]
            for entry in poison:
                log.error("command %s crashed the engine %d times: dead-lettered", entry.stream_id, DEADLETTER_AFTER)
                self.bus.deadletter(entry, "crashed the engine repeatedly")
            last = stream_key(self.last_tick_id) if self.last_tick_id else None
            fresh_ticks = [t for t in ticks if last is None or stream_key(t.stream_id) > last]
            self.process(
                entries, fresh_ticks, poison={e.stream_id for e in poison}, extra_tick_acks=[t.stream_id for t in ticks]
            )
            assert self.committer is not None
            self.committer.flush()  # acknowledged before the pending list is read again

    # --- the loop -------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        if not self.acquire(stop):
            return
        try:
            self.recover()
            self.committer = Committer(self.autocommit, self.write, f"committer-{self.opt.shard}")
            self.replay_pending()
            idle = True
            size = self.opt.batch_size
            while not stop.is_set():
                self.keep_lease()
                entries, ticks = self.bus.read(block=idle)
                # A read that came back short left nothing behind: the next one may block (it
                # returns as soon as a command arrives) instead of first polling both streams.
                idle = len(entries) < size and len(ticks) < size
                self.process(entries, ticks)
        finally:
            if self.committer is not None:
                self.committer.close()
            if self._conn is not None:
                self._conn.close()
            try:
                self.bus.release_lease(self.token)
            except Exception:  # noqa: BLE001 - best effort; the lease expires anyway
                log.warning("could not release the lease of shard %s", self.opt.shard)

    def process(
        self,
        entries: Sequence[Entry],
        ticks: Sequence[Tick],
        poison: set[str] | None = None,
        extra_tick_acks: Sequence[str] | None = None,
    ) -> None:
        """Apply one batch in memory and hand it to the committer (commit, then ack, then publish)."""
        core = self.core
        assert core is not None
        committer = self.committer
        assert committer is not None
        committer.check()
        poison = poison or set()
        now = wall_ms()
        started = time.perf_counter()
        conn = self._reader()
        known = self._known(conn, [e.command.command_id for e in entries if e.command is not None])
        users = self._users(conn, [e for e in entries if e.stream_id not in poison])
        # Stream ids order entries of one stream only: sequence numbers are per stream, so within
        # one millisecond a command and a tick cannot be ordered by them. The merge orders by
        # millisecond, then ticks before commands: a command never misses a quote published in
        # its own millisecond (at worst it fills at a quote less than 1 ms newer than itself).
        merged: list[tuple[int, int, int, Entry | Tick]] = []
        for e in entries:
            ms, seq = stream_key(e.stream_id)
            merged.append((ms, 1, seq, e))
        for t in ticks:
            ms, seq = stream_key(t.stream_id)
            merged.append((ms, 0, seq, t))
        merged.sort(key=lambda item: item[:3])
        batch = PreparedBatch(Changes())
        for *_, item in merged:
            if isinstance(item, Tick):
                if item.symbol:
                    core.on_tick(item.symbol, item.bid, item.ask, item.ts, now)
                continue
            outcome = self._apply(item, known, users, now, poison)
            if outcome is None:
                continue
            command_id, result, new = outcome
            batch.replies.append((command_id, result))
            if new:
                batch.processed.append(new)
        core.on_time(now)
        # Live figures computed after the previous batch ride with this one: computing them never
        # delays a batch's commit and replies.
        batch.figures, self._figures = self._figures, []
        batch.changes = self._drain()
        batch.command_ids = [e.stream_id for e in entries]
        batch.tick_ids = list(extra_tick_acks if extra_tick_acks is not None else [t.stream_id for t in ticks])
        batch.last_command = entries[-1].stream_id if entries else None
        batch.last_tick = ticks[-1].stream_id if ticks else None
        applied = time.perf_counter() - started
        self.stats.core_ms += applied * 1000
        request_id_var.set(None)
        if entries or ticks:
            metrics.STAGE_SECONDS.labels(self.opt.shard, "apply").observe(applied)
        if entries or ticks or batch.figures or batch.tick_ids or not batch.changes.empty():
            if len(entries) + len(ticks) <= INLINE_BATCH and committer.idle():
                # A small batch with nothing ahead of it: written here, which spares the hand-over
                # to the commit thread (two thread wake-ups, often a wait for a core).
                self.write(self._reader(), batch)
            else:
                committer.submit(batch)
        self._figures = core.refresh(now, self.opt.figures_ms, FIGURES_PER_BATCH)
        # refresh() may act (a stop-out found on a stale account): those changes go with the next batch.
        self._after_batch(entries, ticks, now)

    def _drain(self) -> Changes:
        """Take the batch's changes after checking the invariants of every account it touched."""
        core = self.core
        assert core is not None
        changes = core.drain()
        for account in {**changes.accounts, **changes.new_accounts}.values():
            core.check(account, full=account.version % 16 == 0 or len(account.positions) <= 16)
        return changes

    def _apply(
        self,
        entry: Entry,
        known: dict[str, str],
        users: set[int],
        now: int,
        poison: set[str],
    ) -> tuple[str, str, persist.Processed | None] | None:
        """Apply one command (or find its stored result): (command id, result JSON, row to store)."""
        command = entry.command
        if command is None:
            log.warning("malformed command entry %s dropped", entry.stream_id)
            return None
        kind = command.type if command.type in COMMAND_TYPES else "other"
        if command.command_id in known:
            self._count(kind, "duplicate")
            return command.command_id, known[command.command_id], None
        # Log lines written while the command is applied carry the id of the HTTP request behind it.
        request_id_var.set(command.actor.get("request_id") if isinstance(command.actor, dict) else None)
        if entry.stream_id in poison:
            result = result_rejected(command.command_id, "internal_error", "the command could not be processed")
        else:
            core = self.core
            assert core is not None
            user_exists = command.type != OPEN_ACCOUNT or _user_id(command.payload) in users
            outcome = core.execute(
                CommandIn(
                    command.command_id, command.type, command.account_id, command.payload, command.actor, user_exists
                ),
                now,
            )
            if outcome.pop("ok"):
                result = result_ok(command.command_id, **outcome)
            else:
                result = result_rejected(command.command_id, outcome.pop("code"), outcome.pop("message"), **outcome)
        self._count(kind, "ok" if result.get("ok") else "rejected")
        encoded = _json(result)
        known[command.command_id] = encoded
        self._remember(command.command_id, encoded)
        row = persist.Processed(command.command_id, command.type, command.account_id, entry.stream_id, encoded)
        return command.command_id, encoded, row

    def _count(self, kind: str, result: str) -> None:
        """engine_commands_total, with the labelled children kept (labels() costs more than inc())."""
        child = self._counters.get((kind, result))
        if child is None:
            child = self._counters[(kind, result)] = metrics.COMMANDS.labels(self.opt.shard, kind, result)
        child.inc()

    def _remember(self, command_id: str, result: str) -> None:
        """Keep recent results in memory: a repeat in a later batch is answered before the commit."""
        self.results[command_id] = result
        self.results.move_to_end(command_id)
        while len(self.results) > REMEMBERED_RESULTS:
            self.results.popitem(last=False)

    def _reader(self) -> Connection:
        """The engine thread's own connection: look-ups and the small batches it commits itself."""
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.autocommit.connect()
        return self._conn

    def _known(self, conn: Connection, command_ids: list[str]) -> dict[str, str]:
        """Results of commands processed before (memory first, then PostgreSQL)."""
        known = {cid: self.results[cid] for cid in command_ids if cid in self.results}
        missing = [cid for cid in command_ids if cid not in known]
        if missing:
            known.update(store.known_results(conn, missing))
        return known

    def _users(self, conn: Connection, entries: Sequence[Entry]) -> set[int]:
        ids = [
            _user_id(e.command.payload)
            for e in entries
            if e.command is not None and e.command.type == OPEN_ACCOUNT and _user_id(e.command.payload) is not None
        ]
        if not ids:
            return set()
        return store.existing_users(conn, [i for i in ids if i is not None])

    def write(self, conn: Connection, batch: PreparedBatch) -> None:
        """Commit one batch in one transaction, then acknowledge it, then publish (committer thread)."""
        started = time.perf_counter()
        changes = batch.changes
        # A batch of quotes that changed nothing is not written: replaying such ticks after a crash
        # is harmless (on_tick ignores quotes older than md:last, loaded at start).
        if not changes.empty() or batch.processed or batch.last_command:
            persist.write_batch(
                conn,
                shard=self.opt.shard,
                fence=self.fence,
                changes=changes,
                processed=batch.processed,
                last_stream_id=batch.last_command,
                last_tick_id=batch.last_tick,
            )
        committed = time.perf_counter()
        self.stats.db_ms += (committed - started) * 1000
        self.bus.publish(batch.replies, changes.events, batch.figures, batch.command_ids, batch.tick_ids)
        self._observe_write(batch, committed - started, time.perf_counter() - committed)
        if batch.last_command:
            self._last_acked = batch.last_command
        if batch.last_tick:
            self.last_tick_id = batch.last_tick
        self.stats.publish_ms += (time.perf_counter() - committed) * 1000

    def _after_batch(self, entries: Sequence[Entry], ticks: Sequence[Tick], now: int) -> None:
        stats = self.stats
        if entries or ticks:
            stats.batches += 1
            stats.commands += len(entries)
            stats.ticks += len(ticks)
            stats.last_batch_at = now
            stats.last_batch_size = len(entries) + len(ticks)
            oldest = min((stream_key(e.stream_id)[0] for e in entries), default=now)
            stats.last_lag_ms = max(0, now - oldest)
            shard = self.opt.shard
            metrics.BATCHES.labels(shard).inc()
            metrics.BATCH_SIZE.labels(shard).observe(len(entries) + len(ticks))
            metrics.TICKS.labels(shard).inc(len(ticks))
            metrics.LAG.labels(shard).set(stats.last_lag_ms / 1000)
        if now - self._last_trim >= 1000 and self._last_acked:
            self.bus.trim(self._last_acked)
            self._last_trim = now
        if now - self._last_status >= self.opt.status_ms:
            self._publish_status(now)
            self._last_status = now

    def _observe_write(self, batch: PreparedBatch, commit_s: float, publish_s: float) -> None:
        """Commit and publish times of a batch; each command's time from XADD to its published reply."""
        shard = self.opt.shard
        if batch.command_ids or batch.last_tick:
            metrics.STAGE_SECONDS.labels(shard, "commit").observe(commit_s)
            metrics.STAGE_SECONDS.labels(shard, "publish").observe(publish_s)
        if batch.command_ids:
            published = wall_ms()
            histogram = metrics.COMMAND_LATENCY.labels(shard)
            for stream_id in batch.command_ids:
                histogram.observe(max(0, published - stream_key(stream_id)[0]) / 1000)

    def _publish_status(self, now: int) -> None:
        core = self.core
        assert core is not None
        stats = self.stats
        pending = self.bus.pending_commands()
        metrics.PENDING.labels(self.opt.shard).set(pending)
        self.bus.status(
            {
                "shard": self.opt.shard,
                "owner": self.token,
                "fence": self.fence,
                "started_at": stats.started_at,
                "updated_at": now,
                "last_batch_at": stats.last_batch_at,
                "last_batch_size": stats.last_batch_size,
                "lag_ms": stats.last_lag_ms,
                "pending_commands": pending,
                "batches": stats.batches,
                "commands": stats.commands,
                "ticks": stats.ticks,
                "accounts": len(core.accounts),
                "open_positions": len(core.positions),
                "pending_orders": len(core.orders),
                "core_ms": round(stats.core_ms),
                "db_ms": round(stats.db_ms),
                "publish_ms": round(stats.publish_ms),
            }
        )


def _json(value: Any) -> str:
    return dumps(value)


def _user_id(payload: dict[str, Any]) -> int | None:
    try:
        return int(payload.get("user_id"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
