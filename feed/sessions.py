"""Trading sessions of an instrument: {"mon": [["00:00", "24:00"]], ..., "sat": []} in UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(text: str) -> int:
    hours, _, minutes = text.partition(":")
    return int(hours) * 60 + int(minutes or 0)


def is_open(sessions: dict[str, Any] | None, now: datetime) -> bool:
    """True when `now` (aware, UTC) falls inside one of the day's windows; no sessions means always open."""
    if not sessions:
        return True
    windows = sessions.get(DAYS[now.weekday()]) or []
    minute = now.hour * 60 + now.minute
    for window in windows:
        try:
            start, end = _minutes(window[0]), _minutes(window[1])
        except (IndexError, TypeError, ValueError):
            continue
        if start <= minute < end:
            return True
    return False
