"""The CRM service API under /api/crm: `Authorization: Bearer <API key>`, scoped, no cookies, no CSRF."""

from __future__ import annotations

from typing import Any

from flask import Response

from models import Account, Deposit, KycDocument, Withdrawal
from web.api.kyc import download_response
from web.errors import ApiError
from web.extensions import csrf, db
from web.openapi import Blueprint
from web.schemas.crm import (
    BalanceOperationSchema,
    BalanceResultSchema,
    CrmAccountSchema,
    CrmKycDocumentPageSchema,
    CrmKycDocumentSchema,
    CrmKycListQuerySchema,
    CrmMoneyListQuerySchema,
    CrmUserListSchema,
    CrmUserLookupSchema,
    CrmUserPatchSchema,
    CrmUserSchema,
    CrmUserUpsertSchema,
    ForceLogoutResultSchema,
    KycDecisionSchema,
    MoneyDecisionSchema,
    PasswordResetResultSchema,
    UserRefSchema,
)
from web.schemas.funds import MoneyRequestListSchema, MoneyRequestSchema
from web.security import actor
from web.services import crm
from web.services.api_keys import require_api_key

blp = Blueprint(
    "crm",
    __name__,
    url_prefix="/api/crm",
    description="Service API for the broker's CRM (API key with scopes users, funds, kyc). See docs/CRM.md.",
)
csrf.exempt(blp)

KEY: list[dict[str, list[str]]] = [{"crmApiKey": []}]

USER_EXAMPLE = {
    "id": 42,
    "external_id": "crm-10042",
    "email": "ada@example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "country": "GB",
    "phone": "+44 20 7946 0958",
    "status": "active",
    "email_verified": False,
    "has_password": False,
    "totp_enabled": False,
    "flags": {"vip": True},
    "limits": {"withdrawal_max": "10000.00"},
    "created_at": "2026-01-05T10:00:00+00:00",
    "updated_at": "2026-01-05T10:00:00+00:00",
    "accounts": [
        {
            "id": 1001,
            "number": "50001001",
            "type": "live",
            "currency": "USD",
            "balance": "0.00",
            "credit": "0.00",
            "held": "0.00",
            "equity": "0.00",
            "margin": "0.00",
            "free_margin": "0.00",
            "margin_level": None,
            "leverage": 100,
            "trading_rights": "full",
            "margin_call_level": "100.00",
            "stop_out_level": "50.00",
            "created_at": "2026-01-05T10:00:00+00:00",
        }
    ],
    "engine_commands": [
        {"type": "open_account", "account_id": 1001, "command_id": "open-live-42", "status": "applied"},
    ],
}
MONEY_EXAMPLE = {
    "id": 17,
    "user_id": 42,
    "account_id": 1001,
    "amount": "500.00",
    "currency": "USD",
    "method": "bank_transfer",
    "status": "approved",
    "reason": None,
    "external_id": "psp-7781-2291",
    "details": None,
    "created_at": "2026-01-05T10:00:00+00:00",
    "decided_at": "2026-01-05T11:00:00+00:00",
    "decided_by": "crm:key:1",
}


def _user_response(result: crm.UserResult) -> tuple[dict[str, Any], int]:
    view = result.view()
    rejected = result.rejected
    if rejected is not None:
        raise ApiError(
            422,
            str(rejected.get("code") or "rejected"),
            f"The engine refused a change to account {rejected['account_id']}: {rejected.get('message')}",
            extra={"user": CrmUserSchema().dump(view)},
        )
    status = 201 if result.created else 200
    return view, (202 if result.any_pending and not result.created else status)


# --- clients ---------------------------------------------------------------------------------


