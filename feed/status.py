"""Reading md:status: which mode the feed is in, as every reader should see it."""

from __future__ import annotations

FEED_SILENT_AFTER_MS = 10_000  # md:status not refreshed for this long: the feed process is gone


def feed_mode(status: dict[str, str], now_ms: int) -> str:
    """ws | rest-fallback | down; a feed that stopped refreshing md:status is down."""
    mode = status.get("mode") or "down"
    try:
        updated = int(status.get("updated_at") or 0)
    except ValueError:
        updated = 0
    if mode not in ("ws", "rest-fallback") or now_ms - updated > FEED_SILENT_AFTER_MS:
        return "down"
    return mode
