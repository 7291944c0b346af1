"""What the engine sends to Redis for an account's live figures: the acct:{id} hash and the
`account` event on account:{id}, both with every position's price, P/L and swap."""

from __future__ import annotations

import json
import time
from typing import Any

import redis as redis_lib

from engine import bus as bus_module
from engine.bus import Bus
from engine.contracts import REPLY_TTL_S, account_channel, account_figures_key

ACCOUNT = 990_001


def _figures() -> dict:
    return {
        "balance": "1000.00",
        "credit": "0.00",
        "equity": "990.50",
        "margin": "108.50",
        "free_margin": "882.00",
        "margin_level": "912.90",
        "floating_pl": "-9.50",
        "held": "0.00",
        "ts": 1_764_000_000_000,
        "leverage": 100,
        "trading_rights": "full",
        "margin_call_level": "100",
        "stop_out_level": "50",
        "positions": {
            "11": {"price": "1.08490", "pl": "-10.00", "swap": "0.50"},
            "12": {"price": None, "pl": None, "swap": "0.00"},
        },
    }


def test_live_figures_reach_the_hash_and_the_channel_alike(redis_url) -> None:  # type: ignore[no-untyped-def]
    r = redis_lib.Redis.from_url(redis_url)
    pubsub = r.pubsub()
    pubsub.subscribe(account_channel(ACCOUNT))
    deadline = time.monotonic() + 10
    while pubsub.get_message(timeout=0.1) is None and time.monotonic() < deadline:
        pass  # the subscribe confirmation
    data = _figures()
    Bus(r, 0, 10, 5).publish([], [], [(ACCOUNT, data)])
    message = None
    while message is None and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.5)
    assert message is not None and message["type"] == "message"
    assert json.loads(message["data"]) == {"type": "account", "account_id": ACCOUNT, **data}
    raw: dict[bytes, bytes] = r.hgetall(account_figures_key(ACCOUNT))  # type: ignore[assignment]
    stored = {k.decode(): v.decode() for k, v in raw.items()}
    assert json.loads(stored.pop("positions")) == data["positions"]
    assert stored["margin_level"] == "912.90" and stored["leverage"] == "100"
    pubsub.close()
    r.delete(account_figures_key(ACCOUNT))
    r.close()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def test_a_batch_goes_out_in_one_command_acks_first_then_replies_events_and_figures(redis_url) -> None:  # type: ignore[no-untyped-def]
    r = redis_lib.Redis.from_url(redis_url)
    shard = 7_001  # a shard of its own: its stream and groups are this test's alone
    bus = Bus(r, shard, 10, 5)
    bus.ensure_groups()
    ids = [_text(r.xadd(bus.commands, {"n": str(i)})) for i in range(3)]
    # A symbol no instrument has: an engine of another test reading md:ticks ignores it.
    tick_id = _text(r.xadd("md:ticks", {"symbol": "BUSTEST", "bid": "1.1", "ask": "1.2", "ts": "1"}))
    r.xreadgroup("engine", bus.consumer, {bus.commands: ">"})
    r.xreadgroup(bus.tick_group, bus.consumer, {"md:ticks": ">"})
    assert r.xpending(bus.commands, "engine")["pending"] == 3
    pubsub = r.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(account_channel(ACCOUNT))
    deadline = time.monotonic() + 10
    while not pubsub.subscribed and time.monotonic() < deadline:
        pubsub.get_message(timeout=0.1)
    r.script_load(bus_module._PUBLISH)  # loaded, as after the engine's first batch
    sent: list[str] = []
    real = r.execute_command

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        sent.append(str(args[0]))
        return real(*args, **kwargs)

    r.execute_command = counted  # type: ignore[method-assign]
    replies = [(f"bus-test-{i}", f'{{"n":{i}}}') for i in range(3)]
    events = [(ACCOUNT, {"type": "order", "n": 1}), (ACCOUNT, {"type": "trade", "n": 2})]
    bus.publish(replies, events, [(ACCOUNT, _figures())], ids, [tick_id])
    r.execute_command = real  # type: ignore[method-assign]

    assert sent == ["EVALSHA"]
    assert r.xpending(bus.commands, "engine")["pending"] == 0
    assert r.xpending("md:ticks", bus.tick_group)["pending"] == 0
    for command_id, value in replies:
        key = f"reply:{command_id}"
        assert r.lrange(key, 0, -1) == [value.encode()]
        assert 0 < r.ttl(key) <= REPLY_TTL_S
    received: list[dict[str, Any]] = []
    while len(received) < 3 and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.5)
        if message is not None:
            received.append(json.loads(message["data"]))
    assert [m["type"] for m in received] == ["order", "trade", "account"]
    assert received[2]["positions"] == _figures()["positions"]
    assert r.hget(account_figures_key(ACCOUNT), "equity") == b"990.50"
    # Nothing to send: no command at all.
    r.execute_command = counted  # type: ignore[method-assign]
    sent.clear()
    bus.publish([], [], [])
    r.execute_command = real  # type: ignore[method-assign]
    assert sent == []
    pubsub.close()
    r.delete(bus.commands, account_figures_key(ACCOUNT), *(f"reply:{c}" for c, _ in replies))
    r.xgroup_destroy("md:ticks", bus.tick_group)
    r.close()
