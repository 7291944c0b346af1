"""The contract between the engine and everyone else: command envelope, event names, Redis keys.

This is the only part of `engine` that web and workers may import. Standard library only.
Prices and money travel as decimal strings, never floats.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# --- Redis keys -----------------------------------------------------------------------------

COMMANDS_GROUP = "engine"
TICKS_STREAM = "md:ticks"
TICKS_MAXLEN = 100_000
MD_LAST = "md:last"
MD_STATUS = "md:status"
REPLY_TTL_S = 60


def commands_stream(shard: int) -> str:
    """The command stream of one engine shard."""
    return f"engine:commands:{shard}"


def ticks_group(shard: int) -> str:
    """Each shard reads every tick through its own consumer group on md:ticks."""
    return f"engine-{shard}"


def reply_key(command_id: str) -> str:
    return f"reply:{command_id}"


def quote_channel(symbol: str) -> str:
    return f"md:quote:{symbol}"


def account_channel(account_id: int) -> str:
    return f"account:{account_id}"


def account_figures_key(account_id: int) -> str:
    return f"acct:{account_id}"


def lease_key(shard: int) -> str:
    return f"engine:lease:{shard}"


def fence_key(shard: int) -> str:
    return f"engine:fence:{shard}"


def engine_status_key(shard: int) -> str:
    return f"engine:status:{shard}"


def shard_for(account_id: int, shards: int) -> int:
    """shard = account_id mod ENGINE_SHARDS."""
    return account_id % shards


# --- Commands -------------------------------------------------------------------------------

OPEN_ACCOUNT = "open_account"
PLACE_ORDER = "place_order"
MODIFY_ORDER = "modify_order"
CANCEL_ORDER = "cancel_order"
MODIFY_POSITION = "modify_position"
CLOSE_POSITION = "close_position"
CLOSE_ALL = "close_all"
BALANCE_OP = "balance_op"
HOLD_FUNDS = "hold_funds"
RELEASE_HOLD = "release_hold"
SET_ACCOUNT = "set_account"

COMMAND_TYPES = frozenset(
    {
        OPEN_ACCOUNT,
        PLACE_ORDER,
        MODIFY_ORDER,
        CANCEL_ORDER,
        MODIFY_POSITION,
        CLOSE_POSITION,
        CLOSE_ALL,
        BALANCE_OP,
        HOLD_FUNDS,
        RELEASE_HOLD,
        SET_ACCOUNT,
    }
)

BALANCE_OP_TYPES = frozenset({"deposit", "withdrawal", "credit", "correction"})
ORDER_TYPES = frozenset({"market", "limit", "stop", "stop_limit"})
SIDES = frozenset({"buy", "sell"})
EXPIRY_TYPES = frozenset({"gtc", "day", "specified"})
TRADING_RIGHTS = frozenset({"full", "close_only", "disabled"})


@dataclass(frozen=True)
class Command:
    """One command for the engine, as carried in engine:commands:{shard}.

    `actor` says who asked: {"type": "user"|"admin"|"crm"|"system", "id": ..., "ip": ...,
    "impersonator_id": ..., "request_id": ...}. `ts` is the submission time in epoch ms.
    """

    command_id: str
    type: str
    account_id: int
    payload: dict[str, Any] = field(default_factory=dict)
    actor: dict[str, Any] = field(default_factory=dict)
    ts: int = 0

    def to_fields(self) -> dict[str, str]:
        """Encode as Redis stream fields."""
        return {
            "command_id": self.command_id,
            "type": self.type,
            "account_id": str(self.account_id),
            "payload": json.dumps(self.payload, separators=(",", ":"), default=str),
            "actor": json.dumps(self.actor, separators=(",", ":"), default=str),
            "ts": str(self.ts),
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Command:
        """Decode Redis stream fields; raise ValueError on anything malformed."""
        try:
            return cls(
                command_id=fields["command_id"],
                type=fields["type"],
                account_id=int(fields["account_id"]),
                payload=json.loads(fields.get("payload") or "{}"),
                actor=json.loads(fields.get("actor") or "{}"),
                ts=int(fields.get("ts") or 0),
            )
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"malformed command: {exc}") from exc


# --- Results and events ---------------------------------------------------------------------
# A result is JSON: {"ok": true, "command_id", ...} or {"ok": false, "command_id", "code", "message"}.
# Events published on account:{id} are JSON objects with a "type" among EVENT_TYPES.

EVENT_TYPES = frozenset({"account", "order", "position", "trade", "margin_call", "stop_out", "balance"})

REJECT_CODES = frozenset(
    {
        "insufficient_margin",
        "insufficient_funds",
        "market_closed",
        "stale_quote",
        "no_quote",
        "invalid_stops",
        "invalid_price",
        "invalid_volume",
        "invalid_expiry",
        "invalid_request",
        "unknown_symbol",
        "unknown_account",
        "trading_disabled",
        "close_only",
        "price_moved",
        "order_not_found",
        "position_not_found",
        "account_exists",
        "duplicate_external_id",
        "hold_not_found",
    }
)


def result_ok(command_id: str, **data: Any) -> dict[str, Any]:
    return {"ok": True, "command_id": command_id, **data}


def result_rejected(command_id: str, code: str, message: str, **data: Any) -> dict[str, Any]:
    return {"ok": False, "command_id": command_id, "code": code, "message": message, **data}