@blp.route("/users", methods=["POST"])
@require_api_key("users")
@blp.arguments(
    CrmUserUpsertSchema,
    example={
        "external_id": "crm-10042",
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "country": "GB",
        "phone": "+44 20 7946 0958",
        "leverage": 100,
        "flags": {"vip": True},
        "limits": {"withdrawal_max": "10000.00"},
    },
)
@blp.response(201, CrmUserSchema, example=USER_EXAMPLE, description="Created, with a live account.")
@blp.alt_response(
    200, schema=CrmUserSchema, description="An existing client (matched by external_id, else e-mail) updated."
)
@blp.doc(security=KEY)
def upsert_user(data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Create a client (live account + set-password mail) or update the one with this external_id/e-mail."""
    return _user_response(crm.upsert_user(data, actor()))


@blp.route("/users", methods=["GET"])
@require_api_key("users")
@blp.arguments(CrmUserLookupSchema, location="query")
@blp.response(200, CrmUserListSchema)
@blp.doc(security=KEY)
def find_users(query: dict[str, Any]) -> dict[str, Any]:
    """Find clients by e-mail and/or external_id."""
    if not query:
        raise ApiError(400, "validation_error", "Give email or external_id.", {"email": ["email or external_id"]})
    users = crm.find_clients(query.get("email"), query.get("external_id"))
    return {"items": [crm.user_view(u) for u in users]}


@blp.route("/users/<int:user_id>", methods=["GET"])
@require_api_key("users")
@blp.response(200, CrmUserSchema, example=USER_EXAMPLE)
@blp.doc(security=KEY)
def get_user(user_id: int) -> dict[str, Any]:
    """A client with every account and its live figures."""
    return crm.user_view(crm.get_client(user_id))


@blp.route("/users/<int:user_id>", methods=["PATCH"])
@require_api_key("users")
@blp.arguments(
    CrmUserPatchSchema,
    example={
        "status": "active",
        "trading_rights": "close_only",
        "leverage": 50,
        "margin_call_level": "120",
        "stop_out_level": "60",
        "limits": {"withdrawal_max": "5000.00", "deposit_max": None},
        "email_verified": True,
    },
)
@blp.response(200, CrmUserSchema, example=USER_EXAMPLE)
@blp.alt_response(202, schema=CrmUserSchema, description="Saved; some account changes are not confirmed yet.")
@blp.doc(security=KEY)
def patch_user(data: dict[str, Any], user_id: int) -> tuple[dict[str, Any], int]:
    """Change status (disabled ends every session), trading rights, leverage, levels, limits, flags, profile."""
    return _user_response(crm.update_user(user_id, data, actor()))


@blp.route("/force-logout", methods=["POST"])
@require_api_key("users")
@blp.arguments(UserRefSchema, example={"user_id": 42})
@blp.response(200, ForceLogoutResultSchema, example={"user_id": 42, "sessions_ended": 2})
@blp.doc(security=KEY)
def force_logout(data: dict[str, Any]) -> dict[str, Any]:
    """End every session of the client at once."""
    ended = crm.force_logout(data["user_id"], actor())
    return {"user_id": data["user_id"], "sessions_ended": ended}


@blp.route("/password-reset", methods=["POST"])
@require_api_key("users")
@blp.arguments(UserRefSchema, example={"user_id": 42})
@blp.response(200, PasswordResetResultSchema, example={"user_id": 42, "mail_sent": True, "sessions_ended": True})
@blp.doc(security=KEY)
def password_reset(data: dict[str, Any]) -> dict[str, Any]:
    """Send the client a password-reset mail and end their sessions."""
    crm.password_reset(data["user_id"], actor())
    return {"user_id": data["user_id"], "mail_sent": True, "sessions_ended": True}


# --- accounts and money ----------------------------------------------------------------------


@blp.route("/accounts/<int:account_id>", methods=["GET"])
@require_api_key("funds")
@blp.response(200, CrmAccountSchema)
@blp.doc(security=KEY)
def get_account(account_id: int) -> dict[str, Any]:
    """An account with its live figures."""
    account = db.get(Account, account_id)
    if account is None:
        raise ApiError(404, "account_not_found", "No such account.")
    return crm.account_view(account)


@blp.route("/accounts/<int:account_id>/balance", methods=["POST"])
@require_api_key("funds")
@blp.arguments(
    BalanceOperationSchema,
    example={"type": "deposit", "amount": "250.00", "external_id": "psp-7781-2291", "comment": "Wire received"},
)
@blp.response(
    200,
    BalanceResultSchema,
    example={
        "account_id": 1001,
        "type": "deposit",
        "amount": "250.00",
        "external_id": "psp-7781-2291",
        "command_id": "crm-bal-3f1c0d9b6a0e4f7c8d2b1a0e9f8c7d6b5a4e3f2d",
        "duplicate": False,
        "ledger": {"id": 77, "kind": "deposit", "amount": "250.00", "balance_after": "1750.00"},
        "account": USER_EXAMPLE["accounts"][0],  # type: ignore[index]
    },
)
@blp.doc(security=KEY)
def balance_operation(data: dict[str, Any], account_id: int) -> dict[str, Any]:
    """Deposit, withdraw, credit or correct through the engine; the same external_id again changes nothing."""
    return crm.balance_operation(account_id, data, actor())


def _page(items: list[Any], total: int, query: dict[str, Any]) -> dict[str, Any]:
    return {"items": items, "total": total, "page": query["page"], "per_page": query["per_page"]}


@blp.route("/deposits", methods=["GET"])
@require_api_key("funds")
@blp.arguments(CrmMoneyListQuerySchema, location="query")
@blp.response(200, MoneyRequestListSchema)
@blp.doc(security=KEY)
def list_deposits(query: dict[str, Any]) -> dict[str, Any]:
    """Deposit requests, newest first (filters: status, user_id, account_id, from, to; page, per_page)."""
    return _page(*crm.list_deposits(query), query)


@blp.route("/deposits/<int:deposit_id>", methods=["GET"])
@require_api_key("funds")
@blp.response(200, MoneyRequestSchema)
@blp.doc(security=KEY)
def get_deposit(deposit_id: int) -> Deposit:
    """One deposit request."""
    return _get(Deposit, deposit_id)


@blp.route("/deposits/<int:deposit_id>", methods=["PATCH"])
@require_api_key("funds")
@blp.arguments(MoneyDecisionSchema, example={"status": "approved", "external_id": "psp-7781-2291"})
@blp.response(200, MoneyRequestSchema, example=MONEY_EXAMPLE)
@blp.doc(security=KEY)
def decide_deposit(data: dict[str, Any], deposit_id: int) -> Deposit:
    """Approve (credits the account once) or decline a pending deposit; the same decision again answers the same."""
    return crm.decide_deposit(deposit_id, data["status"], data["reason"], actor(), data["external_id"])


@blp.route("/withdrawals", methods=["GET"])
@require_api_key("funds")
@blp.arguments(CrmMoneyListQuerySchema, location="query")
@blp.response(200, MoneyRequestListSchema)
@blp.doc(security=KEY)
def list_withdrawals(query: dict[str, Any]) -> dict[str, Any]:
    """Withdrawal requests, newest first (filters: status, user_id, account_id, from, to; page, per_page)."""
    return _page(*crm.list_withdrawals(query), query)


@blp.route("/withdrawals/<int:withdrawal_id>", methods=["GET"])
@require_api_key("funds")
@blp.response(200, MoneyRequestSchema)
@blp.doc(security=KEY)
def get_withdrawal(withdrawal_id: int) -> Withdrawal:
    """One withdrawal request."""
    return _get(Withdrawal, withdrawal_id)


@blp.route("/withdrawals/<int:withdrawal_id>", methods=["PATCH"])
@require_api_key("funds")
@blp.arguments(MoneyDecisionSchema, example={"status": "declined", "reason": "Payment details do not match"})
@blp.response(
    200, MoneyRequestSchema, example={**MONEY_EXAMPLE, "status": "declined", "reason": "Payment details do not match"}
)
@blp.doc(security=KEY)
def decide_withdrawal(data: dict[str, Any], withdrawal_id: int) -> Withdrawal:
    """Approve (debits the held amount) or decline (releases it) a pending withdrawal."""
    return crm.decide_withdrawal(withdrawal_id, data["status"], data["reason"], actor(), data["external_id"])


def _get(model: type[Any], row_id: int) -> Any:
    row = db.get(model, row_id)
    if row is None:
        raise ApiError(404, "not_found", f"No such {model.__tablename__[:-1]}.")
    return row


# --- KYC -------------------------------------------------------------------------------------


@blp.route("/kyc", methods=["GET"])
@require_api_key("kyc")
@blp.arguments(CrmKycListQuerySchema, location="query")
@blp.response(200, CrmKycDocumentPageSchema)
@blp.doc(security=KEY)
def list_kyc(query: dict[str, Any]) -> dict[str, Any]:
    """KYC documents, newest first (filters: status, type, user_id, from, to; page, per_page)."""
    return _page(*crm.list_kyc(query), query)


@blp.route("/kyc/<int:document_id>", methods=["GET"])
@require_api_key("kyc")
@blp.response(200, CrmKycDocumentSchema)
@blp.doc(security=KEY)
def get_kyc(document_id: int) -> KycDocument:
    """One KYC document's metadata (its download_url here is the CRM route below)."""
    return _get(KycDocument, document_id)


@blp.route("/kyc/<int:document_id>/download", methods=["GET"])
@require_api_key("kyc")
@blp.response(200, content_type="application/octet-stream")
@blp.alt_response(302, description="Redirect to a presigned URL valid for 60 seconds (S3 storage).")
@blp.doc(security=KEY)
def download_kyc(document_id: int) -> Response:
    """Download a KYC document for review."""
    return download_response(_get(KycDocument, document_id))


@blp.route("/kyc/<int:document_id>", methods=["PATCH"])
@require_api_key("kyc")
@blp.arguments(KycDecisionSchema, example={"status": "rejected", "reason": "The document has expired."})
@blp.response(
    200,
    CrmKycDocumentSchema,
    example={
        "id": 9,
        "user_id": 42,
        "type": "passport",
        "status": "rejected",
        "filename": "passport.pdf",
        "content_type": "application/pdf",
        "size": 183224,
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "reason": "The document has expired.",
        "created_at": "2026-01-05T10:00:00+00:00",
        "reviewed_at": "2026-01-05T11:00:00+00:00",
        "download_url": "/api/crm/kyc/9/download",
    },
)
@blp.doc(security=KEY)
def decide_kyc(data: dict[str, Any], document_id: int) -> KycDocument:
    """Approve or reject a pending KYC document."""
    return crm.decide_kyc(document_id, data["status"], data["reason"], actor())
