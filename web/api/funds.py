"""Client deposits and withdrawals under /api (cookie session; the CRM decides them)."""

from __future__ import annotations

from typing import Any

from models import Deposit, Withdrawal
from web.openapi import Blueprint
from web.schemas.funds import (
    DepositRequestSchema,
    ListQuerySchema,
    MoneyRequestListSchema,
    MoneyRequestSchema,
    WithdrawalRequestSchema,
)
from web.security import actor, current_user, forbid_impersonation, login_required
from web.services import funds

blp = Blueprint("funds", __name__, url_prefix="/api", description="Client deposit and withdrawal requests")

COOKIE: list[dict[str, list[str]]] = [{"cookieAuth": []}]
DEPOSIT_EXAMPLE = {"account_id": 1001, "amount": "500.00", "currency": "USD", "method": "bank_transfer"}
WITHDRAWAL_EXAMPLE = {**DEPOSIT_EXAMPLE, "details": "IBAN DE89 3704 0044 0532 0130 00"}


def _page(items: list[Any], total: int, query: dict[str, Any]) -> dict[str, Any]:
    return {"items": items, "total": total, "page": query["page"], "per_page": query["per_page"]}


@blp.route("/deposits", methods=["POST"])
@login_required
@blp.arguments(DepositRequestSchema, example=DEPOSIT_EXAMPLE)
@blp.response(201, MoneyRequestSchema)
@blp.doc(security=COOKIE)
def create_deposit(data: dict[str, Any]) -> Deposit:
    """Ask to deposit money into one of your live accounts (pending until the CRM decides)."""
    return funds.request_deposit(current_user(), data, actor())


@blp.route("/deposits", methods=["GET"])
@login_required
@blp.arguments(ListQuerySchema, location="query")
@blp.response(200, MoneyRequestListSchema)
@blp.doc(security=COOKIE)
def list_deposits(query: dict[str, Any]) -> dict[str, Any]:
    """Your deposit requests, newest first (filters: status, account_id, from, to)."""
    items, total = funds.paginate(funds.filtered(Deposit, query, current_user().id), query["page"], query["per_page"])
    return _page(items, total, query)


@blp.route("/deposits/<int:deposit_id>", methods=["GET"])
@login_required
@blp.response(200, MoneyRequestSchema)
@blp.doc(security=COOKIE)
def get_deposit(deposit_id: int) -> Deposit:
    """One of your deposit requests."""
    return funds.own_request(Deposit, current_user(), deposit_id)


@blp.route("/deposits/<int:deposit_id>/cancel", methods=["POST"])
@login_required
@blp.response(200, MoneyRequestSchema)
@blp.doc(security=COOKIE)
def cancel_deposit(deposit_id: int) -> Deposit:
    """Cancel a pending deposit request."""
    return funds.decide_request(Deposit, deposit_id, "cancelled", None, actor(), owner=current_user())


@blp.route("/withdrawals", methods=["POST"])
@forbid_impersonation
@blp.arguments(WithdrawalRequestSchema, example=WITHDRAWAL_EXAMPLE)
@blp.response(201, MoneyRequestSchema)
@blp.doc(security=COOKIE)
def create_withdrawal(data: dict[str, Any]) -> Withdrawal:
    """Ask to withdraw: the amount is held (refused beyond free margin) until the CRM decides."""
    return funds.request_withdrawal(current_user(), data, actor())


@blp.route("/withdrawals", methods=["GET"])
@login_required
@blp.arguments(ListQuerySchema, location="query")
@blp.response(200, MoneyRequestListSchema)
@blp.doc(security=COOKIE)
def list_withdrawals(query: dict[str, Any]) -> dict[str, Any]:
    """Your withdrawal requests, newest first (filters: status, account_id, from, to)."""
    stmt = funds.filtered(Withdrawal, query, current_user().id)
    items, total = funds.paginate(stmt, query["page"], query["per_page"])
    return _page(items, total, query)


@blp.route("/withdrawals/<int:withdrawal_id>", methods=["GET"])
@login_required
@blp.response(200, MoneyRequestSchema)
@blp.doc(security=COOKIE)
def get_withdrawal(withdrawal_id: int) -> Withdrawal:
    """One of your withdrawal requests."""
    return funds.own_request(Withdrawal, current_user(), withdrawal_id)


@blp.route("/withdrawals/<int:withdrawal_id>/cancel", methods=["POST"])
@login_required
@blp.response(200, MoneyRequestSchema)
@blp.doc(security=COOKIE)
def cancel_withdrawal(withdrawal_id: int) -> Withdrawal:
    """Cancel a pending withdrawal; the held amount returns to the account."""
    return funds.decide_request(Withdrawal, withdrawal_id, "cancelled", None, actor(), owner=current_user())
