"""Command payloads parsed into immutable records (NamedTuples); malformed input becomes a Rejection."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import Enum
from typing import Any, NamedTuple

from engine.core.money import ZERO, parse_decimal

MAX_LEVERAGE = 1000
ORDER_TYPES = ("market", "limit", "stop", "stop_limit")
EXPIRY_TYPES = ("gtc", "day", "specified")
RIGHTS = ("full", "close_only", "disabled")
BALANCE_OPS = ("deposit", "withdrawal", "credit", "correction")


class Unset(Enum):
    """A payload key that was absent (leave the value as it is), unlike null (clear it)."""

    UNSET = "unset"


UNSET = Unset.UNSET
OptPrice = Decimal | None | Unset


class Rejection(NamedTuple):
    """A refused command: a result, not an exception."""

    code: str
    message: str


class OpenAccount(NamedTuple):
    user_id: int
    type: str
    currency: str
    leverage: int
    initial_deposit: Decimal | None


class PlaceOrder(NamedTuple):
    symbol: str
    side: str
    type: str
    volume: Decimal
    price: Decimal | None
    limit_price: Decimal | None
    sl: Decimal | None
    tp: Decimal | None
    expiry_type: str
    expires_at: int | None
    deviation: int | None


class ModifyOrder(NamedTuple):
    order_id: int
    price: OptPrice
    limit_price: OptPrice
    sl: OptPrice
    tp: OptPrice
    expiry_type: str | None
    expires_at: int | None


class CancelOrder(NamedTuple):
    order_id: int


class ModifyPosition(NamedTuple):
    position_id: int
    sl: OptPrice
    tp: OptPrice


class ClosePosition(NamedTuple):
    position_id: int
    volume: Decimal | None


class CloseBy(NamedTuple):
    position_id: int
    by_position_id: int


class CloseAll(NamedTuple):
    symbol: str | None


class BalanceOp(NamedTuple):
    op: str
    amount: Decimal
    external_id: str
    comment: str | None


class HoldFunds(NamedTuple):
    hold_id: str
    amount: Decimal


class ReleaseHold(NamedTuple):
    hold_id: str
    settle: bool


class SetAccount(NamedTuple):
    leverage: int | None
    trading_rights: str | None
    margin_call_level: Decimal | None
    stop_out_level: Decimal | None


ParsedCommand = (
    OpenAccount
    | PlaceOrder
    | ModifyOrder
    | CancelOrder
    | ModifyPosition
    | ClosePosition
    | CloseBy
    | CloseAll
    | BalanceOp
    | HoldFunds
    | ReleaseHold
    | SetAccount
)


class _Bad(ValueError):
    """Raised inside parsing only; parse() turns it into a Rejection."""


def _bad(message: str) -> _Bad:
    return _Bad(message)


def _int(payload: Mapping[str, Any], key: str, required: bool = True) -> int | None:
    value = payload.get(key)
    if value is None:
        if required:
            raise _bad(f"{key} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _bad(f"{key} must be an integer")
    try:
        return int(value)
    except ValueError as exc:
        raise _bad(f"{key} must be an integer") from exc


def _req_int(payload: Mapping[str, Any], key: str) -> int:
    value = _int(payload, key)
    assert value is not None
    return value


def _dec(payload: Mapping[str, Any], key: str, required: bool = False) -> Decimal | None:
    if payload.get(key) is None:
        if required:
            raise _bad(f"{key} is required")
        return None
    value = parse_decimal(payload[key])
    if value is None:
        raise _bad(f"{key} must be a decimal string")
    return value


def _opt_price(payload: Mapping[str, Any], key: str) -> OptPrice:
    if key not in payload:
        return UNSET
    return _dec(payload, key)


def _str(payload: Mapping[str, Any], key: str, choices: tuple[str, ...] | None = None, max_len: int = 128) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise _bad(f"{key} is required")
    if choices is not None and value not in choices:
        raise _bad(f"{key} must be one of {', '.join(choices)}")
    return value


def _open_account(p: Mapping[str, Any]) -> OpenAccount:
    currency = p.get("currency") or "USD"
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise _bad("currency must be a 3-letter ISO code")
    leverage = _int(p, "leverage", required=False) or 100
    if not 1 <= leverage <= MAX_LEVERAGE:
        raise _bad(f"leverage must be between 1 and {MAX_LEVERAGE}")
    deposit = _dec(p, "initial_deposit")
    if deposit is not None and deposit < ZERO:
        raise _bad("initial_deposit cannot be negative")
    return OpenAccount(_req_int(p, "user_id"), _str(p, "type", ("live", "demo")), currency, leverage, deposit)


def _expiry(p: Mapping[str, Any]) -> tuple[str, int | None]:
    expiry_type = p.get("expiry_type") or "gtc"
    if expiry_type not in EXPIRY_TYPES:
        raise _bad("expiry_type must be gtc, day or specified")
    expires_at = _int(p, "expires_at", required=expiry_type == "specified")
    return expiry_type, expires_at if expiry_type == "specified" else None


def _place_order(p: Mapping[str, Any]) -> PlaceOrder:
    expiry_type, expires_at = _expiry(p)
    deviation = _int(p, "deviation", required=False)
    if deviation is not None and deviation < 0:
        raise _bad("deviation cannot be negative")
    return PlaceOrder(
        symbol=_str(p, "symbol", max_len=32),
        side=_str(p, "side", ("buy", "sell")),
        type=_str(p, "type", ORDER_TYPES),
        volume=_dec(p, "volume", required=True) or ZERO,
        price=_dec(p, "price"),
        limit_price=_dec(p, "limit_price"),
        sl=_dec(p, "sl"),
        tp=_dec(p, "tp"),
        expiry_type=expiry_type,
        expires_at=expires_at,
        deviation=deviation,
    )


def _modify_order(p: Mapping[str, Any]) -> ModifyOrder:
    expiry_type: str | None = None
    expires_at: int | None = None
    if "expiry_type" in p:
        expiry_type, expires_at = _expiry(p)
    return ModifyOrder(
        order_id=_req_int(p, "order_id"),
        price=_opt_price(p, "price"),
        limit_price=_opt_price(p, "limit_price"),
        sl=_opt_price(p, "sl"),
        tp=_opt_price(p, "tp"),
        expiry_type=expiry_type,
        expires_at=expires_at,
    )


def _balance_op(p: Mapping[str, Any]) -> BalanceOp:
    comment = p.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > 500):
        raise _bad("comment must be a string of at most 500 characters")
    return BalanceOp(
        op=_str(p, "op", BALANCE_OPS),
        amount=_dec(p, "amount", required=True) or ZERO,
        external_id=_str(p, "external_id"),
        comment=comment,
    )


def _set_account(p: Mapping[str, Any]) -> SetAccount:
    rights = p.get("trading_rights")
    if rights is not None and rights not in RIGHTS:
        raise _bad("trading_rights must be full, close_only or disabled")
    leverage = _int(p, "leverage", required=False)
    if leverage is not None and not 1 <= leverage <= MAX_LEVERAGE:
        raise _bad(f"leverage must be between 1 and {MAX_LEVERAGE}")
    return SetAccount(leverage, rights, _dec(p, "margin_call_level"), _dec(p, "stop_out_level"))


def _release_hold(p: Mapping[str, Any]) -> ReleaseHold:
    settle = p.get("settle")
    if not isinstance(settle, bool):
        raise _bad("settle must be true or false")
    return ReleaseHold(_str(p, "hold_id"), settle)


_PARSERS: dict[str, Callable[[Mapping[str, Any]], ParsedCommand]] = {
    "open_account": _open_account,
    "place_order": _place_order,
    "modify_order": _modify_order,
    "cancel_order": lambda p: CancelOrder(_req_int(p, "order_id")),
    "modify_position": lambda p: ModifyPosition(_req_int(p, "position_id"), _opt_price(p, "sl"), _opt_price(p, "tp")),
    "close_position": lambda p: ClosePosition(_req_int(p, "position_id"), _dec(p, "volume")),
    "close_by": lambda p: CloseBy(_req_int(p, "position_id"), _req_int(p, "by_position_id")),
    "close_all": lambda p: CloseAll(_str(p, "symbol", max_len=32) if p.get("symbol") is not None else None),
    "balance_op": _balance_op,
    "hold_funds": lambda p: HoldFunds(_str(p, "hold_id"), _dec(p, "amount", required=True) or ZERO),
    "release_hold": _release_hold,
    "set_account": _set_account,
}


def parse(command_type: str, payload: Mapping[str, Any]) -> ParsedCommand | Rejection:
    """Parse a payload; a malformed one is an invalid_request rejection."""
    parser = _PARSERS.get(command_type)
    if parser is None:
        return Rejection("invalid_request", f"unknown command type {command_type!r}")
    if not isinstance(payload, Mapping):
        return Rejection("invalid_request", "payload must be an object")
    try:
        return parser(payload)
    except _Bad as exc:
        return Rejection("invalid_request", str(exc))
