"""JSON for the engine's hot path (orjson): replies, events, stored results. Decimals become strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson


def _default(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def dumps_bytes(value: Any) -> bytes:
    """Compact JSON as bytes (what Redis takes)."""
    return orjson.dumps(value, default=_default)


def dumps(value: Any) -> str:
    """Compact JSON as text (what PostgreSQL COPY takes)."""
    return orjson.dumps(value, default=_default).decode()
