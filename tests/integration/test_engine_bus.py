"""What the engine sends to Redis for an account's live figures: the acct:{id} hash and the
`account` event on account:{id}, both with every position's price, P/L and swap."""

from __future__ import annotations

import json
import time

import redis as redis_lib

from engine.bus import Bus
from engine.contracts import account_channel, account_figures_key

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
