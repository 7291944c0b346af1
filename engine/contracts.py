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
CLOSE_BY = "close_by"
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
        CLOSE_BY,
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
        "frozen",
        "invalid_close_by",
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
        "unknown_user",
        "internal_error",
    }
)


def result_ok(command_id: str, **data: Any) -> dict[str, Any]:
    return {"ok": True, "command_id": command_id, **data}


def result_rejected(command_id: str, code: str, message: str, **data: Any) -> dict[str, Any]:
    return {"ok": False, "command_id": command_id, "code": code, "message": message, **data}


# --- Command payloads (issue 5) -------------------------------------------------------------
# Field names of each command's payload. "?" marks an optional field; money, prices and volumes
# are decimal strings; times are epoch milliseconds (int). A key present with null clears a
# value (sl/tp), an absent key leaves it unchanged. Build payloads with the helpers below.

PAYLOAD_FIELDS: dict[str, dict[str, str]] = {
    OPEN_ACCOUNT: {
        "user_id": "int",
        "type": "live|demo",
        "currency": "ISO 4217 code, default USD",
        "leverage": "int, default 100",
        "initial_deposit?": "decimal string (a ledger row of kind deposit)",
    },
    PLACE_ORDER: {
        "symbol": "str",
        "side": "buy|sell",
        "type": "market|limit|stop|stop_limit",
        "volume": "decimal string (lots)",
        "price?": "limit/stop price; for stop_limit the stop price; for market the price the client saw",
        "limit_price?": "stop_limit only: the limit placed when the stop is touched",
        "sl?": "decimal string",
        "tp?": "decimal string",
        "expiry_type?": "gtc|day|specified (default gtc)",
        "expires_at?": "epoch ms, with expiry_type=specified",
        "deviation?": "int points: market order refused with price_moved beyond it (needs price)",
    },
    MODIFY_ORDER: {
        "order_id": "int",
        "price?": "",
        "limit_price?": "",
        "sl?": "null clears",
        "tp?": "null clears",
        "expiry_type?": "",
        "expires_at?": "",
    },
    CANCEL_ORDER: {"order_id": "int"},
    MODIFY_POSITION: {"position_id": "int", "sl?": "null clears", "tp?": "null clears"},
    CLOSE_POSITION: {"position_id": "int", "volume?": "decimal string (partial close)"},
    CLOSE_ALL: {"symbol?": "str"},
    CLOSE_BY: {"position_id": "int", "by_position_id": "int: an opposite position of the same symbol"},
    BALANCE_OP: {
        "op": "deposit|withdrawal|credit|correction",
        "amount": "decimal string > 0 (credit/correction: signed, non-zero)",
        "external_id": "str: the same (account, op, external_id) twice changes nothing",
        "comment?": "str",
    },
    HOLD_FUNDS: {"hold_id": "str", "amount": "decimal string > 0"},
    RELEASE_HOLD: {"hold_id": "str", "settle": "bool: true debits the held amount (withdrawal, external_id=hold_id)"},
    SET_ACCOUNT: {
        "leverage?": "int 1..MAX_LEVERAGE",
        "trading_rights?": "full|close_only|disabled",
        "margin_call_level?": "decimal string (%)",
        "stop_out_level?": "decimal string (%), below margin_call_level",
    },
}

MAX_LEVERAGE = 1000
ACCOUNT_TYPES = frozenset({"live", "demo"})


def _dec(value: Any) -> str:
    return str(value)


def open_account_payload(
    user_id: int, account_type: str, currency: str = "USD", leverage: int = 100, initial_deposit: Any = None
) -> dict[str, Any]:
    """Payload of open_account."""
    payload: dict[str, Any] = {"user_id": user_id, "type": account_type, "currency": currency, "leverage": leverage}
    if initial_deposit is not None:
        payload["initial_deposit"] = _dec(initial_deposit)
    return payload


def balance_op_payload(op: str, amount: Any, external_id: str, comment: str | None = None) -> dict[str, Any]:
    """Payload of balance_op (deposit, withdrawal, credit, correction)."""
    payload: dict[str, Any] = {"op": op, "amount": _dec(amount), "external_id": external_id}
    if comment:
        payload["comment"] = comment
    return payload


