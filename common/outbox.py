"""The transactional outbox: webhook events written in the same transaction as their change.

The payload bytes are frozen here (minified JSON, Standard Webhooks envelope) and sent exactly
as stored; the worker's dispatcher turns undispatched rows into deliveries and RQ jobs.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Connection, insert

from common.logs import request_id_var
from models.webhooks import WebhookEvent

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # every 10-bit value as two digits
_SHIFTS = tuple(range(120, -1, -10))


def ulid_text(value: int) -> str:
    """The low 130 bits of `value` as 26 Crockford base-32 digits, most significant first."""
    pairs = _PAIRS
    return "".join([pairs[(value >> shift) & 1023] for shift in _SHIFTS])


def new_msg_id(now_ms: int | None = None) -> str:
    """A sortable unique message id (`msg_` + ULID-like: 48-bit time, 80-bit randomness)."""
    when = now_ms if now_ms is not None else int(time.time() * 1000)
    return "msg_" + ulid_text(((when & _TIME_MASK) << 80) | int.from_bytes(os.urandom(10), "big"))


_TIME_MASK = (1 << 50) - 1


@lru_cache(maxsize=4096)  # the engine stamps a batch's events with a few instants
def _stamp(occurred_at: datetime) -> str:
    # Equal instants in any zone have the same UTC text, so caching on equality is exact.
    return occurred_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def encode_payload(event_type: str, data: dict[str, Any], occurred_at: datetime) -> str:
    """The exact body that will be signed and sent: {type, timestamp, data}, minified UTF-8 JSON."""
    envelope = {"type": event_type, "timestamp": _stamp(occurred_at), "data": data}
    try:
        return orjson.dumps(envelope, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits in CRM-supplied limits
        return json.dumps(envelope, separators=(",", ":"), default=str, ensure_ascii=False)


def outbox_row(
    event_type: str, data: dict[str, Any], occurred_at: datetime | None = None, request_id: str | None = None
) -> dict[str, Any]:
    """A row for webhook_events (use with executemany inside the change's transaction).

    `request_id` defaults to the current request's (common.logs.request_id_var), so the delivery
    of the event can be traced back to the HTTP request that caused it.
    """
    when = occurred_at or datetime.now(UTC)
    return {
        "msg_id": new_msg_id(int(when.timestamp() * 1000)),
        "type": event_type,
        "payload": encode_payload(event_type, data, when),
        "created_at": when,
        "request_id": request_id or request_id_var.get(),
    }


def add_events(conn: Connection, events: list[tuple[str, dict[str, Any]]], occurred_at: datetime | None = None) -> None:
    """Insert webhook events in the caller's transaction."""
    if events:
        conn.execute(insert(WebhookEvent), [outbox_row(t, d, occurred_at) for t, d in events])
