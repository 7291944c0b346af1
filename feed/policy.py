"""Pacing rules of the upstream connection: reconnect backoff, the client-event budget, REST credits.

Pure: time and randomness are arguments, so the rules are unit-tested without waiting.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Exponential backoff with ±jitter and a cap; reset after a connection stayed healthy."""

    base: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    jitter: float = 0.2
    healthy_after: float = 60.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self) -> float:
        raw = min(self.cap, self.base * self.factor**self.attempt)
        self.attempt += 1
        return max(0.0, raw * (1 + self.rng.uniform(-self.jitter, self.jitter)))

    def connection_ended(self, lasted_s: float) -> None:
        """A connection that lived long enough resets the backoff; a short one keeps growing it."""
        if lasted_s >= self.healthy_after:
            self.attempt = 0


@dataclass
class EventBudget:
    """Client events on the upstream WebSocket: at most `limit` in any 60 s (heartbeats included).

    The provider allows 100 per minute; we keep a margin. A `message-processing` rate-limit
    message pauses everything but heartbeats until the next minute.
    """

    limit: int = 90
    window: float = 60.0
    sent: deque[float] = field(default_factory=deque)
    paused_until: float = 0.0

    def _trim(self, now: float) -> None:
        while self.sent and self.sent[0] <= now - self.window:
            self.sent.popleft()

    def can_send(self, now: float, heartbeat: bool = False) -> bool:
        self._trim(now)
        if not heartbeat and now < self.paused_until:
            return False
        return len(self.sent) < self.limit

    def wait_time(self, now: float, heartbeat: bool = False) -> float:
        """Seconds until an event may be sent."""
        self._trim(now)
        wait = 0.0 if heartbeat else max(0.0, self.paused_until - now)
        if len(self.sent) >= self.limit:
            wait = max(wait, self.sent[0] + self.window - now)
        return wait

    def record(self, now: float) -> None:
        self.sent.append(now)

    def pause_to_next_minute(self, now: float) -> None:
        self.paused_until = (now // 60 + 1) * 60


@dataclass
class CreditBudget:
    """REST credits per calendar minute (the provider's reset), and a pause after a 429."""

    per_minute: int
    minute: int = -1
    used: int = 0
    paused_until: float = 0.0

    def available(self, now: float) -> int:
        if now < self.paused_until:
            return 0
        minute = int(now // 60)
        if minute != self.minute:
            self.minute, self.used = minute, 0
        return max(0, self.per_minute - self.used)

    def spend(self, credits: int, now: float) -> None:
        self.available(now)
        self.used += credits

    def pause(self, until: float) -> None:
        self.paused_until = max(self.paused_until, until)


def next_minute(now: float) -> float:
    return (now // 60 + 1) * 60


def next_day(now: float) -> float:
    return (now // 86400 + 1) * 86400
