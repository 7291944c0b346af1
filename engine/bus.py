"""Redis adapter of the engine: streams in (commands, ticks), replies and events out, the lease.

Commands come from engine:commands:{shard} (group "engine"), ticks from md:ticks (group
engine-{shard}); both are read in batches with XREADGROUP and acknowledged only after the batch
is committed. Replies (LPUSH reply:{id} + EXPIRE), events (PUBLISH account:{id}) and live figures
(HSET acct:{id}) go out after the commit, in one call of a Lua script (one command for the whole
batch: a pipeline of the same commands cost the engine ~25 µs of Python per order, the script ~3).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

import redis

from engine.codec import dumps_bytes
from engine.contracts import (
    ACCOUNT_FIGURES,
    COMMANDS_GROUP,
    MD_LAST,
    REPLY_TTL_S,
    TICKS_STREAM,
    Command,
    account_channel,
    account_figures_key,
    commands_stream,
    deadletter_stream,
    engine_status_key,
    fence_key,
    lease_key,
    reply_key,
    ticks_group,
)

log = logging.getLogger(__name__)

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


# After a batch's commit, in this order: XACK its commands and ticks, push every reply (with its
# TTL), publish every event, then store and publish every account's live figures.
# KEYS: commands stream, ticks stream, one reply list per reply, one figures hash per account.
# ARGV: commands group, ticks group, reply TTL, then four counts (command ids, tick ids, events,
# figures), the ids, the reply values (one per reply key), the events as (channel, message), and
# per account (number of hash fields, field/value pairs..., channel, message).
_PUBLISH = """
local cg, tg, ttl = ARGV[1], ARGV[2], ARGV[3]
local ncmd, ntick, nevent, nfig = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local a = 8
local function ack(stream, group, n)
  local last = a + n - 1
  while a <= last do
    local upto = math.min(a + 999, last)
    redis.call('XACK', stream, group, unpack(ARGV, a, upto))
    a = upto + 1
  end
end
ack(KEYS[1], cg, ncmd)
ack(KEYS[2], tg, ntick)
local nreply = #KEYS - 2 - nfig
for k = 3, nreply + 2 do
  redis.call('LPUSH', KEYS[k], ARGV[a])
  redis.call('EXPIRE', KEYS[k], ttl)
  a = a + 1
end
for _ = 1, nevent do
  redis.call('PUBLISH', ARGV[a], ARGV[a + 1])
  a = a + 2
end
for k = nreply + 3, #KEYS do
  local nfields = tonumber(ARGV[a])
  redis.call('HSET', KEYS[k], unpack(ARGV, a + 1, a + 2 * nfields))
  a = a + 2 * nfields + 1
  redis.call('PUBLISH', ARGV[a], ARGV[a + 1])
  a = a + 2
end
return a - 1
"""


class LeaseLost(RuntimeError):
    """The shard's lease expired or was taken: stop writing at once."""


class Tick(NamedTuple):
    stream_id: str
    symbol: str
    bid: Decimal
    ask: Decimal
    ts: int


class Entry(NamedTuple):
    """A command stream entry: the decoded command, or None when it is malformed."""

    stream_id: str
    command: Command | None
    raw: dict[str, str]


