"""Bar intervals of the provider and the edges of the bars that cover a time range (UTC)."""

from __future__ import annotations

import calendar
import math
from datetime import UTC, datetime

INTERVALS: dict[str, int] = {
    "1min": 60,
    "5min": 300,
    "15min": 900,
    "30min": 1800,
    "45min": 2700,
    "1h": 3600,
    "2h": 7200,
    "4h": 14400,
    "8h": 28800,
    "1day": 86400,
    "1week": 604800,
    "1month": 0,  # calendar months
}
DAILY = frozenset({"1day", "1week", "1month"})
MONDAY_EPOCH = 4 * 86400  # 1970-01-05 was a Monday


def bar_start(interval: str, t: float) -> int:
    """Start (epoch seconds) of the bar of `interval` that contains t."""
    if interval == "1month":
        d = datetime.fromtimestamp(t, UTC)
        return calendar.timegm((d.year, d.month, 1, 0, 0, 0))
    if interval == "1week":
        return MONDAY_EPOCH + math.floor((t - MONDAY_EPOCH) / 604800) * 604800
    size = INTERVALS[interval]
    return math.floor(t / size) * size


def next_start(interval: str, start: int) -> int:
    if interval == "1month":
        d = datetime.fromtimestamp(start, UTC)
        year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
        return calendar.timegm((year, month, 1, 0, 0, 0))
    return start + (604800 if interval == "1week" else INTERVALS[interval])


def previous_start(interval: str, start: int) -> int:
    if interval == "1month":
        d = datetime.fromtimestamp(start, UTC)
        year, month = (d.year - 1, 12) if d.month == 1 else (d.year, d.month - 1)
        return calendar.timegm((year, month, 1, 0, 0, 0))
    return start - (604800 if interval == "1week" else INTERVALS[interval])


def edges_back(interval: str, newest_start: int, count: int, oldest_allowed: int) -> list[int]:
    """Edges of up to `count` bars ending with the bar that starts at newest_start (oldest first)."""
    if newest_start < oldest_allowed:
        return []
    starts = [newest_start]
    while len(starts) < count:
        prev = previous_start(interval, starts[-1])
        if prev < oldest_allowed:
            break
        starts.append(prev)
    starts.reverse()
    return [*starts, next_start(interval, newest_start)]


def format_datetime(interval: str, t: int) -> str:
    """The provider's datetime: date only for daily and longer bars."""
    d = datetime.fromtimestamp(t, UTC)
    return d.strftime("%Y-%m-%d") if interval in DAILY else d.strftime("%Y-%m-%d %H:%M:%S")


def parse_date(value: str) -> int | None:
    """`2006-01-02` or `2006-01-02T15:04:05` / `2006-01-02 15:04:05` (UTC) to epoch seconds."""
    text = value.strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return calendar.timegm(datetime.strptime(text, fmt).timetuple())
        except ValueError:
            continue
    return None
