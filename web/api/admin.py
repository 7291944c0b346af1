"""Admin API under /api/admin: audit log, users, impersonation history, system status (admin role only)."""

from __future__ import annotations

from typing import Any

from flask import Response, stream_with_context
from sqlalchemy.orm import Session

from web import get_redis
from web.errors import ApiError
from web.extensions import db
from web.openapi import Blueprint
from web.schemas.admin import (
    AuditFilterArgs,
    AuditListArgs,
    AuditPageSchema,
    AuditRowSchema,
    ChainStateSchema,
    ImpersonationArgs,
    UserListArgs,
    UserPageSchema,
    UserRowSchema,
    UserStatusSchema,
)
from web.security import actor, admin_required, audit, revoke_sessions, settings
from web.services import admin as service

blp = Blueprint("admin", __name__, url_prefix="/api/admin", description="Administration (admin role only)")
# @admin_required comes before @blp.arguments on every route: a non-admin gets 403 before any input
# is parsed, so the validation errors of admin routes tell outsiders nothing.


def _object(description: str, *keys: str) -> dict[str, Any]:
    """An OpenAPI response of a JSON object with these top-level keys (its parts are free-form)."""
    schema = {"type": "object", "required": list(keys), "properties": {key: {} for key in keys}}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


@blp.route("/audit", methods=["GET"])
@admin_required
@blp.arguments(AuditListArgs, location="query")
@blp.response(200, AuditPageSchema)
def audit_list(args: dict[str, Any]) -> dict[str, Any]:
    """List audit rows with filters, server-side pagination and sorting."""
    return service.audit_page(db, args)


@blp.route("/audit/chain", methods=["GET"])
@blp.response(200, ChainStateSchema)
@admin_required
def audit_chain() -> dict[str, Any]:
    """The hash chain's state: verified, or the first row where it breaks."""
    report = service.chain_state(db)
    return {
        "status": "verified" if report.ok else "broken",
        "checked": report.checked,
        "broken_at": report.broken_at,
        "reason": report.reason,
    }


@blp.route("/audit/<int:row_id>", methods=["GET"])
@blp.response(200, AuditRowSchema)
@admin_required
def audit_detail(row_id: int) -> Any:
    """One audit row in full."""
    from models import AuditLog

    row = db.get(AuditLog, row_id)
    if row is None:
        raise ApiError(404, "not_found", "No such audit row.")
    return row


@blp.route("/audit.csv", methods=["GET"])
@admin_required
@blp.arguments(AuditFilterArgs, location="query")
@blp.response(200, content_type="text/csv")
def audit_export(args: dict[str, Any]) -> Response:
    """Stream the filtered audit rows as CSV (formula injection neutralised)."""
    audit("admin.audit_exported", details={"filters": {k: str(v) for k, v in args.items()}})
    db.commit()
    export_session = Session(bind=db.get_bind())

    def generate() -> Any:
        try:
            yield from service.audit_csv(export_session, args)
        finally:
            export_session.close()

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/users", methods=["GET"])
@admin_required
@blp.arguments(UserListArgs, location="query")
@blp.response(200, UserPageSchema)
def users(args: dict[str, Any]) -> dict[str, Any]:
    """Search users by e-mail, name, id, external id or account number."""
    return service.users_page(db, args)


def _user_or_404(user_id: int) -> Any:
    from models import User

    user = db.get(User, user_id)
    if user is None:
        raise ApiError(404, "not_found", "No such user.")
    return user


@blp.route("/users/<int:user_id>", methods=["GET"])
@admin_required
@blp.doc(responses={"200": _object("Everything an admin sees about one user", "user", "accounts")})
def user_detail(user_id: int) -> Any:
    """A user with accounts and live figures, sessions, KYC documents, deposits and withdrawals."""
    detail = service.user_detail(db, get_redis(), _user_or_404(user_id))
    detail["user"] = UserRowSchema().dump(detail["user"])
    return _jsonable(detail)


def _jsonable(value: Any) -> Any:
    from datetime import datetime

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _set_status(user_id: int, status: str, reason: str | None) -> dict[str, Any]:
    """Disable or enable a client through the same service as the CRM (sessions end, user.updated is sent)."""
    from web.services.crm import update_user

    user = _user_or_404(user_id)
    if user.role == "admin":
        raise ApiError(422, "cannot_change_admin", "Admin accounts are managed with the CLI, not here.")
    previous = user.status
    result = update_user(user.id, {"status": status}, actor())
    audit(
        f"admin.user_{'disabled' if status == 'disabled' else 'enabled'}",
        target_type="user",
        target_id=user.id,
        details={"reason": reason, "previous_status": previous},
    )
    db.commit()
    return {"id": user.id, "status": result.user.status}


@blp.route("/users/<int:user_id>/disable", methods=["POST"])
@admin_required
@blp.arguments(UserStatusSchema)
@blp.doc(responses={"200": _object("The user's new status", "id", "status")})
def disable_user(args: dict[str, Any], user_id: int) -> dict[str, Any]:
    """Disable a user: every session ends at once."""
    return _set_status(user_id, "disabled", args.get("reason"))


@blp.route("/users/<int:user_id>/enable", methods=["POST"])
@admin_required
@blp.arguments(UserStatusSchema)
@blp.doc(responses={"200": _object("The user's new status", "id", "status")})
def enable_user(args: dict[str, Any], user_id: int) -> dict[str, Any]:
    """Enable a disabled user."""
    return _set_status(user_id, "active", args.get("reason"))


@blp.route("/users/<int:user_id>/end-sessions", methods=["POST"])
@admin_required
@blp.doc(responses={"200": _object("How many sessions were ended", "ended")})
def end_sessions(user_id: int) -> dict[str, Any]:
    """End every session of a user."""
    user = _user_or_404(user_id)
    ended = revoke_sessions(user.id, "ended_by_admin")
    audit("admin.sessions_ended", target_type="user", target_id=user.id, details={"sessions": ended})
    db.commit()
    return {"ended": ended}


@blp.route("/impersonations", methods=["GET"])
@admin_required
@blp.arguments(ImpersonationArgs, location="query")
@blp.doc(responses={"200": _object("One page of impersonation sessions", "items", "total", "page", "per_page")})
def impersonation_history(args: dict[str, Any]) -> Any:
    """Who impersonated whom, when, why, and what they did."""
    return _jsonable(service.impersonations(db, args))


@blp.route("/system", methods=["GET"])
@admin_required
@blp.doc(responses={"200": _object("Platform state", "feed", "engine", "queues", "webhooks", "time")})
def system() -> Any:
    """Feed mode and quote ages, engine lag, queue depths and failed jobs, webhook backlog."""
    return _jsonable(service.system_status(db, get_redis(), settings().engine_shards))