def stream_key(stream_id: str) -> tuple[int, int]:
    """A stream id as (ms, seq); seq orders entries of one stream only (see ShardEngine.process)."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def parse_tick(stream_id: str, fields: dict[str, str]) -> Tick | None:
    try:
        return Tick(stream_id, fields["symbol"], Decimal(fields["bid"]), Decimal(fields["ask"]), int(fields["ts"]))
    except (KeyError, ValueError, InvalidOperation):
        return None


class Bus:
    """The engine's Redis: one client for blocking reads, a pipeline for everything it publishes."""

    def __init__(self, r: redis.Redis, shard: int, batch_size: int, block_ms: int) -> None:
        self.r = r
        self.shard = shard
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.commands = commands_stream(shard)
        self.consumer = f"engine-{shard}"
        self.tick_group = ticks_group(shard)
        self._renew = r.register_script(_RENEW)
        self._release = r.register_script(_RELEASE)
        self._publish = r.register_script(_PUBLISH)

    # --- lease ----------------------------------------------------------------------------------

    def try_lease(self, token: str, lease_ms: int) -> bool:
        return bool(self.r.set(lease_key(self.shard), token, nx=True, px=lease_ms))

    def renew_lease(self, token: str, lease_ms: int) -> None:
        if not self._renew(keys=[lease_key(self.shard)], args=[token, lease_ms]):
            raise LeaseLost(f"shard {self.shard}: lease lost")

    def release_lease(self, token: str) -> None:
        self._release(keys=[lease_key(self.shard)], args=[token])

    def publish_fence(self, fence: int) -> None:
        self.r.set(fence_key(self.shard), fence)

    # --- reading ----------------------------------------------------------------------------------

    def ensure_groups(self) -> None:
        """Commands are read from the start of the stream; ticks from now on (old prices are useless)."""
        for stream, group, start in ((self.commands, COMMANDS_GROUP, "0"), (TICKS_STREAM, self.tick_group, "$")):
            try:
                self.r.xgroup_create(stream, group, id=start, mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def last_quotes(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        raw_quotes: Any = self.r.hgetall(MD_LAST) or {}
        for symbol, raw in raw_quotes.items():
            try:
                out[symbol] = json.loads(raw)
            except (TypeError, ValueError):
                continue
        return out

    def own_pending(self) -> tuple[list[Entry], list[Tick], dict[str, int]]:
        """This consumer's unacknowledged entries (after a crash), with delivery counts of commands."""
        entries = self._read_commands("0", self.batch_size * 20, None)
        ticks = self._read_ticks("0", self.batch_size * 20, None)
        counts: dict[str, int] = {}
        if entries:
            pending: Any = self.r.xpending_range(
                self.commands, COMMANDS_GROUP, "-", "+", len(entries) + 10, self.consumer
            )
            for item in pending:
                counts[str(item["message_id"])] = int(item["times_delivered"])
        return entries, ticks, counts

    def read(self, block: bool) -> tuple[list[Entry], list[Tick]]:
        """A batch of new commands and ticks; blocks briefly on commands when idle.

        Ticks are read after the commands (in the same round trip): every quote published before a
        command we hold is visible then, so the stream-id merge applies it first.
        """
        # One round trip either way: Redis runs a pipelined command only after the blocking read
        # before it has returned, so the ticks are still read after the commands.
        pipe = self.r.pipeline(transaction=False)
        pipe.xreadgroup(
            COMMANDS_GROUP,
            self.consumer,
            {self.commands: ">"},
            count=self.batch_size,
            block=self.block_ms if block else None,
        )
        pipe.xreadgroup(self.tick_group, self.consumer, {TICKS_STREAM: ">"}, count=self.batch_size)
        commands, ticks = pipe.execute()
        entries = self._entries(commands)
        return entries, self._ticks_through(entries, self._ticks(ticks))

    def _ticks_through(self, entries: list[Entry], ticks: list[Tick]) -> list[Tick]:
        """Complete `ticks` up to the batch's last command.

        A full tick read (a backlog of quotes) may stop before quotes published ahead of a command
        in the batch; the merge (engine.runner) would then apply the command first, at an older
        price or with none. Reading on until the ticks pass the last command's millisecond (or run
        out) keeps the order.
        """
        if not entries or len(ticks) < self.batch_size:
            return ticks
        last_ms = stream_key(entries[-1].stream_id)[0]
        read = len(ticks)
        while read == self.batch_size and stream_key(ticks[-1].stream_id)[0] <= last_ms:
            more = self._read_ticks(">", self.batch_size, None)
            ticks.extend(more)
            read = len(more)
        return ticks

    def _read_commands(self, start: str, count: int, block: int | None) -> list[Entry]:
        reply: Any = self.r.xreadgroup(COMMANDS_GROUP, self.consumer, {self.commands: start}, count=count, block=block)
        return self._entries(reply)

    def _entries(self, reply: Any) -> list[Entry]:
        out = []
        for _, items in reply or []:
            for stream_id, fields in items:
                if fields is None:  # trimmed while pending: nothing to apply
                    out.append(Entry(stream_id, None, {}))
                    continue
                try:
                    command = Command.from_fields(fields)
                except ValueError:
                    command = None
                out.append(Entry(stream_id, command, fields))
        return out

    def _read_ticks(self, start: str, count: int, block: int | None) -> list[Tick]:
        reply: Any = self.r.xreadgroup(self.tick_group, self.consumer, {TICKS_STREAM: start}, count=count, block=block)
        return self._ticks(reply)

    def _ticks(self, reply: Any) -> list[Tick]:
        out = []
        for _, items in reply or []:
            for stream_id, fields in items:
                tick = parse_tick(stream_id, fields or {})
                out.append(tick if tick is not None else Tick(stream_id, "", Decimal(0), Decimal(0), 0))
        return out

    # --- after commit ----------------------------------------------------------------------------------

    def trim(self, up_to: str) -> None:
        """Drop acknowledged commands (MINID: never an unprocessed one, unlike MAXLEN)."""
        self.r.xtrim(self.commands, minid=up_to, approximate=True)

    def deadletter(self, entry: Entry, reason: str) -> None:
        fields: dict[Any, Any] = {**entry.raw, "stream_id": entry.stream_id, "reason": reason}
        self.r.xadd(deadletter_stream(self.shard), fields)

    def publish(
        self,
        replies: Iterable[tuple[str, str]],
        events: Iterable[tuple[int, dict[str, Any]]],
        figures: Iterable[tuple[int, dict[str, Any]]],
        command_ids: Sequence[str] = (),
        tick_ids: Sequence[str] = (),
    ) -> None:
        """Acknowledge the batch, then send replies (JSON already encoded), events and live figures.

        One command, the _PUBLISH script, which Redis runs as a whole: XACK first, then the
        replies, the events and the figures, in the order given.
        """
        keys: list[Any] = [self.commands, TICKS_STREAM]
        values: list[Any] = []
        for command_id, result_json in replies:
            keys.append(reply_key(command_id))
            values.append(result_json)
        messages: list[Any] = []
        for account_id, event in events:
            messages.append(account_channel(account_id))
            messages.append(_json(event))
        nevents = len(messages) // 2
        nfigures = 0
        for account_id, data in figures:
            mapping: dict[str, Any] = {
                name: "" if data.get(name) is None else str(data[name]) for name in ACCOUNT_FIGURES
            }
            # The positions (the bulk of it) are encoded once, for the hash and the event alike.
            positions = mapping["positions"] = _json(data.get("positions", {}))
            for extra in ("leverage", "trading_rights", "margin_call_level", "stop_out_level"):
                if extra in data:
                    mapping[extra] = str(data[extra])
            keys.append(account_figures_key(account_id))
            messages.append(len(mapping))
            for name, value in mapping.items():
                messages.append(name)
                messages.append(value)
            head = _json({"type": "account", "account_id": account_id, **_without(data, "positions")})
            messages.append(account_channel(account_id))
            messages.append(head[:-1] + b',"positions":' + positions + b"}")
            nfigures += 1
        if not (command_ids or tick_ids or values or nevents or nfigures):
            return
        head_args: list[Any] = [
            COMMANDS_GROUP,
            self.tick_group,
            REPLY_TTL_S,
            len(command_ids),
            len(tick_ids),
            nevents,
            nfigures,
        ]
        self._publish(keys=keys, args=[*head_args, *command_ids, *tick_ids, *values, *messages])

    def status(self, data: dict[str, Any]) -> None:
        mapping: dict[Any, Any] = {k: str(v) for k, v in data.items()}
        self.r.hset(engine_status_key(self.shard), mapping=mapping)

    def pending_commands(self) -> int:
        """Commands waiting: delivered-not-acked plus not yet delivered (the group lag)."""
        try:
            groups = self.r.xinfo_groups(self.commands)
        except redis.ResponseError:
            return 0
        for group in groups:
            if group.get("name") == COMMANDS_GROUP:
                return int(group.get("pending") or 0) + int(group.get("lag") or 0)
        return 0


def _json(value: Any) -> bytes:
    return dumps_bytes(value)


def _without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}