def hold_funds_payload(hold_id: str, amount: Any) -> dict[str, Any]:
    """Payload of hold_funds (reserve money for a pending withdrawal)."""
    return {"hold_id": hold_id, "amount": _dec(amount)}


def release_hold_payload(hold_id: str, settle: bool) -> dict[str, Any]:
    """Payload of release_hold (settle=True debits the held amount)."""
    return {"hold_id": hold_id, "settle": bool(settle)}


def set_account_payload(
    leverage: int | None = None,
    trading_rights: str | None = None,
    margin_call_level: Any = None,
    stop_out_level: Any = None,
) -> dict[str, Any]:
    """Payload of set_account; only the given fields change."""
    payload: dict[str, Any] = {}
    if leverage is not None:
        payload["leverage"] = int(leverage)
    if trading_rights is not None:
        payload["trading_rights"] = trading_rights
    if margin_call_level is not None:
        payload["margin_call_level"] = _dec(margin_call_level)
    if stop_out_level is not None:
        payload["stop_out_level"] = _dec(stop_out_level)
    return payload


# --- Results, events, figures (issue 5) -----------------------------------------------------
# Successful results carry the objects they touched, serialised like the API does
# (decimal strings, ISO-8601 UTC times): place_order {"order", "position"?}; modify_order /
# cancel_order {"order"}; modify_position / close_position {"position", "trade"?};
# close_by {"positions": [position, by_position], "trades": [trade, by_trade]};
# close_all {"positions": [...], "cancelled_orders": [...]}; open_account / set_account
# {"account"}; balance_op {"ledger", "account", "duplicate"?}; hold_funds / release_hold
# {"hold", "account", "ledger"?}.

# Events PUBLISHed on account:{id}: {"type": <one of EVENT_TYPES>, "account_id": id, ...}
#   account:     live figures (ACCOUNT_FIGURES) plus "positions": {id: {"price", "pl", "swap"}}
#   order:       {"event": placed|modified|cancelled|expired|filled|triggered|rejected, "order": {...}}
#   position:    {"event": opened|modified|partially_closed|closed, "position": {...}}
#   trade:       {"trade": {...}} (every fill)
#   balance:     {"ledger": {...}, "balance", "credit", "held"}
#   margin_call: {"margin_level", "equity", "margin"}
#   stop_out:    {"margin_level", "closed_positions": [...], "cancelled_orders": [...]}

ACCOUNT_FIGURES = (
    "balance",
    "credit",
    "equity",
    "margin",
    "free_margin",
    "margin_level",
    "floating_pl",
    "held",
    "ts",
)
"""Fields of the acct:{id} hash (decimal strings; margin_level "" when there is no margin; ts epoch ms)."""

# Webhook (outbox) event types the engine writes.
WEBHOOK_ORDER_PLACED = "order.placed"
WEBHOOK_POSITION_CLOSED = "position.closed"
WEBHOOK_BALANCE_UPDATED = "balance.updated"
WEBHOOK_MARGIN_CALL = "margin_call"
WEBHOOK_STOP_OUT = "stop_out"
ENGINE_WEBHOOK_TYPES = frozenset(
    {WEBHOOK_ORDER_PLACED, WEBHOOK_POSITION_CLOSED, WEBHOOK_BALANCE_UPDATED, WEBHOOK_MARGIN_CALL, WEBHOOK_STOP_OUT}
)

# Reject codes that are not business-rule refusals (422) map to these HTTP statuses.
REJECT_HTTP_STATUS = {
    "order_not_found": 404,
    "position_not_found": 404,
    "unknown_account": 404,
    "hold_not_found": 404,
    "invalid_request": 400,
    "account_exists": 409,
    "internal_error": 500,
}


def http_status_for(code: str) -> int:
    """The HTTP status that answers a rejected command with this code."""
    return REJECT_HTTP_STATUS.get(code, 422)


def command_owner_key(command_id: str) -> str:
    """Who sent a command (user id), so GET /api/commands/<id> can answer while it is in flight."""
    return f"cmdowner:{command_id}"


def deadletter_stream(shard: int) -> str:
    """Commands that crashed the engine repeatedly are moved here (and answered internal_error)."""
    return f"engine:deadletter:{shard}"
