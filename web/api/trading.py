"""Orders, positions, trade history and command status under /api (cookie session).

Every change is a command to the engine: 201/200 with its result when it answers within a few
seconds, 422 with the engine's code when it refuses, 202 {command_id} when it has not answered
yet (poll GET /api/commands/{id}). Send an `Idempotency-Key` header to make retries safe.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from engine.contracts import (
    CANCEL_ORDER,
    CLOSE_ALL,
    CLOSE_BY,
    CLOSE_POSITION,
    MODIFY_ORDER,
    MODIFY_POSITION,
    PLACE_ORDER,
)
from web.errors import ApiError
from web.openapi import Blueprint
from web.schemas.trading import (
    AcceptedSchema,
    CloseAllResultSchema,
    CloseAllSchema,
    CloseByResultSchema,
    CloseBySchema,
    ClosePositionSchema,
    CommandStatusSchema,
    ModifyOrderSchema,
    ModifyPositionSchema,
    OrderPageSchema,
    OrderResultSchema,
    OrdersQuerySchema,
    PlaceOrderSchema,
    PositionPageSchema,
    PositionResultSchema,
    PositionsQuerySchema,
    TradePageSchema,
    TradesQuerySchema,
)
from web.security import actor, current_user, login_required
from web.services import trading

blp = Blueprint("trading", __name__, url_prefix="/api", description="Orders, positions, trades and command status")

COOKIE: list[dict[str, list[str]]] = [{"cookieAuth": []}]
IDEMPOTENCY = [
    {
        "in": "header",
        "name": "Idempotency-Key",
        "required": False,
        "schema": {"type": "string", "maxLength": 128},
        "description": "The same key repeats the same command: it acts at most once and answers the same.",
    }
]
ORDER_EXAMPLE = {
    "account_id": 1001,
    "symbol": "EURUSD",
    "side": "buy",
    "type": "limit",
    "volume": "0.10",
    "price": "1.08000",
    "sl": "1.07500",
    "tp": "1.09000",
    "expiry": "gtc",
}
ACCEPTED = {"description": "The engine has not answered yet: poll GET /api/commands/{command_id}"}


def idempotency_key() -> str | None:
    """The Idempotency-Key header (printable, at most 128 characters), or None."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not key or len(key) > 128 or not key.isprintable():
        raise ApiError(400, "validation_error", "Invalid Idempotency-Key header.", {"Idempotency-Key": ["1-128 chars"]})
    return key


def accepted(command_id: str) -> Response:
    response = jsonify({"command_id": command_id, "status": "pending"})
    response.status_code = 202
    response.headers["Location"] = f"/api/commands/{command_id}"
    return response


def _run(account_id: int, command_type: str, payload: dict[str, Any]) -> Any:
    command_id, result = trading.submit(current_user(), account_id, command_type, payload, actor(), idempotency_key())
    if result is None:
        return accepted(command_id)
    return trading.answer(command_id, result)


def _prices(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: data[name] for name in names if name in data}


@blp.route("/orders", methods=["POST"])
@login_required
@blp.arguments(PlaceOrderSchema, example=ORDER_EXAMPLE)
@blp.response(201, OrderResultSchema)
@blp.alt_response(202, schema=AcceptedSchema, **ACCEPTED)
@blp.doc(security=COOKIE, parameters=IDEMPOTENCY)
def place_order(data: dict[str, Any]) -> Any:
    """Place a market, limit, stop or stop-limit order (422 with the engine's code when refused)."""
    account_id = trading.owned_account_id(current_user(), data["account_id"])
    payload = {k: data[k] for k in ("symbol", "side", "type", "volume", "price", "limit_price", "sl", "tp") if data[k]}
    if data.get("deviation") is not None:
        payload["deviation"] = data["deviation"]
    if data.get("expiry"):
        payload["expiry_type"], expires_at = data["expiry"]
        if expires_at is not None:
            payload["expires_at"] = expires_at
    return _run(account_id, PLACE_ORDER, payload)


@blp.route("/orders", methods=["GET"])
@login_required
@blp.arguments(OrdersQuerySchema, location="query")
@blp.response(200, OrderPageSchema)
@blp.doc(security=COOKIE)
def list_orders(query: dict[str, Any]) -> dict[str, Any]:
    """Your orders, newest first (filters: account_id, status, symbol)."""
    return trading.list_orders(current_user(), query)


@blp.route("/orders/<int:order_id>", methods=["PATCH"])
@login_required
@blp.arguments(ModifyOrderSchema)
@blp.response(200, OrderResultSchema)
@blp.alt_response(202, schema=AcceptedSchema, **ACCEPTED)
@blp.doc(security=COOKIE, parameters=IDEMPOTENCY)
def modify_order(data: dict[str, Any], order_id: int) -> Any:
    """Change a pending order's price, limit price, SL, TP or expiry."""
    account_id = trading.order_account(current_user(), order_id)
    payload: dict[str, Any] = {"order_id": order_id, **_prices(data, "price", "limit_price", "sl", "tp")}
    if "expiry" in data:
        payload["expiry_type"], expires_at = data["expiry"]
        if expires_at is not None:
            payload["expires_at"] = expires_at
    return _run(account_id, MODIFY_ORDER, payload)


