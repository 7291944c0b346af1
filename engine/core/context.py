"""Small shared types: the command as the core sees it, the change context, id allocation."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

SYSTEM_ACTOR: Mapping[str, Any] = {"type": "system", "id": "engine"}
EMPTY: Mapping[str, Any] = MappingProxyType({})


class InvariantError(AssertionError):
    """State that must never exist; the engine stops and restarts from PostgreSQL."""


class IdSource(Protocol):
    def next_id(self, kind: str) -> int: ...


class CounterIds:
    """Ids from counters (tests and tools; the engine allocates from PostgreSQL sequences)."""

    def __init__(self, start: int = 1) -> None:
        self._next: dict[str, int] = {}
        self._start = start

    def next_id(self, kind: str) -> int:
        value = self._next.get(kind, self._start)
        self._next[kind] = value + 1
        return value


class CommandIn(NamedTuple):
    """A command as the core sees it (the adapter decodes the stream entry)."""

    command_id: str
    type: str
    account_id: int
    payload: Mapping[str, Any] = EMPTY
    actor: Mapping[str, Any] = EMPTY
    user_exists: bool = True


class Ctx(NamedTuple):
    """Who and when, for every row a change writes."""

    command_id: str | None
    actor: Mapping[str, Any]
    now: int

    def system(self) -> Ctx:
        """The same moment, acted by the engine itself (triggers, stop-out)."""
        return Ctx(None, SYSTEM_ACTOR, self.now)
