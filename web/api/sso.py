"""CRM → platform SSO impersonation: POST /api/sso/impersonate and GET /api/sso/consume."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Response, g, redirect, render_template, request

from web.extensions import csrf, limiter
from web.openapi import Blueprint
from web.schemas.crm import ImpersonateResultSchema, ImpersonateSchema
from web.services import sso

F = TypeVar("F", bound=Callable[..., Any])

blp = Blueprint(
    "sso",
    __name__,
    url_prefix="/api/sso",
    description="Impersonation hand-off from the CRM: a single-use, 120-second link. See docs/CRM.md.",
)
csrf.exempt(blp)

_FAILURES = {
    "unknown": ("This sign-in link is not valid", "The link is incomplete or was never issued."),
    "used": ("This sign-in link was already used", "Each link signs in once; it cannot be used again."),
    "expired": ("This sign-in link has expired", "Links are valid for two minutes after the CRM creates them."),
    "inactive": ("This client cannot be opened", "The client's account is not active."),
}


def sso_caller_required(fn: F) -> F:
    """Authenticate the CRM (service JWT or API key with scope `sso`) before reading the body."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.sso_caller = sso.authenticate_caller()
        return fn(*args, **kwargs)

    return cast(F, wrapper)


@blp.route("/impersonate", methods=["POST"])
@limiter.limit("120/minute")
@sso_caller_required
@blp.arguments(
    ImpersonateSchema,
    example={"admin_id": "crm-admin-7", "user_id": 42, "reason": "Ticket #5521: client cannot find close-all"},
)
@blp.response(
    201,
    ImpersonateResultSchema,
    example={
        "token": "x3Jq0hV1m9v3w2Yp5QyqT3lqK1o4b0hQm6w7d8Zr0aU",
        "url": "https://trade.example.com/api/sso/consume?token=x3Jq0hV1m9v3w2Yp5QyqT3lqK1o4b0hQm6w7d8Zr0aU",
        "expires_at": "2026-01-05T10:02:00+00:00",
    },
)
@blp.doc(
    security=[{"crmApiKey": []}],
    description="Authenticate with `Authorization: Bearer <API key with scope sso>` or "
    '`Authorization: Bearer <service JWT>` (HS256 with CRM_SSO_SECRET; claims aud="platform-sso", '
    "iat, exp ≤ iat + 60, a unique jti). Only active clients can be targets. Open `url` in the admin's "
    "browser within 120 seconds; it works once.",
)
def impersonate(data: dict[str, Any]) -> dict[str, Any]:
    """Create a single-use impersonation link for a CRM admin to act as a client."""
    hand_off = sso.issue_hand_off(data["admin_id"], data["user_id"], data["reason"].strip(), g.sso_caller)
    return {"token": hand_off.token, "url": hand_off.url, "expires_at": hand_off.expires_at}


@blp.route("/consume", methods=["GET"])
@limiter.limit("30/minute")
@blp.doc(
    parameters=[{"in": "query", "name": "token", "required": True, "schema": {"type": "string"}}],
    responses={
        "303": {"description": "Impersonation session cookies set; redirect to /."},
        "400": {"description": "Unknown token (HTML page)."},
        "403": {"description": "The client is no longer active (HTML page)."},
        "410": {"description": "Used or expired token (HTML page)."},
    },
)
def consume() -> Response:
    """Exchange the hand-off token for an impersonation session (60 minutes at most) and go to /."""
    response = cast(Response, redirect("/", 303))
    try:
        sso.consume(request.args.get("token", ""), response)
    except sso.ConsumeFailed as failure:
        title, message = _FAILURES[failure.reason]
        html = render_template("sso_error.html", title=title, message=message, code=f"sso_{failure.reason}")
        response = Response(html, status=failure.status, mimetype="text/html")
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response