@blp.route("/orders/<int:order_id>", methods=["DELETE"])
@login_required
@blp.response(200, OrderResultSchema)
@blp.alt_response(202, schema=AcceptedSchema, **ACCEPTED)
@blp.doc(security=COOKIE, parameters=IDEMPOTENCY)
def cancel_order(order_id: int) -> Any:
    """Cancel a pending order."""
    return _run(trading.order_account(current_user(), order_id), CANCEL_ORDER, {"order_id": order_id})


@blp.route("/positions", methods=["GET"])
@login_required
@blp.arguments(PositionsQuerySchema, location="query")
@blp.response(200, PositionPageSchema)
@blp.doc(security=COOKIE)
def list_positions(query: dict[str, Any]) -> dict[str, Any]:
    """Your positions (open by default) with the current price and floating P/L from the engine."""
    return trading.list_positions(current_user(), query)


@blp.route("/positions/close-all", methods=["POST"])
@login_required
@blp.arguments(CloseAllSchema, example={"account_id": 1001, "symbol": "EURUSD"})
@blp.response(200, CloseAllResultSchema)
@blp.alt_response(202, schema=AcceptedSchema, **ACCEPTED)
@blp.doc(security=COOKIE, parameters=IDEMPOTENCY)
def close_all(data: dict[str, Any]) -> Any:
    """Close every open position of an account (or only those of one symbol)."""
    account_id = trading.owned_account_id(current_user(), data["account_id"])
    return _run(account_id, CLOSE_ALL, {"symbol": data["symbol"]} if data.get("symbol") else {})


@blp.route("/positions/<int:position_id>", methods=["PATCH"])
@login_required
@blp.arguments(ModifyPositionSchema, example={"sl": "1.07500", "tp": None})
@blp.response(200, PositionResultSchema)
@blp.alt_response(202, schema=AcceptedSchema, **ACCEPTED)
@blp.doc(security=COOKIE, parameters=IDEMPOTENCY)
def modify_position(data: dict[str, Any], position_id: int) -> Any:
    """Set or clear a position's stop loss and take profit."""
    account_id = trading.position_account(current_user(), position_id)
    return _run(account_id, MODIFY_POSITION, {"position_id": position_id, **_prices(data, "sl", "tp")})


@blp.route("/positions/<int:position_id>/close", methods=["POST"])
@login_required
@blp.arguments(ClosePositionSchema, example={"volume": "0.05"})
@blp.response(200, PositionResultSchema)
@blp.alt_response(202, schema=AcceptedSchema, **ACCEPTED)
@blp.doc(security=COOKIE, parameters=IDEMPOTENCY)
def close_position(data: dict[str, Any], position_id: int) -> Any:
    """Close a position, or part of it with `volume`."""
    account_id = trading.position_account(current_user(), position_id)
    payload: dict[str, Any] = {"position_id": position_id}
    if data.get("volume"):
        payload["volume"] = data["volume"]
    return _run(account_id, CLOSE_POSITION, payload)


@blp.route("/positions/<int:position_id>/close-by", methods=["POST"])
@login_required
@blp.arguments(CloseBySchema, example={"by_position_id": 5002})
@blp.response(200, CloseByResultSchema)
@blp.alt_response(202, schema=AcceptedSchema, **ACCEPTED)
@blp.doc(security=COOKIE, parameters=IDEMPOTENCY)
def close_by(data: dict[str, Any], position_id: int) -> Any:
    """Close a position by an opposite one of the same symbol (MT5 Close By): both offset at the by
    position's open price, saving a spread; the larger one's remainder stays open."""
    account_id = trading.position_account(current_user(), position_id)
    return _run(account_id, CLOSE_BY, {"position_id": position_id, "by_position_id": data["by_position_id"]})


@blp.route("/trades", methods=["GET"])
@login_required
@blp.arguments(TradesQuerySchema, location="query")
@blp.response(200, TradePageSchema)
@blp.doc(security=COOKIE)
def list_trades(query: dict[str, Any]) -> Any:
    """Your trade history (every fill), newest first; `format=csv` exports every match as CSV."""
    if query["format"] == "csv":
        body = trading.trades_csv(current_user(), query)
        return Response(
            body,
            mimetype="text/csv",
            headers={"Content-Disposition": 'attachment; filename="trades.csv"', "Cache-Control": "no-store"},
        )
    return trading.list_trades(current_user(), query)


@blp.route("/commands/<string:command_id>", methods=["GET"])
@login_required
@blp.response(200, CommandStatusSchema)
@blp.doc(security=COOKIE)
def command_status(command_id: str) -> dict[str, Any]:
    """The outcome of a command you sent (after a 202): pending, or done with the engine's result."""
    return trading.command_status(current_user(), command_id)
