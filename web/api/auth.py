"""Authentication API under /api/auth."""

from __future__ import annotations

from typing import Any

from flask_wtf.csrf import generate_csrf

from web.openapi import Blueprint

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Registration, login, sessions and 2FA")


@blp.route("/csrf", methods=["GET"])
def csrf_token() -> dict[str, Any]:
    """Return a CSRF token; send it as X-CSRFToken on every unsafe cookie-authenticated request."""
    return {"csrf_token": generate_csrf()}
