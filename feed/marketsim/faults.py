"""Run-time switches of the simulator: provider quirks and injected faults (POST /_sim/faults)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

STATUS_STYLES = ("normal", "fails_null", "omit_keys", "physical_currency")


@dataclass
class Faults:
    """Every switch with its default; tests flip them at run time."""

    # provider quirks
    error_http_mode: str = "status"  # status: HTTP status = error code; 200: HTTP 200 with the error body
    ws_auth_status: int = 200  # HTTP status of a refused WebSocket handshake (bad key)
    bidask: bool = True  # forex and metals carry bid/ask
    degenerate_bidask: bool = True  # crypto bid = ask = price
    status_style: str = "normal"  # subscribe-status variants seen in the wild
    market_hours: bool = False  # True: no forex/commodity ticks from Friday 21:00 to Sunday 21:00 UTC
    tick_rate: float = 4.0  # mean ticks per second per symbol
    heartbeats_count: bool = True  # heartbeats count toward the 100 events/minute budget
    events_per_minute: int = 100
    rate_limit_close_after: int = 0  # close the socket after this many violations (0: never)
    evict_close_code: int = 1000  # close code when a newer connection evicts the oldest one
    # injected faults (persistent until switched off)
    silence: bool = False  # send nothing at all (protocol pings are still answered)
    mute_heartbeat: bool = False  # do not answer heartbeats
    ws_refuse: bool = False  # refuse WebSocket handshakes (HTTP 503): the upstream WS is down
    rest_error: int = 0  # answer every REST call with this error code (e.g. 500, 429)
    rest_delay_s: float = 0.0  # delay REST answers
    pause_symbols: list[str] = field(default_factory=list)  # no ticks for these symbols
    delay_symbols: dict[str, float] = field(default_factory=dict)  # ticks of a symbol arrive late by N s

    def update(self, changes: dict[str, Any]) -> list[str]:
        """Apply known switches; return the names that are unknown or invalid."""
        known = {f.name: f for f in fields(self)}
        bad: list[str] = []
        for name, value in changes.items():
            if name not in known:
                bad.append(name)
                continue
            current = getattr(self, name)
            try:
                converted = _convert(current, value)
            except (TypeError, ValueError):
                bad.append(name)
                continue
            if name == "status_style" and converted not in STATUS_STYLES:
                bad.append(name)
                continue
            if name == "error_http_mode" and converted not in ("status", "200"):
                bad.append(name)
                continue
            setattr(self, name, converted)
        return bad

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _convert(current: Any, value: Any) -> Any:
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise TypeError("boolean expected")
        return value
    if isinstance(current, int):
        return int(value)
    if isinstance(current, float):
        return float(value)
    if isinstance(current, str):
        return str(value)
    if isinstance(current, list):
        if not isinstance(value, list):
            raise TypeError("list expected")
        return [str(v).upper() for v in value]
    if isinstance(current, dict):
        if not isinstance(value, dict):
            raise TypeError("object expected")
        return {str(k).upper(): float(v) for k, v in value.items()}
    raise TypeError("unsupported")
