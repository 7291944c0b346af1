"""The client's trading accounts under /api/accounts (cookie session; other users' accounts are 404)."""

from __future__ import annotations

from typing import Any

from web.api.trading import COOKIE, accepted, idempotency_key
from web.openapi import Blueprint
from web.schemas.trading import (
    AcceptedSchema,
    AccountListSchema,
    AccountResultSchema,
    AccountSchema,
    LedgerPageSchema,
    LedgerQuerySchema,
)
from web.security import actor, current_user, login_required
from web.services import trading

blp = Blueprint("accounts", __name__, url_prefix="/api/accounts", description="Trading accounts and their ledger")


@blp.route("", methods=["GET"])
@login_required
@blp.response(200, AccountListSchema)
@blp.doc(security=COOKIE)
def list_accounts() -> dict[str, Any]:
    """Your accounts with live balance, equity, margin, free margin, margin level and floating P/L."""
    return {"items": trading.accounts_view(trading.user_accounts(current_user().id))}


@blp.route("/<int:account_id>", methods=["GET"])
@login_required
@blp.response(200, AccountSchema)
@blp.doc(security=COOKIE)
def get_account(account_id: int) -> dict[str, Any]:
    """One of your accounts with its live figures."""
    return trading.account_view(trading.owned_account(current_user(), account_id))


@blp.route("/demo", methods=["POST"])
@login_required
@blp.response(201, AccountResultSchema)
@blp.alt_response(202, schema=AcceptedSchema, description="The engine has not answered yet")
@blp.doc(security=COOKIE, parameters=[{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}}])
def open_demo() -> Any:
    """Open a demo account funded with virtual money (DEMO_DEPOSIT)."""
    command_id, result = trading.open_demo_account(current_user(), actor(), idempotency_key())
    if result is None:
        return accepted(command_id)
    return trading.answer(command_id, result)


@blp.route("/<int:account_id>/ledger", methods=["GET"])
@login_required
@blp.arguments(LedgerQuerySchema, location="query")
@blp.response(200, LedgerPageSchema)
@blp.doc(security=COOKIE)
def account_ledger(query: dict[str, Any], account_id: int) -> dict[str, Any]:
    """Every balance and credit change of the account with the running balance, newest first."""
    return trading.account_ledger(current_user(), account_id, query)
