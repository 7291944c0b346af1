"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from web.extensions import db, limiter
from web.openapi import Blueprint

blp = Blueprint("health", __name__, url_prefix="/api", description="Liveness and readiness probes")


@blp.route("/healthz", methods=["GET"])
@limiter.exempt
def healthz() -> dict[str, Any]:
    """Answer 200 while the process is alive."""
    return {"status": "ok"}


def _check_database() -> str | None:
    try:
        db.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure
        db.rollback()
        return type(exc).__name__


def _check_redis() -> str | None:
    from web import get_redis

    try:
        get_redis().ping()
        return None
    except Exception as exc:  # noqa: BLE001
        return type(exc).__name__


@blp.route("/readyz", methods=["GET"])
@limiter.exempt
def readyz() -> Any:
    """Answer 200 when PostgreSQL and Redis are reachable, 503 otherwise."""
    checks = {"database": _check_database(), "redis": _check_redis()}
    body = {
        "status": "ok" if not any(checks.values()) else "unavailable",
        "checks": {name: ("ok" if err is None else f"error: {err}") for name, err in checks.items()},
    }
    return body, (200 if body["status"] == "ok" else 503)
